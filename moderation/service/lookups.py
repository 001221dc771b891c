"""What every check reads from the store before it is scored, cached in the process: the key's site, the
site's shadow flag, the post under the comment and the model pointers.

Why: each of these reads takes 5 us alone, and 23 us beside a writer committing every 2 ms, as the
request log does. In a server, each request thread reads on its own connection and hands the
interpreter's lock to the other threads around every read. The four reads then cost about 0.3 ms of
server CPU a check, about a quarter of it: 1.24-1.43 ms a check in all, against 0.97-1.07 ms with them
cached (8 threads sending checks to the WSGI app in one process, three runs each).

How fresh: every change to what is cached (``Store._changing_lookups``) writes a new token in its
transaction and replaces ``store.last_change()``.
- A change made through any ``Store`` in this process (the queue's shadow switch, ``/api/v1/posts``,
  a test) is seen by the next lookup.
- A change made by another process (``moderation keys remove``, another ``serve --processes`` process,
  a retrain's promotion) is seen within ``MAX_AGE`` seconds: the first lookup after that reads the
  token, one row, and empties the cache if it changed.

A value read from the store goes into the cache that was current when the read began, so a value read
just before a change can never outlive it. Only what is bounded by what the sites' owners created is
kept without a limit (valid keys, their sites' flags and pointers); an unknown key is never kept, and
posts, whose permalinks a caller chooses, are kept up to ``MAX_POSTS`` and ``MAX_POST_CHARS`` each.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .keys import hash_key, looks_like_key
from .store import LOOKUPS_VERSION, Store, last_change

MAX_AGE = 0.5
MAX_POSTS = 2048
# Longer posts are read from the store each time: 2,048 posts of 16,000 characters are at most 32M
# characters held; a blog post is typically 2,000-10,000.
MAX_POST_CHARS = 16_000

_ABSENT = object()


class Lookups:
    def __init__(self, store: Store, *, max_age: float = MAX_AGE):
        self.store = store
        self.max_age = max_age
        self._lock = threading.Lock()
        self._values: dict[tuple[str, Any], Any] = {}
        self._posts: dict[tuple[str, str], tuple[str, str] | None] = {}
        self._change = last_change()
        self._token: str | None = None
        self._checked = float("-inf")

    def site_for_key(self, key: str | None) -> str | None:
        """The site a key belongs to, or None for a missing, malformed, unknown or revoked key."""
        if not key or not looks_like_key(key):
            return None
        key_hash = hash_key(key)
        values = self._current()[0]
        site = values.get(("key", key_hash))
        if site is None:
            site = self.store.site_for_key_hash(key_hash)
            if site is not None:
                values[("key", key_hash)] = site
        return site

    def is_shadow(self, site: str) -> bool:
        return self._value("shadow", site, self.store.is_shadow)

    def active_model(self, site: str | None) -> str | None:
        """``Store.active_model``: ``site``'s own pointer, or the shared one for None."""
        return self._value("model", site, self.store.active_model)

    def post(self, site: str, permalink: str) -> tuple[str, str] | None:
        """(title, body) of the post ``site`` stored under ``permalink``, or None."""
        posts = self._current()[1]
        found = posts.get((site, permalink), _ABSENT)
        if found is _ABSENT:
            found = self.store.get_post(permalink, site=site)
            if found is None or len(found[0]) + len(found[1]) <= MAX_POST_CHARS:
                with self._lock:
                    if len(posts) >= MAX_POSTS:
                        del posts[next(iter(posts))]
                    posts[(site, permalink)] = found
        return found

    def _value(self, kind: str, key: Any, read) -> Any:
        values = self._current()[0]
        value = values.get((kind, key), _ABSENT)
        if value is _ABSENT:
            value = values[(kind, key)] = read(key)
        return value

    def _current(self) -> tuple[dict, dict]:
        """The caches, emptied first when a change was made since they were filled."""
        change = last_change()
        if change != self._change or time.monotonic() - self._checked >= self.max_age:
            with self._lock:
                now = time.monotonic()
                if change != self._change or now - self._checked >= self.max_age:
                    token = self.store.get_setting(LOOKUPS_VERSION)
                    if change != self._change or token != self._token:
                        self._values, self._posts = {}, {}
                    self._change, self._token, self._checked = change, token, now
        return self._values, self._posts
