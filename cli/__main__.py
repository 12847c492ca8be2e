"""`python -m hospes.cli`: the `hospes` command, as it was when the CLI was one module."""

from hospes.cli import main

main()
