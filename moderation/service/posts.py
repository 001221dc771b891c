"""The post table: each site's posts, whose text comment-check uses when a request's permalink matches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .akismet import normalize_permalink
from .keys import resolve_site
from .store import Store


@dataclass(frozen=True)
class ImportResult:
    site: str
    stored: int
    skipped: int


def import_posts(store: Store, files: Iterable[str | Path], site: str, format_name: str | None = None) -> ImportResult:
    """Store the posts of export ``files`` under ``site`` (which must have a key), by normalised permalink.

    Posts are per site: the same permalink imported for two sites is two rows, and each site's
    comment-checks see only its own."""
    from ..formats import read_threads

    owner = resolve_site(store, site)
    rows = []
    skipped = 0
    for file in files:
        for thread in read_threads(file, format_name):
            url = normalize_permalink(thread.post.url)
            if not url:
                skipped += 1
                continue
            rows.append((url, owner, thread.post.title, thread.post.body))
    return ImportResult(owner, store.put_posts(rows), skipped)


def list_posts(store: Store, site: str | None = None) -> list[tuple[str, str, str, float]]:
    """(site, permalink, title, updated) for every post, or for one site's (resolved as `keys` names it)."""
    return store.list_posts(site=resolve_site(store, site) if site else None)
