"""``python -m moderation.cli COMMAND``: the ``moderation`` command without its console script."""

from . import main

main()
