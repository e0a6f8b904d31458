"""A guard against a reference-counting bug of some PySide6 builds on Python < 3.12.

PySide6 6.12.0 on Python 3.11 returns `None` from every void method (`QLabel.setText`,
`QStatusBar.showMessage`, `processEvents`, ...) and `True` from every `Signal.emit` without taking a
reference: each call takes one reference away from the singleton. From Python 3.12 on these
singletons are immortal and nothing happens; on 3.11 their counts run down while the app works (a
training run's curves make thousands of such calls a minute) until Python aborts with
"Fatal Python error: none_dealloc: deallocating None" (or bool_dealloc), typically at quit, when the
garbage collector releases the last counted references.

`protect_singletons()` gives None, True and False a reserve of references no app session can use
up. They are never deallocated anyway (deallocating one is a fatal error), so the reserve costs
nothing.
"""

from __future__ import annotations

import ctypes
import sys

RESERVE = 1 << 60  # far more references than calls an app session can make
SINGLETONS = (None, True, False)


def protect_singletons() -> bool:
    """Give None, True and False a reserve of references (once; a no-op where they are immortal).
    Returns True when the reserve was added by this call."""
    if sys.version_info >= (3, 12) or sys.getrefcount(None) >= RESERVE:
        return False
    for singleton in SINGLETONS:
        # ob_refcnt is the object's first field; the GIL is held, so no other thread changes it now
        ctypes.c_ssize_t.from_address(id(singleton)).value += RESERVE
    return True
