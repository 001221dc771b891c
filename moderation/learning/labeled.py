"""Labeled comments from any table: our thread files, or CSV/TSV/JSONL rows read through a column mapping.

``load_labeled(paths, mapping)`` is what ``train`` and ``evaluate`` call. Our own JSON thread files
(and JSONL files of whole threads) go to ``dataset.load_labeled_threads``; every other file is read as
one comment per row, with the mapping naming the columns::

    load_labeled(["Youtube01-Psy.csv"], ColumnMapping(text="CONTENT", label="CLASS", author="AUTHOR"))

Rows become one Thread per value of the group column, or one Thread per file when there is none (so a
file per video or per blog post keeps its comments together), under an empty Post unless a post column
gives the post's text. Comment text is kept exactly as written: HTML such as ``<br />`` and ``<a href>``
and stray U+FEFF characters are what spam looks like in the wild, and the features handle them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError
from ..formats.source import read_text
from ..model.thread import Comment, Post, Thread
from .dataset import DEFAULT_DATA_DIR, load_labeled_threads

# Label spellings accepted without any option, compared case-insensitively after stripping. They cover
# the public corpora we know: YouTube Spam Collection (CLASS 1/0), SMS Spam Collection (spam/ham), and
# exports that store a boolean "is_spam" (true/false).
DEFAULT_SPAM_LABELS = ("1", "spam", "true", "yes")
DEFAULT_HAM_LABELS = ("0", "ham", "false", "no")

# Our own comment-per-row schema (formats/tabular.py): with no option at all, its files load as-is.
DEFAULT_TEXT_COLUMN = "body"
DEFAULT_LABEL_COLUMN = "label"
DEFAULT_AUTHOR_COLUMN = "author"
DEFAULT_GROUP_COLUMN = "thread_id"
DEFAULT_POST_COLUMN = "post_body"
DEFAULT_ID_COLUMN = "id"
# Read when present under these names (our schema), so thread context survives: replies, sites, titles.
_OPTIONAL_COLUMNS = ("author_url", "author_email", "parent", "post_title", "post_author", "post_url")

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl")
DATA_SUFFIXES = (".json", *TABLE_SUFFIXES)
MAX_DATA_BYTES = 500 * 1024 * 1024
# Comments longer than csv's default 128 KiB field limit exist (pasted articles); refusing them
# would make a whole file unreadable for one row.
_CSV_FIELD_LIMIT = 16 * 1024 * 1024


@dataclass(frozen=True)
class ColumnMapping:
    """Which column holds what. ``None`` means "our default name, if the file has it"; a name given
    explicitly must exist in every file, or loading fails naming the file and the columns it has."""

    text: str | None = None
    label: str | None = None
    author: str | None = None
    group: str | None = None
    post: str | None = None
    id: str | None = None
    spam_labels: tuple[str, ...] = ()
    ham_labels: tuple[str, ...] = ()

    @property
    def is_default(self) -> bool:
        return self == ColumnMapping()

    def label_values(self) -> tuple[frozenset[str], frozenset[str]]:
        """The accepted spellings of spam and ham, folded; an override replaces its side's defaults.

        The other side keeps its defaults minus the override, so ``--spam-label 0`` (a corpus where 0
        means spam) does not leave "0" meaning both.
        """
        spam = {v.strip().casefold() for v in self.spam_labels} or set(DEFAULT_SPAM_LABELS)
        ham = {v.strip().casefold() for v in self.ham_labels} or set(DEFAULT_HAM_LABELS)
        if self.spam_labels and not self.ham_labels:
            ham -= spam
        elif self.ham_labels and not self.spam_labels:
            spam -= ham
        both = spam & ham
        if both:
            raise DataError(f"label value(s) {', '.join(sorted(both))} given as both spam and ham")
        return frozenset(spam), frozenset(ham)


@dataclass
class _Columns:
    """A mapping resolved against one file's header."""

    text: str
    label: str
    author: str | None = None
    group: str | None = None
    post: str | None = None
    id: str | None = None
    extra: dict = field(default_factory=dict)


def data_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories into their data files (sorted, so order never depends on the disk)."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)
            if not found:
                raise DataError(f"{path}: no {', '.join(DATA_SUFFIXES)} files in this directory")
            files.extend(found)
        else:
            files.append(path)
    return files


def load_labeled(paths: Sequence[str | Path] | None = None, mapping: ColumnMapping | None = None) -> list[Thread]:
    """Labeled threads from every file in ``paths`` (default: data/threads), each read the right way."""
    mapping = mapping or ColumnMapping()
    spam, ham = mapping.label_values()
    threads: list[Thread] = []
    for file in data_files(paths or [DEFAULT_DATA_DIR]):
        if _is_thread_file(file, mapping):
            threads.extend(load_labeled_threads([file]))
        else:
            threads.extend(_table_threads(file, mapping, spam, ham))
    if not threads:
        raise DataError("no labeled comments found in " + ", ".join(str(p) for p in paths or [DEFAULT_DATA_DIR]))
    return threads


def _is_thread_file(file: Path, mapping: ColumnMapping) -> bool:
    """Our thread JSON, or JSONL whose first record is a whole thread (has "comments")."""
    suffix = file.suffix.lower()
    if suffix not in (".json", ".jsonl", ".ndjson", ".csv", ".tsv"):
        # Exports and pages (WordPress, Disqus, HTML, text) carry their labels in their own fields.
        return True
    if suffix == ".json":
        if mapping.text is not None:
            raise DataError(f"{file}: column options apply to CSV, TSV and JSONL files, not to JSON thread files")
        return True
    if suffix != ".jsonl":
        return False
    for line in read_text(file, max_bytes=MAX_DATA_BYTES).splitlines():
        if line.strip():
            try:
                first = json.loads(line)
            except (ValueError, RecursionError):  # also a 5,000-digit integer, or [[[... 100k deep
                return False  # the row reader reports it with its line number
            return isinstance(first, dict) and "comments" in first
    return False


def _rows(file: Path) -> Iterator[tuple[int, dict]]:
    """(line number, row) for every record of a CSV, TSV or comment-per-line JSONL file."""
    text = read_text(file, max_bytes=MAX_DATA_BYTES)
    if file.suffix.lower() == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{file}: line {number}: invalid JSON ({exc.msg})") from None
            except (ValueError, RecursionError) as exc:  # a 5,000-digit integer; nesting too deep
                raise DataError(f"{file}: line {number}: unreadable JSON ({str(exc).splitlines()[0][:80]})") from None
            if not isinstance(record, dict):
                raise DataError(f"{file}: line {number}: expected an object, got {type(record).__name__}")
            yield number, record
        return
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    delimiter = "\t" if file.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for record in reader:
            # csv counts physical lines, so a row with a quoted line break is named by where it ends.
            yield reader.line_num, record
    except csv.Error as exc:
        raise DataError(f"{file}: line {reader.line_num}: malformed CSV ({exc})") from None


def _resolve(file: Path, header: Sequence[str], mapping: ColumnMapping) -> _Columns:
    present = set(header)

    def pick(role: str, given: str | None, default: str | None, *, required: bool) -> str | None:
        if given is not None:
            if given not in present:
                raise DataError(
                    f"{file}: no {role} column {given!r}; the file has: {', '.join(header) or '(no columns)'}"
                )
            return given
        if default is not None and default in present:
            return default
        if required:
            raise DataError(
                f"{file}: no {role} column {default!r}; name it with --{role}-column "
                f"(the file has: {', '.join(header) or '(no columns)'})"
            )
        return None

    return _Columns(
        text=pick("text", mapping.text, DEFAULT_TEXT_COLUMN, required=True),
        label=pick("label", mapping.label, DEFAULT_LABEL_COLUMN, required=True),
        author=pick("author", mapping.author, DEFAULT_AUTHOR_COLUMN, required=False),
        group=pick("group", mapping.group, DEFAULT_GROUP_COLUMN, required=False),
        post=pick("post", mapping.post, DEFAULT_POST_COLUMN, required=False),
        id=pick("id", mapping.id, DEFAULT_ID_COLUMN, required=False),
        extra={name: name for name in _OPTIONAL_COLUMNS if name in present},
    )


def _cell(value, file: Path, line: int, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        # JSON true/false: spelled as the label mapping expects.
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    raise DataError(f"{file}: line {line}: column {column!r} holds a {type(value).__name__}, expected text")


def parse_label(value: str, spam: frozenset[str], ham: frozenset[str], *, where: str) -> str | None:
    """ "spam", "ham", or None for an empty cell (an unlabeled comment: context, never a target)."""
    folded = value.strip().casefold()
    if not folded:
        return None
    if folded in spam:
        return "spam"
    if folded in ham:
        return "ham"
    raise DataError(
        f"{where}: unknown label {value!r}; spam is {', '.join(sorted(spam))} and ham is "
        f"{', '.join(sorted(ham))} (set them with --spam-label and --ham-label)"
    )


def _table_threads(file: Path, mapping: ColumnMapping, spam: frozenset[str], ham: frozenset[str]) -> list[Thread]:
    columns: _Columns | None = None
    header: list[str] = []
    groups: dict[str, list[Comment]] = {}
    posts: dict[str, Post] = {}
    for line, record in _rows(file):
        if columns is None or file.suffix.lower() == ".jsonl":
            # JSONL lines may differ in keys; CSV has one header. Resolve once per new key set.
            keys = list(record)
            if columns is None or keys != header:
                header = keys
                columns = _resolve(file, header, mapping)
        if None in record:
            raise DataError(f"{file}: line {line}: more fields than the header's {len(header)}")
        if file.suffix.lower() != ".jsonl" and None in record.values():
            # A short row shifts nothing but leaves its last columns (often the label) silently blank.
            raise DataError(f"{file}: line {line}: fewer fields than the header's {len(header)}")
        where = f"{file}: line {line}"
        label = parse_label(_cell(record.get(columns.label), file, line, columns.label), spam, ham, where=where)
        group = _cell(record.get(columns.group), file, line, columns.group) if columns.group else ""
        optional = {name: _cell(record.get(name), file, line, name) for name in columns.extra}
        comment = Comment(
            body=_cell(record.get(columns.text), file, line, columns.text),
            author=_cell(record.get(columns.author), file, line, columns.author).strip() if columns.author else "",
            id=_cell(record.get(columns.id), file, line, columns.id) if columns.id else "",
            label=label,
            author_url=optional.get("author_url", ""),
            author_email=optional.get("author_email", ""),
            parent=optional.get("parent") or None,
            extra={"source": str(file), "line": line},
        )
        groups.setdefault(group, []).append(comment)
        if group not in posts:
            # The post is described on its group's first row, as in our comment-per-row schema.
            posts[group] = Post(
                body=_cell(record.get(columns.post), file, line, columns.post) if columns.post else "",
                title=optional.get("post_title", ""),
                author=optional.get("post_author", ""),
                url=optional.get("post_url", ""),
            )
    threads = []
    for group, comments in groups.items():
        _unique_ids(comments)
        thread_id = f"{file.stem}:{group}" if group else file.stem
        thread = Thread(post=posts[group], comments=comments, id=thread_id, source_format="table")
        thread.extra["source"] = str(file)
        # Whether the thread is a real group (a column named it) or just "the rows of this file".
        thread.extra["grouped_by"] = "column" if columns and columns.group else "file"
        threads.append(thread)
    return threads


def _unique_ids(comments: list[Comment]) -> None:
    """Ids must be unique within a thread (replies and reports refer to them); else fall back to row order.

    Without trustworthy ids a parent reference could point at the wrong comment, so it is dropped too.
    """
    ids = [c.id for c in comments]
    if any(not i for i in ids) or len(set(ids)) != len(ids):
        for comment in comments:
            comment.id = ""
            comment.parent = None


def is_grouped(threads: Iterable[Thread]) -> bool:
    """True unless some thread is merely "all rows of a file": then folds cannot honestly group by thread."""
    return all(thread.extra.get("grouped_by") != "file" for thread in threads)


def label_counts(threads: Iterable[Thread]) -> dict[str, int]:
    """How many comments are spam, ham and unlabeled: for the one-line summary the CLI prints."""
    counts = {"spam": 0, "ham": 0, "unlabeled": 0}
    for thread in threads:
        for comment in thread.comments:
            counts[comment.label or "unlabeled"] += 1
    return counts


__all__ = [
    "DEFAULT_HAM_LABELS",
    "DEFAULT_SPAM_LABELS",
    "ColumnMapping",
    "data_files",
    "is_grouped",
    "label_counts",
    "load_labeled",
    "parse_label",
]
