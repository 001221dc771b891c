"""The Python API for a blog pipeline: load a model, score one comment given its post, or a whole thread.

from moderation.api import Moderator
moderator = Moderator.load()                      # the shipped models/default.joblib
decision = moderator.score_comment("Great post! I'll be bookmarking it.", post="Post text ...")
decision.score, decision.verdict, decision.reasons
decisions = moderator.score_thread(thread)        # a moderation.thread.Thread, e.g. from read_threads
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from .decisions import Decision, Thresholds
from .explain import FeatureIndex, contributions, reasons_for
from .features import CommentItem, item_for_comment, items_from_thread
from .model import ModelBundle, load_model
from .thread import Comment, Post, Thread

# Threads are scored in batches of about this many comments: large enough to amortise the pipeline's
# per-call overhead, small enough that a million-comment export never sits in memory at once.
BATCH_COMMENTS = 2000


class Moderator:
    """A loaded model with its thresholds; cheap to call, safe to share between threads once built."""

    def __init__(self, bundle: ModelBundle):
        self.bundle = bundle
        self._feature_index: FeatureIndex | None = None

    @property
    def feature_index(self) -> FeatureIndex:
        """The model's feature names and blocks, built once: building the names sorts every vocabulary."""
        if self._feature_index is None:
            names = self.bundle.pipeline.named_steps["features"].get_feature_names_out()
            self._feature_index = FeatureIndex(names)
        return self._feature_index

    @classmethod
    def load(cls, path: str | Path | None = None) -> Moderator:
        return cls(load_model(path))

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
        if not items:
            return np.zeros(0)
        return self.bundle.pipeline.predict_proba(list(items))[:, 1]

    def decide(
        self, items: Sequence[CommentItem], comments: Sequence[Comment], *, explain: bool = True
    ) -> list[Decision]:
        if not items:
            return []
        pipeline = self.bundle.pipeline
        # Features once, for both the score and its explanation.
        matrix = pipeline.named_steps["features"].transform(list(items))
        scores = pipeline.named_steps["classifier"].predict_proba(matrix)[:, 1]
        if explain:
            contrib, _, raw = contributions(pipeline, matrix, self.feature_index.names)
        decisions = []
        for row, (comment, score) in enumerate(zip(comments, scores, strict=True)):
            verdict = self.thresholds.verdict(float(score))
            reasons: list[str] = []
            evidence: list[tuple[str, float]] = []
            if explain:
                reasons, evidence = reasons_for(row, contrib, self.feature_index, raw, toward_spam=verdict != "approve")
            if comment.is_empty and "empty comment (deleted or blank)" not in reasons:
                reasons.insert(0, "empty comment (deleted or blank)")
            decisions.append(
                Decision(
                    position=comment.position,
                    comment_id=comment.id,
                    author=comment.author,
                    score=float(score),
                    verdict=verdict,
                    reasons=reasons,
                    empty=comment.is_empty,
                    contributions=evidence,
                )
            )
        return decisions

    def score_thread(self, thread: Thread, *, explain: bool = True) -> list[Decision]:
        """One decision per comment, in order; empty comments are scored and flagged, never skipped."""
        return self.decide(items_from_thread(thread), thread.comments, explain=explain)

    def score_threads(
        self, threads: Iterable[Thread], *, explain: bool = True
    ) -> Iterator[tuple[Thread, list[Decision]]]:
        """Score a stream of threads, batching small ones together; yields each thread with its decisions."""
        batch: list[Thread] = []
        size = 0
        for thread in threads:
            batch.append(thread)
            size += len(thread.comments)
            if size >= BATCH_COMMENTS:
                yield from self._score_batch(batch, explain)
                batch, size = [], 0
        if batch:
            yield from self._score_batch(batch, explain)

    def _score_batch(self, threads: list[Thread], explain: bool) -> Iterator[tuple[Thread, list[Decision]]]:
        items: list[CommentItem] = []
        comments: list[Comment] = []
        for thread in threads:
            items.extend(items_from_thread(thread))
            comments.extend(thread.comments)
        decisions = self.decide(items, comments, explain=explain)
        start = 0
        for thread in threads:
            end = start + len(thread.comments)
            yield thread, decisions[start:end]
            start = end

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
        return self.decide([item_for_comment(comment, post, thread)], [comment])[0]
