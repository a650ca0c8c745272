"""``python -m gripewatch``: the same as the ``gripewatch`` command."""

from gripewatch.cli import main

main()
