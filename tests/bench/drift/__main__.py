"""`python -m tests.bench.drift`: run the drift benchmark (see `run.py`)."""

from tests.bench.drift.run import main

raise SystemExit(main())
