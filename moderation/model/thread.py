"""The format-neutral data model: a Post, its Comments, and the Thread holding both.

Every reader (plain-text pages, WordPress, Disqus, HTML, JSON/CSV) produces these, and every writer
consumes them. Format-specific details that a writer needs to round-trip a file go in ``extra``; the
classifier never looks there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

LABELS = ("ham", "spam")
COMMENT_TYPES = ("comment", "pingback", "trackback")
LINKBACK_TYPES = ("pingback", "trackback")


def comment_type(raw: str | None) -> str:
    """One of ``COMMENT_TYPES``: a platform's other kinds (replies, forum posts, contact forms) are comments."""
    return raw if raw in COMMENT_TYPES else "comment"


_POST_TEXT_FIELDS = ("title", "body", "author", "url", "id", "date")
_COMMENT_TEXT_FIELDS = ("body", "author", "id", "author_url", "author_email", "author_ip", "date")


def _blank_nones(record, names: tuple[str, ...]) -> None:
    """Text fields as the features read them. A caller of the Python API passing a database row's
    NULLs gets "" for them, and its integer ids their digits: a None author URL once failed deep inside
    the features with an AttributeError. Anything else that is no text is refused here, by name."""
    for name in names:
        value = getattr(record, name)
        if isinstance(value, str):
            continue
        if value is None:
            setattr(record, name, "")
        elif isinstance(value, int) and not isinstance(value, bool):
            setattr(record, name, str(value))
        else:
            raise TypeError(f"{type(record).__name__}.{name} must be text, not {type(value).__name__}")


@dataclass
class Post:
    title: str = ""
    body: str = ""
    author: str = ""
    url: str = ""
    id: str = ""
    date: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        _blank_nones(self, _POST_TEXT_FIELDS)
        if self.extra is None:
            self.extra = {}

    @property
    def text(self) -> str:
        """Title and body together: what the comments are measured against."""
        return f"{self.title}\n\n{self.body}".strip()


@dataclass
class Comment:
    body: str
    author: str = ""
    id: str = ""
    position: int = 0
    author_url: str = ""
    author_email: str = ""
    author_ip: str = ""
    date: str = ""
    parent: str | None = None
    type: str = "comment"
    label: str | None = None
    # Set by scoring (``filter``), read by writers that mark spam in place (WordPress, Disqus, JSON).
    score: float | None = None
    verdict: str | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        _blank_nones(self, _COMMENT_TEXT_FIELDS)
        if self.type is None or self.type == "":
            self.type = "comment"
        if self.parent is not None:
            # An integer parent must still find its integer-id comment, now "12".
            _blank_nones(self, ("parent",))
        if self.extra is None:
            self.extra = {}

    @property
    def is_empty(self) -> bool:
        return not self.body.strip()


@dataclass
class Thread:
    post: Post
    comments: list[Comment] = field(default_factory=list)
    id: str = ""
    source_format: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.post is None:
            self.post = Post()
        if self.comments is None:
            self.comments = []
        if self.extra is None:
            self.extra = {}
        self.number()

    def number(self) -> None:
        """Give every comment a 1-based position and an id when its reader had none."""
        for position, comment in enumerate(self.comments, start=1):
            comment.position = position
            if not comment.id:
                comment.id = str(position)

    def by_id(self) -> dict[str, Comment]:
        return {c.id: c for c in self.comments}

    def link_mentions(self) -> None:
        """Set ``parent`` for comments that open with ``@Name`` naming an earlier commenter.

        Formats with real reply ids keep theirs; this only fills in what a flat page leaves implicit.
        The most recent earlier comment by that name is taken, as a reader replying would mean it.
        """
        # One pass with a name index: scanning back through every earlier comment for each "@Name"
        # was quadratic, and 16,000 comments each naming nobody took minutes (issue 9 item 6).
        latest: dict[str, str] = {}
        for comment in self.comments:
            if comment.parent is None:
                target = mentioned_name(comment.body)
                key = _name_key(target) if target else ""
                if key and key in latest:
                    comment.parent = latest[key]
            key = _name_key(comment.author) if comment.author else ""
            if key:
                latest[key] = comment.id


_MENTION_LOOSE = re.compile(r"^\s*@(\S{1,40})", re.UNICODE)
_NAME_END = re.compile("[:,]")


def mentioned_name(body: str) -> str | None:
    """The name an ``@Name:`` (or ``@Name,`` / ``@Name``) opening addresses, if any.

    ``@Name:`` is an "@", the name (1-60 characters, on one line, with spaces around it) and the first
    ":" or ",". A regular expression found it before, and its three ways of taking spaces (before, inside
    and after the name) tried every split of a run of them: "@" and 2 KB of spaces took 1.3 s, 4 KB
    5.1 s, on every comment's context features and on reading a plain-text page. The same answers, found
    in one pass (tests/test_thread.py compares it with the expression).
    """
    rest = body.lstrip()
    if rest.startswith("@"):
        end = _NAME_END.search(rest, 1)
        if end is not None:
            before = rest[1 : end.start()]
            name = before.strip()
            if name and len(name) <= 60 and "\n" not in name:
                return name
            # Only spaces before the ":": the pattern took one that is not a line break as the name.
            if not name and any(ch.isspace() and ch != "\n" for ch in before):
                return ""
    match = _MENTION_LOOSE.match(body)
    return match.group(1).strip() if match else None


_NOT_NAME = re.compile(r"[\W_]+")


def _name_key(name: str) -> str:
    """Names compared without case, spaces or punctuation ("@dana whit" is Dana Whit)."""
    return _NOT_NAME.sub("", name.casefold())
