"""``python -m merbench.cli ...``: the same as the ``merbench`` script."""

from merbench.cli import main

main()
