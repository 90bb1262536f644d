"""`python -m modelplane_operator.drift`: evaluate one window and print the JSON report."""

from modelplane_operator.drift.cli import main

raise SystemExit(main())
