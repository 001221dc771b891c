"""Options and helpers shared by the commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def _format_names() -> list[str]:
    from ..formats import format_names

    return format_names()


model_option = click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Model file (default: the shipped models/default.joblib). Only load model files you trust.",
)
input_format_option = click.option(
    "--input-format",
    "input_format",
    type=click.Choice(_format_names()),
    default=None,
    help="Input format; detected from the file when omitted.",
)
encoding_option = click.option("--encoding", default=None, help="Text encoding of the input (default UTF-8).")
skip_bad_option = click.option(
    "--skip-bad", is_flag=True, help="Skip malformed threads (each reported on stderr) instead of stopping."
)


def read_options(encoding: str | None, skip_bad: bool) -> dict:
    options: dict = {}
    if encoding:
        options["encoding"] = encoding
    if skip_bad:
        options["skip_bad"] = True
        options["on_problem"] = lambda problem: click.echo(f"warning: skipped: {problem}", err=True)
    return options


class Progress:
    """A running count of scored comments on stderr, for people watching a terminal (not for pipes)."""

    def __init__(self, label: str):
        self.label = label
        self.count = 0
        self.shown = 0
        self.enabled = sys.stderr.isatty()

    def __call__(self, comments: int) -> None:
        self.count += comments
        if self.enabled and self.count - self.shown >= 1000:
            self.shown = self.count
            click.echo(f"\r{self.label} {self.count:,} comments", err=True, nl=False)

    def close(self) -> None:
        if self.enabled and self.shown:
            click.echo(f"\r{self.label} {self.count:,} comments", err=True)
