"""Command-line interface: `fedledger.cli.app:main` is the console script."""
