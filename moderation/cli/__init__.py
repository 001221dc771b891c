"""The command line: each command parses options, calls one library function, and reports errors in one line.

Only this package imports click. Our exceptions become ``click.ClickException`` (exit 1, or the
error's own code, e.g. 3 for a page without comments); wrong usage is click's ``UsageError`` (exit 2).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .errors import reports_errors


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


def _read_options(encoding: str | None, skip_bad: bool) -> dict:
    options: dict = {}
    if encoding:
        options["encoding"] = encoding
    if skip_bad:
        options["skip_bad"] = True
        options["on_problem"] = lambda problem: click.echo(f"warning: skipped: {problem}", err=True)
    return options


class _Progress:
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="moderation")
def main() -> None:
    """Local, explainable comment moderation: score, filter and train the spam filter."""


@main.command()
@click.argument("page", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="How to print the scored comments.",
)
@model_option
@input_format_option
@encoding_option
@skip_bad_option
@reports_errors
def score(
    page: Path,
    output_format: str,
    model_path: Path | None,
    input_format: str | None,
    encoding: str | None,
    skip_bad: bool,
) -> None:
    """Print every comment of PAGE with its spam score, verdict and reasons."""
    from ..api import Moderator
    from ..filtering import score_path
    from ..output import WRITERS

    moderator = Moderator.load(model_path)
    scored = score_path(page, moderator, input_format=input_format, **_read_options(encoding, skip_bad))
    WRITERS[output_format](scored, sys.stdout)


@main.command(name="filter")
@click.argument("page", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the thread without spam (same format as the input).",
)
@click.option(
    "--spam-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the comments taken out (default for pages: OUTPUT with .spam before the extension; "
    "exports that mark spam in place write this copy as JSON Lines).",
)
@model_option
@input_format_option
@encoding_option
@skip_bad_option
@reports_errors
def filter_command(
    page: Path,
    output: Path,
    spam_out: Path | None,
    model_path: Path | None,
    input_format: str | None,
    encoding: str | None,
    skip_bad: bool,
) -> None:
    """Write PAGE without its spam to OUTPUT; a summary goes to stderr."""
    from ..api import Moderator
    from ..filtering import filter_path

    moderator = Moderator.load(model_path)
    progress = _Progress("filtered")
    try:
        summary = filter_path(
            page,
            output,
            moderator,
            spam_output=spam_out,
            input_format=input_format,
            progress=progress,
            **_read_options(encoding, skip_bad),
        )
    finally:
        progress.close()
    click.echo(summary.line(), err=True)


@main.command()
@click.option(
    "--data",
    "data_paths",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Labeled threads (our JSON/JSONL files or a directory of them); default: data/threads.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to save the model (default: models/default.joblib); a card is written beside it.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: same data and seed, same model.")
@click.option("--cv", type=click.IntRange(2, 20), default=5, show_default=True, help="Cross-validation folds.")
@reports_errors
def train(data_paths: tuple[Path, ...], output: Path | None, seed: int, cv: int) -> None:
    """Train a model on labeled threads, report grouped cross-validation, save it with its card."""
    from ..dataset import load_labeled_threads
    from ..model import DEFAULT_MODEL_PATH, card_path, save_model
    from ..training import train_model

    threads = load_labeled_threads(list(data_paths) or None)
    with click.progressbar(length=cv, label="cross-validating", file=sys.stderr) as bar:
        bundle = train_model(threads, seed=seed, cv=cv, progress=lambda done, total: bar.update(1))
    path = save_model(bundle, output or DEFAULT_MODEL_PATH)
    figures = bundle.card["metrics"]
    click.echo(
        f"trained on {bundle.card['training_data']['comments']} comments "
        f"({bundle.card['training_data']['spam']} spam) in {len(threads)} threads"
    )
    click.echo(f"{bundle.card['evaluation']}:")
    for key in (
        "precision",
        "recall",
        "f1",
        "mcc",
        "roc_auc",
        "pr_auc",
        "blocked_legit",
        "held_legit",
        "spam_caught",
        "spam_caught_or_held",
    ):
        click.echo(f"  {key:<20} {figures[key]:.3f}")
    click.echo(f"thresholds: hold {bundle.thresholds.hold:.3f}, spam {bundle.thresholds.spam:.3f}")
    click.echo(f"model {bundle.version} saved to {path} (card: {card_path(path)})")


@main.command()
@model_option
@reports_errors
def card(model_path: Path | None) -> None:
    """Print the model card: version, training data hash, metrics and thresholds."""
    from ..model import load_model

    click.echo(json.dumps(load_model(model_path).card, indent=2, sort_keys=True))


def _add_optional_commands() -> None:
    from .service import COMMANDS as SERVICE_COMMANDS

    for command in SERVICE_COMMANDS:
        main.add_command(command)


_add_optional_commands()
