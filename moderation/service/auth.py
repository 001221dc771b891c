"""Who may see a site's moderation queue: a password per site, login sessions, CSRF tokens.

Passwords are hashed with scrypt (``hashlib.scrypt``, a memory-hard KDF in the standard library) and a
random 16-byte salt; the parameters are stored with the hash (``scrypt$n$r$p$salt$hash``), so they can be
raised later without breaking stored passwords. n=2**14, r=8, p=1 (16 MB, about 50 ms here) are the
parameters the scrypt paper recommends for interactive logins.

A session is a random 256-bit token in a cookie (HttpOnly, SameSite=Strict, Path=/); only its SHA-256 is
stored, with the site, an expiry and the session's CSRF token. Every form carries that CSRF token and
every POST is refused without it (synchronizer token); the login form, which comes before any session,
carries a token that must equal a cookie of its own (double submit). SameSite=Strict alone would stop a
cross-site form in current browsers; the tokens also cover older ones.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from ..errors import InputError
from .keys import resolve_site
from .store import Store

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SESSION_SECONDS = 12 * 3600
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
COOKIE = "moderation_session"
LOGIN_COOKIE = "moderation_login"


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        candidate = hashlib.scrypt(
            password.encode("utf-8"),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=256 * 1024 * 1024,
            dklen=len(digest) // 2,
        )
    except (ValueError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(candidate.hex(), digest)


# Checked against when a site has no password, so a login for such a site costs as long as a real one
# and its answer time does not tell which sites have passwords.
_DUMMY = hash_password("not a password of anyone's")


def set_password(store: Store, name: str, password: str) -> str:
    """Set (or replace) the queue password of the site ``name`` means; ends its open sessions."""
    site = resolve_site(store, name)
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password is {len(password)} characters long; use at least {MIN_PASSWORD}")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"the password is over {MAX_PASSWORD} characters")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("the password is not valid text") from None
    store.set_password_hash(site, hash_password(password))
    return site


def check_login(store: Store, name: str, password: str) -> str | None:
    """The site when ``password`` is its queue password, else None (same cost either way)."""
    if len(password) > MAX_PASSWORD:
        return None
    try:
        site = resolve_site(store, name)
    except InputError:
        site = None
    stored = store.password_hash(site) if site else None
    ok = verify_password(password, stored or _DUMMY)
    return site if (ok and stored) else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def new_session(store: Store, site: str) -> tuple[str, str]:
    """(cookie token, CSRF token) of a new session for ``site``."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    store.add_session(token_hash(token), site, csrf, time.time() + SESSION_SECONDS)
    return token, csrf


def session_for(store: Store, token: str | None) -> tuple[str, str] | None:
    """(site, CSRF token) of the session a cookie names, or None."""
    if not token or len(token) > 100:
        return None
    return store.get_session(token_hash(token))


def end_session(store: Store, token: str | None) -> None:
    if token and len(token) <= 100:
        store.delete_session(token_hash(token))


def same_token(expected: str, given: str | None) -> bool:
    return (
        bool(expected)
        and given is not None
        and hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
    )
