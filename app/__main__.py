"""`python -m app` starts ColorCore Studio."""

from app.main import main

raise SystemExit(main())
