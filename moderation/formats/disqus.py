"""Disqus exports (Admin > Moderation > Export): ``<disqus>`` with ``<thread>`` and ``<post>`` elements.

A Disqus export lists every thread first and then every post, each post naming its thread by
``dsq:id``, so no thread is complete until the file ends: reading keeps the comments (not the parsed
XML, which is cleared as it goes) and yields the threads that have posts, in file order.

``isSpam`` becomes the label (``true`` -> spam, otherwise ham); deleted posts get no label and keep
``extra["deleted"]``, and Disqus's "This comment was deleted." placeholder is read as an empty body.
Writing patches the original file: ``<isSpam>`` of comments whose verdict is spam changes to
``true``, and ``<isApproved>`` of held comments to ``false`` (Disqus's pending state; the element is
added when the export has none). ``isSpam`` stays ``false`` for held comments: they are not spam yet.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from ..errors import ParseError
from ..model.thread import Comment, Post, Thread
from . import xmlsafe
from .html import markup_to_text
from .source import report_problem
from .xmlsafe import local

NAME = "disqus"
MARKS_SPAM = True

_DISQUS = "http://disqus.com"
_DSQ = "http://disqus.com/disqus-internals"


def sniff(head: str) -> bool:
    return "<disqus" in head and "disqus.com" in head


def _dsq_id(elem) -> str:
    for key, value in elem.attrib.items():
        if local(key) == "id":
            return value.strip()
    return ""


def _child_text(elem, name: str) -> str:
    for child in elem:
        if local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _child(elem, name: str):
    for child in elem:
        if local(child.tag) == name:
            return child
    return None


_DELETED_PLACEHOLDER = re.compile(r"^\s*this comment was deleted\.?\s*$", re.IGNORECASE)


def _true(value: str) -> bool:
    return value.strip().lower() in ("true", "1")


def read(
    path: str | Path,
    *,
    skip_bad: bool = False,
    on_problem: Callable[[ParseError], None] | None = None,
    **_: object,
) -> Iterator[Thread]:
    source = str(path)
    threads: dict[str, Thread] = {}
    depth = 0
    root = None
    try:
        for event, elem in xmlsafe.iterparse(path):
            if event == "start":
                depth += 1
                if depth == 1:
                    root = elem
                    if local(elem.tag) != "disqus":
                        raise ParseError(
                            f"{source}: not a Disqus export (root element is <{local(elem.tag)}>, expected <disqus>)",
                            line=1,
                        )
                continue
            depth -= 1
            if depth != 1:
                continue
            name = local(elem.tag)
            try:
                if name == "thread":
                    thread = _thread(elem, source)
                    threads.setdefault(thread.extra["dsq_id"], thread)
                elif name == "post":
                    comment, thread_id = _comment(elem, source)
                    if thread_id not in threads:
                        raise ParseError(
                            f"{source}: post {comment.id} belongs to thread {thread_id!r}, which is not in the file",
                            element="post",
                        )
                    threads[thread_id].comments.append(comment)
            except ParseError as exc:
                report_problem(exc, skip_bad, on_problem)
            finally:
                elem.clear()
                root.remove(elem)
    except ParseError as exc:
        report_problem(exc, skip_bad, on_problem)
    for thread in threads.values():
        if thread.comments:
            thread.number()
            yield thread


def _thread(elem, source: str) -> Thread:
    dsq_id = _dsq_id(elem)
    if not dsq_id:
        raise ParseError(f"{source}: a <thread> has no dsq:id", element="thread")
    author = _child(elem, "author")
    post = Post(
        title=_child_text(elem, "title"),
        url=_child_text(elem, "link"),
        body=markup_to_text(_child_text(elem, "message")),
        author=_child_text(author, "name") if author is not None else "",
        id=_child_text(elem, "id"),
        date=_child_text(elem, "createdAt"),
    )
    return Thread(post=post, id=dsq_id, source_format=NAME, extra={"dsq_id": dsq_id, "disqus_source": source})


def _comment(elem, source: str) -> tuple[Comment, str]:
    dsq_id = _dsq_id(elem)
    if not dsq_id:
        raise ParseError(f"{source}: a <post> has no dsq:id", element="post")
    thread = _child(elem, "thread")
    thread_id = _dsq_id(thread) if thread is not None else ""
    if not thread_id:
        raise ParseError(f"{source}: post {dsq_id} names no thread", element="post")
    parent = _child(elem, "parent")
    author = _child(elem, "author")
    is_spam = _true(_child_text(elem, "isSpam"))
    is_deleted = _true(_child_text(elem, "isDeleted"))
    extra: dict = {"is_spam": is_spam}
    if is_deleted:
        extra["deleted"] = True
    if author is not None:
        username = _child_text(author, "username")
        if username:
            extra["username"] = username
    body = markup_to_text(_child_text(elem, "message"))
    if _DELETED_PLACEHOLDER.match(body):
        # What Disqus leaves in place of a deleted comment's text: nothing the author wrote.
        body = ""
    comment = Comment(
        body=body,
        author=_child_text(author, "name") if author is not None else "",
        id=dsq_id,
        author_email=_child_text(author, "email") if author is not None else "",
        author_ip=_child_text(elem, "ipAddress"),
        date=_child_text(elem, "createdAt"),
        parent=(_dsq_id(parent) or None) if parent is not None else None,
        label=None if is_deleted else ("spam" if is_spam else "ham"),
        extra=extra,
    )
    return comment, thread_id


# ---------------------------------------------------------------------------------------------- write


def write(threads: Iterable[Thread], stream: TextIO, *, source: str | Path | None = None, **_: object) -> None:
    threads = list(threads)
    origin = source or next((t.extra.get("disqus_source") for t in threads if t.source_format == NAME), None)
    if origin and Path(origin).is_file():
        changes = {c.id: _CHANGES[c.verdict] for t in threads for c in t.comments if c.verdict in _CHANGES}
        _Patcher(Path(origin), changes, xmlsafe.byte_sink(stream)).run()
    else:
        _render(threads, stream)


# The <post> fields a verdict sets, and their values; other verdicts leave the post as it was.
_CHANGES = {"spam": {"isSpam": "true"}, "hold": {"isApproved": "false"}}


class _Patcher(xmlsafe.ByteEditor):
    def __init__(self, path: Path, changes: dict[str, dict[str, str]], write):
        super().__init__(path, write)
        self._changes = changes
        self._depth = 0
        self._record: dict | None = None
        self._field: str | None = None
        self._chars: list[str] | None = None

    def start(self, name, attrs, offset):
        self._depth += 1
        name = name.rpartition(" ")[2]
        if self._depth == 2 and name == "post":
            dsq_id = next((v for k, v in attrs.items() if k.rpartition(" ")[2] == "id"), "")
            self.hold = offset
            self._record = {"start": offset, "id": dsq_id.strip(), "fields": {}}
        elif self._record is not None and self._depth == 3 and name in ("isSpam", "isApproved"):
            tag_end = self.find(b">", offset) + 1
            self._record["fields"][name] = {"tag": (offset, tag_end, self.byte_at(tag_end - 2) == ord("/"))}
            self._field = name
            self._chars = []

    def text(self, data):
        if self._chars is not None:
            self._chars.append(data)

    def end(self, name, offset):
        if self._chars is not None and self._depth == 3:
            found = self._record["fields"][self._field]
            found["value"] = "".join(self._chars).strip()
            found["close"] = offset
            self._chars = self._field = None
        elif self._record is not None and self._depth == 2:
            self._decide(offset)
            self._record = None
            self.hold = None
        self._depth -= 1

    def _decide(self, end_offset: int) -> None:
        record = self._record
        edits = []
        for name, value in self._changes.get(record["id"], {}).items():
            found = record["fields"].get(name)
            if found is None:
                prefix = self._qname(record["start"])[: -len(b"post")]
                tag = prefix + name.encode()
                edits.append((end_offset, end_offset, b"<" + tag + b">" + value.encode() + b"</" + tag + b">"))
                continue
            if found.get("value", "").lower() == value:
                continue
            start, tag_end, self_closing = found["tag"]
            if self_closing:
                qname = self._qname(start)
                edits.append((start, tag_end, b"<" + qname + b">" + value.encode() + b"</" + qname + b">"))
            else:
                edits.append((tag_end, found["close"], value.encode()))
        for start, end, data in edits:
            self.replace(start, end, data)

    def _qname(self, offset: int) -> bytes:
        tag = self.slice(offset + 1, self.find(b">", offset)).split()
        return tag[0].rstrip(b"/") if tag else b""


def _render(threads: list[Thread], stream: TextIO) -> None:
    """A fresh Disqus export for threads from another format (ids made unique per file)."""
    esc, cdata = xmlsafe.escape, xmlsafe.cdata
    stream.write(f'<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="{_DISQUS}" xmlns:dsq="{_DSQ}">\n')
    counter = itertools.count(1)
    for thread in threads:
        thread_id = f"t{next(counter)}"
        post = thread.post
        stream.write(
            f'  <thread dsq:id="{thread_id}">\n    <id>{esc(post.id)}</id>\n'
            f"    <link>{esc(post.url)}</link>\n"
            f"    <title>{cdata(post.title)}</title>\n    <message>{cdata(post.body)}</message>\n"
            f"    <createdAt>{esc(post.date)}</createdAt>\n  </thread>\n"
        )
        ids = {c.id: f"p{next(counter)}" for c in thread.comments}
        for c in thread.comments:
            spam = c.verdict == "spam" or (c.verdict is None and c.label == "spam")
            parent = f'    <parent dsq:id="{ids[c.parent]}"/>\n' if c.parent in ids else ""
            stream.write(
                f'  <post dsq:id="{ids[c.id]}">\n    <id/>\n    <message>{cdata(c.body)}</message>\n'
                f"    <createdAt>{esc(c.date)}</createdAt>\n"
                f"    <isDeleted>{'true' if c.extra.get('deleted') else 'false'}</isDeleted>\n"
                f"    <isSpam>{'true' if spam else 'false'}</isSpam>\n"
                f"    <author>\n      <email>{esc(c.author_email)}</email>\n"
                f"      <name>{esc(c.author)}</name>\n"
                f"      <isAnonymous>{'false' if c.author_email else 'true'}</isAnonymous>\n    </author>\n"
                f"    <ipAddress>{esc(c.author_ip)}</ipAddress>\n"
                f'    <thread dsq:id="{thread_id}"/>\n{parent}  </post>\n'
            )
    stream.write("</disqus>\n")
