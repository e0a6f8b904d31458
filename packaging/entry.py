"""Entry script of both frozen executables: `colorcore` runs the command line, any other name the app.

PyInstaller builds two executables from this one script (same libraries, one folder). The
multiprocessing bootstrap comes first, so worker processes of a frozen app start correctly; on
Windows torch is imported before anything imports PySide6.
"""

import multiprocessing
import sys
from pathlib import Path

CLI_EXECUTABLE = "colorcore"


def main() -> int:
    """Dispatch on the executable's own name."""
    multiprocessing.freeze_support()
    if Path(sys.executable).stem.lower() == CLI_EXECUTABLE:
        from colorcore.cli import main as cli_main

        return cli_main()
    if sys.platform == "win32":
        import torch  # noqa: F401  (torch's DLLs must load before Qt's; app.main imports Qt early)
    from app.main import main as app_main

    return app_main()


if __name__ == "__main__":
    raise SystemExit(main())
