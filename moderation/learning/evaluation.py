"""Evaluation: how well a model does on labeled threads, or how well a fresh one does under cross-validation.

Both return an ``Evaluation``: the figures at the thresholds (``training.metrics``, with ``n``), and the
per-comment scores the report draws its curves and its list of mistakes from.

    evaluate_model(Moderator.load(), threads)           # a saved model on data it never saw
    cross_validate(threads, cv=5, grouped=True)         # a fresh model, no thread in train and test
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..api import Moderator
from ..errors import DataError
from ..model.decisions import Decision, Thresholds
from ..model.features import CommentItem
from ..model.pipeline import ModelBundle, build_pipeline
from ..model.thread import Comment, Thread
from .dataset import training_arrays
from .training import choose_thresholds, cross_validated_scores, grouped_folds, metrics

# Scoring is done in slices of this many comments so a progress bar moves on large files; the
# pipeline's per-call overhead is small next to a slice of this size.
SCORE_SLICE = 500

Progress = Callable[[int, int], None]


@dataclass
class Evaluation:
    """Figures and the per-comment material behind them, in the order of ``training_arrays``."""

    metrics: dict
    thresholds: Thresholds
    description: str
    y: np.ndarray
    scores: np.ndarray
    items: list[CommentItem]
    comments: list[Comment]
    # For each comment, the model that scored it: one for a saved model, one per fold under CV.
    moderators: list[Moderator] = field(default_factory=list)
    model_of: np.ndarray | None = None

    def explain(self, rows: Sequence[int]) -> list[Decision]:
        """Decisions with reasons for the given rows, each from the model that actually scored it."""
        decisions: dict[int, Decision] = {}
        model_of = self.model_of if self.model_of is not None else np.zeros(len(self.y), dtype=int)
        for index, moderator in enumerate(self.moderators):
            mine = [row for row in rows if model_of[row] == index]
            if mine:
                found = moderator.decide([self.items[r] for r in mine], [self.comments[r] for r in mine])
                decisions.update(zip(mine, found, strict=True))
        return [decisions[row] for row in rows if row in decisions]


def _labeled(threads: Sequence[Thread]) -> tuple[list[CommentItem], np.ndarray, np.ndarray, list[Comment]]:
    items, y, groups = training_arrays(threads)
    # training_arrays skips unlabeled comments; the same filter here keeps comments aligned with items.
    comments = [c for t in threads for c in t.comments if c.label is not None]
    return items, y, groups, comments


def _with_counts(figures: dict, description: str, thresholds: Thresholds, groups: np.ndarray) -> dict:
    figures = dict(figures)
    figures["n_ham"] = figures["n"] - figures["n_spam"]
    figures["n_threads"] = len(np.unique(groups))
    figures["accuracy"] = (figures["confusion_matrix"][0][0] + figures["confusion_matrix"][1][1]) / max(figures["n"], 1)
    figures["thresholds"] = {"hold": thresholds.hold, "spam": thresholds.spam}
    figures["evaluation"] = description
    return figures


def evaluate_model(moderator: Moderator, threads: Sequence[Thread], *, progress: Progress | None = None) -> Evaluation:
    """Score every labeled comment with a saved model and measure it at the model's own thresholds."""
    items, y, groups, comments = _labeled(threads)
    scores = np.zeros(len(y))
    for start in range(0, len(items), SCORE_SLICE):
        scores[start : start + SCORE_SLICE] = moderator.scores(items[start : start + SCORE_SLICE])
        if progress:
            progress(min(start + SCORE_SLICE, len(items)), len(items))
    description = f"model {moderator.version} on {len(y)} labeled comments"
    figures = _with_counts(metrics(y, scores, moderator.thresholds), description, moderator.thresholds, groups)
    figures["model_version"] = moderator.version
    return Evaluation(
        metrics=figures,
        thresholds=moderator.thresholds,
        description=description,
        y=y,
        scores=scores,
        items=items,
        comments=comments,
        moderators=[moderator],
    )


def cross_validate(
    threads: Sequence[Thread],
    *,
    cv: int = 5,
    seed: int = 0,
    grouped: bool = True,
    pipeline_factory: Callable = build_pipeline,
    progress: Progress | None = None,
) -> Evaluation:
    """Out-of-fold scores of fresh models, with thresholds chosen from them as ``train`` does.

    ``grouped`` keeps each thread (a blog post, a video, a group-column value) whole, in train or in
    test: comments under one post share wording, and splitting them would flatter the model. The
    thresholds come from the same out-of-fold scores, exactly as ``train`` sets them for its card, so
    these figures are comparable with a model card's.
    """
    items, y, groups, comments = _labeled(threads)
    if len(np.unique(y)) < 2:
        raise DataError("cross-validation needs both spam and legitimate comments")
    smallest = int(np.bincount(y).min())
    if cv > smallest:
        raise DataError(f"--cv {cv} needs at least {cv} comments of each class; the smaller class has {smallest}")
    if grouped and len(np.unique(groups)) < cv:
        raise DataError(
            f"--cv {cv} with grouped folds needs at least {cv} threads; the data has {len(np.unique(groups))} "
            "(use fewer folds, or ungrouped folds)"
        )
    fold_groups = groups if grouped else None
    fitted: list = []

    def keep(**kwargs):
        # cross_validated_scores fits each pipeline in place, in fold order: keep them to explain later.
        pipeline = pipeline_factory(**kwargs)
        fitted.append(pipeline)
        return pipeline

    scores = cross_validated_scores(items, y, fold_groups, cv=cv, seed=seed, pipeline_factory=keep, progress=progress)
    thresholds = choose_thresholds(y, scores)
    model_of = np.zeros(len(y), dtype=int)
    # grouped_folds is deterministic for a seed, so the same call names each comment's fold model.
    for number, (_train, test) in enumerate(grouped_folds(y, fold_groups, cv=cv, seed=seed)):
        model_of[test] = number
    how = "grouped by thread (StratifiedGroupKFold)" if grouped else "stratified (StratifiedKFold)"
    description = f"{cv}-fold cross-validation {how}, seed {seed}, thresholds from the out-of-fold scores"
    figures = _with_counts(metrics(y, scores, thresholds), description, thresholds, groups)
    moderators = [
        Moderator(ModelBundle(pipeline=p, thresholds=thresholds, card={"version": f"fold-{i + 1}"}))
        for i, p in enumerate(fitted)
    ]
    return Evaluation(
        metrics=figures,
        thresholds=thresholds,
        description=description,
        y=y,
        scores=scores,
        items=items,
        comments=comments,
        moderators=moderators,
        model_of=model_of,
    )


def json_safe(figures: dict) -> dict:
    """The figures with NaN (an AUC on one class) as null, so the JSON is valid for every parser."""

    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return clean(figures)


__all__ = ["Evaluation", "cross_validate", "evaluate_model", "json_safe"]
