"""WordPress eXtended RSS (WXR) exports, versions 1.0 to 1.2: Tools > Export in WordPress.

Reading streams: one Thread per ``<item>``, each element cleared once its thread is built, so memory
does not grow with the file (see benchmarks/bench_wxr_stream.py). Comment status becomes the label:
``spam`` in the export means a moderator already called it spam, ``1`` that it was approved; pending
(``0``) and ``trash`` say nothing either way. The raw status stays in ``extra["approved"]``.

Writing patches the original file: its bytes are copied through unchanged except the
``<wp:comment_approved>`` value of each comment whose verdict changes it (spam -> ``spam``, hold ->
``0``), so WordPress can import the result again and diff shows only those lines. Comments a
moderator already marked spam or trash are never changed back. Threads that did not come from a WXR
file (converted from another format) are rendered as a fresh WXR 1.2 document instead.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from ..errors import ParseError
from ..model.thread import COMMENT_TYPES, Comment, Post, Thread, comment_type
from . import xmlsafe
from .html import markup_to_text
from .source import report_problem
from .xmlsafe import local, namespace

NAME = "wxr"
MARKS_SPAM = True

_WP = "http://wordpress.org/export/"
_CONTENT = "http://purl.org/rss/1.0/modules/content/"
_DC = "http://purl.org/dc/elements/1.1/"
# Verdict -> the comment_approved value WordPress uses for it.
_STATUS_FOR_VERDICT = {"spam": "spam", "hold": "0"}
_LABEL_FOR_STATUS = {"spam": "spam", "1": "ham", "approve": "ham"}
_FINAL_STATUSES = ("spam", "trash", "post-trashed")


def sniff(head: str) -> bool:
    return "<rss" in head and _WP in head


def _is_wp(tag: str) -> bool:
    return namespace(tag).startswith(_WP)


def read(
    path: str | Path,
    *,
    skip_bad: bool = False,
    on_problem: Callable[[ParseError], None] | None = None,
    **_: object,
) -> Iterator[Thread]:
    """Yield one Thread per ``<item>``. With ``skip_bad``, a bad item (or a truncated tail) is passed
    to ``on_problem`` and skipped instead of raised; the items before it have been yielded already."""
    source = str(path)
    stack: list = []
    channel: dict = {}
    item_index = -1
    events = xmlsafe.iterparse(path)
    try:
        for event, elem in events:
            if event == "start":
                stack.append(elem)
                if len(stack) == 1 and local(elem.tag) != "rss":
                    raise ParseError(
                        f"{source}: not a WordPress export (root element is <{local(elem.tag)}>, expected <rss>)",
                        line=1,
                    )
                if len(stack) == 3 and local(elem.tag) == "item":
                    item_index += 1
                continue
            stack.pop()
            if len(stack) != 2:
                continue
            # A direct child of <channel> is complete: use it, then drop it so the tree stays small.
            parent = stack[-1]
            if local(elem.tag) == "item":
                try:
                    thread = _thread(elem, item_index, source, channel)
                except ParseError as exc:
                    report_problem(exc, skip_bad, on_problem)
                    thread = None
                elem.clear()
                parent.remove(elem)
                if thread is not None:
                    yield thread
            else:
                if local(elem.tag) in ("title", "link", "base_site_url", "base_blog_url", "wxr_version"):
                    channel[local(elem.tag)] = (elem.text or "").strip()
                elif local(elem.tag) == "author" and _is_wp(elem.tag):
                    _add_author(channel, elem)
                elem.clear()
                parent.remove(elem)
        if not channel and item_index < 0:
            raise ParseError(f"{source}: not a WordPress export (no <channel> with items)", element="channel")
    except ParseError as exc:
        report_problem(exc, skip_bad, on_problem)
    finally:
        events.close()


def _text(elem) -> str:
    return elem.text or ""


def _thread(item, index: int, source: str, channel: dict) -> Thread:
    post = Post()
    comments: list[Comment] = []
    post_extra: dict = {}
    for child in item:
        name, ns = local(child.tag), namespace(child.tag)
        if ns.startswith(_WP):
            if name == "comment":
                comments.append(_comment(child, index, source))
            elif name == "post_id":
                post.id = _text(child).strip()
            elif name == "post_date":
                post.date = _text(child).strip()
            elif name in ("post_type", "status", "post_name", "post_parent"):
                post_extra[name] = _text(child).strip()
        elif ns == _CONTENT and name == "encoded":
            post.body = markup_to_text(_text(child))
        elif ns == _DC and name == "creator":
            # <dc:creator> holds the author's login; people (and the "written by the post's author"
            # signal) know them by the display name the export's <wp:author> list gives it.
            login = _text(child).strip()
            post.author = channel.get("authors", {}).get(login) or login
        elif not ns and name == "title":
            post.title = _text(child).strip()
        elif not ns and name == "link":
            post.url = _text(child).strip()
    post.extra = post_extra
    extra = {"wxr_source": source, "wxr_item": index}
    if channel.get("link"):
        extra["site"] = channel["link"]
    return Thread(post=post, comments=comments, id=post.id or f"item-{index + 1}", source_format=NAME, extra=extra)


def _add_author(channel: dict, elem) -> None:
    """Remember one ``<wp:author>``: login -> display name (WordPress exports list them before the items)."""
    fields = {local(child.tag): (child.text or "").strip() for child in elem}
    login, display = fields.get("author_login", ""), fields.get("author_display_name", "")
    if login and display:
        channel.setdefault("authors", {})[login] = display


def _comment(elem, index: int, source: str) -> Comment:
    fields: dict[str, str] = {}
    meta: list[tuple[str, str]] = []
    for child in elem:
        name = local(child.tag)
        if name == "commentmeta":
            pair = {local(c.tag): _text(c) for c in child}
            meta.append((pair.get("meta_key", ""), pair.get("meta_value", "")))
        else:
            fields[name] = _text(child)
    comment_id = fields.get("comment_id", "").strip()
    parent = fields.get("comment_parent", "").strip()
    where = f"{source}: item {index + 1}, comment {comment_id or '?'}"
    if comment_id and not comment_id.isdigit():
        raise ParseError(f"{where}: comment id {comment_id!r} is not a number", element="wp:comment_id")
    if parent and not parent.isdigit():
        raise ParseError(f"{where}: parent id {parent!r} is not a number", element="wp:comment_parent")
    approved = fields.get("comment_approved", "1").strip() or "1"
    raw_type = fields.get("comment_type", "").strip()
    kind = comment_type(raw_type)
    extra: dict = {"approved": approved}
    if raw_type and raw_type not in COMMENT_TYPES:
        extra["wp_type"] = raw_type
    if fields.get("comment_date_gmt"):
        extra["date_gmt"] = fields["comment_date_gmt"].strip()
    user_id = fields.get("comment_user_id", "").strip()
    if user_id and user_id != "0":
        extra["user_id"] = user_id
    if meta:
        extra["meta"] = meta
    return Comment(
        body=markup_to_text(fields.get("comment_content", "")),
        author=html.unescape(fields.get("comment_author", "")).strip(),
        id=comment_id,
        author_url=fields.get("comment_author_url", "").strip(),
        author_email=fields.get("comment_author_email", "").strip(),
        author_ip=fields.get("comment_author_IP", "").strip(),
        date=fields.get("comment_date", "").strip(),
        parent=None if parent in ("", "0") else parent,
        type=kind,
        label=_LABEL_FOR_STATUS.get(approved),
        extra=extra,
    )


def new_status(comment: Comment) -> str | None:
    """The comment_approved value ``filter`` wants for this comment, or None to leave it."""
    return _STATUS_FOR_VERDICT.get(comment.verdict or "")


# ---------------------------------------------------------------------------------------------- write


def write(threads: Iterable[Thread], stream: TextIO, *, source: str | Path | None = None, **_: object) -> None:
    """Write the threads back as WXR; see the module docstring. ``source`` overrides the file the
    threads were read from (taken from the first thread otherwise)."""
    iterator = iter(threads)
    first = next(iterator, None)
    threads = itertools.chain([first], iterator) if first is not None else iter(())
    origin = source or (first.extra.get("wxr_source") if first is not None else None)
    if origin and Path(origin).is_file() and (source or first.source_format == NAME):
        _patch(Path(origin), threads, stream)
    else:
        _render(threads, stream)


class _Patcher(xmlsafe.ByteEditor):
    def __init__(self, path: Path, threads: Iterator[Thread], write: Callable[[bytes], None]):
        super().__init__(path, write)
        self._threads = threads
        self._pending: dict[int, dict[str, str]] = {}
        self._exhausted = False
        self._depth = 0
        self._item = -1
        self._record: dict | None = None
        self._field: str | None = None
        self._chars: list[str] = []
        self.changed = 0

    def _wanted(self, item: int) -> dict[str, str]:
        # Threads arrive in file order from read(), so this pulls one thread per item: flat memory.
        while item not in self._pending and not self._exhausted:
            thread = next(self._threads, None)
            if thread is None:
                self._exhausted = True
                break
            index = thread.extra.get("wxr_item")
            if isinstance(index, int) and index >= self._item:
                statuses = {c.id: s for c in thread.comments if (s := new_status(c))}
                self._pending[index] = statuses
        return self._pending.get(item, {})

    def start(self, name, attrs, offset):
        self._depth += 1
        uri, _, name_local = name.rpartition(" ")
        if self._depth == 3 and name_local == "item":
            self._item += 1
        elif self._depth == 4 and name_local == "comment" and uri.startswith(_WP):
            self.hold = offset
            self._record = {"start": offset, "id": "", "approved": None}
        elif self._record is not None and self._depth == 5 and name_local in ("comment_id", "comment_approved"):
            self._field = name_local
            self._chars = []
            if name_local == "comment_approved":
                tag_end = self.find(b">", offset) + 1
                self._record["tag"] = (offset, tag_end, self.byte_at(tag_end - 2) == ord("/"))

    def text(self, data):
        if self._field:
            self._chars.append(data)

    def end(self, name, offset):
        if self._field and self._depth == 5:
            value = "".join(self._chars).strip()
            if self._field == "comment_id":
                self._record["id"] = value
            else:
                self._record["approved"] = value
                self._record["close"] = offset
            self._field = None
        elif self._record is not None and self._depth == 4:
            self._decide(offset)
            self._record = None
            self.hold = None
        elif self._depth == 3:
            self._pending.pop(self._item, None)
        self._depth -= 1

    def _decide(self, end_offset: int) -> None:
        record = self._record
        wanted = self._wanted(self._item).get(record["id"])
        original = record["approved"]
        if wanted is None or original in _FINAL_STATUSES or original == wanted:
            return
        value = wanted.encode("ascii")
        if original is None:
            # No status element at all: WordPress reads that as approved; add one before </wp:comment>.
            qname = self._qname(record["start"])
            prefix = qname[: -len(b"comment")]
            element = b"<" + prefix + b"comment_approved>" + value + b"</" + prefix + b"comment_approved>"
            self.replace(end_offset, end_offset, element)
        else:
            start, tag_end, self_closing = record["tag"]
            if self_closing:
                qname = self._qname(start)
                self.replace(start, tag_end, b"<" + qname + b">" + value + b"</" + qname + b">")
            else:
                # Keep the file's own style: WordPress writes the status as CDATA.
                if self.slice(tag_end, record["close"]).lstrip().startswith(b"<![CDATA["):
                    value = b"<![CDATA[" + value + b"]]>"
                self.replace(tag_end, record["close"], value)
        self.changed += 1

    def _qname(self, offset: int) -> bytes:
        tag = self.slice(offset + 1, self.find(b">", offset))
        return tag.split()[0].rstrip(b"/") if tag.split() else tag


def _patch(path: Path, threads: Iterator[Thread], stream) -> None:
    _Patcher(path, threads, xmlsafe.byte_sink(stream)).run()


_HEADER = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0"
\txmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
\txmlns:content="http://purl.org/rss/1.0/modules/content/"
\txmlns:wfw="http://wellformedweb.org/CommentAPI/"
\txmlns:dc="http://purl.org/dc/elements/1.1/"
\txmlns:wp="http://wordpress.org/export/1.2/"
>
<channel>
\t<title>moderation export</title>
\t<wp:wxr_version>1.2</wp:wxr_version>
"""


def _render(threads: Iterable[Thread], stream: TextIO) -> None:
    """A fresh WXR 1.2 document for threads that came from another format."""
    esc, cdata = xmlsafe.escape, xmlsafe.cdata
    stream.write(_HEADER)
    used_ids: set[str] = set()
    for number, thread in enumerate(threads, start=1):
        post = thread.post
        post_id = post.id if post.id.isdigit() else str(number)
        stream.write(
            f"\t<item>\n\t\t<title>{esc(post.title)}</title>\n\t\t<link>{esc(post.url)}</link>\n"
            f"\t\t<dc:creator>{cdata(post.author)}</dc:creator>\n"
            f"\t\t<content:encoded>{cdata(post.body)}</content:encoded>\n"
            f"\t\t<wp:post_id>{post_id}</wp:post_id>\n\t\t<wp:post_date>{cdata(post.date)}</wp:post_date>\n"
            "\t\t<wp:status><![CDATA[publish]]></wp:status>\n\t\t<wp:post_type><![CDATA[post]]></wp:post_type>\n"
        )
        # WordPress comment ids are numbers unique in the site; map others to fresh numbers.
        ids: dict[str, str] = {}
        for comment in thread.comments:
            new_id = comment.id if comment.id.isdigit() and comment.id not in used_ids else ""
            if not new_id:
                new_id = str(len(used_ids) + 1)
                while new_id in used_ids:
                    new_id = str(int(new_id) + 1)
            used_ids.add(new_id)
            ids[comment.id] = new_id
        for comment in thread.comments:
            stream.write(_render_comment(comment, ids))
        stream.write("\t</item>\n")
    stream.write("</channel>\n</rss>\n")


def _render_comment(comment: Comment, ids: dict[str, str]) -> str:
    esc, cdata = xmlsafe.escape, xmlsafe.cdata
    status = new_status(comment) or comment.extra.get("approved")
    if status is None:
        status = "spam" if comment.label == "spam" else "1"
    parent = ids.get(comment.parent or "", "0")
    kind = "" if comment.type == "comment" else comment.type
    meta = "".join(
        f"\t\t\t<wp:commentmeta>\n\t\t\t\t<wp:meta_key>{cdata(k)}</wp:meta_key>\n"
        f"\t\t\t\t<wp:meta_value>{cdata(v)}</wp:meta_value>\n\t\t\t</wp:commentmeta>\n"
        for k, v in comment.extra.get("meta", [])
    )
    return (
        "\t\t<wp:comment>\n"
        f"\t\t\t<wp:comment_id>{ids[comment.id]}</wp:comment_id>\n"
        f"\t\t\t<wp:comment_author>{cdata(comment.author)}</wp:comment_author>\n"
        f"\t\t\t<wp:comment_author_email>{cdata(comment.author_email)}</wp:comment_author_email>\n"
        f"\t\t\t<wp:comment_author_url>{esc(comment.author_url)}</wp:comment_author_url>\n"
        f"\t\t\t<wp:comment_author_IP>{cdata(comment.author_ip)}</wp:comment_author_IP>\n"
        f"\t\t\t<wp:comment_date>{cdata(comment.date)}</wp:comment_date>\n"
        f"\t\t\t<wp:comment_date_gmt>{cdata(comment.extra.get('date_gmt', comment.date))}"
        "</wp:comment_date_gmt>\n"
        f"\t\t\t<wp:comment_content>{cdata(comment.body)}</wp:comment_content>\n"
        f"\t\t\t<wp:comment_approved>{cdata(status)}</wp:comment_approved>\n"
        f"\t\t\t<wp:comment_type>{cdata(kind)}</wp:comment_type>\n"
        f"\t\t\t<wp:comment_parent>{parent}</wp:comment_parent>\n"
        f"\t\t\t<wp:comment_user_id>{comment.extra.get('user_id', '0')}</wp:comment_user_id>\n"
        f"{meta}\t\t</wp:comment>\n"
    )
