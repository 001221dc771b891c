"""The format-neutral data model: a Post, its Comments, and the Thread holding both.

Every reader (plain-text pages, WordPress, Disqus, HTML, JSON/CSV) produces these, and every writer
consumes them. Format-specific details that a writer needs to round-trip a file go in ``extra``; the
classifier never looks there.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

LABELS = ("ham", "spam")
COMMENT_TYPES = ("comment", "pingback", "trackback")


@dataclass
class Post:
    title: str = ""
    body: str = ""
    author: str = ""
    url: str = ""
    id: str = ""
    date: str = ""
    extra: dict = field(default_factory=dict)

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
    kind: str = ""
    # Set by scoring (``filter``), read by writers that mark spam in place (WordPress, Disqus, JSON).
    score: float | None = None
    verdict: str | None = None
    extra: dict = field(default_factory=dict)

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
        self.number()

    def number(self) -> None:
        """Give every comment a 1-based position and an id when its reader had none."""
        for position, comment in enumerate(self.comments, start=1):
            comment.position = position
            if not comment.id:
                comment.id = str(position)

    def by_id(self) -> dict[str, Comment]:
        return {c.id: c for c in self.comments}

    def parent_of(self, comment: Comment) -> Comment | None:
        if comment.parent is None:
            return None
        return self.by_id().get(comment.parent)

    def link_mentions(self) -> None:
        """Set ``parent`` for comments that open with ``@Name`` naming an earlier commenter.

        Formats with real reply ids keep theirs; this only fills in what a flat page leaves implicit.
        The most recent earlier comment by that name is taken, as a reader replying would mean it.
        """
        for index, comment in enumerate(self.comments):
            if comment.parent is not None:
                continue
            target = mentioned_name(comment.body)
            if not target:
                continue
            for earlier in reversed(self.comments[:index]):
                if earlier.author and _same_name(earlier.author, target):
                    comment.parent = earlier.id
                    break

    def to_dict(self) -> dict:
        return asdict(self)


_MENTION = re.compile(r"^\s*@\s*([^:,\n]{1,60}?)\s*[:,]", re.UNICODE)
_MENTION_LOOSE = re.compile(r"^\s*@(\S{1,40})", re.UNICODE)


def mentioned_name(body: str) -> str | None:
    """The name an ``@Name:`` (or ``@Name,`` / ``@Name``) opening addresses, if any."""
    match = _MENTION.match(body) or _MENTION_LOOSE.match(body)
    return match.group(1).strip() if match else None


def _same_name(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"[\W_]+", "", s.casefold())

    return bool(norm(a)) and norm(a) == norm(b)
