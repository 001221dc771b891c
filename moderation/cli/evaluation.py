"""``moderation evaluate`` and ``data_options``, the labeled-data options shared with ``train``.

``data_options`` adds --data (repeatable) and the column mapping to a command and hands the command
one ``labeled_data`` argument instead of eight; ``labeled_data.load()`` returns the threads.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import click

from .errors import reports_errors
from .options import Progress, model_option


@dataclass(frozen=True)
class LabeledData:
    """What the data options asked for: the files and how to read their columns."""

    paths: tuple[Path, ...]
    mapping: object  # moderation.learning.labeled.ColumnMapping; imported lazily to keep `--help` fast

    def load(self):
        from ..learning.labeled import load_labeled

        return load_labeled(list(self.paths) or None, self.mapping)


_DATA_OPTION_NAMES = (
    "data_paths",
    "text_column",
    "label_column",
    "author_column",
    "group_column",
    "post_column",
    "id_column",
    "spam_labels",
    "ham_labels",
)


def data_options(required: bool = False):
    """Decorator: the labeled-data options, collapsed into a ``labeled_data: LabeledData`` argument."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            from ..learning.labeled import ColumnMapping

            values = {name: kwargs.pop(name) for name in _DATA_OPTION_NAMES}
            mapping = ColumnMapping(
                text=values["text_column"],
                label=values["label_column"],
                author=values["author_column"],
                group=values["group_column"],
                post=values["post_column"],
                id=values["id_column"],
                spam_labels=tuple(values["spam_labels"]),
                ham_labels=tuple(values["ham_labels"]),
            )
            return function(*args, labeled_data=LabeledData(tuple(values["data_paths"]), mapping), **kwargs)

        options = [
            click.option(
                "--data",
                "data_paths",
                type=click.Path(path_type=Path),
                multiple=True,
                required=required,
                help="Labeled data, repeatable: our JSON/JSONL thread files, CSV/TSV/JSONL with one comment per "
                "row, or a directory of them." + ("" if required else " Without it: the --sources."),
            ),
            click.option("--text-column", help="Column holding the comment text (default: body)."),
            click.option("--label-column", help="Column holding the label (default: label)."),
            click.option("--author-column", help="Column holding the author's name (default: author, if present)."),
            click.option(
                "--group-column",
                help="Column naming the post or video a comment belongs to: one thread per value, and "
                "cross-validation keeps each thread whole (default: thread_id if present; else one thread per file).",
            ),
            click.option("--post-column", help="Column holding the post's text (default: post_body, if present)."),
            click.option("--id-column", help="Column holding the comment id (default: id, if present)."),
            click.option(
                "--spam-label",
                "spam_labels",
                multiple=True,
                help="A label value meaning spam, repeatable (default: 1, spam, true, yes; any case).",
            ),
            click.option(
                "--ham-label",
                "ham_labels",
                multiple=True,
                help="A label value meaning legitimate, repeatable (default: 0, ham, false, no; any case).",
            ),
        ]
        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper

    return decorate


_TEXT_KEYS = (
    ("precision", "precision"),
    ("recall", "recall"),
    ("f1", "F1"),
    ("mcc", "MCC"),
    ("roc_auc", "ROC AUC"),
    ("pr_auc", "PR AUC"),
    ("accuracy", "accuracy"),
    ("blocked_legit", "legitimate blocked"),
    ("held_legit", "legitimate held+blocked"),
    ("spam_caught", "spam caught"),
    ("spam_caught_or_held", "spam caught or held"),
)


def _print_text(figures: dict) -> None:
    click.echo(figures["evaluation"])
    click.echo(
        f"{figures['n']} comment{'' if figures['n'] == 1 else 's'} "
        f"({figures['n_spam']} spam, {figures['n_ham']} legitimate) "
        f"in {figures['n_threads']} thread(s); thresholds: hold {figures['thresholds']['hold']:.3f}, "
        f"spam {figures['thresholds']['spam']:.3f}"
    )
    for key, name in _TEXT_KEYS:
        value = figures[key]
        shown = "n/a" if value != value else f"{value:.3f}"  # NaN: an AUC with one class present
        click.echo(f"  {name:<24} {shown}")
    (tn, fp), (fn, tp) = figures["confusion_matrix"]
    width = max(len(str(v)) for v in (tn, fp, fn, tp, "spam"))
    click.echo("confusion matrix (rows: true, columns: predicted at the spam threshold)")
    click.echo(f"  {'':<12} {'legit':>{width}} {'spam':>{width}}")
    click.echo(f"  {'legit':<12} {tn:>{width}} {fp:>{width}}")
    click.echo(f"  {'spam':<12} {fn:>{width}} {tp:>{width}}")


@click.command()
@data_options(required=True)
@model_option
@click.option(
    "--cv",
    type=click.IntRange(2, 50),
    default=None,
    help="Cross-validate a fresh model with K folds instead of evaluating a saved one "
    "(grouped by thread when threads are real: thread files or --group-column).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed for the folds and the models.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Print the figures as text or as one JSON object.",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write a report with plots and the worst mistakes into this directory.",
)
@click.option(
    "--report-format", type=click.Choice(["html", "md"]), default="html", show_default=True, help="Report format."
)
@reports_errors
def evaluate(
    labeled_data: LabeledData,
    model_path: Path | None,
    cv: int | None,
    seed: int,
    output_format: str,
    report_dir: Path | None,
    report_format: str,
) -> None:
    """Measure a model on labeled data, or cross-validate a fresh one with --cv K."""
    from ..api import Moderator
    from ..learning.evaluation import cross_validate, evaluate_model, json_safe
    from ..learning.labeled import is_grouped

    if cv is not None and model_path is not None:
        raise click.UsageError("--cv trains fresh models; it cannot be combined with --model")
    threads = labeled_data.load()
    if cv is None:
        moderator = Moderator.load(model_path)
        total = sum(1 for t in threads for c in t.comments if c.label is not None)
        with Progress("scoring", total) as progress:
            evaluation = evaluate_model(moderator, threads, progress=progress.to)
    else:
        with Progress("cross-validating", cv, unit="folds") as progress:
            evaluation = cross_validate(threads, cv=cv, seed=seed, grouped=is_grouped(threads), progress=progress.to)
    if report_dir is not None:
        from ..learning.report import write_report

        path = write_report(evaluation, report_dir, fmt=report_format)
        click.echo(f"report written to {path}", err=True)
    if output_format == "json":
        click.echo(json.dumps(json_safe(evaluation.metrics), sort_keys=True))
    else:
        _print_text(evaluation.metrics)


__all__ = ["LabeledData", "data_options", "evaluate"]
