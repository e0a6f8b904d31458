"""`python -m colorcore` runs the CLI (also what `torchrun -m colorcore` starts)."""

from colorcore.cli import main

raise SystemExit(main())
