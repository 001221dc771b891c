"""Links here (to the blog a comment sits on, or on a video site to the video): not outside links.

A reader who posts the address of the page they are reading ("PSY - GANGNAM STYLE M/V:
http://youtu.be/9bZkp7q19f0" under that video), or of another post of the same blog ("see my
follow-up question: https://the-blog.example/2024/04/dates/"), sends nobody anywhere new: whatever the
comment is, that link is not what makes it spam (issue 8: a link to the blog's own site must not push
a comment to spam by itself). Read as links, such shares looked like link drops: held out, the Psy
video's readers were blocked at 2.9% (5 of 175), three of them for posting the video's own address at
0.97-0.99 (benchmarks/README.md, bench_transfer). So they are taken out of the text the model reads
(n-grams, URL share, link count) and only their number reaches it, as ``link:to_site``
(signals.LinkSignals). The comment itself is left as it came.

On a shared platform (a video site, a social network) the rest of the host is other people's pages,
so there only the page itself is "here".
"""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qs, urlsplit

# Hosts where every page belongs to someone else: a link elsewhere on them is an outside link. Blogs
# hosted on a platform's subdomains (name.blogspot.com, name.wordpress.com, name.substack.com) have a
# host of their own and are not listed.
SHARED_HOSTS = frozenset(
    {
        "youtube.com",
        "youtu.be",
        "facebook.com",
        "fb.com",
        "instagram.com",
        "twitter.com",
        "x.com",
        "tiktok.com",
        "reddit.com",
        "linkedin.com",
        "vimeo.com",
        "dailymotion.com",
        "twitch.tv",
        "soundcloud.com",
        "pinterest.com",
        "tumblr.com",
        "medium.com",
        "flickr.com",
        "github.com",
    }
)
_YOUTUBE_HOSTS = frozenset({"youtube.com", "youtu.be", "youtube-nocookie.com"})
_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_YOUTUBE_PATHS = ("/shorts/", "/embed/", "/v/", "/live/")
# The characters of an address, up to what a comment puts around one: spaces, quotes, tags, brackets,
# and invisible characters (YouTube's comments end in U+FEFF).
_TOKEN = re.compile(r"""[^\s"'<>()\[\]{}\ufeff\u200b-\u200f\u2060]*""")
_TRAILING = ".,;:!?*"
# A comment names the page this many times at most before the rest is left as it is: each one costs a
# bounded scan, and a hostile comment repeating the address a million times must not cost a million.
_MAX_MENTIONS = 64
_SCAN = 2048


# A host as a browser would reach it: labels of letters, digits and hyphens. Anything else ("%", "\\",
# "\u3002") is a host Python's urlsplit and a browser read differently, and is never "here".
_HOST = re.compile(r"[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)+")


def _split(url: str):
    # Browsers read "\\" as "/" in http(s) URLs: "https://evil.example\\@blog.example/" goes to evil.example.
    text = url.strip()[:_SCAN].replace("\\", "/")
    if text.startswith("//"):
        text = "http:" + text
    elif not text.lower().startswith(("http://", "https://")):
        text = "http://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if not host or "." not in host or not _HOST.fullmatch(host):
        return None
    for prefix in ("www.", "m."):
        host = host.removeprefix(prefix)
    return host, parts


@functools.lru_cache(maxsize=4096)
def page_key(url: str) -> str | None:
    """What identifies the page a URL shows, to tell two spellings of one page apart from two pages.

    Scheme, "www.", a trailing slash and the fragment (a link to "#comment-12" is the same page) do
    not count; on YouTube the video does ("youtu.be/ID", "youtube.com/watch?v=ID&t=2m19s").
    """
    split = _split(url)
    if split is None:
        return None
    host, parts = split
    path = parts.path
    if host in _YOUTUBE_HOSTS:
        if host == "youtu.be":
            video = path.strip("/").split("/", 1)[0]
        elif path.startswith(_YOUTUBE_PATHS):
            video = path.split("/")[2]
        elif path.rstrip("/") != "/watch":
            return None  # "/@channel?v=ID", "/redirect?q=...&v=ID", "/playlist?list=...&v=ID": not the video
        else:
            try:
                video = parse_qs(parts.query).get("v", [""])[0]
            except ValueError:
                return None
        return f"youtube:{video}" if _YOUTUBE_ID.fullmatch(video) else None
    path = path.rstrip("/")
    # A home page's query is the page ("?p=123" is WordPress's plain permalink); elsewhere it is
    # tracking or display state.
    # On a shared platform the query may be the page itself ("facebook.com/watch/?v=ID",
    # "profile.php?id=N"): kept, so that another page there is not "here".
    if not path or path == "/index.php":
        query = f"?{parts.query}"
    else:
        query = f"?{parts.query}" if parts.query and host in SHARED_HOSTS else ""
    return f"{host}{path}{query}"


def site_host(url: str) -> str:
    """The blog's host, whose every page is "this blog"; "" on a shared platform, where only the page is."""
    split = _split(url) if url else None
    if split is None:
        return ""
    return "" if split[0] in SHARED_HOSTS else split[0]


@functools.lru_cache(maxsize=4096)
def _here(url: str) -> tuple[str, str, str] | None:
    """What "here" is for a post's URL: ("site", host) for a blog of its own, ("page", key) on a shared
    platform; and a piece of text every link here contains, to skip comments without one."""
    site = site_host(url)
    if site:
        return "site", site, site
    key = page_key(url) if url else None
    if key is None:
        return None
    if key.startswith("youtube:"):
        return "page", key, key.removeprefix("youtube:")
    host, _, rest = key.partition("/")
    segments = [s for s in rest.split("?", 1)[0].split("/") if s]
    return "page", key, segments[-1] if segments and len(segments[-1]) >= 4 else host


def _finder(body: str, host: str):
    """``find(host, start)`` in ``body`` in any case: hosts are case-insensitive, and
    "DevNotes.example.com" is the same blog (a case-sensitive search missed it). A video's ID on a
    shared platform is case-sensitive and searched as it is. The lower-cased body is searched when
    lowering kept every character in place (a 5 MB comment: 5 ms, against 23 ms for a case-insensitive
    pattern, which serves the rare text where it did not, "İ" becoming two characters)."""
    lowered = body.lower()
    if len(lowered) == len(body):
        return lowered.find
    pattern = re.compile(re.escape(host), re.IGNORECASE | re.ASCII)

    def find(needle: str, position: int = 0) -> int:
        match = pattern.search(body, position)
        return -1 if match is None else match.start()

    return find


def _links_here(token: str, kind: str, key: str) -> bool:
    if "@" in token and not token.lower().startswith(("http://", "https://")):
        return False  # an e-mail address at the blog's domain is no link
    if kind == "page":
        return page_key(token[:_SCAN]) == key
    split = _split(token)
    return split is not None and (split[0] == key or split[0].endswith("." + key))


def without_links_here(body: str, post_url: str) -> tuple[str, int]:
    """``body`` without its links here (to the blog of ``post_url``, or on a shared platform to that
    page): bare addresses and the ``<a href>`` tags around them; and how many were taken out.

    An anchor's text stays ("<a href=this-page#t=2m19s>2:19</a> best part" reads "2:19 best part").
    Linear in the comment: one substring search, then a bounded scan around each of at most
    ``_MAX_MENTIONS`` mentions.
    """
    here = _here(post_url.strip()[:_SCAN]) if post_url else None
    if here is None:
        return body, 0
    kind, key, needle = here
    find = _finder(body, needle) if kind == "site" else body.find
    start = find(needle)
    if start < 0:
        return body, 0
    spans: list[tuple[int, int]] = []
    mentions = 0
    while start >= 0 and mentions < _MAX_MENTIONS:
        mentions += 1
        left = start - _TOKEN.match(body[max(0, start - _SCAN) : start][::-1]).end()
        right = _TOKEN.match(body, start + len(needle), start + len(needle) + _SCAN).end()
        if _links_here(body[left:right].rstrip(_TRAILING), kind, key):
            spans.append(_with_tag(body, left, right))
        start = find(needle, right)
    if not spans:
        return body, 0
    pieces = []
    at = 0
    for begin, end in sorted(spans):
        if begin > at:
            pieces.append(body[at:begin])
        at = max(at, end)
    pieces.append(body[at:])
    return " ".join(pieces), len(spans)


_HREF_BEFORE = re.compile(r"""href\s*=\s*["']?$""", re.IGNORECASE)
# The rest of an ``<a ...>`` tag around its href: name=value attributes only, nothing a reader sees.
_ATTRIBUTE = r"""[\w:-]+\s*=\s*(?:"[^"<>]*"|'[^'<>]*'|[^\s"'<>=]+)"""
_TAG_HEAD = re.compile(rf"""<a\s+(?:{_ATTRIBUTE}\s+)*href\s*=\s*["']?""", re.IGNORECASE)
_TAG_TAIL = re.compile(rf"""["']?(?:\s+{_ATTRIBUTE})*\s*/?>""")
_ADDRESS_LIKE = re.compile(r"://|www\.|@", re.IGNORECASE)


def _with_tag(body: str, left: int, right: int) -> tuple[int, int]:
    """The span to take out for an address at ``body[left:right]``: the whole ``<a ...>`` tag when it
    is the tag's href, else the address alone."""
    if not _HREF_BEFORE.search(body[max(0, left - 16) : left]):
        return left, right
    opening = body.rfind("<", max(0, left - _SCAN), left)
    if opening < 0 or not _TAG_HEAD.fullmatch(body, opening, left):
        return left, right
    tail = _TAG_TAIL.match(body, right, right + _SCAN)
    if tail is None:
        return left, right
    # Another address in the tag's attributes (title="https://evil.example/") stays for the model to read.
    if _ADDRESS_LIKE.search(body, opening, left) or _ADDRESS_LIKE.search(body, right, tail.end()):
        return left, right
    return opening, tail.end()
