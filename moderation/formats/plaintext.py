"""Plain-text blog pages: a post copied from a browser, with a numbered ``N. Name says:`` comment section.

Reading keeps the raw text of the page above the comments and of each comment block, so that
``filter`` can write the page back exactly as it was, minus the comments it removes.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from ..errors import NoCommentsError
from ..model.thread import Comment, Post, Thread
from .source import read_text

NAME = "text"

# "  13. heath ledger says:" and the variants other themes print ("said:", "wrote:", a date after
# the verb). The name is bounded so that a numbered list item in the post is not taken for one.
_HEADER = re.compile(
    r"^[ \t]*(?P<number>\d{1,6})\.[ \t]+(?P<name>\S[^\n]{0,80}?)[ \t]+(?:says|said|wrote)[ \t]*:"
    r"[ \t]*(?P<rest>[^\n]*)$",
    re.IGNORECASE | re.MULTILINE,
)
# Themes that do not number comments print "Jen says:" alone on a line. Without the number the line is
# easily confused with prose ("The report says:"), so a name here is short, starts with a letter or
# digit, and the layout is only used when at least two such lines exist and no numbered ones do.
_UNNUMBERED = re.compile(
    r"^[ \t]*(?P<name>[^\W_][^\n:]{0,50}?)[ \t]+(?:says|said|wrote)[ \t]*:[ \t]*(?P<rest>[^\n]*)$",
    re.IGNORECASE | re.MULTILINE,
)
_PROSE_SUBJECT = re.compile(
    r"^(the|he|she|it|they|this|that|which|who|report|article|study|author|everyone|nobody|someone)\b",
    re.IGNORECASE,
)
# Theme furniture that sits between comment text and the next header.
_COMMENT_FURNITURE = re.compile(
    r"^\s*(reply|log in to reply|like|share|report|flag|permalink|\d+\s+likes?|reply\s*↓)\s*$",
    re.IGNORECASE,
)
_DATE_LINE = re.compile(
    r"^\s*(?:\w+\s+\d{1,2},\s+\d{4}|\d{4}-\d{2}-\d{2}|\d{1,2}\s+\w+\s+\d{4})"
    r"(?:\s*(?:at|,)?\s*\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?)?\s*$",
    re.IGNORECASE,
)
# Lines that end the post body: categories, tags, share bars, the author box.
_POST_END = re.compile(
    r"^\s*(filed under|categories|category|tags|tagged|posted in|share this|about the author|"
    r"about\s+\S.{0,60}$|related posts|\d+\s+comments?$|comments?$|leave a (reply|comment))",
    re.IGNORECASE,
)
_POST_FURNITURE = re.compile(
    r"^\s*(share|tweet|email|print|subscribe|facebook|twitter|linkedin|reddit|pinterest|whatsapp|"
    r"like this:?|loading\.\.\.|advertisement|click to share.*)\s*$",
    re.IGNORECASE,
)


# The reply form a theme prints after the last comment. Copied with the page, it was read as the end of
# the last comment's text and moved its score from 0.77 to 0.52 (issue 9 item 17).
_FOOTER = re.compile(
    r"^\s*(leave a (reply|comment)|post a comment|add a comment|write a comment|join the discussion|"
    r"your email address will not be published|cancel reply|required fields are marked|"
    r"you must be logged in to post a comment|comments are closed)",
    re.IGNORECASE,
)
# The line `filter` adds under the header of a comment it holds for moderation, and reads back as furniture.
HELD_MARKER = "[held for moderation]"
_HELD_LINE = re.compile(r"^\s*\[held for moderation\]\s*$", re.IGNORECASE)


def sniff(head: str) -> bool:
    return bool(_HEADER.search(head)) or len(_unnumbered_headers(head)) >= 2


def read(path: str | Path, *, encoding: str | None = None, **_: object) -> Iterator[Thread]:
    yield parse(read_text(path, encoding=encoding), source=str(path))


def parse(text: str, *, source: str = "<page>") -> Thread:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    headers = _comment_headers(text)
    if not headers:
        raise NoCommentsError(f"{source}: no comment section found (expected numbered 'N. Name says:' blocks)")
    preamble = text[: headers[0].start()]
    post = _parse_post(preamble)
    footer_start = _footer_start(text, headers[-1].end())
    comments = []
    indents = []
    for index, match in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else footer_start
        raw = text[match.start() : end]
        body_text = text[match.end() : end]
        held = any(_HELD_LINE.match(line) for line in body_text.split("\n")[:3])
        body, date = _comment_body(body_text, match.group("rest"))
        number = match.groupdict().get("number") or str(index + 1)
        extra = {"raw": raw, "held": True} if held else {"raw": raw}
        comments.append(Comment(body=body, author=match.group("name").strip(), id=number, date=date, extra=extra))
        indents.append(_indent(match.group(0)))
    extra = {"preamble": preamble}
    if footer_start < len(text):
        extra["footer"] = text[footer_start:]
    thread = Thread(post=post, comments=comments, source_format=NAME, extra=extra)
    _link_indented_replies(thread.comments, indents)
    thread.link_mentions()
    return thread


def _footer_start(text: str, after: int) -> int:
    """Where the page's reply form begins after the last comment header (the end of the text if none)."""
    position = text.find("\n", after)
    while position != -1:
        line_end = text.find("\n", position + 1)
        line = text[position + 1 : line_end if line_end != -1 else len(text)]
        if _FOOTER.match(line):
            return position + 1
        position = line_end
    return len(text)


def _indent(header: str) -> int:
    line = header.expandtabs(8)
    return len(line) - len(line.lstrip(" "))


def _link_indented_replies(comments: list[Comment], indents: list[int]) -> None:
    """A header indented deeper than an earlier one is a reply to the nearest shallower comment above it.

    Threaded themes nest replies in inner lists, which a browser copy renders as deeper indentation.
    """
    if len(set(indents)) < 2:
        return
    stack: list[tuple[int, Comment]] = []
    for comment, indent in zip(comments, indents, strict=True):
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if stack and comment.parent is None:
            comment.parent = stack[-1][1].id
        stack.append((indent, comment))


def _comment_headers(text: str) -> list[re.Match]:
    """The headers of the comment section: the longest run of header lines whose numbers increase.

    A page may number other things ("3. Pick the right tool says: ..."), and a filtered page has gaps
    where removed comments were, so we take the longest increasing run rather than demand 1, 2, 3.
    """
    matches = list(_HEADER.finditer(text))
    if not matches:
        unnumbered = _unnumbered_headers(text)
        return unnumbered if len(unnumbered) >= 2 else []
    # The first longest run, by where it starts and how long it is: copying the run each time it grew
    # was quadratic (a 2 MB page of numbered headers took 31 s).
    best_start = best_length = start = 0
    for index in range(len(matches)):
        if index > start and int(matches[index].group("number")) <= int(matches[index - 1].group("number")):
            start = index
        if index - start + 1 > best_length:
            best_start, best_length = start, index - start + 1
    return matches[best_start : best_start + best_length]


def _unnumbered_headers(text: str) -> list[re.Match]:
    found = []
    for match in _UNNUMBERED.finditer(text):
        name = match.group("name").strip()
        rest = match.group("rest").strip()
        if len(name.split()) > 6 or _PROSE_SUBJECT.match(name) or (rest and not _DATE_LINE.match(rest)):
            continue
        found.append(match)
    return found


def _comment_body(block: str, rest_of_header: str) -> tuple[str, str]:
    lines = [line for line in block.split("\n") if not _HELD_LINE.match(line)]
    date = rest_of_header.strip() if _DATE_LINE.match(rest_of_header or "") else ""
    # A date line printed right under the header is metadata, not text.
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and not date and _DATE_LINE.match(lines[first]):
        date = lines[first].strip()
        lines = lines[first + 1 :]
    lines = [line for line in lines if not _COMMENT_FURNITURE.match(line)]
    body = textwrap.dedent("\n".join(lines)).strip("\n")
    paragraphs = [p.strip() for p in re.split(r"\n[ \t]*\n", body) if p.strip()]
    return "\n\n".join("\n".join(line.strip() for line in p.split("\n")) for p in paragraphs), date


def _parse_post(preamble: str) -> Post:
    lines = preamble.split("\n")
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if not nonblank:
        return Post()
    title = lines[nonblank[0]].strip()
    body_lines: list[str] = []
    author = ""
    end = len(lines)
    for i in range(nonblank[0] + 1, len(lines)):
        if _POST_END.match(lines[i]):
            end = i
            break
    for i in range(end, len(lines)):
        about = re.match(r"^\s*about\s+(?!the author)(\S.{0,60}?)\s*$", lines[i], re.IGNORECASE)
        if about:
            author = about.group(1).strip()
            break
    for line in lines[nonblank[0] + 1 : end]:
        if _POST_FURNITURE.match(line):
            continue
        body_lines.append(line.strip())
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(body_lines)).strip()
    # The author's byline often stands alone just above the body's end marker or the "About" box.
    return Post(title=title, body=body, author=author)


def write(threads: Iterable[Thread], stream: TextIO, *, keep: set[str] | None = None) -> None:
    """Write each thread as a page: the original text above the comments, then the kept comments.

    ``keep`` is the set of comment ids to write (all when None). Comments read from a page are written
    back byte for byte; others (from another format) are rendered in the same ``N. Name says:`` shape.
    """
    for thread in threads:
        preamble = thread.extra.get("preamble")
        if preamble is None:
            preamble = f"{thread.post.title}\n\n{thread.post.body}\n\n"
        stream.write(preamble)
        for comment in thread.comments:
            if keep is not None and comment.id not in keep:
                continue
            raw = comment.extra.get("raw")
            text = raw if raw is not None else _render(comment)
            if comment.verdict == "hold" and not comment.extra.get("held"):
                text = _mark_held(text)
            elif comment.verdict not in (None, "hold") and comment.extra.get("held"):
                text = "".join(line for line in text.splitlines(True) if not _HELD_LINE.match(line))
            stream.write(text)
        footer = thread.extra.get("footer")
        if footer:
            stream.write(footer)


def _mark_held(block: str) -> str:
    """The comment's block with a marker line under its header, indented like its text."""
    header, newline, rest = block.partition("\n")
    indent = " " * (_indent(header) + 4)
    return f"{header}\n{indent}{HELD_MARKER}\n{rest if newline else ''}"


def _render(comment: Comment) -> str:
    body = "\n\n".join("    " + p.replace("\n", "\n    ") for p in comment.body.split("\n\n") if p)
    number = comment.id if comment.id.isdigit() else str(comment.position)
    return f"  {number}. {comment.author or 'Anonymous'} says:\n\n" + (f"{body}\n\n" if body else "")
