"""Saved HTML pages (WordPress themes, common comment markup), and the HTML-to-text every format uses."""

from __future__ import annotations

import html
import re
from collections.abc import Container, Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import TextIO

from ..errors import InputError, NoCommentsError, ParseError
from ..model.thread import COMMENT_TYPES, Comment, Post, Thread, comment_type
from .source import read_page_bytes

_BLOCK = {
    "p",
    "div",
    "blockquote",
    "li",
    "ul",
    "ol",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
}
_SKIP = {"script", "style", "template", "noscript"}
# Links open at once whose text is looked at when they close (markup_to_text).
_OPEN_LINKS = 16
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")


class _TextCollector(HTMLParser):
    def __init__(self, page: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.parts: list[str] = []
        self._links: list[tuple[str, int]] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK:
            self.parts.append("\n\n")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            if len(self._links) == _OPEN_LINKS:
                # Links inside links: each closing one rejoined all the text since its opening, so
                # 1 MB of nested <a> took 10.6 s (2 MB over 40 s). Only the innermost are followed;
                # the outermost loses its " (href)", which no comment a person wrote has to lose.
                del self._links[0]
            self._links.append((href.strip(), len(self.parts)))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(alt)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in _SKIP:
            self._skip -= 1

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n\n")
        elif tag == "a" and self._links:
            href, first = self._links.pop()
            anchor = "".join(self.parts[first:])
            # Where a link points is the strongest spam evidence a comment has; keep it in the text
            # the classifier sees unless the anchor already shows it.
            if href and not href.startswith("#") and href.rstrip("/") not in anchor:
                self.parts.append(f" ({href})")

    def handle_data(self, data):
        if not self._skip:
            # In a saved page, source line breaks are layout, not text; in WordPress and Disqus
            # bodies they are the author's paragraphs.
            self.parts.append(data.replace("\n", " ") if self.page else data)


def markup_to_text(markup: str, *, page: bool = False) -> str:
    """Plain text of a WordPress/Disqus body. Newlines are kept: WordPress stores paragraphs as blank
    lines and adds the <p> tags only when it displays a comment (wpautop)."""
    if "<" not in markup and "&" not in markup:
        text = markup.replace("\n", " ") if page else markup
    else:
        collector = _TextCollector(page)
        try:
            collector.feed(markup)
            collector.close()
            text = "".join(collector.parts)
        except AssertionError:
            # The standard parser gives up on some broken markup ("<![DATA[": an unknown marked
            # section); the text is still wanted, so the tags are dropped by pattern instead.
            text = html.unescape(re.sub(r"<[^>]*>?", " ", markup))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# ------------------------------------------------------------------------------------ saved pages

NAME = "html"

# Comments before the first tag: one span from the first "<!--" to a "-->" is the same test as any
# number of them (a comment's ".*" may hold "-->"), and it is tried once per "-->". Written as a
# repeated lazy comment, each "-->" could end a comment or sit inside one, and a failing head tried every
# split: 26 comments and no tag took 9.5 s, and a 322-byte file of 40 never finished sniffing.
_HTML_START = re.compile(r"^\s*(?:<!--.*-->\s*)?<(?:!doctype\s+html|html|head|body|meta|title)\b", re.I | re.S)
_COMMENT_ID = re.compile(r"^(?:li-|div-)?(?:comment|c)[-_]?(\d+)$")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", re.I)
# WordPress core and most themes: ol.commentlist (pre-4.x), ol.comment-list (since 4.x, "html5" markup).
_WP_LISTS = ("commentlist", "comment-list")
_WP_ITEMS = COMMENT_TYPES
# The generic fallback: class tokens other engines and themes use for one comment and its parts.
_GENERIC_ITEM = re.compile(
    r"^(comment|comment-item|comment-entry|comment-wrapper|comment-block|c-comment|reply)$", re.I
)
_GENERIC_BODY = re.compile(r"(comment[-_]?(content|body|text|message)|^(content|body|text|message)$)", re.I)
_GENERIC_AUTHOR = re.compile(r"(comment[-_]?author|^(fn|author|user|username|name|byline|commenter)$)", re.I)


def sniff(head: str) -> bool:
    return bool(_HTML_START.match(head)) or bool(re.search(r"<ol[^>]+class=[\"'][^\"']*comment-?list", head, re.I))


def _decode(data: bytes, path: Path, encoding: str | None) -> str:
    """Strict where we can be; saved pages mix encodings often enough to try the page's own word."""
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError:
            raise InputError(f"{path}: unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not valid {encoding} text (byte 0x{data[exc.start]:02x})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from bs4 import UnicodeDammit

    # A UTF-8 page with Windows-1252 pasted in (quotes from Word, typically): fix those bytes only.
    fixed = UnicodeDammit.detwingle(data)
    try:
        return fixed.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _META_CHARSET.search(data[:4096])
    for name in ([declared.group(1).decode("ascii")] if declared else []) + ["cp1252"]:
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def read(path: str | Path, *, encoding: str | None = None, **_: object) -> Iterator[Thread]:
    path, data = read_page_bytes(path)
    yield parse(_decode(data, path, encoding), source=str(path))


def _soup(text: str, source: str = "<page>"):
    import warnings

    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning
    from bs4.exceptions import ParserRejectedMarkup

    # A user may pass --format html for anything; what we find (or NoCommentsError) is the answer,
    # and bs4's advice about XML or file-name-like input would only be noise on their terminal.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        try:
            return BeautifulSoup(text, "html.parser")
        except (ParserRejectedMarkup, AssertionError) as exc:
            # Found by the hypothesis test: a "<![DATA[" section makes the parser give up.
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ParseError(f"{source}: not readable as an HTML page ({reason})") from None


def _classes(tag) -> list[str]:
    value = tag.get("class") or []
    return value.split() if isinstance(value, str) else list(value)


def _comment_elements(soup) -> tuple[list, str]:
    """The comment elements of a page in document order, and which markup they were found by."""
    for name in _WP_LISTS:
        items, seen = [], set()
        for listing in soup.find_all(["ol", "ul"], class_=name):
            for li in listing.find_all("li"):
                if set(_classes(li)) & set(_WP_ITEMS) and id(li) not in seen:
                    seen.add(id(li))
                    items.append(li)
        if items:
            return items, "wordpress"
    candidates = []
    for tag in soup.find_all(True):
        if tag.name in ("html", "body", "head", "script", "style"):
            continue
        matched = any(_GENERIC_ITEM.match(c) for c in _classes(tag)) or _COMMENT_ID.match(tag.get("id") or "")
        if matched and _find(tag, _GENERIC_BODY) is not None:
            candidates.append(tag)
    # Keep the innermost match per comment: an <li id="comment-3"> wrapping <div class="comment">
    # is one comment, and a wrapper whose every body belongs to an inner match is not a comment.
    matched = {id(tag) for tag in candidates}
    keep = [tag for tag in candidates if _below_no_other(_find(tag, _GENERIC_BODY), tag, matched)]
    return keep, "generic"


def _below_no_other(found, tag, items: Container[int]) -> bool:
    """Whether ``found``, inside ``tag``, is neither one of ``items`` (their ids) nor inside one that is
    inside ``tag``. A walk up from ``found``: listing every item inside ``tag`` first, for each comment
    and each of its parts, was quadratic in the comments (a 512 KB page of 2,500 took 18.7 s, 64 KB of
    bare items 37.5 s)."""
    node = found
    while node is not tag:
        if id(node) in items:
            return False
        node = node.parent
    return True


class _Items(list):
    """A page's comment elements, with where each is (by id) for the lookups of their parts."""

    def __init__(self, tags):
        super().__init__(tags)
        self.at = {id(tag): number for number, tag in enumerate(self)}


def _inside(tag, container) -> bool:
    return any(parent is container for parent in tag.parents)


def _find(tag, pattern):
    return tag.find(lambda t: any(pattern.search(c) for c in _classes(t)))


def _own(tag, items: _Items, *args, **kwargs) -> list:
    """Descendants of ``tag`` matching find_all(*args, **kwargs) that are not inside a nested reply."""
    return [found for found in tag.find_all(*args, **kwargs) if _below_no_other(found, tag, items.at)]


def _first_own(tag, items, *args, **kwargs):
    found = _own(tag, items, *args, **kwargs)
    return found[0] if found else None


def _text(tag) -> str:
    return markup_to_text(tag.decode_contents(), page=True) if tag is not None else ""


def _comment_id(tag) -> str:
    for candidate in [tag, *tag.find_all(True, id=True, limit=3)]:
        match = _COMMENT_ID.match(candidate.get("id") or "")
        if match:
            return match.group(1)
    return ""


def _has_class(pattern):
    return lambda t: any(pattern.search(c) for c in _classes(t))


def _author(tag, how: str, items) -> tuple[str, str]:
    if how == "wordpress":
        box = _first_own(tag, items, class_="comment-author") or _first_own(tag, items, ["cite"])
        name_tag = (box.find(class_="fn") or box.find("cite") or box) if box is not None else None
    else:
        name_tag = _first_own(tag, items, _has_class(_GENERIC_AUTHOR))
    if name_tag is None and how == "wordpress":
        name_tag = _first_own(tag, items, "a", class_="url")
    if name_tag is None:
        return "", ""
    says = name_tag.find(class_="says")
    name = _text(name_tag)
    if says is not None:
        name = name.replace(_text(says), "")
    name = re.sub(r"\s+(says|said|wrote)\s*:?\s*$", "", name.strip(), flags=re.I).strip()
    link = name_tag if name_tag.name == "a" else name_tag.find("a", href=True)
    # A display name a theme printed with its link URL is still just the name.
    name = re.sub(r"\s*\(https?://[^)]*\)$", "", name)
    return name, ((link.get("href") or "").strip() if link is not None else "")


def _date(tag, items) -> str:
    time = _first_own(tag, items, ["time"])
    if time is not None:
        return (time.get("datetime") or _text(time)).strip()
    meta = _first_own(tag, items, class_=re.compile(r"comment-?meta"))
    return _text(meta.find("a") or meta) if meta is not None else ""


def _body(tag, how: str, items) -> str:
    if how == "wordpress":
        content = _first_own(tag, items, class_="comment-content")
    else:
        content = _first_own(tag, items, _has_class(_GENERIC_BODY))
    if content is not None:
        return _text(content)
    # Older WordPress themes put the paragraphs straight into the comment's div.
    furniture = re.compile(r"comment-(author|meta)|commentmetadata|reply")
    paragraphs = [p for p in _own(tag, items, ["p"]) if not p.find_parent(class_=furniture)]
    if paragraphs:
        return "\n\n".join(t for t in (_text(p) for p in paragraphs) if t)
    # Pingbacks and trackbacks: WordPress prints only "Pingback: <a>title</a>" in the comment body.
    box = _first_own(tag, items, class_="comment-body")
    return re.sub(r"^(pingback|trackback)\s*:\s*", "", _text(box), flags=re.I) if box is not None else ""


def _post(soup, items) -> Post:
    def outside(tag) -> bool:
        return not any(_inside(tag, item) or _inside(item, tag) for item in items)

    title_tag = soup.find(class_="entry-title") or soup.find("h1") or soup.find("title")
    body_tag = next((t for t in soup.find_all(class_="entry-content") if outside(t)), None)
    if body_tag is None:
        body_tag = next((t for t in soup.find_all("article") if outside(t)), None)
    author_tag = soup.find(class_="author") or soup.find(class_="byline")
    meta_author = soup.find("meta", attrs={"name": "author"})
    canonical = soup.find("link", rel="canonical") or soup.find("meta", property="og:url")
    body = _text(body_tag) if body_tag is not None else ""
    if body_tag is not None and body_tag.name == "article":
        header = body_tag.find(class_="entry-title")
        if header is not None and body.startswith(_text(header)):
            body = body[len(_text(header)) :].strip()
    author = (meta_author.get("content") if meta_author is not None else "") or _display_name(author_tag)
    url = (canonical.get("href") or canonical.get("content") or "") if canonical is not None else ""
    return Post(title=_text(title_tag), body=body, author=author.strip(), url=url.strip())


_BYLINE_WORDS = re.compile(r"^(?:(?:posted|written|published)\s+)?by\s+", re.IGNORECASE)


def _display_name(tag) -> str:
    """The name a byline shows: "By Nadia Brennan" with its link is "Nadia Brennan" (issue 9 item 16).

    The text of the tag is taken without the link targets ``_text`` adds for comments, so the author
    page URL is not read as part of the name.
    """
    if tag is None:
        return ""
    inner = tag.find(class_="fn") or tag.find(class_="author") or tag.find("a") or tag
    name = " ".join(inner.get_text(" ").split())
    name = _BYLINE_WORDS.sub("", name)
    return re.sub(r"\s*\(https?://[^)]*\)$", "", name).strip()


def _read_comments(soup) -> tuple[list, list[Comment]]:
    found, how = _comment_elements(soup)
    items = _Items(found)
    comments = []
    for tag in items:
        author, url = _author(tag, how, items)
        parent_index = None
        for parent in tag.parents:
            parent_index = items.at.get(id(parent))
            if parent_index is not None:
                break
        classes = set(_classes(tag))
        comments.append(
            Comment(
                body=_body(tag, how, items),
                author=author,
                id=_comment_id(tag),
                author_url=url,
                date=_date(tag, items),
                type="pingback" if "pingback" in classes else "trackback" if "trackback" in classes else "comment",
                extra={"parent_index": parent_index},
            )
        )
    return items, comments


def parse(text: str, *, source: str = "<page>") -> Thread:
    soup = _soup(text, source)
    items, comments = _read_comments(soup)
    if not comments:
        raise NoCommentsError(f"{source}: no comment section found (looked for WordPress and common comment markup)")
    thread = Thread(post=_post(soup, items), comments=comments, source_format=NAME, extra={"html": text})
    for comment in comments:
        index = comment.extra.pop("parent_index")
        if index is not None:
            comment.parent = comments[index].id
    return thread


def write(threads: Iterable[Thread], stream: TextIO, *, keep: set[str] | None = None, **_: object) -> None:
    """Write each page back without the comments not kept (in ``keep`` and in ``thread.comments``).

    A removed comment's replies stay: only its own part of the markup goes, and its list item goes
    too once nothing inside it is kept.
    """
    for thread in threads:
        wanted = {c.id for c in thread.comments if keep is None or c.id in keep}
        held = {c.id for c in thread.comments if c.verdict == "hold" and c.id in wanted}
        original = thread.extra.get("html")
        if original is None:
            stream.write(_render(thread, wanted, held))
            continue
        soup = _soup(original)
        items, comments = _read_comments(soup)
        Thread(post=Post(), comments=comments)  # numbers them exactly as read() did
        pairs = list(zip(items, comments, strict=True))
        for tag, comment in reversed(pairs):
            if comment.id in wanted:
                continue
            nested = [(t, c) for t, c in pairs if t is not tag and _inside(t, tag)]
            if not any(c.id in wanted for _, c in nested):
                tag.decompose()
                continue
            # Its replies stay, moved up to where the removed comment was.
            direct = [t for t, _ in nested if not any(_inside(t, other) for other, _ in nested)]
            tag.replace_with(*[t.extract() for t in direct])
        for tag, comment in pairs:
            if comment.id in held:
                _mark_held(tag)
        _update_count_headings(soup, sum(c.id in wanted for _, c in pairs))
        stream.write(str(soup))


# How `filter` marks a comment it holds for moderation: a class a theme's CSS can style and an
# attribute scripts can select ([data-moderation="held"]); the comment's text is left untouched.
HELD_CLASS = "moderation-held"


def _mark_held(tag) -> None:
    classes = _classes(tag)
    if HELD_CLASS not in classes:
        tag["class"] = [*classes, HELD_CLASS]
    tag["data-moderation"] = "held"


_COUNT = re.compile(
    r"^(?P<lead>\s*)(?P<number>\d+|one|no)(?P<space>\s+)(?P<noun>comments?|responses?|thoughts?|repl(?:y|ies))\b",
    re.IGNORECASE,
)
_PLURALS = {"comment": "comments", "response": "responses", "thought": "thoughts", "reply": "replies"}
_COUNT_CLASS = re.compile(r"comments?-(title|count|heading)|comment-count", re.IGNORECASE)


def _update_count_headings(soup, count: int) -> None:
    """Make "5 comments" headings (WordPress's h2.comments-title) say how many the page now has."""
    headings = [t for t in soup.find_all(True) if any(_COUNT_CLASS.search(c) for c in _classes(t))]
    headings += [t for t in soup.find_all(["h2", "h3", "h4"]) if t not in headings]
    for heading in headings:
        first = next((s for s in heading.find_all(string=True) if s.strip()), None)
        match = _COUNT.match(first) if first is not None else None
        if match is None:
            continue
        first.replace_with(_COUNT.sub(lambda m: _count_phrase(m, count), first, count=1))


def _count_phrase(match: re.Match, count: int) -> str:
    noun = match.group("noun").lower()
    singular = next((one for one, many in _PLURALS.items() if noun in (one, many)), noun)
    word = singular if count == 1 else _PLURALS.get(singular, singular)
    if match.group("noun")[0].isupper():
        word = word.capitalize()
    return f"{match.group('lead')}{count}{match.group('space')}{word}"


def _render(thread: Thread, wanted: set[str], held: set[str] = frozenset()) -> str:
    from html import escape

    parts = [
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{escape(thread.post.title)}</title></head>\n<body>\n"
        f'<article><h1 class="entry-title">{escape(thread.post.title)}</h1>\n<div class="entry-content">'
        + "".join(f"<p>{escape(p)}</p>" for p in thread.post.body.split("\n\n") if p)
        + '</div></article>\n<ol class="comment-list">\n'
    ]
    for c in thread.comments:
        if c.id not in wanted:
            continue
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in c.body.split("\n\n") if p)
        kind = comment_type(c.type)
        mark = f' {HELD_CLASS}" data-moderation="held' if c.id in held else ""
        parts.append(
            f'<li id="comment-{escape(c.id)}" class="{kind}{mark}"><article class="comment-body">'
            '<footer class="comment-meta"><div class="comment-author vcard">'
            f'<b class="fn">{escape(c.author)}</b>'
            ' <span class="says">says:</span></div>'
            f'<div class="comment-metadata"><time datetime="{escape(c.date)}">'
            f"{escape(c.date)}</time></div></footer>"
            f'<div class="comment-content">{paragraphs}</div></article></li>\n'
        )
    parts.append("</ol>\n</body></html>\n")
    return "".join(parts)
