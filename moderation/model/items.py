"""The unit the model scores: one comment with the post and thread around it, built without scikit-learn.

``CommentItem`` is what every feature block reads (moderation/model/signals.py computes them; the
scikit-learn transformers in features.py wrap the same code for training).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import analyse, host_of
from .thread import Comment, Post, Thread


@dataclass(frozen=True)
class CommentItem:
    """One comment with the context the features need; the unit the pipeline scores.

    ``thread_bodies`` and ``thread_authors`` are shared, not copied, by all items of a thread, and
    ``index`` is this comment's place in them (-1 for a comment scored beside a thread it is not in
    yet): a 10,000-comment thread costs one tuple, not 10,000.
    """

    body: str
    author: str = ""
    author_url: str = ""
    author_email: str = ""
    type: str = "comment"
    post_text: str = ""
    post_author: str = ""
    thread_bodies: tuple[str, ...] = ()
    thread_authors: tuple[str, ...] = ()
    index: int = -1
    parent_body: str | None = None
    post_url: str = ""


def items_from_thread(thread: Thread) -> list[CommentItem]:
    post_text = thread.post.text
    bodies = tuple(c.body for c in thread.comments)
    authors = tuple(c.author for c in thread.comments)
    by_id = thread.by_id()
    return [
        _item(
            comment,
            thread.post,
            post_text,
            bodies,
            authors,
            index,
            by_id.get(comment.parent) if comment.parent is not None else None,
        )
        for index, comment in enumerate(thread.comments)
    ]


def item_for_comment(comment: Comment, post: Post | None = None, thread: Thread | None = None) -> CommentItem:
    """The item for one comment scored on its own (API, HTTP service), with whatever context is known."""
    post = post if post is not None else (thread.post if thread is not None else Post())
    comments = [c for c in thread.comments if c is not comment] if thread is not None else []
    parent = next((c for c in comments if comment.parent is not None and c.id == comment.parent), None)
    bodies, authors = tuple(c.body for c in comments), tuple(c.author for c in comments)
    return _item(comment, post, post.text, bodies, authors, -1, parent)


def _item(
    comment: Comment,
    post: Post,
    post_text: str,
    bodies: tuple[str, ...],
    authors: tuple[str, ...],
    index: int,
    parent: Comment | None,
) -> CommentItem:
    """The one place a comment and its context become an item (``post_text`` is ``post.text``, computed
    once per thread by the caller)."""
    return CommentItem(
        body=comment.body,
        author=comment.author,
        author_url=comment.author_url,
        author_email=comment.author_email,
        type=comment.type,
        post_text=post_text,
        post_author=post.author,
        thread_bodies=bodies,
        thread_authors=authors,
        index=index,
        parent_body=parent.body if parent is not None else None,
        post_url=post.url,
    )


def field_text(item: CommentItem, field: str) -> str:
    """The text an n-gram block reads: the normalised body, or the author's name and site words."""
    if field == "body":
        return analyse(item.body).normalised
    if field == "author":
        site = host_of(item.author_url) or ""
        site += " " + (item.author_url.split("/", 3)[3] if item.author_url.count("/") >= 3 else "")
        site = re.sub(r"[./_\-?=&#%]+", " ", site.lower()[:300])
        return f"{item.author.lower()[:200]} {' '.join('site_' + w for w in site.split() if w)}"
    raise ValueError(f"unknown field {field!r}")
