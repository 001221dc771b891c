"""An evaluation report: the figures, four plots, and the comments the model got most wrong, with its reasons.

``write_report(evaluation, directory)`` writes ``report.html`` (or ``report.md``) and the PNGs beside it:

    pr_curve.png       precision against recall as the spam threshold moves
    roc_curve.png      share of spam caught against share of legitimate comments blocked
    score_hist.png     the scores of spam and of legitimate comments, with both thresholds marked
    calibration.png    predicted score against the observed share of spam, per score bin

Plots are drawn on matplotlib ``Figure`` objects with the Agg canvas directly, never through pyplot:
pyplot keeps global state and picks a GUI backend on a desktop, and neither belongs in a library.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from ..errors import InputError
from ..formats.source import atomic_write
from .evaluation import Evaluation

PLOTS = ("pr_curve.png", "roc_curve.png", "score_hist.png", "calibration.png")
REPORT_FORMATS = ("html", "md")
# Enough mistakes to see a pattern in, few enough that a person reads them all.
WORST_PER_KIND = 15
_EXCERPT = 300

_FIGURES = (
    ("precision", "Precision (spam marked that is spam)"),
    ("recall", "Recall (spam caught)"),
    ("f1", "F1"),
    ("mcc", "Matthews correlation (MCC)"),
    ("roc_auc", "ROC AUC"),
    ("pr_auc", "PR AUC (average precision)"),
    ("accuracy", "Accuracy"),
    ("blocked_legit", "Legitimate comments blocked (marked spam)"),
    ("held_legit", "Legitimate comments held or blocked"),
    ("spam_caught", "Spam caught (marked spam)"),
    ("spam_caught_or_held", "Spam caught or held"),
)


def _figure() -> Figure:
    figure = Figure(figsize=(5.5, 4.2), dpi=100, layout="tight")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> None:
    with atomic_write(path, "wb") as fh:
        figure.savefig(fh, format="png")


def _two_classes(evaluation: Evaluation) -> bool:
    return len(np.unique(evaluation.y)) == 2


def plot_pr(evaluation: Evaluation, path: Path) -> None:
    figure = _figure()
    axes = figure.add_subplot()
    if _two_classes(evaluation):
        precision, recall, _ = precision_recall_curve(evaluation.y, evaluation.scores)
        axes.step(recall, precision, where="post", label=f"PR AUC {evaluation.metrics['pr_auc']:.3f}")
        axes.plot(
            [evaluation.metrics["recall"]],
            [evaluation.metrics["precision"]],
            "o",
            label=f"spam threshold {evaluation.thresholds.spam:.2f}",
        )
        axes.legend(loc="lower left")
    else:
        axes.text(0.5, 0.5, "only one class: no curve", ha="center", va="center")
    axes.set(xlabel="Recall (share of spam caught)", ylabel="Precision", xlim=(0, 1.01), ylim=(0, 1.01))
    axes.set_title("Precision-recall")
    axes.grid(alpha=0.3)
    _save(figure, path)


def plot_roc(evaluation: Evaluation, path: Path) -> None:
    figure = _figure()
    axes = figure.add_subplot()
    if _two_classes(evaluation):
        fpr, tpr, _ = roc_curve(evaluation.y, evaluation.scores)
        axes.plot(fpr, tpr, label=f"ROC AUC {evaluation.metrics['roc_auc']:.3f}")
        axes.plot(
            [evaluation.metrics["blocked_legit"]],
            [evaluation.metrics["spam_caught"]],
            "o",
            label=f"spam threshold {evaluation.thresholds.spam:.2f}",
        )
        axes.legend(loc="lower right")
    else:
        axes.text(0.5, 0.5, "only one class: no curve", ha="center", va="center")
    axes.plot([0, 1], [0, 1], ":", color="grey")
    axes.set(xlabel="Share of legitimate comments blocked", ylabel="Share of spam caught", xlim=(0, 1), ylim=(0, 1.01))
    axes.set_title("ROC")
    axes.grid(alpha=0.3)
    _save(figure, path)


def plot_histogram(evaluation: Evaluation, path: Path) -> None:
    figure = _figure()
    axes = figure.add_subplot()
    bins = np.linspace(0, 1, 41)
    for label, name, colour in ((0, "legitimate", "tab:blue"), (1, "spam", "tab:red")):
        values = evaluation.scores[evaluation.y == label]
        if values.size:
            axes.hist(values, bins=bins, alpha=0.6, color=colour, label=f"{name} ({values.size})")
    axes.axvline(evaluation.thresholds.hold, color="tab:orange", linestyle="--", label="hold threshold")
    axes.axvline(evaluation.thresholds.spam, color="black", linestyle="--", label="spam threshold")
    # Most scores sit near 0 or 1; a log scale keeps the few in between (the mistakes) visible.
    axes.set_yscale("log")
    axes.set(xlabel="Spam score", ylabel="Comments (log scale)", xlim=(0, 1))
    axes.set_title("Scores by class")
    axes.legend(loc="upper center")
    _save(figure, path)


def plot_calibration(evaluation: Evaluation, path: Path) -> None:
    figure = _figure()
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], ":", color="grey", label="perfectly calibrated")
    if _two_classes(evaluation):
        observed, predicted = calibration_curve(evaluation.y, evaluation.scores, n_bins=10, strategy="quantile")
        axes.plot(predicted, observed, "o-", label="this model")
    axes.set(xlabel="Mean spam score in bin", ylabel="Observed share of spam", xlim=(0, 1), ylim=(0, 1.01))
    axes.set_title("Calibration (10 quantile bins)")
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)
    _save(figure, path)


def worst_mistakes(evaluation: Evaluation, per_kind: int = WORST_PER_KIND) -> list[dict]:
    """The highest-scored legitimate comments and the lowest-scored spam, each with the model's reasons.

    Only mistakes at the model's thresholds count: a legitimate comment at least held, spam not marked.
    """
    y, scores = evaluation.y, evaluation.scores
    ham_wrong = np.flatnonzero((y == 0) & (scores >= evaluation.thresholds.hold))
    spam_missed = np.flatnonzero((y == 1) & (scores < evaluation.thresholds.spam))
    rows = [int(r) for r in ham_wrong[np.argsort(-scores[ham_wrong], kind="stable")][:per_kind]]
    rows += [int(r) for r in spam_missed[np.argsort(scores[spam_missed], kind="stable")][:per_kind]]
    decisions = evaluation.explain(rows)
    mistakes = []
    for row, decision in zip(rows, decisions, strict=True):
        comment = evaluation.comments[row]
        source = comment.extra.get("source")
        where = f"{source}:{comment.extra['line']}" if source and "line" in comment.extra else ""
        mistakes.append(
            {
                "kind": "legitimate, blocked or held" if y[row] == 0 else "spam, not blocked",
                "label": "ham" if y[row] == 0 else "spam",
                "score": float(scores[row]),
                "verdict": decision.verdict,
                "author": comment.author,
                "id": comment.id,
                "where": where,
                "body": comment.body,
                "reasons": list(decision.reasons),
            }
        )
    return mistakes


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def _number(value) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def _figure_rows(metrics: dict) -> list[tuple[str, str]]:
    return [(title, _number(metrics[key])) for key, title in _FIGURES if key in metrics]


def _html(evaluation: Evaluation, mistakes: list[dict], title: str) -> str:
    m = evaluation.metrics
    e = html.escape
    (tn, fp), (fn, tp) = m["confusion_matrix"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;"
        "text-align:left;vertical-align:top}img{max-width:48%;margin:.5%}.body{white-space:pre-wrap}</style>",
        "</head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p>{e(evaluation.description)}. {m['n']} comment{'' if m['n'] == 1 else 's'} "
        f"({m['n_spam']} spam, {m['n_ham']} legitimate) in "
        f"{m['n_threads']} thread(s). Thresholds: hold {evaluation.thresholds.hold:.3f}, "
        f"spam {evaluation.thresholds.spam:.3f}.</p>",
        "<h2>Figures at the spam threshold</h2><table>",
        *(f"<tr><th>{e(name)}</th><td>{value}</td></tr>" for name, value in _figure_rows(m)),
        "</table>",
        "<h2>Confusion matrix</h2><table>",
        "<tr><th></th><th>predicted legitimate</th><th>predicted spam</th></tr>",
        f"<tr><th>legitimate</th><td>{tn}</td><td>{fp}</td></tr>",
        f"<tr><th>spam</th><td>{fn}</td><td>{tp}</td></tr>",
        "</table>",
        "<h2>Plots</h2><p>",
        *(f'<img src="{name}" alt="{e(name[:-4].replace("_", " "))}">' for name in PLOTS),
        "</p>",
        f"<h2>Most wrong ({len(mistakes)})</h2>",
    ]
    if mistakes:
        parts.append("<table><tr><th>label</th><th>score</th><th>author</th><th>comment</th><th>reasons</th></tr>")
        for mistake in mistakes:
            reasons = "".join(f"<li>{e(r)}</li>" for r in mistake["reasons"]) or "<li>(none)</li>"
            where = f"<br><small>{e(mistake['where'])}</small>" if mistake["where"] else ""
            parts.append(
                f"<tr><td>{e(mistake['label'])}</td><td>{mistake['score']:.3f} ({e(mistake['verdict'])})</td>"
                f'<td>{e(mistake["author"])}</td><td class="body">{e(_excerpt(mistake["body"]))}{where}</td>'
                f"<td><ul>{reasons}</ul></td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append("<p>No mistakes at these thresholds.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _md_cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def _markdown(evaluation: Evaluation, mistakes: list[dict], title: str) -> str:
    m = evaluation.metrics
    (tn, fp), (fn, tp) = m["confusion_matrix"]
    lines = [
        f"# {title}",
        "",
        f"{evaluation.description}. {m['n']} comment{'' if m['n'] == 1 else 's'} "
        f"({m['n_spam']} spam, {m['n_ham']} legitimate) in "
        f"{m['n_threads']} thread(s). Thresholds: hold {evaluation.thresholds.hold:.3f}, "
        f"spam {evaluation.thresholds.spam:.3f}.",
        "",
        "| figure | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in _figure_rows(m)),
        "",
        "| | predicted legitimate | predicted spam |",
        "|---|---|---|",
        f"| legitimate | {tn} | {fp} |",
        f"| spam | {fn} | {tp} |",
        "",
        *(f"![{name[:-4].replace('_', ' ')}]({name})" for name in PLOTS),
        "",
        f"## Most wrong ({len(mistakes)})",
        "",
    ]
    if mistakes:
        lines += ["| label | score | author | comment | reasons |", "|---|---|---|---|---|"]
        for mistake in mistakes:
            lines.append(
                f"| {mistake['label']} | {mistake['score']:.3f} ({mistake['verdict']}) | "
                f"{_md_cell(mistake['author'])} | {_md_cell(_excerpt(mistake['body']))} | "
                f"{_md_cell('; '.join(mistake['reasons']))} |"
            )
    else:
        lines.append("No mistakes at these thresholds.")
    return "\n".join(lines) + "\n"


def write_report(
    evaluation: Evaluation, directory: str | Path, *, fmt: str = "html", title: str = "Spam filter evaluation"
) -> Path:
    """Write the report and its plots into ``directory`` (created if missing); return the report's path."""
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"report format must be one of {REPORT_FORMATS}, got {fmt!r}")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory}: exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    plot_pr(evaluation, directory / "pr_curve.png")
    plot_roc(evaluation, directory / "roc_curve.png")
    plot_histogram(evaluation, directory / "score_hist.png")
    plot_calibration(evaluation, directory / "calibration.png")
    mistakes = worst_mistakes(evaluation)
    path = directory / f"report.{fmt}"
    text = _html(evaluation, mistakes, title) if fmt == "html" else _markdown(evaluation, mistakes, title)
    with atomic_write(path) as fh:
        fh.write(text)
    return path


__all__ = ["PLOTS", "REPORT_FORMATS", "worst_mistakes", "write_report"]
