"""Labeled data: loading threads whose comments carry ``label`` ("spam"/"ham") for training and evaluation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError, ModerationError
from ..formats import read_threads
from ..model.items import CommentItem, item_for_comment, items_from_thread
from ..model.thread import LABELS, Thread

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "threads"


def thread_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories into their ``*.json`` / ``*.jsonl`` files, sorted, so order never depends on the disk."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl")))
        else:
            files.append(path)
    return files


def load_labeled_threads(paths: Iterable[str | Path] | None = None) -> list[Thread]:
    """Threads with labeled comments from any format the readers know (our JSON threads by default).

    Labels come from each format: ``label`` in our JSON/JSONL/CSV, the moderator's status in a
    WordPress or Disqus export. Threads without a single labeled comment are left out.
    """
    files = thread_files(paths if paths is not None else [DEFAULT_DATA_DIR])
    threads = []
    for file in files:
        for index, thread in enumerate(read_threads(file), start=1):
            thread.id = thread.id or f"{file.stem}:{index}"
            if any(comment.label is not None for comment in thread.comments):
                threads.append(thread)
    if not threads:
        raise DataError("no labeled comments found in " + ", ".join(str(f) for f in files))
    return threads


def training_arrays(threads: Sequence[Thread]) -> tuple[list[CommentItem], np.ndarray, np.ndarray]:
    """Items, labels (1 = spam) and group ids (one per thread) for every labeled comment."""
    items: list[CommentItem] = []
    labels: list[int] = []
    groups: list[int] = []
    for group, thread in enumerate(threads):
        for comment, item in zip(thread.comments, _items(thread), strict=True):
            if comment.label is None:
                continue
            if comment.label not in LABELS:
                raise DataError(f"thread {thread.id!r} comment {comment.id!r}: unknown label {comment.label!r}")
            items.append(item)
            labels.append(int(comment.label == "spam"))
            groups.append(group)
    if not items:
        raise DataError("no labeled comments to learn from")
    return items, np.asarray(labels), np.asarray(groups)


def _items(thread: Thread) -> list[CommentItem]:
    """Each comment with its context; without the others when the thread is not a conversation.

    The public YouTube sets are a few hundred comments sampled from a video's thousands, in date order,
    with no replies (``sources.py`` marks them ``conversation: False``). Taught by them, the thread
    signals learned that sharing words with the comments around is spam (spam there repeats spam):
    held out, our blog threads scored ROC AUC 0.802; with YouTube comments shown without such a
    "thread", so that only blog threads teach the thread signals, 0.834 (benchmarks/README.md).
    """
    if thread.extra.get("conversation", True):
        return items_from_thread(thread)
    return [item_for_comment(comment, thread.post) for comment in thread.comments]


def data_hash(threads: Sequence[Thread]) -> str:
    """A hash of the labeled content, independent of file layout, to tell which data a model saw."""
    digest = hashlib.sha256()
    for thread in threads:
        digest.update(json.dumps(thread.post.text, ensure_ascii=False).encode())
        for comment in thread.comments:
            digest.update(
                json.dumps(
                    [comment.author, comment.author_url, comment.body, comment.parent, comment.label],
                    ensure_ascii=False,
                ).encode()
            )
    return digest.hexdigest()


__all__ = ["DEFAULT_DATA_DIR", "ModerationError", "data_hash", "load_labeled_threads", "training_arrays"]
