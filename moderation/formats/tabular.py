"""JSON, JSONL and CSV: the formats for pipelines, one documented schema for all three.

A thread (JSON, or one JSONL line) has the shape of ``data/threads/*.json``::

    {"id": "go-lisbon-week",
     "post": {"title": "...", "author": "...", "url": "...", "body": "..."},
     "comments": [{"id": "1", "author": "...", "author_url": "", "author_email": "",
                   "body": "...", "parent": null, "label": "ham"}]}

A JSON file holds one such object or a list of them. A JSONL file holds one thread per line, or one
comment per line carrying ``thread_id`` (consecutive lines with the same ``thread_id`` form a thread;
``post_title``, ``post_url``, ``post_author``, ``post_body`` on its first line describe the post). A
CSV file has one comment per row with the same columns as a comment line; only ``body`` is required.

Only ``body`` is required in a comment; ``label`` is ``spam``, ``ham`` or empty. Keys we do not know
are kept and written back unchanged; writing adds ``score`` (rounded to 4 places) and ``verdict``
(``approve``, ``hold`` or ``spam``) to every scored comment.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TextIO

from ..errors import InputError, ParseError
from ..model.thread import LABELS, Comment, Post, Thread, comment_type
from .source import check_text_file, read_text, report_problem

COMMENT_KEYS = ("id", "author", "author_url", "author_email", "body", "parent", "label")
POST_KEYS = ("title", "author", "url", "body")
# Columns of a comment row (CSV) or comment line (JSONL), in the order we write them.
ROW_COLUMNS = ("thread_id", *COMMENT_KEYS, "post_title", "post_url", "post_author", "post_body")
SCORE_KEYS = ("score", "verdict")
_THREAD_ID_KEYS = ("thread_id", "thread")
_CSV_FIELD_LIMIT = 16 * 1024 * 1024

Problem = Callable[[ParseError], None]


# ----------------------------------------------------------------------------------- conversion


def _string(value: Any, where: str, key: str, *, line: int | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ParseError(f"{where}: {key!r} must be a string, not {type(value).__name__}", line=line)
    return str(value)


def _label(value: Any, where: str, *, line: int | None = None) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or value.strip().lower() not in LABELS:
        raise ParseError(f"{where}: label {value!r} is not one of {', '.join(LABELS)} or empty", line=line)
    return value.strip().lower()


def comment_from_dict(raw: Any, where: str, *, line: int | None = None) -> Comment:
    if not isinstance(raw, dict):
        raise ParseError(f"{where}: a comment must be an object, not {type(raw).__name__}", line=line)
    if "body" not in raw:
        raise ParseError(f"{where}: comment has no 'body'", line=line)
    values = {key: _string(raw.get(key), where, key, line=line) for key in COMMENT_KEYS if key not in ("label",)}
    parent = values.pop("parent") or None
    return Comment(
        body=values["body"],
        author=values["author"],
        id=values["id"],
        author_url=values["author_url"],
        author_email=values["author_email"],
        parent=parent,
        label=_label(raw.get("label"), where, line=line),
        # Pingbacks and trackbacks are typed in our thread files and exports; anything else is a comment.
        type=comment_type(raw.get("type")),
        extra={"raw": raw},
    )


def thread_from_dict(
    raw: Any,
    where: str,
    *,
    line: int | None = None,
    shape: str = "json",
    on_bad_comment: Callable[[ParseError], None] | None = None,
) -> Thread:
    if not isinstance(raw, dict):
        raise ParseError(f"{where}: a thread must be an object, not {type(raw).__name__}", line=line)
    post_raw = raw.get("post") or {}
    if not isinstance(post_raw, dict):
        raise ParseError(f"{where}: 'post' must be an object", line=line)
    comments_raw = raw.get("comments") or []
    if not isinstance(comments_raw, list):
        raise ParseError(f"{where}: 'comments' must be a list", line=line)
    post = Post(**{key: _string(post_raw.get(key), f"{where}.post", key, line=line) for key in POST_KEYS})
    thread_id = _string(raw.get("id"), where, "id", line=line)
    comments: list[Comment] = []
    unread: list[tuple[int, Any]] = []
    for i, item in enumerate(comments_raw):
        try:
            comments.append(comment_from_dict(item, f"{where}.comments[{i}]", line=line))
        except ParseError as exc:
            if on_bad_comment is None:
                raise
            # One bad comment costs only itself (issue 9 item 15): it is reported, left unscored, and
            # written back unchanged where it was, so --skip-bad loses nothing.
            on_bad_comment(exc)
            unread.append((len(comments), item))
    extra: dict = {"raw": raw}
    if unread:
        extra["unread"] = unread
    return Thread(post=post, comments=comments, id=thread_id, source_format=shape, extra=extra)


class Score(float):
    """A score written with exactly 4 decimals ("0.0000", not "0.0"), as the README promises."""

    def __str__(self) -> str:
        return f"{float(self):.4f}"


def _scored(out: dict, comment: Comment) -> dict:
    if comment.score is not None:
        out["score"] = Score(round(float(comment.score), 4))
    if comment.verdict is not None:
        out["verdict"] = comment.verdict
    return out


def comment_to_dict(comment: Comment) -> dict:
    raw = comment.extra.get("raw")
    if isinstance(raw, dict) and "thread_id" not in raw and "thread" not in raw:
        out = dict(raw)
    else:
        out = {
            "id": comment.id,
            "author": comment.author,
            "author_url": comment.author_url,
            "author_email": comment.author_email,
            "body": comment.body,
            "parent": comment.parent,
            "label": comment.label,
        }
    return _scored(out, comment)


def thread_to_dict(thread: Thread) -> dict:
    raw = thread.extra.get("raw")
    if isinstance(raw, dict) and "comments" in raw or isinstance(raw, dict) and "post" in raw:
        out = {key: value for key, value in raw.items() if key != "comments"}
    else:
        post = thread.post
        out = {
            "id": thread.id,
            "post": {"title": post.title, "author": post.author, "url": post.url, "body": post.body},
        }
    out["comments"] = _with_unread(thread, [comment_to_dict(c) for c in thread.comments])
    return out


def _with_unread(thread: Thread, items: list) -> list:
    """``items`` (one per read comment) with the records skipped as bad put back where they were."""
    unread = thread.extra.get("unread") or []
    merged: list = []
    pending = 0
    for index in range(len(items) + 1):
        while pending < len(unread) and unread[pending][0] <= index:
            merged.append(unread[pending][1])
            pending += 1
        if index < len(items):
            merged.append(items[index])
    merged.extend(record for _, record in unread[pending:])
    return merged


def _row_to_comment(row: dict, where: str, line: int) -> Comment:
    comment = comment_from_dict(row, where, line=line)
    comment.extra = {"row": row}
    return comment


def _post_from_row(row: dict, where: str, line: int) -> Post:
    return Post(**{key: _string(row.get(f"post_{key}"), where, f"post_{key}", line=line) for key in POST_KEYS})


def _thread_id(row: dict, where: str, line: int) -> str:
    for key in _THREAD_ID_KEYS:
        if key in row:
            return _string(row[key], where, key, line=line)
    return ""


def comment_to_row(thread: Thread, comment: Comment) -> dict:
    row = comment.extra.get("row")
    if isinstance(row, dict):
        out = dict(row)
    else:
        out = {
            "thread_id": thread.id,
            "id": comment.id,
            "author": comment.author,
            "author_url": comment.author_url,
            "author_email": comment.author_email,
            "body": comment.body,
            "parent": comment.parent or "",
            "label": comment.label or "",
        }
        if comment.position == 1:
            post = thread.post
            out.update(post_title=post.title, post_url=post.url, post_author=post.author, post_body=post.body)
    return _scored(out, comment)


class _Grouper:
    """Consecutive comment rows with one thread id become one Thread."""

    def __init__(self, shape: str):
        self.shape = shape
        self.key: str | None = None
        self.post = Post()
        self.comments: list[Comment] = []
        self.header: list[str] | None = None
        # Records skipped as bad (--skip-bad), as (comments before them, record): written back unchanged.
        self.unread: list[tuple[int, Any]] = []

    def add(self, key: str, post: Post, comment: Comment) -> Thread | None:
        done = self.flush() if self.key is not None and key != self.key else None
        if self.key is None:
            self.key, self.post = key, post
        self.comments.append(comment)
        return done

    def skip(self, record: Any) -> None:
        self.unread.append((len(self.comments), record))

    def flush(self, *, last: bool = False) -> Thread | None:
        if self.key is None and not (last and self.unread):
            return None
        extra: dict = {"rows": True, "header": self.header}
        # Bad records after a thread's last good one wait for the next thread, unless the file ends.
        keep = [u for u in self.unread if u[0] < len(self.comments) or last]
        if keep:
            extra["unread"] = keep
        thread = Thread(
            post=self.post,
            comments=self.comments,
            id=self.key or "",
            source_format=self.shape,
            extra=extra,
        )
        self.unread = [(0, record) for index, record in self.unread if not (index < len(self.comments) or last)]
        self.key, self.post, self.comments = None, Post(), []
        return thread


# ------------------------------------------------------------------------------------------ JSON

# A JSON escape can spell half of a surrogate pair ("\ud800"); Python decodes it to a string no UTF-8
# writer accepts, and scoring, printing or writing it back failed with a traceback (issue 9 item 8).
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def _loads(text: str, path: str | Path, line: int | None = None) -> Any:
    """``json.loads`` whose every failure is a one-line ParseError naming the file (and line)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise ParseError(f"{path}: JSON nested too deeply", line=line) from None
    except ValueError as exc:
        # Python refuses integers over 4,300 digits (CVE-2020-10735) with a ValueError.
        raise ParseError(f"{path}: not valid JSON here: {str(exc).split(';')[0]}", line=line) from None
    if _ESCAPED_SURROGATE.search(text):
        _check_surrogates(data, path, line)
    return data


def _check_surrogates(value: Any, path: str | Path, line: int | None) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise ParseError(f"{path}: a JSON string holds a lone surrogate escape (not valid Unicode)", line=line)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def json_sniff(head: str) -> bool:
    return head.lstrip("\ufeff \t\r\n").startswith(("{", "["))


def json_read(
    path: str | Path,
    *,
    encoding: str | None = None,
    skip_bad: bool = False,
    on_problem: Problem | None = None,
    **_: object,
) -> Iterator[Thread]:
    text = read_text(path, encoding=encoding)
    try:
        data = _loads(text, path)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            # One object per line: a JSONL file named or detected as JSON.
            yield from jsonl_read(path, encoding=encoding, skip_bad=skip_bad, on_problem=on_problem)
            return
        raise ParseError(f"{path}: not valid JSON: {exc.msg}", line=exc.lineno) from None
    except RecursionError:
        raise ParseError(f"{path}: JSON nested too deeply") from None
    on_bad = (lambda exc: report_problem(exc, skip_bad, on_problem)) if skip_bad else None
    if isinstance(data, dict) and "comments" not in data and isinstance(data.get("threads"), list):
        data = data["threads"]
    if isinstance(data, dict):
        items, shape = [data], "object"
    elif isinstance(data, list):
        items, shape = data, "list"
    else:
        raise ParseError(f"{path}: expected a thread object or a list of threads, found {type(data).__name__}")
    for index, raw in enumerate(items):
        where = f"{path}: thread {index + 1}" if shape == "list" else f"{path}"
        try:
            thread = thread_from_dict(raw, where, on_bad_comment=on_bad)
        except ParseError as exc:
            report_problem(exc, skip_bad, on_problem)
            continue
        thread.source_format = "json"
        thread.extra["json_shape"] = shape
        yield thread


def _dumps(data: Any, **options: Any) -> str:
    """``json.dumps``, with every Score written as a 4-decimal number.

    json writes floats with ``repr`` and offers no hook for numbers, so each Score goes in as a
    placeholder string carrying a random nonce (no input can spell it) and comes out as the number.
    """
    nonce = secrets.token_hex(8)

    def mark(value: Any) -> Any:
        if isinstance(value, Score):
            return f"{nonce}:{value}"
        if isinstance(value, dict):
            return {key: mark(item) for key, item in value.items()}
        if isinstance(value, list):
            return [mark(item) for item in value]
        return value

    text = json.dumps(mark(data), ensure_ascii=False, **options)
    return re.sub(f'"{nonce}:([0-9.]+)"', r"\1", text)


def json_write(threads: Iterable[Thread], stream: TextIO, **_: object) -> None:
    threads = list(threads)
    data: Any = [thread_to_dict(t) for t in threads]
    if len(threads) == 1 and threads[0].extra.get("json_shape") == "object":
        data = data[0]
    stream.write(_dumps(data, indent=2))
    stream.write("\n")


# ----------------------------------------------------------------------------------------- JSONL


def jsonl_sniff(head: str) -> bool:
    lines = [line for line in head.lstrip("\ufeff").splitlines() if line.strip()]
    # A complete object on the first line: pretty-printed JSON opens with a lone "{" instead.
    if not lines or not lines[0].lstrip().startswith("{"):
        return False
    try:
        return isinstance(json.loads(lines[0]), dict)
    except (ValueError, RecursionError):  # ValueError: also an integer of over 4,300 digits
        return False


def jsonl_read(
    path: str | Path,
    *,
    encoding: str | None = None,
    skip_bad: bool = False,
    on_problem: Problem | None = None,
    **_: object,
) -> Iterator[Thread]:
    path = check_text_file(path)
    group = _Grouper("jsonl")
    on_bad = (lambda exc: report_problem(exc, skip_bad, on_problem)) if skip_bad else None
    with open(path, "rb") as fh:
        for number, raw_line in enumerate(fh, start=1):
            where = f"{path}: line {number}"
            try:
                line = raw_line.decode(encoding or "utf-8-sig" if number == 1 else encoding or "utf-8")
            except (UnicodeDecodeError, LookupError):
                report_problem(
                    ParseError(f"{path}: not valid {encoding or 'UTF-8'} text", line=number),
                    skip_bad,
                    on_problem,
                )
                group.skip(raw_line)
                continue
            if not line.strip():
                continue
            try:
                try:
                    raw = _loads(line, path, number)
                except json.JSONDecodeError as exc:
                    raise ParseError(f"{path}: not valid JSON: {exc.msg}", line=number) from None
                if isinstance(raw, dict) and ("comments" in raw or "post" in raw):
                    thread = thread_from_dict(raw, where, line=number, shape="jsonl", on_bad_comment=on_bad)
                    done = group.flush()
                    if done is not None:
                        yield done
                    yield thread
                    continue
                comment = comment_from_dict(raw, where, line=number)
                key = _thread_id(raw, where, number)
                post = _post_from_row(raw, where, number)
            except ParseError as exc:
                report_problem(exc, skip_bad, on_problem)
                group.skip(raw_line)
                continue
            done = group.add(key, post, comment)
            if done is not None:
                yield done
    done = group.flush(last=True)
    if done is not None:
        yield done


def _write_bytes(stream: TextIO, data: bytes) -> None:
    """A line skipped as bad goes back byte for byte: it may not even be valid text."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(data.decode("utf-8", "replace"))
        return
    stream.flush()
    buffer.write(data)


def jsonl_write(threads: Iterable[Thread], stream: TextIO, **_: object) -> None:
    for thread in threads:
        if thread.extra.get("rows"):
            lines = []
            for comment in thread.comments:
                out = comment.extra.get("raw")
                out = dict(out) if isinstance(out, dict) else comment_to_row(thread, comment)
                lines.append(_dumps(_scored(out, comment)) + "\n")
            for line in _with_unread(thread, lines):
                if isinstance(line, bytes):
                    _write_bytes(stream, line if line.endswith(b"\n") else line + b"\n")
                else:
                    stream.write(line)
        else:
            stream.write(_dumps(thread_to_dict(thread)) + "\n")


# ------------------------------------------------------------------------------------------- CSV


def csv_sniff(head: str) -> bool:
    first = head.lstrip("\ufeff").split("\n", 1)[0]
    try:
        header = next(csv.reader(io.StringIO(first)))
    except (csv.Error, StopIteration):
        return False
    columns = {c.strip().lower() for c in header}
    return "body" in columns and bool(columns & {"thread_id", "thread", "id", "author", "label"})


def csv_read(
    path: str | Path,
    *,
    encoding: str | None = None,
    skip_bad: bool = False,
    on_problem: Problem | None = None,
    **_: object,
) -> Iterator[Thread]:
    path = check_text_file(path)
    # Comment bodies can exceed the csv module's default 128 KiB field limit.
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    group = _Grouper("csv")
    line: int | None = None
    header: list[str] | None = None
    start = 1
    try:
        with open(path, encoding=encoding or "utf-8-sig", newline="") as fh:
            # strict: a quote left open would otherwise swallow every row up to the next quote (or the end
            # of the file) into one field, merging rows silently (issue 9 item 13).
            reader = csv.reader(fh, strict=True)
            header = next(reader, None)
            if header is None:
                raise ParseError(f"{path}: empty CSV file (expected a header row with a 'body' column)", line=1)
            header = [h.strip() for h in header]
            if "body" not in header:
                raise ParseError(f"{path}: CSV header has no 'body' column (columns: {', '.join(header)})", line=1)
            if len(set(header)) != len(header):
                raise ParseError(f"{path}: CSV header repeats a column name", line=1)
            start = reader.line_num + 1
            group.header = header
            for values in reader:
                line = reader.line_num
                record_start, start = start, line + 1
                if not any(v.strip() for v in values):
                    continue
                try:
                    if len(values) != len(header):
                        raise ParseError(
                            f"{path}: row has {len(values)} fields, the header has {len(header)}", line=record_start
                        )
                    if any(_SURROGATE.search(v) for v in values):
                        # Only a decoder given by --encoding (utf-7, unicode_escape) can produce one.
                        raise ParseError(
                            f"{path}: a field holds a lone surrogate (not valid Unicode)", line=record_start
                        )
                    row = dict(zip(header, values, strict=True))
                    where = f"{path}: line {record_start}"
                    comment = _row_to_comment(row, where, record_start)
                    key = _thread_id(row, where, record_start)
                    post = _post_from_row(row, where, record_start)
                except ParseError as exc:
                    report_problem(exc, skip_bad, on_problem)
                    group.skip(values)
                    continue
                comment.extra["header"] = header
                done = group.add(key, post, comment)
                if done is not None:
                    yield done
    except csv.Error as exc:
        first = start if header is not None else 1
        if "unexpected end of data" in str(exc) or reader.line_num > first:
            raise ParseError(
                f"{path}: malformed CSV: a quote opened in the row starting on line {first} is never closed "
                f"correctly ({exc})",
                line=first,
            ) from None
        raise ParseError(f"{path}: malformed CSV: {exc}", line=first) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not valid {encoding or 'UTF-8'} text ({exc.reason})") from None
    except LookupError:
        raise InputError(f"{path}: unknown encoding {encoding!r}") from None
    done = group.flush(last=True)
    if done is not None:
        yield done


def csv_write(threads: Iterable[Thread], stream: TextIO, **_: object) -> None:
    writer = None
    for thread in threads:
        for item in _with_unread(thread, thread.comments):
            if writer is None:
                header = list(
                    (item.extra.get("header") if isinstance(item, Comment) else None)
                    or thread.extra.get("header")
                    or ROW_COLUMNS
                )
                header += [key for key in SCORE_KEYS if key not in header]
                writer = csv.DictWriter(stream, fieldnames=header, extrasaction="ignore", lineterminator="\n")
                writer.writeheader()
            if not isinstance(item, Comment):
                writer.writer.writerow(item)  # a row skipped as bad, written back as it was read
                continue
            row = comment_to_row(thread, item)
            writer.writerow({key: "" if value is None else value for key, value in row.items()})
    if writer is None:
        csv.writer(stream, lineterminator="\n").writerow([*ROW_COLUMNS, *SCORE_KEYS])


JSON = SimpleNamespace(NAME="json", MARKS_SPAM=True, sniff=json_sniff, read=json_read, write=json_write)
JSONL = SimpleNamespace(NAME="jsonl", MARKS_SPAM=True, sniff=jsonl_sniff, read=jsonl_read, write=jsonl_write)
CSV = SimpleNamespace(NAME="csv", MARKS_SPAM=True, sniff=csv_sniff, read=csv_read, write=csv_write)
