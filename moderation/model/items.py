"""The unit the model scores: one comment with the post and thread around it, built without scikit-learn.

``CommentItem`` is what every feature block reads (moderation/model/signals.py computes them; the
scikit-learn transformers in features.py wrap the same code for training).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .pagelinks import without_links_here
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
    links_here: int = 0  # links to this blog (or, on a video site, this video) taken out of ``body`` (pagelinks.py)


def items_from_thread(thread: Thread) -> list[CommentItem]:
    post_text = thread.post.text
    read = _read(thread.comments, thread.post.url)
    bodies = tuple(body for body, _links in read)
    authors = tuple(c.author for c in thread.comments)
    by_id = thread.by_id()
    return [
        _item(
            comment,
            read[index],
            thread.post,
            post_text,
            bodies,
            authors,
            index,
            by_id.get(comment.parent) if comment.parent is not None else None,
        )
        for index, comment in enumerate(thread.comments)
    ]


def _read(comments, page_url: str) -> list[tuple[str, int]]:
    """Each comment's text as the model reads it, without its links here (to this blog, or on a video
    site to this video), and how many those were (pagelinks.py)."""
    if not page_url:
        return [(c.body, 0) for c in comments]
    return [without_links_here(c.body, page_url) for c in comments]


def item_for_comment(comment: Comment, post: Post | None = None, thread: Thread | None = None) -> CommentItem:
    """The item for one comment scored on its own (API, HTTP service), with whatever context is known."""
    post = post if post is not None else (thread.post if thread is not None else Post())
    comments = [c for c in thread.comments if c is not comment] if thread is not None else []
    parent = next((c for c in comments if comment.parent is not None and c.id == comment.parent), None)
    bodies = tuple(body for body, _links in _read(comments, post.url))
    authors = tuple(c.author for c in comments)
    return _item(comment, _read([comment], post.url)[0], post, post.text, bodies, authors, -1, parent)


def _item(
    comment: Comment,
    read: tuple[str, int],
    post: Post,
    post_text: str,
    bodies: tuple[str, ...],
    authors: tuple[str, ...],
    index: int,
    parent: Comment | None,
) -> CommentItem:
    """The one place a comment and its context become an item (``post_text`` is ``post.text``, computed
    once per thread by the caller; ``read`` is the comment's text as the model reads it, and the number
    of links here taken out of it)."""
    return _new_item(
        body=read[0],
        author=comment.author,
        author_url=comment.author_url,
        author_email=comment.author_email,
        type=comment.type,
        post_text=post_text,
        post_author=post.author,
        thread_bodies=bodies,
        thread_authors=authors,
        index=index,
        parent_body=without_links_here(parent.body, post.url)[0] if parent is not None else None,
        post_url=post.url,
        links_here=read[1],
    )


def _new_item(**fields: object) -> CommentItem:
    """``CommentItem(**fields)`` for every field, without the frozen dataclass's __init__, which sets the
    13 fields one object.__setattr__ at a time: 3% of batch scoring with reasons (py-spy, 80,000 benchmark
    comments), 1.67 against 0.85 us an item with the keyword call (timeit). tests/test_features.py checks
    it equals the dataclass's own."""
    item = object.__new__(CommentItem)
    item.__dict__.update(fields)
    return item


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
