"""Scoring archives on more than one core or machine: thread batches sent to a Dask cluster.

``open_moderator`` gives the moderator that ``score`` and ``filter`` use. Without a scheduler it scores
in this process, one batch at a time, and Dask is never imported. With ``scheduler`` (an address) or
``workers`` (a LocalCluster started for the run) each batch goes to the cluster instead:

- the model goes to every worker once (a worker plugin), not with every batch;
- a batch holds about ``BATCH_COMMENTS`` comments (whole threads, so never fewer than one thread), and
  at most two batches per worker thread are in flight, so a worker holds a few batches however large
  the archive, and the reading side holds only the threads of those batches;
- results are taken in submission order, so every output keeps its input's order, and are identical
  to local scoring: a batch is scored by ``Moderator.score_threads`` on a worker, and its boundaries are
  the ones ``Moderator.score_threads`` draws locally (``batches``).

Reading and writing stay here (files need not be on the workers); the workers compute features and
scores, which is most of the time (on a WordPress export, parsing is about a third of ``score``'s time
and the rest is scoring: see benchmarks/README.md, bench_dask.py).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from itertools import chain
from pathlib import Path

from .api import BATCH_COMMENTS, Moderator
from .api import thread_batches as batches
from .errors import InputError, ModerationError
from .model.bundle import ModelBundle
from .model.decisions import Decision
from .model.scoring import ScoringModel, load_for_scoring
from .model.thread import Thread

INSTALL_HINT = "pip install 'moderation[dask]'"
# A scheduler that does not answer within this is reported, rather than waited on for Dask's default
# 30 s (and then retried): a typo in --scheduler should fail in seconds.
CONNECT_TIMEOUT = "10s"
# Batches in flight per worker thread: one being scored and one queued, so no worker waits on the
# reader between batches, and no more, so memory stays a few batches per worker.
IN_FLIGHT_PER_THREAD = 2


class ClusterError(ModerationError):
    """Dask is missing, or the scheduler cannot be reached or fails."""


def score_on_worker(moderator: Moderator, threads: list[Thread], explain: bool) -> list[list[Decision]]:
    """One batch's decisions, thread by thread: the task a worker runs (only decisions travel back)."""
    return [decisions for _, decisions in Moderator.score_threads(moderator, threads, explain=explain)]


class DaskBackend:
    """Sends batches to a Dask cluster through ``client``; the model goes to every worker once, as a
    worker plugin (moderation/dask_worker.py says why not as scattered data)."""

    def __init__(self, client, moderator: Moderator):
        import uuid

        from .dask_worker import ModelPlugin

        self.client = client
        threads = sum(client.nthreads().values())
        if not threads:
            raise ClusterError(f"the Dask cluster at {client.scheduler.address} has no workers")
        self.slots = IN_FLIGHT_PER_THREAD * threads
        self.key = uuid.uuid4().hex
        self._plugin = ModelPlugin(self.key, moderator)
        client.register_plugin(self._plugin)

    def submit(self, threads: list[Thread], explain: bool):
        from .dask_worker import score

        # Scoring is pure, so a batch whose worker died is simply run again elsewhere.
        return self.client.submit(score, self.key, threads, explain, pure=False, retries=2)

    def cancel(self, futures: Sequence) -> None:
        if futures:
            self.client.cancel(list(futures))

    def close(self) -> None:
        """Remove the model from the workers: a long-lived cluster would otherwise keep every run's."""
        with contextlib.suppress(Exception):
            self.client.unregister_worker_plugin(self._plugin.name)


class ArchiveModerator(Moderator):
    """A Moderator whose ``score_threads`` sends batches to a Dask cluster when it has one.

    Without one it is the plain ``Moderator.score_threads``, batch by batch in this process. Single
    comments (``score_comment``, ``score_thread``) are always scored in this process.
    """

    def __init__(
        self,
        bundle: ModelBundle,
        backend: DaskBackend | None = None,
        *,
        batch_comments: int = BATCH_COMMENTS,
        model: ScoringModel | None = None,
    ):
        super().__init__(bundle, model)
        self.backend = backend
        self.batch_comments = batch_comments

    @property
    def slots(self) -> int:
        """Batches in flight at once: 1 locally, two per worker thread on a cluster."""
        return self.backend.slots if self.backend else 1

    def score_threads(
        self, threads: Iterable[Thread], *, explain: bool = True
    ) -> Iterator[tuple[Thread, list[Decision]]]:
        if self.backend is None:
            yield from super().score_threads(threads, explain=explain)
            return
        pending: deque = deque()
        try:
            for batch in batches(threads, self.batch_comments):
                pending.append((batch, self.backend.submit(batch, explain)))
                if len(pending) >= self.slots:
                    yield from _collected(*pending.popleft())
            while pending:
                yield from _collected(*pending.popleft())
        finally:
            # A reader error or a closed output stops the stream: batches still queued are dropped.
            self.backend.cancel([future for _, future in pending])


def _collected(batch: list[Thread], future) -> Iterator[tuple[Thread, list[Decision]]]:
    try:
        results = future.result()
    except ModerationError:
        raise
    except Exception as error:
        if not _is_cluster_failure(error):
            raise
        raise ClusterError(f"the Dask cluster failed to score a batch: {_one_line(error)}") from None
    yield from zip(batch, results, strict=True)


def _is_cluster_failure(error: Exception) -> bool:
    """A lost worker, scheduler or connection (not a bug in the scoring code, which should be seen)."""
    from concurrent.futures import CancelledError

    from distributed.comm.core import CommClosedError
    from distributed.scheduler import KilledWorker

    return isinstance(error, (KilledWorker, CommClosedError, CancelledError, OSError, TimeoutError))


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError(f"--scheduler and --workers need Dask, which is not installed: {INSTALL_HINT}") from None
    return distributed


@contextlib.contextmanager
def open_moderator(
    model_path: str | Path | None = None, *, scheduler: str | None = None, workers: int | None = None
) -> Iterator[ArchiveModerator]:
    """The moderator for archive scoring, local by default, on a cluster with ``scheduler`` or ``workers``.

    ``scheduler`` is a running Dask scheduler's address (``tcp://host:8786``); ``workers`` starts a
    LocalCluster of that many single-threaded worker processes for the run (the features are Python
    code that holds the GIL, so threads would not score in parallel). Workers must have this package
    installed at the same version, since they run its scoring code on the model sent to them.
    """
    if scheduler is not None and workers is not None:
        raise InputError("give --scheduler (a running cluster) or --workers (a local one), not both")
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, not {workers}")
    bundle, model = load_for_scoring(model_path)
    if scheduler is None and workers is None:
        yield ArchiveModerator(bundle, model=model)
        return
    distributed = _distributed()
    with _client(distributed, scheduler, workers) as client:
        try:
            backend = DaskBackend(client, Moderator(bundle, model))
        except (OSError, TimeoutError) as error:
            raise ClusterError(f"the Dask cluster failed to take the model: {_one_line(error)}") from None
        try:
            yield ArchiveModerator(bundle, backend, model=model)
        finally:
            backend.close()


@contextlib.contextmanager
def _client(distributed, scheduler: str | None, workers: int | None):
    # Dask logs each worker's start and stop at INFO, and connection retries at WARNING; the command's
    # own errors say what failed, once.
    for name in ("distributed", "distributed.client", "distributed.worker", "distributed.scheduler"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {_one_line(error)}") from None
        with client:
            yield client
        return
    cluster = distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        # The scheduler serves HTTP (health, metrics) even without a dashboard, on :8787 unless told
        # otherwise: a second run, or anything else there, printed "Port 8787 is already in use".
        dashboard_address="127.0.0.1:0",
        # Workers log a failed heartbeat at ERROR when the cluster closes under them at the end.
        silence_logs=logging.CRITICAL,
    )
    with cluster, distributed.Client(cluster, set_as_default=False) as client:
        yield client


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def read_many(paths: Sequence[str | Path], input_format: str | None = None, **read_options) -> Iterator[Thread]:
    """The threads of every file in turn, each file's format detected unless ``input_format`` is given."""
    from .formats import read_threads

    return chain.from_iterable(read_threads(path, input_format, **read_options) for path in paths)


def score_paths(
    paths: Sequence[str | Path],
    moderator: Moderator,
    *,
    input_format: str | None = None,
    explain: bool = True,
    **read_options,
) -> Iterator[tuple[Thread, list[Decision]]]:
    """Every thread of every file, in order, with one decision per comment: one stream of batches across
    files, so many small files keep a cluster as busy as one large export does."""
    yield from moderator.score_threads(read_many(paths, input_format, **read_options), explain=explain)


def filter_outputs(paths: Sequence[Path], output_dir: Path) -> list[Path]:
    """Where each file's filtered copy goes: ``output_dir`` / its name; two inputs of one name are refused."""
    if not output_dir.is_dir():
        raise InputError(f"{output_dir}: with several inputs, -o names an existing directory for their outputs")
    seen: dict[str, Path] = {}
    for path in paths:
        if path.name in seen:
            raise InputError(f"{seen[path.name]} and {path}: two inputs named {path.name} would write one output")
        seen[path.name] = path
    return [output_dir / path.name for path in paths]


def filter_paths(
    paths: Sequence[str | Path],
    output_dir: str | Path,
    moderator: Moderator,
    *,
    input_format: str | None = None,
    progress: Callable[[int], None] | None = None,
    **read_options,
) -> list:
    """``filter_path`` on each file, into ``output_dir`` under the file's own name; the summaries in order.

    Files are filtered one at a time locally. On a cluster, as many files as there are batch slots are
    read at once (a small file is a single batch, so one at a time would leave all workers but one
    idle); each still streams from reader to writer, and each output is written atomically. The first
    failure stops the files not yet started and is raised; finished outputs are complete.
    """
    from .filtering import check_output_paths, filter_path

    paths = [Path(path) for path in paths]
    outputs = filter_outputs(paths, Path(output_dir))
    for path, output in zip(paths, outputs, strict=True):
        check_output_paths(path, output, None)
    lock = threading.Lock()

    def counted(done: int) -> None:
        with lock:
            progress(done)

    def one(path: Path, output: Path):
        return filter_path(
            path,
            output,
            moderator,
            input_format=input_format,
            progress=counted if progress else None,
            **read_options,
        )

    at_once = max(1, min(getattr(moderator, "slots", 1), len(paths)))
    if at_once == 1:
        return [one(path, output) for path, output in zip(paths, outputs, strict=True)]
    with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="filter") as pool:
        futures = [pool.submit(one, path, output) for path, output in zip(paths, outputs, strict=True)]
        try:
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for future in futures:
                if future in done and future.exception() is not None:
                    raise future.exception()
            return [future.result() for future in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
