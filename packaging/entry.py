"""Entry script of both frozen executables: `colorcore` runs the command line, any other name the app.

PyInstaller builds two executables from this one script (same libraries, one folder). The
multiprocessing bootstrap comes first, so worker processes of a frozen app start correctly.
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
    from app.main import main as app_main

    return app_main()


if __name__ == "__main__":
    raise SystemExit(main())
