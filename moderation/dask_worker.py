"""What runs on Dask workers for ``moderation.distributed``; imported only when a cluster is used.

The model reaches every worker through a worker plugin, not as a task's input: a task that depends on
scattered data is sent to a worker holding it, and the scheduler put consecutive batches on one worker
while the other idled (10,000 comments on 2 workers: 0.88x local; with the plugin: see
benchmarks/README.md). Tasks with no inputs go to whichever worker is free, and a worker that joins
mid-run gets the model from the plugin before its first batch.
"""

from __future__ import annotations

from distributed import WorkerPlugin

from .api import Moderator
from .model.decisions import Decision
from .model.thread import Thread

# Models by run key, on each worker: one per command using the cluster, removed when it finishes.
_MODELS: dict[str, Moderator] = {}


class ModelPlugin(WorkerPlugin):
    def __init__(self, key: str, moderator: Moderator):
        self.key = key
        self.name = f"moderation-model-{key}"
        self.moderator = moderator

    def setup(self, worker) -> None:
        _MODELS[self.key] = self.moderator

    def teardown(self, worker) -> None:
        _MODELS.pop(self.key, None)


def score(key: str, threads: list[Thread], explain: bool) -> list[list[Decision]]:
    """One batch's decisions, thread by thread, with the run's model (only decisions travel back)."""
    from .distributed import score_on_worker

    return score_on_worker(_MODELS[key], threads, explain)
