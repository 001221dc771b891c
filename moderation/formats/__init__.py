"""Readers and writers for the comment formats blogs have; each module handles one format.

Every reader yields ``Thread`` objects; every writer takes threads back. ``read_threads`` picks the
reader by ``--format`` or by looking at the file; ``write_threads`` writes atomically.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType

from ..errors import InputError
from ..model.thread import Thread
from .source import atomic_write, check_file, head_bytes, looks_binary

# name -> module, or "module:attribute" for one of several formats a module serves (each such attribute
# has NAME, sniff, read, write like a module). Order matters for detection: the first whose sniff()
# accepts the head wins, so the exports with unmistakable roots go first and "text" stays the fallback.
FORMAT_MODULES = {
    "wxr": "wxr",
    "disqus": "disqus",
    "jsonl": "tabular:JSONL",
    "json": "tabular:JSON",
    "csv": "tabular:CSV",
    "html": "html",
    "text": "plaintext",
}
# A file's suffix decides between formats that look alike in their first bytes (JSON or JSONL, a CSV
# whose header names no known column); content that clearly says otherwise still wins.
_SUFFIX_HINTS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".html": "html",
    ".htm": "html",
}


def format_names() -> list[str]:
    return list(FORMAT_MODULES)


def module_for(name: str) -> ModuleType:
    """The reader/writer for ``name``: NAME, sniff, read, write and, where true, MARKS_SPAM = True."""
    try:
        module_name = FORMAT_MODULES[name]
    except KeyError:
        raise InputError(f"unknown format {name!r}; known formats: {', '.join(FORMAT_MODULES)}") from None
    module_name, _, attribute = module_name.partition(":")
    module = importlib.import_module(f"{__name__}.{module_name}")
    return getattr(module, attribute) if attribute else module


def marks_spam(name: str) -> bool:
    """True when ``filter`` should give the writer every comment and let it mark spam in place."""
    return bool(getattr(module_for(name), "MARKS_SPAM", False))


def detect_format(path: str | Path) -> str:
    path = check_file(path)
    head = head_bytes(path)
    if looks_binary(head):
        raise InputError(f"{path}: looks like binary data, not a comment page or export")
    text = head.decode("utf-8", errors="replace")
    hint = _SUFFIX_HINTS.get(path.suffix.lower())
    if hint and (hint == "csv" or module_for(hint).sniff(text)):
        return hint
    for name in FORMAT_MODULES:
        if module_for(name).sniff(text):
            return name
    return hint or "text"


def read_threads(path: str | Path, format: str | None = None, **options) -> Iterator[Thread]:
    """Yield the threads in ``path``; ``options`` (encoding, skip_bad, ...) go to the reader."""
    name = format or detect_format(path)
    yield from module_for(name).read(path, **options)


def write_threads(threads: Iterable[Thread], path: str | Path, format: str, **options) -> None:
    with atomic_write(path) as stream:
        module_for(format).write(threads, stream, **options)
