"""``python -m ictbot`` is the ``ictbot`` command."""

from ictbot.cli import app

app()
