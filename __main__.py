"""`python -m hospes`: the `hospes` command."""

from hospes.cli import main

main()
