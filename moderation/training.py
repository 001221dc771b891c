"""Training: grouped cross-validation for honest figures, thresholds from those figures, then the final fit."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import math
from collections.abc import Callable, Sequence

import numpy as np
import sklearn
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from .dataset import data_hash, training_arrays
from .decisions import Thresholds
from .errors import DataError
from .features import CommentItem
from .model import FORMAT_VERSION, ModelBundle, build_pipeline
from .thread import Thread

# Share of legitimate comments we accept to hold for a moderator, and (far fewer) to mark as spam.
# A blog owner reads held comments; a comment marked spam is, in practice, never seen again.
HOLD_LEGIT_RATE = 0.03
SPAM_LEGIT_RATE = 0.005
# Share of training comments also shown to the model without their post and thread (see
# ``with_context_free_copies``).
CONTEXT_FREE_SHARE = 0.3


def grouped_folds(y: np.ndarray, groups: np.ndarray | None, *, cv: int, seed: int):
    """Folds that keep each thread (group) whole, so no thread is in both train and test."""
    if groups is None or len(np.unique(groups)) < cv:
        return StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    return StratifiedGroupKFold(n_splits=cv, shuffle=True, random_state=seed).split(np.zeros(len(y)), y, groups)


def without_context(item: CommentItem) -> CommentItem:
    """The same comment as the service sees it when the post is unknown and the thread empty."""
    return dataclasses.replace(
        item, post_text="", post_author="", thread_bodies=(), thread_authors=(), index=-1, parent_body=None
    )


def with_context_free_copies(items, y, indices, *, share: float, seed: int):
    """The items at ``indices`` plus context-free copies of a seeded ``share`` of them.

    Every training thread has its post, but the HTTP service often scores a comment whose permalink
    it has never seen. Without such copies the model never saw post:available = 0 and read every
    context-free comment as off-topic.
    """
    indices = np.asarray(indices)
    chosen = indices[np.random.default_rng(seed).random(len(indices)) < share] if share > 0 else indices[:0]
    batch = [items[i] for i in indices] + [without_context(items[i]) for i in chosen]
    return batch, np.concatenate([y[indices], y[chosen]])


def cross_validate(
    items,
    y,
    groups,
    *,
    cv: int = 5,
    seed: int = 0,
    context_free_share: float = 0.0,
    pipeline_factory: Callable = build_pipeline,
    progress: Callable | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold spam probabilities, with context and without it, each from a model that never saw the thread."""
    scores = np.zeros(len(y), dtype=float)
    alone = np.zeros(len(y), dtype=float)
    folds = list(grouped_folds(y, groups, cv=cv, seed=seed))
    for number, (train, test) in enumerate(folds, start=1):
        if len(np.unique(y[train])) < 2:
            raise DataError("a training fold has only one class; add more labeled spam and ham")
        batch, labels = with_context_free_copies(items, y, train, share=context_free_share, seed=seed + number)
        model = pipeline_factory(seed=seed).fit(batch, labels)
        scores[test] = model.predict_proba([items[i] for i in test])[:, 1]
        alone[test] = model.predict_proba([without_context(items[i]) for i in test])[:, 1]
        if progress:
            progress(number, len(folds))
    return scores, alone


def cross_validated_scores(
    items,
    y,
    groups,
    *,
    cv: int = 5,
    seed: int = 0,
    pipeline_factory: Callable = build_pipeline,
    progress: Callable | None = None,
) -> np.ndarray:
    """Out-of-fold spam probabilities for every item (with its context), by thread-grouped folds."""
    return cross_validate(items, y, groups, cv=cv, seed=seed, pipeline_factory=pipeline_factory, progress=progress)[0]


def choose_thresholds(y: np.ndarray, scores: np.ndarray) -> Thresholds:
    """Hold and spam thresholds from out-of-fold scores of legitimate comments.

    The spam threshold is set so that at most SPAM_LEGIT_RATE of legitimate comments reach it, and
    never below 0.5; the hold threshold so that at most HOLD_LEGIT_RATE do, and never below 0.3. The
    floors keep a very clean validation set from pushing thresholds down to where noise decides.
    """
    ham = np.sort(scores[y == 0])
    if ham.size == 0:
        return Thresholds()

    def above(rate: float) -> float:
        # The smallest threshold that lets at most `rate` of ham scores through (strictly above it).
        allowed = int(np.floor(rate * ham.size))
        return float(ham[ham.size - allowed - 1]) + 1e-6

    spam = float(np.clip(above(SPAM_LEGIT_RATE), 0.5, 0.95))
    hold = float(np.clip(above(HOLD_LEGIT_RATE), 0.3, spam))
    # Rounded up, never down: rounding down could let the very comments the rate excludes through.
    return Thresholds(hold=math.ceil(hold * 1e4) / 1e4, spam=math.ceil(spam * 1e4) / 1e4)


def metrics(y: np.ndarray, scores: np.ndarray, thresholds: Thresholds) -> dict:
    """Figures at the model's thresholds. "Blocked" means marked spam; "held" means at least held."""
    y = np.asarray(y)
    scores = np.asarray(scores)
    spam_pred = (scores >= thresholds.spam).astype(int)
    held_pred = (scores >= thresholds.hold).astype(int)
    both = len(np.unique(y)) == 2
    tn, fp, fn, tp = confusion_matrix(y, spam_pred, labels=[0, 1]).ravel()
    n_ham = max(int((y == 0).sum()), 1)
    n_spam = max(int((y == 1).sum()), 1)
    return {
        "n": int(len(y)),
        "n_spam": int((y == 1).sum()),
        "precision": float(precision_score(y, spam_pred, zero_division=0)),
        "recall": float(recall_score(y, spam_pred, zero_division=0)),
        "f1": float(f1_score(y, spam_pred, zero_division=0)),
        "mcc": float(matthews_corrcoef(y, spam_pred)) if both else 0.0,
        "roc_auc": float(roc_auc_score(y, scores)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, scores)) if both else float("nan"),
        "blocked_legit": float(fp / n_ham),
        "held_legit": float(((held_pred == 1) & (y == 0)).sum() / n_ham),
        "spam_caught": float(tp / n_spam),
        "spam_caught_or_held": float(((held_pred == 1) & (y == 1)).sum() / n_spam),
        "confusion_matrix": [[int(tn), int(fp)], [int(fn), int(tp)]],
    }


def train_model(
    threads: Sequence[Thread], *, seed: int = 0, cv: int = 5, progress: Callable | None = None
) -> ModelBundle:
    """Cross-validate by thread, choose thresholds, fit on everything, and describe it all in a card."""
    items, y, groups = training_arrays(threads)
    if len(np.unique(y)) < 2:
        raise DataError("training data needs both spam and legitimate comments")
    cv = max(2, min(cv, int(min(np.bincount(y)))))
    scores, alone = cross_validate(
        items, y, groups, cv=cv, seed=seed, context_free_share=CONTEXT_FREE_SHARE, progress=progress
    )
    thresholds = choose_thresholds(y, scores)
    figures = metrics(y, scores, thresholds)
    batch, labels = with_context_free_copies(items, y, np.arange(len(y)), share=CONTEXT_FREE_SHARE, seed=seed)
    pipeline = build_pipeline(seed=seed).fit(batch, labels)
    digest = data_hash(threads)
    # The version names what made the model: data, seed, format, and the pipeline's parameters.
    recipe = f"{digest}:{seed}:{FORMAT_VERSION}:{CONTEXT_FREE_SHARE}:{build_pipeline(seed=seed)!r}"
    version = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    card = {
        "version": version,
        "format_version": FORMAT_VERSION,
        "sklearn_version": sklearn.__version__,
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data_hash": digest,
        "seed": seed,
        "training_data": {"threads": len(threads), "comments": int(len(y)), "spam": int(y.sum())},
        "evaluation": f"{cv}-fold cross-validation grouped by thread (StratifiedGroupKFold, seed {seed})",
        "metrics": figures,
        "metrics_without_context": metrics(y, alone, thresholds),
        "thresholds": {"hold": thresholds.hold, "spam": thresholds.spam},
        "threshold_policy": {"hold_legit_rate": HOLD_LEGIT_RATE, "spam_legit_rate": SPAM_LEGIT_RATE},
    }
    return ModelBundle(pipeline=pipeline, thresholds=thresholds, card=card)
