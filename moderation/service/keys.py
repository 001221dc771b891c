"""API keys: generated here, shown once, stored only as a hash.

Keys are 32 lowercase hex characters (128 random bits). Lowercase hex because Akismet clients such as
the WordPress plugin may send the key as the first label of the host name (``{key}.rest.akismet.com``),
and host names are case-insensitive and limited to letters, digits and hyphens. With 128 random bits a
plain SHA-256 is enough to store them: there is nothing to brute-force that a slow hash would protect.

A key belongs to one site and answers only for it: how an Akismet ``blog`` is matched with the key's
site, and how a site named without a URL is read, is in ``sites``.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from ..errors import InputError
from .store import KeyRecord, Store

KEY_HEX_CHARS = 32
_KEY_SHAPE = re.compile(rf"[0-9a-f]{{{KEY_HEX_CHARS}}}")
# A site is named by its URL or any short label; it appears in logs and `keys list`.
_SITE_SHAPE = re.compile(r"\S{1,200}")
# What `keys list` prints for a key: its first four characters and an ellipsis.
_HINT_SHAPE = re.compile(r"[0-9a-f]{4}(…|\.\.\.)?")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.strip().lower().encode("utf-8")).hexdigest()


def looks_like_key(text: str) -> bool:
    return bool(_KEY_SHAPE.fullmatch(text.strip().lower()))


def new_key(store: Store, site: str) -> str:
    """Create a key for ``site`` and return it; this is the only time the key itself is seen."""
    site = site.strip()
    if not _SITE_SHAPE.fullmatch(site):
        raise InputError(f"site {site!r}: give a URL or a name without spaces (at most 200 characters)")
    key = secrets.token_hex(KEY_HEX_CHARS // 2)
    store.add_key(site, hash_key(key), hint=key[:4])
    return key


def list_keys(store: Store) -> list[KeyRecord]:
    return store.list_keys()


def remove_keys(store: Store, what: str) -> int:
    """Revoke one key, given whole or by the hint `keys list` prints (``abcd…``), or every key of a site.

    A hint is the key's first four characters, with or without the ``…`` (or ``...``) that `keys list`
    prints after it; a hint shared by several active keys is refused, since it does not say which."""
    what = what.strip()
    if looks_like_key(what):
        count = store.revoke_keys(key_hash=hash_key(what))
    elif what in store.key_sites():
        count = store.revoke_keys(site=what)
    elif _HINT_SHAPE.fullmatch(what.lower()):
        hint = what.lower().rstrip(".…")
        matches = [r for r in store.list_keys() if r.hint == hint]
        if len(matches) > 1:
            sites = ", ".join(sorted({r.site for r in matches}))
            raise InputError(f"{len(matches)} keys start with {hint!r} ({sites}); give the whole key or the site")
        count = store.revoke_keys(key_id=matches[0].id) if matches else 0
    else:
        count = 0
    if count == 0:
        raise InputError(f"no active key for {what!r}; see `moderation keys list`")
    return count


def resolve_site(store: Store, name: str) -> str:
    """The site, as its keys name it, that ``name`` means: the exact name, else the one site with the same
    host (``crumbnotes.example`` for ``https://crumbnotes.example/``). Refused when no key has it, so a typo
    cannot store posts or settings that no key will ever read."""
    from .sites import site_host

    name = name.strip()
    sites = store.key_sites()
    if name in sites:
        return name
    matches = [s for s in sites if site_host(name) and site_host(s) == site_host(name)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InputError(
            f"site {name!r} matches several sites ({', '.join(matches)}); give one as `keys list` shows it"
        )
    raise InputError(f"no site {name!r} has a key; see `moderation keys list` (or `moderation keys add {name}`)")


def set_sharing(store: Store, name: str, share: bool) -> str:
    """Opt a site in to (or out of) sharing its corrections with other sites' retraining."""
    site = resolve_site(store, name)
    store.set_sharing(site, share)
    return site


def set_shadow(store: Store, name: str, shadow: bool) -> str:
    """Shadow mode for a site: its checks are answered as fine, and the verdict is only logged."""
    site = resolve_site(store, name)
    store.set_shadow(site, shadow)
    return site
