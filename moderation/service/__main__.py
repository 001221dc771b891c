"""``python -m moderation.service COMMAND``: the service's commands without the main CLI."""

import click

from ..cli.service import COMMANDS


@click.group()
def cli() -> None:
    """The Akismet-compatible service and its retraining."""


for command in COMMANDS:
    cli.add_command(command)

if __name__ == "__main__":
    cli()
