"""`python -m modelplane_cli` is the `modelplane` command."""

from modelplane_cli.main import main

main()
