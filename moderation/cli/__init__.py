"""The command line: each command parses options, calls one library function, and reports errors in one line.

Only this package imports click. Our exceptions become ``click.ClickException`` (exit 1, or the
error's own code, e.g. 3 for a page without comments); wrong usage is click's ``UsageError`` (exit 2).
"""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path

import click

from ..output import OUTPUT_FORMATS
from .errors import reports_errors
from .evaluation import LabeledData, data_options, evaluate
from .options import (
    Progress,
    encoding_option,
    input_format_option,
    model_option,
    read_options,
    skip_bad_option,
    source_names,
    sources_option,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="moderation")
def main() -> None:
    """Local, explainable comment moderation: score, filter and train the spam filter."""


def cluster_options(function):
    """--scheduler and --workers: where score and filter send their batches (moderation.distributed)."""

    @functools.wraps(function)
    def checked(*args, scheduler: str | None, workers: int | None, **kwargs):
        if scheduler is not None and workers is not None:
            raise click.UsageError("give --scheduler (a running cluster) or --workers (a local one), not both")
        return function(*args, scheduler=scheduler, workers=workers, **kwargs)

    with_workers = click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=None,
        help="Score on a Dask LocalCluster of N worker processes started for this run (needs the dask extra).",
    )(checked)
    return click.option(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="Send thread batches to the Dask scheduler at ADDRESS (tcp://host:8786); workers need this "
        "package installed (pip install 'moderation[dask]').",
    )(with_workers)


@main.command()
# readable=False: click would refuse an unreadable file as a usage error (exit 2); it is an input
# error (exit 1), which the readers report in one line.
@click.argument("pages", metavar="PAGE...", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(OUTPUT_FORMATS),
    default="table",
    show_default=True,
    help="How to print the scored comments.",
)
@model_option
@input_format_option
@encoding_option
@skip_bad_option
@cluster_options
@reports_errors
def score(
    pages: tuple[Path, ...],
    output_format: str,
    model_path: Path | None,
    input_format: str | None,
    encoding: str | None,
    skip_bad: bool,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Print every comment of each PAGE, in order, with its spam score, verdict and reasons."""
    from ..distributed import open_moderator, score_paths
    from ..output import WRITERS

    with open_moderator(model_path, scheduler=scheduler, workers=workers) as moderator:
        scored = score_paths(pages, moderator, input_format=input_format, **read_options(encoding, skip_bad))
        with Progress("scoring") as progress:
            WRITERS[output_format](_counted(scored, progress), sys.stdout)


def _counted(scored, progress: Progress):
    for thread, decisions in scored:
        progress(len(decisions))
        yield thread, decisions


@main.command(name="filter")
# readable=False: click would refuse an unreadable file as a usage error (exit 2); it is an input
# error (exit 1), which the readers report in one line.
@click.argument("pages", metavar="PAGE...", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Where to write the thread without spam (same format as the input); with several PAGEs, an existing "
    "directory that gets each one under its own name.",
)
@click.option(
    "--spam-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the comments taken out (default for pages: OUTPUT with .spam before the extension; "
    "exports that mark spam in place write this copy as JSON Lines). One PAGE only.",
)
@model_option
@input_format_option
@encoding_option
@skip_bad_option
@cluster_options
@reports_errors
def filter_command(
    pages: tuple[Path, ...],
    output: Path,
    spam_out: Path | None,
    model_path: Path | None,
    input_format: str | None,
    encoding: str | None,
    skip_bad: bool,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Write each PAGE without its spam to OUTPUT; a summary per PAGE goes to stderr."""
    from ..distributed import filter_paths, open_moderator
    from ..filtering import filter_path

    if len(pages) > 1 and spam_out is not None:
        raise click.UsageError("--spam-out names one file; with several PAGEs each spam copy goes beside its output")
    cluster = open_moderator(model_path, scheduler=scheduler, workers=workers)
    with cluster as moderator, Progress("filtering") as progress:
        options = dict(input_format=input_format, progress=progress, **read_options(encoding, skip_bad))
        if len(pages) == 1:
            summaries = [filter_path(pages[0], output, moderator, spam_output=spam_out, **options)]
        else:
            summaries = filter_paths(pages, output, moderator, **options)
    for summary in summaries:
        click.echo(summary.line(), err=True)


@main.command()
@data_options()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to save the model (default: a new models/model-<version>.joblib; name models/default.joblib "
    "to replace the shipped model); a card is written beside it.",
)
@sources_option
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: same data and seed, same model.")
@click.option("--cv", type=click.IntRange(2, 20), default=5, show_default=True, help="Cross-validation folds.")
@reports_errors
def train(labeled_data: LabeledData, sources: str | None, output: Path | None, seed: int, cv: int) -> None:
    """Train a model on labeled threads, report grouped cross-validation, save it with its card.

    With no options it rebuilds the shipped model from every source present (README, "The shipped model").
    """
    from ..learning.sources import datasets_dir, training_set
    from ..learning.training import train_model
    from ..model.pipeline import DEFAULT_MODEL_PATH, card_path, save_model

    threads, provenance, missing = training_set(
        source_names(sources, bool(labeled_data.paths)), labeled_data.paths, labeled_data.mapping
    )
    for name in missing:
        click.echo(f"warning: source {name} is absent (not under {datasets_dir()}); training without it", err=True)
    click.echo(f"training on {', '.join(provenance) or 'nothing'}", err=True)
    with Progress("cross-validating", cv, unit="folds") as progress:
        bundle = train_model(threads, seed=seed, cv=cv, progress=progress.to, provenance=provenance)
    # Without -o the shipped model is not overwritten (it was, issue 9 item 20): a retrain that turns
    # out worse must not silently replace the model every command loads by default.
    path = save_model(bundle, output or new_model_path(DEFAULT_MODEL_PATH, bundle.version))
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
    if output is None:
        click.echo(
            f"the default model is unchanged; use this one with --model {path}, or train with -o {DEFAULT_MODEL_PATH}"
        )


def new_model_path(default: Path, version: str) -> Path:
    """models/model-<version>.joblib beside the default model, numbered if that name is taken."""
    stem = "model-" + (re.sub(r"[^A-Za-z0-9._-]+", "-", version).strip("-.") or "unversioned")
    candidate = default.with_name(f"{stem}.joblib")
    number = 2
    while candidate.exists():
        candidate = default.with_name(f"{stem}-{number}.joblib")
        number += 1
    return candidate


@main.command()
@model_option
@reports_errors
def card(model_path: Path | None) -> None:
    """Print the model card: version, training data hash, metrics and thresholds."""
    from ..model.pipeline import load_model

    click.echo(json.dumps(load_model(model_path).card, indent=2, sort_keys=True))


def _add_commands() -> None:
    from .service import COMMANDS as SERVICE_COMMANDS

    for command in (evaluate, *SERVICE_COMMANDS):
        main.add_command(command)


_add_commands()
