"""Rendering scored threads for people (a table) and for programs (JSON, CSV)."""

from __future__ import annotations

import csv
import json
import shutil
import textwrap
from collections.abc import Iterable
from typing import TextIO

from .model.decisions import Decision
from .model.thread import Thread

OUTPUT_FORMATS = ("table", "json", "csv")


def post_dict(thread: Thread) -> dict:
    post = thread.post
    return {"id": thread.id or post.id, "title": post.title, "author": post.author, "url": post.url}


def thread_dict(thread: Thread, decisions: list[Decision]) -> dict:
    return {
        "post": post_dict(thread),
        "comments": [
            dict(decision.to_dict(), parent=comment.parent, type=comment.type)
            for comment, decision in zip(thread.comments, decisions, strict=True)
        ],
    }


def write_json(scored: Iterable[tuple[Thread, list[Decision]]], stream: TextIO) -> int:
    """One thread: ``{"post": ..., "comments": [...]}``; several: ``{"threads": [those, ...]}``."""
    threads = [thread_dict(thread, decisions) for thread, decisions in scored]
    payload = threads[0] if len(threads) == 1 else {"threads": threads}
    json.dump(payload, stream, ensure_ascii=False, indent=2)
    stream.write("\n")
    return sum(len(t["comments"]) for t in threads)


CSV_COLUMNS = ("thread", "position", "comment_id", "author", "score", "verdict", "empty", "reasons")


def write_csv(scored: Iterable[tuple[Thread, list[Decision]]], stream: TextIO) -> int:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for thread, decisions in scored:
        for decision in decisions:
            writer.writerow(
                [
                    thread.id or thread.post.title,
                    decision.position,
                    decision.comment_id,
                    decision.author,
                    f"{decision.score:.4f}",
                    decision.verdict,
                    int(decision.empty),
                    "; ".join(decision.reasons),
                ]
            )
            count += 1
    return count


def write_table(scored: Iterable[tuple[Thread, list[Decision]]], stream: TextIO, *, width: int | None = None) -> int:
    width = width or max(80, min(shutil.get_terminal_size((120, 24)).columns, 160))
    count = 0
    for thread, decisions in scored:
        title = thread.post.title or thread.id or "(untitled post)"
        stream.write(f"{title}\n")
        if thread.post.author:
            stream.write(f"by {thread.post.author}\n")
        stream.write("\n")
        stream.write(f"{'#':>4}  {'author':<22} {'score':>5}  {'verdict':<7}  reasons\n")
        indent = 4 + 2 + 22 + 1 + 5 + 2 + 7 + 2
        for decision in decisions:
            author = decision.author if len(decision.author) <= 22 else decision.author[:21] + "…"
            reasons = "; ".join(decision.reasons) or "-"
            if decision.empty and not any(r.startswith("empty") for r in decision.reasons):
                reasons = "empty comment; " + reasons
            wrapped = textwrap.wrap(reasons, max(width - indent, 30)) or ["-"]
            stream.write(
                f"{decision.position:>4}  {author:<22} {decision.score:5.2f}  {decision.verdict:<7}  {wrapped[0]}\n"
            )
            for more in wrapped[1:]:
                stream.write(" " * indent + more + "\n")
            count += 1
        verdicts = [d.verdict for d in decisions]
        stream.write(
            f"\n{len(decisions)} comment{'' if len(decisions) == 1 else 's'}: "
            f"{verdicts.count('approve')} approve, {verdicts.count('hold')} hold, "
            f"{verdicts.count('spam')} spam\n\n"
        )
    return count


WRITERS = {"table": write_table, "json": write_json, "csv": write_csv}
