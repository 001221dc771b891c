"""The Python API for a blog pipeline: load a model, score one comment given its post, or a whole thread.

from moderation.api import Moderator
moderator = Moderator.load()                      # the shipped models/default.joblib
decision = moderator.score_comment("Great post! I'll be bookmarking it.", post="Post text ...")
decision.score, decision.verdict, decision.reasons
decisions = moderator.score_thread(thread)        # a moderation.model.thread.Thread, e.g. from read_threads
per_unit = moderator.score_batch([thread, Incoming(comment, post)])   # threads and lone arrivals, one pass

Every way from comments to decisions (the CLI, this API, the service's checks and batches) goes through
``Moderator.score_batch``; ``decisions.decision_for`` turns each score into the decision.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np

from .model.bundle import ModelBundle
from .model.decisions import Decision, Incoming, Thresholds, decision_for
from .model.explain import FeatureIndex, contributions, explain_rows, raw_scale, reasons_for
from .model.items import CommentItem, item_for_comment, items_from_thread
from .model.scoring import ScoringModel, load_for_scoring
from .model.text import analyses_scope
from .model.thread import Comment, Post, Thread

# Signs of a real reader: any one of them present keeps a comment from being discarded unseen, however
# high its score. A reader's link to their own build post scored 0.9995 and got `discard` (issue 8);
# such a comment may be held or marked spam, but a person must see it first. Values are the features'
# scaled values; post and thread similarity count from a modest overlap.
REAL_READER_SIGNS = {
    "context:reply": 0.0,
    "context:names_commenter": 0.0,
    "context:quotes": 0.0,
    "context:regular": 0.0,
    "author:is_post_author": 0.0,
    "link:reference": 0.0,
    "link:on_topic": 0.0,
    "link:to_site": 0.0,
    "shape:pingback": 0.0,
    "post:shared_words": 0.3,
    "thread:shared_words": 0.5,
}

# Threads are scored in batches of about this many comments: large enough to amortise the pipeline's
# per-call overhead, small enough that a million-comment export never sits in memory at once.
BATCH_COMMENTS = 2000


_GC_LOCK = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = True


@contextmanager
def _gc_paused():
    """The cyclic garbage collector off while a batch is scored, back as it was once no batch is.

    A batch allocates a list, tuple or set per comment and block (split words, shingles, reasons), so
    the collector ran every few hundred comments and walked every live object, the model and the batch
    included: 10-12% of batch scoring without reasons and 9-24% with them (benchmarks/README.md,
    bench_speed, "The garbage collector"). Scoring makes no reference cycles of its own, so nothing
    waits for the collector (85 objects of cyclic garbage after 10,000 comments with reasons); the pause
    lasts one ``score_batch`` (threads of about BATCH_COMMENTS comments in all, one long thread, or a
    service's checks) or one ``decide``. Concurrent batches (the service's threads) count
    in ``_gc_pauses``: the last one out restores the collector, and a host that had switched it off keeps
    it off.
    """
    global _gc_pauses, _gc_was_enabled
    with _GC_LOCK:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def thread_batches(threads: Iterable[Thread], size: int | None = None) -> Iterator[list[Thread]]:
    """Consecutive threads grouped until they hold ``size`` (default ``BATCH_COMMENTS``) comments: the
    batches ``Moderator.score_threads`` scores, and the ones a Dask cluster is sent (distributed.py)."""
    size = BATCH_COMMENTS if size is None else size
    batch: list[Thread] = []
    count = 0
    for thread in threads:
        batch.append(thread)
        count += len(thread.comments)
        if count >= size:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch


class Moderator:
    """A loaded model with its thresholds; cheap to call, safe to share between threads once built.

    ``model`` scores: read from the parameter file by ``Moderator.load`` (no scikit-learn imported),
    or, by default, taken from the bundle's fitted pipeline; the two give the same scores.
    """

    def __init__(self, bundle: ModelBundle, model: ScoringModel | None = None):
        self.bundle = bundle
        self.model = model if model is not None else ScoringModel.from_pipeline(bundle.pipeline)
        self._feature_index: FeatureIndex | None = None
        columns = self.model.signal_columns()
        signs = [(columns[name], floor) for name, floor in REAL_READER_SIGNS.items() if name in columns]
        self._sign_columns = np.asarray([c for c, _ in signs], dtype=np.int64)
        # Floors are in the signals' own units; the matrix holds them scaled and weighted.
        unscale = raw_scale(self.model)
        self._sign_floors = np.asarray([f for _, f in signs]) / np.maximum(unscale[self._sign_columns], 1e-12)

    @property
    def feature_index(self) -> FeatureIndex:
        """The model's feature names and blocks, built once, when reasons are first asked for."""
        if self._feature_index is None:
            self._feature_index = FeatureIndex.for_model(self.model)
        return self._feature_index

    def discard_at(self) -> float:
        """The score from which spam with no sign of a real reader is blatant (``Thresholds.discard``)."""
        return self.thresholds.discard

    def _real_reader(self, matrix) -> np.ndarray:
        """Per row, whether any sign of a real reader is present (see ``REAL_READER_SIGNS``)."""
        if not len(self._sign_columns):
            return np.zeros(matrix.shape[0], dtype=bool)
        return (self.model.columns(matrix, self._sign_columns) > self._sign_floors).any(axis=1)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Moderator:
        """The model at ``path`` (default: the shipped one), from its parameter file when it has a
        verified one, so that scoring imports neither scikit-learn nor joblib (scoring.load_for_scoring)."""
        return cls(*load_for_scoring(path))

    @property
    def version(self) -> str:
        return self.bundle.version

    @property
    def thresholds(self) -> Thresholds:
        return self.bundle.thresholds

    @property
    def card(self) -> dict:
        return self.bundle.card

    def scores(self, items: Sequence[CommentItem]) -> np.ndarray:
        """Spam probabilities only, without reasons: the fast path for evaluation and benchmarks."""
        return self.model.scores(items)

    def decide(
        self, items: Sequence[CommentItem], comments: Sequence[Comment], *, explain: bool = True
    ) -> list[Decision]:
        """Decisions for items already built (``score_batch`` builds them; evaluation passes its own)."""
        if not items:
            return []
        if len(items) > BATCH_COMMENTS:
            # Each row's features come from its own item (its thread travels with it), so a long
            # thread is scored in slices with identical results and bounded memory: one 16,000-comment
            # thread in one slice peaked at 527 MB (benchmarks/bench_scaling.py).
            return [
                decision
                for start in range(0, len(items), BATCH_COMMENTS)
                for decision in self.decide(
                    items[start : start + BATCH_COMMENTS], comments[start : start + BATCH_COMMENTS], explain=explain
                )
            ]
        with _gc_paused():
            return self._decide(items, comments, explain=explain)

    def _decide(self, items: Sequence[CommentItem], comments: Sequence[Comment], *, explain: bool) -> list[Decision]:
        # Features once, for both the score and its explanation.
        matrix = self.model.features(items)
        scores = self.model.predict(matrix)
        if explain:
            contrib, _, raw = contributions(self.model, matrix, self.feature_index.names, self.feature_index)
            # Every verdict asks for its reasons, so they are found for the whole batch in one pass
            # (row by row they took 41% of batch scoring with reasons), toward the verdict each score gets.
            toward_spam = np.array([self.thresholds.verdict(float(score)) != "approve" for score in scores], dtype=bool)
            explained = explain_rows(contrib, self.feature_index, raw, toward_spam)
        real_reader = self._real_reader(matrix)
        decisions = []
        for row, (comment, score) in enumerate(zip(comments, scores, strict=True)):

            def reasons(verdict: str, row: int = row):
                if (verdict != "approve") == toward_spam[row]:
                    return explained[row]
                return reasons_for(row, contrib, self.feature_index, raw, toward_spam=verdict != "approve")

            decisions.append(
                decision_for(
                    comment,
                    float(score),
                    self.thresholds,
                    explain=reasons if explain else None,
                    real_reader=bool(real_reader[row]),
                )
            )
        return decisions

    def score_batch(self, units: Sequence[Thread | Incoming], *, explain: bool = True) -> list[list[Decision]]:
        """Decisions for each unit, in order, from one pass of the model over all their comments.

        A ``Thread`` is scored as a thread: each comment with its post and the comments around it. An
        ``Incoming`` comment is scored on its own, as a check arrives: with its post, beside its thread
        if given, and never with the other units of the batch (two checks under one post in one batch
        must score as they would alone)."""
        # The collector paused while the items are made too (decide pauses it for scoring): 40,000
        # benchmark comments with reasons 5,500 and 5,344/s -> 5,581 and 5,412/s, alternating.
        # A batch of whole threads keeps its texts' analyses for itself (text.analyses_scope): no later
        # batch reads them, and dropped before the collector is back they are never walked by it. A
        # service's checks keep theirs in the shared cache, where a flood of one text finds it.
        scope = analyses_scope() if all(isinstance(unit, Thread) for unit in units) else nullcontext()
        with _gc_paused(), scope:
            items: list[CommentItem] = []
            comments: list[Comment] = []
            for unit in units:
                if isinstance(unit, Thread):
                    items.extend(items_from_thread(unit))
                    comments.extend(unit.comments)
                else:
                    items.append(item_for_comment(unit.comment, unit.post, unit.thread))
                    comments.append(unit.comment)
            decisions = self.decide(items, comments, explain=explain)
            # Gone before the collector is back, so that it never walks them: its collections during
            # 40,000 benchmark comments with reasons took 0.42 s with them alive, 0.33 s without.
            del items, comments
        result = []
        start = 0
        for unit in units:
            end = start + (len(unit.comments) if isinstance(unit, Thread) else 1)
            result.append(decisions[start:end])
            start = end
        return result

    def score_thread(self, thread: Thread, *, explain: bool = True) -> list[Decision]:
        """One decision per comment, in order; empty comments are scored and flagged, never skipped."""
        return self.score_batch([thread], explain=explain)[0]

    def score_threads(
        self, threads: Iterable[Thread], *, explain: bool = True
    ) -> Iterator[tuple[Thread, list[Decision]]]:
        """Score a stream of threads, batching small ones together; yields each thread with its decisions."""
        for batch in thread_batches(threads):
            yield from zip(batch, self.score_batch(batch, explain=explain), strict=True)

    def score_comment(
        self,
        body: str,
        *,
        post: Post | str | None = None,
        author: str = "",
        author_url: str = "",
        author_email: str = "",
        thread: Thread | None = None,
        parent: str | None = None,
        comment_type: str = "comment",
    ) -> Decision:
        """Score one comment as it arrives, knowing the post (a Post or its text) and, if given, its thread."""
        if isinstance(post, str):
            post = Post(body=post)
        comment = Comment(
            body=body or "",
            author=author,
            author_url=author_url,
            author_email=author_email,
            parent=parent,
            type=comment_type,
        )
        if thread is not None:
            comment.position = len(thread.comments) + 1
        return self.score_batch([Incoming(comment, post, thread)])[0][0]
