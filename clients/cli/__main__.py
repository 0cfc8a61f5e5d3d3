"""`python -m clients.cli`: the same as the `cellprov` console script."""

from clients.cli import main

main()
