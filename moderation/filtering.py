"""Scoring a file and filtering it: the library behind ``moderation score`` and ``moderation filter``."""

from __future__ import annotations

import copy
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .api import Moderator
from .errors import InputError
from .formats import detect_format, marks_spam, read_threads, write_threads
from .model.decisions import Decision
from .model.thread import Thread


def score_path(
    path: str | Path, moderator: Moderator, *, input_format: str | None = None, explain: bool = True, **read_options
) -> Iterator[tuple[Thread, list[Decision]]]:
    """Every thread in the file with one decision per comment, streamed."""
    threads = read_threads(path, input_format, **read_options)
    yield from moderator.score_threads(threads, explain=explain)


@dataclass
class FilterSummary:
    output: str
    spam_output: str | None
    threads: int = 0
    kept: int = 0
    held: int = 0
    removed: int = 0
    empty: int = 0
    marked_in_place: bool = False
    held_positions: list[str] = field(default_factory=list)
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.kept + self.held + self.removed

    def line(self) -> str:
        action = "marked spam" if self.marked_in_place else "removed"
        where = f"; spam written to {self.spam_output}" if self.spam_output else ""
        skipped = ""
        if self.skipped:
            kept = " (kept unchanged in the output)" if self.marked_in_place else ""
            skipped = f", skipped {self.skipped} malformed{kept}"
        held = ""
        if self.held_positions:
            shown = ", ".join(self.held_positions[:_HELD_SHOWN])
            hidden = len(self.held_positions) - _HELD_SHOWN
            more = f" and {hidden} more" if hidden > 0 else ""
            held = f" ({shown}{more})"
        return (
            f"{plural(self.total, 'comment')} in {plural(self.threads, 'thread')}: kept {self.kept}, "
            f"held {self.held}{held}, {action} {self.removed}{skipped}{where}; output {self.output}"
        )


# The summary is one line; a long export's held comments are counted, and the first few named.
_HELD_SHOWN = 10


def plural(count: int, noun: str) -> str:
    """ "1 comment", "2 comments": the counts people read ("1 comments" was issue 9 item 20)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _held_name(thread: Thread, comment) -> str:
    where = f"{thread.id} " if thread.id else ""
    who = f" {comment.author}" if comment.author else ""
    return f"{where}#{comment.position}{who}"


def default_spam_output(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(f"{output.stem}.spam{output.suffix}")


# Pseudo-filesystems: a "file" there is a kernel interface, and an atomic rename over one either fails
# or, as root, replaces a device node (`-o /dev/full` did, issue 9 item 4).
_SYSTEM_TREES = ("/proc", "/sys", "/dev")


def _same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name one file: same inode when both exist, same resolved path otherwise."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _refuse_special(target: Path, what: str) -> None:
    if str(target) == "-":
        raise InputError(f"{what} '-': filter writes files atomically and cannot write to stdout; name a file")
    if target.is_symlink():
        raise InputError(f"{target}: {what} is a symbolic link; name the real file (it is replaced, not followed)")
    resolved = target.resolve()
    for tree in _SYSTEM_TREES:
        if resolved == Path(tree) or Path(tree) in resolved.parents:
            raise InputError(f"{target}: {what} is under {tree}, not a place for files; name a file")
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(f"{target}: {what} cannot be checked ({exc.strerror or exc})") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{target}: {what} is a directory; name a file")
    if not stat.S_ISREG(mode):
        raise InputError(f"{target}: {what} is a device, FIFO or socket, not a regular file; name a file")


def check_output_paths(
    path: Path, output: Path, spam_output: Path | None, *, explicit_spam_output: bool = True
) -> None:
    """Refuse output paths that would destroy the input, each other, or something that is not a file.

    ``filter`` replaces its outputs by renaming a temporary file over them, so an output that is the
    input replaces the input, and one that is a device or a symlink replaces the node itself.
    """
    _refuse_special(output, "the output (-o)")
    if _same_file(output, path):
        raise InputError(f"{output}: refusing to overwrite the input; write the filtered thread elsewhere")
    if spam_output is None:
        return
    spam_output = Path(spam_output)
    what = "--spam-out" if explicit_spam_output else "the default spam file"
    _refuse_special(spam_output, what)
    if _same_file(spam_output, path):
        hint = "pass another --spam-out" if explicit_spam_output else "pass --spam-out or another -o"
        raise InputError(f"{spam_output}: {what} is the input; refusing to overwrite it ({hint})")
    if _same_file(spam_output, output):
        raise InputError(f"{spam_output}: --spam-out and -o name the same file; give them different names")


def _spam_copy_format(name: str, marks: bool, spam_output: Path) -> str:
    """The format of the spam-only copy.

    Formats that remove spam write it in their own format. Exports that mark spam in place are
    patched copies of their source file, so a "spam only" export cannot be cut from them: the copy
    is written as JSON Lines (or CSV/JSON, by its extension), which every reader here reads back.
    """
    if not marks:
        return name
    return {".csv": "csv", ".json": "json"}.get(spam_output.suffix.lower(), "jsonl")


def filter_path(
    path: str | Path,
    output: str | Path,
    moderator: Moderator,
    *,
    spam_output: str | Path | None = None,
    input_format: str | None = None,
    progress: Callable[[int], None] | None = None,
    **read_options,
) -> FilterSummary:
    """Write the file's threads without spam (or with spam marked, for formats that can) to ``output``.

    Nothing is dropped silently. Formats that remove spam (plain text, HTML) write the removed
    comments to ``spam_output``, by default ``<output>.spam<ext>``; exports that mark spam in place
    (WordPress, Disqus, JSON, CSV) keep every comment, and ``spam_output``, when given, gets a copy of
    the spam. Threads stream from reader to writer, so a large export never sits in memory; only the
    spam copies are kept until the end. Both files are written atomically, and the input is never
    touched, so a failure half-way loses nothing.
    """
    path, output = Path(path), Path(output)
    name = input_format or detect_format(path)
    marks = marks_spam(name)
    explicit_spam_output = spam_output is not None
    if spam_output is None and not marks:
        spam_output = default_spam_output(output)
    check_output_paths(path, output, spam_output, explicit_spam_output=explicit_spam_output)
    summary = FilterSummary(output=str(output), spam_output=None, marked_in_place=marks)
    report = read_options.get("on_problem")
    if read_options.get("skip_bad"):

        def count_problem(problem: Exception) -> None:
            summary.skipped += 1
            if report:
                report(problem)

        read_options = {**read_options, "on_problem": count_problem}
    spam_threads: list[Thread] = []

    def filtered() -> Iterator[Thread]:
        for thread, decisions in score_path(path, moderator, input_format=name, explain=False, **read_options):
            summary.threads += 1
            spam_ids: set[str] = set()
            for comment, decision in zip(thread.comments, decisions, strict=True):
                comment.score = decision.score
                comment.verdict = decision.verdict
                summary.empty += comment.is_empty
                if decision.verdict == "spam":
                    summary.removed += 1
                    spam_ids.add(comment.id)
                elif decision.verdict == "hold":
                    summary.held += 1
                    summary.held_positions.append(_held_name(thread, comment))
                else:
                    summary.kept += 1
            if spam_ids:
                spam_threads.append(_only(thread, spam_ids, keep=True))
            if progress:
                progress(len(thread.comments))
            yield thread if marks else _only(thread, spam_ids, keep=False)

    write_threads(filtered(), output, name)
    if spam_output is not None and (spam_threads or explicit_spam_output):
        spam_output = Path(spam_output)
        write_threads(spam_threads, spam_output, _spam_copy_format(name, marks, spam_output))
        summary.spam_output = str(spam_output)
    return summary


def _only(thread: Thread, ids: set[str], *, keep: bool) -> Thread:
    """A shallow copy of the thread with only the comments whose id is (keep) or is not in ``ids``."""
    clone = copy.copy(thread)
    clone.comments = [c for c in thread.comments if (c.id in ids) == keep]
    return clone
