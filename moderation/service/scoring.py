"""Scoring requests in batches: concurrent requests share one model call and one log transaction.

Measured on the test model (2-core machine): one comment with reasons costs about 27 ms, sixteen
together about 41 ms, because the pipeline's per-call overhead dominates. A request that arrives while
a batch is being scored waits for the next batch, so batches grow with load and nobody waits for a
timer. Logging the batch in one transaction likewise pays one fsync (synchronous=FULL) per batch
instead of one per request.

Every answer the service gives goes through here: checks and ``/score`` (one ``Incoming`` comment each),
``/score-batch`` (a ``Thread``), and Akismet's test values and the honeypot (a ``fixed`` decision, no
model). The model's path is ``Moderator.score_batch`` alone, and ``log_rows`` builds every request-log
row.

One bad job must never fail the others it happens to be batched with (issue 9 item 3: a lone surrogate in
one site's request made 42% of another site's checks fail, unlogged). When a batch fails, its jobs are
scored again one by one, so only the job that fails alone gets an error; every failure is logged.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..model.decisions import Decision, Incoming
from ..model.thread import Comment, Thread
from .store import Store

log = logging.getLogger("moderation.service")


@dataclass
class Job:
    """One request's comments: an ``Incoming`` comment (a check) or a ``Thread`` (a batch of a post's
    comments, each read against the ones before it)."""

    site: str
    endpoint: str
    unit: Incoming | Thread
    permalink: str
    post_known: bool
    # The answer text logged with each decision (Akismet's true/false); None: the verdict.
    answer: Callable[[Decision], str] | None = None
    # A decision given without the model (Akismet's test values, a filled honeypot).
    fixed: Decision | None = None
    shadow: bool = False  # the site is in shadow mode: answered as fine, the verdict only logged
    done: threading.Event = field(default_factory=threading.Event)
    model: Any = None
    decisions: list[Decision] = field(default_factory=list)
    request_ids: list[int] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def comments(self) -> list[Comment]:
        return self.unit.comments if isinstance(self.unit, Thread) else [self.unit.comment]

    @property
    def decision(self) -> Decision:
        return self.decisions[0]

    @property
    def request_id(self) -> int:
        return self.request_ids[0]

    def log_rows(self) -> list[dict]:
        """The request-log rows of this job's decisions, one per comment: the only place they are built."""
        return [
            {
                "site": self.site,
                "endpoint": self.endpoint,
                "answer": self.answer(decision) if self.answer else decision.verdict,
                "model_version": str(self.model.version),
                "permalink": self.permalink,
                "author": comment.author,
                "content": comment.body,
                "score": float(decision.score),
                "verdict": decision.verdict,
                "reasons": list(decision.reasons),
                "post_known": self.post_known,
                "shadow": self.shadow,
            }
            for comment, decision in zip(self.comments, self.decisions, strict=True)
        ]


class BatchScorer:
    def __init__(self, models, store: Store, *, max_batch: int = 64):
        self.models = models
        self.store = store
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._run, daemon=True, name="batch-scorer")
        self._worker.start()

    def score(self, job: Job) -> Job:
        """Score ``job`` on the shared scoring thread, batched with whatever else is waiting."""
        self._queue.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job

    def score_now(self, job: Job) -> Job:
        """Score ``job`` in the caller's thread, by the same code. For ``/score-batch``: up to 1,000
        comments (about a second) queued on the shared thread would hold up every site's checks behind it."""
        self._score_isolated([job])
        if job.error is not None:
            raise job.error
        return job

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._score_isolated(batch)
            finally:
                for job in batch:
                    job.done.set()

    def _score_isolated(self, batch: list[Job]) -> None:
        try:
            self._score(batch)
            return
        except Exception as exc:  # noqa: BLE001 - retried job by job below
            if len(batch) == 1:
                self._fail(batch[0], exc)
                return
            log.warning(
                "a batch of %d failed (%s: %s); scoring its jobs one by one", len(batch), type(exc).__name__, exc
            )
        for job in batch:
            job.model, job.decisions, job.request_ids = None, [], []
            try:
                self._score([job])
            except Exception as exc:  # noqa: BLE001 - this job alone fails, and is logged
                self._fail(job, exc)

    @staticmethod
    def _fail(job: Job, exc: BaseException) -> None:
        job.error = exc
        log.error(
            "scoring failed: site=%s endpoint=%s permalink=%.200r: %s: %s",
            job.site,
            job.endpoint,
            job.permalink,
            type(exc).__name__,
            exc,
        )

    def _score(self, batch: list[Job]) -> None:
        # Each site is scored by its own model (its retrained one, else the shared base): one model call
        # per distinct model in the batch. A fixed decision is logged with the model the site has.
        # The pointers are read once per site per batch: two SELECTs per job, each waiting for the GIL
        # again among the request threads, took 27% of this thread's time (bench_service_load.py).
        models: dict[str, Any] = {}
        groups: dict[int, tuple[Any, list[Job]]] = {}
        for job in batch:
            if job.site not in models:
                models[job.site] = self.models.current(job.site)
            job.model = models[job.site]
            if job.fixed is not None:
                job.decisions = [job.fixed]
            else:
                groups.setdefault(id(job.model), (job.model, []))[1].append(job)
        for model, jobs in groups.values():
            for job, decisions in zip(jobs, model.score_batch([job.unit for job in jobs]), strict=True):
                job.decisions = decisions
        rows = [row for job in batch for row in job.log_rows()]
        ids = iter(self.store.log_requests(rows))
        for job in batch:
            job.request_ids = [next(ids) for _ in job.decisions]
