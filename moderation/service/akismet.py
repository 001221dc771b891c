"""Akismet's REST protocol (version 1.1): form-encoded requests in, one-word text/plain answers out.

Only the protocol lives here (parsing, the documented test values, the answer for a score); the HTTP
plumbing is in ``app.py``. The answers follow Akismet's documentation:

- verify-key: ``valid`` or ``invalid``.
- comment-check: ``true`` (spam) or ``false``; ``true`` with ``X-akismet-pro-tip: discard`` for spam so
  blatant it need not be kept (``Decision.blatant``); ``invalid`` with ``X-akismet-debug-help`` for a bad key.
- submit-spam / submit-ham: ``Thanks for making the web a better place.``
"""

from __future__ import annotations

import codecs
import functools
import urllib.parse
from dataclasses import dataclass, field

from ..model.decisions import Decision
from ..model.thread import Comment, comment_type

SUBMIT_THANKS = "Thanks for making the web a better place."

# The parameters Akismet documents for comment-check, submit-spam and submit-ham. Anything else a
# client sends (WordPress adds POST_* and server variables) is accepted and ignored.
FIELDS = (
    "api_key",
    "blog",
    "user_ip",
    "user_agent",
    "referrer",
    "permalink",
    "comment_type",
    "comment_author",
    "comment_author_email",
    "comment_author_url",
    "comment_content",
    "comment_parent",
    "comment_context",
    "comment_date_gmt",
    "comment_post_modified_gmt",
    "blog_lang",
    "blog_charset",
    "user_role",
    "is_test",
    "recheck_reason",
    "honeypot_field_name",
)
REQUIRED = ("blog", "user_ip")

# Akismet's documented test values: this author (or this e-mail) always gets "true", and a comment by
# an administrator always gets "false", so a site can check its integration end to end.
GUARANTEED_SPAM_AUTHOR = "akismet-guaranteed-spam"
GUARANTEED_SPAM_EMAIL = "akismet-guaranteed-spam@example.com"
HAM_ROLE = "administrator"

# Most forms are a few KB; WordPress adds every $_POST field and server variable, still well under this.
MAX_FIELDS = 500


class ProtocolError(Exception):
    """A request the protocol cannot accept: answered with ``status`` and a debug-help header."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def parse_form(body: bytes, content_type: str = "") -> dict[str, str]:
    """Decode an ``application/x-www-form-urlencoded`` body strictly; the first value of a name wins.

    The byte encoding of the values is the charset in Content-Type, else the ``blog_charset`` field
    (Akismet's own way of saying it, e.g. ISO-8859-1 blogs), else UTF-8. Undecodable values are refused
    rather than replaced, because a comment with mangled text would be scored on the wrong words.
    """
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError(400, "Request body must be URL-encoded (raw non-ASCII bytes found).") from None
    charset = _content_type_charset(content_type)
    try:
        if charset is None:
            charset = "utf-8"
            # Over MAX_FIELDS fields, parse_qsl refuses the body from its count of "&" alone.
            if text.count("&") >= MAX_FIELDS or _may_name_blog_charset(text):
                first = urllib.parse.parse_qsl(
                    text, keep_blank_values=True, encoding="latin-1", max_num_fields=MAX_FIELDS
                )
                charset = next((v for k, v in first if k == "blog_charset" and v.strip()), "utf-8").strip()
    except ValueError:
        raise ProtocolError(400, f"Too many fields (more than {MAX_FIELDS}).") from None
    charset = _text_charset(charset)
    try:
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, encoding=charset, errors="strict", max_num_fields=MAX_FIELDS
        )
    except UnicodeError:
        # UnicodeDecodeError for bad bytes; plain UnicodeError from codecs such as "undefined".
        raise ProtocolError(400, f"Request values are not valid {charset}.") from None
    except ValueError:
        raise ProtocolError(400, f"Too many fields (more than {MAX_FIELDS}).") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


def _may_name_blog_charset(text: str) -> bool:
    """Whether a field of ``text`` can be named blog_charset once decoded: a name without "%" or "+" is
    its own decoding. Most checks have neither, and skip parsing the body twice (30 -> 17 us a check)."""
    names = (field.partition("=")[0] for field in text.split("&"))
    return "blog_charset" in text or any("%" in name or "+" in name for name in names)


def _text_charset(charset: str) -> str:
    """The codec name for ``charset``, refused unless it is a text encoding.

    ``codecs.lookup`` also knows bytes-to-bytes codecs (base64, hex, rot13, zlib), which are no charset,
    and raises ValueError rather than LookupError for some names (an embedded NUL)."""
    try:
        info = codecs.lookup(charset)
    except (LookupError, ValueError, TypeError):
        raise ProtocolError(400, f"Unknown charset {charset[:40]!r}.") from None
    if not getattr(info, "_is_text_encoding", True):
        raise ProtocolError(400, f"Unknown charset {charset[:40]!r} (not a text encoding).")
    return info.name


def _content_type_charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None


def key_from_host(host: str) -> str | None:
    """The ``{key}.`` prefix of the Host header, as Akismet clients send it (``KEY.rest.akismet.com``)."""
    hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else ""
    labels = hostname.split(".")
    return labels[0] if len(labels) >= 2 and labels[0] else None


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class CheckRequest:
    """One comment as Akismet describes it, turned into our data model."""

    form: dict[str, str]
    comment: Comment = field(init=False)

    def __post_init__(self) -> None:
        get = self.form.get
        kind = (get("comment_type") or "comment").strip().lower()
        self.comment = Comment(
            body=get("comment_content", ""),
            author=get("comment_author", ""),
            author_url=get("comment_author_url", ""),
            author_email=get("comment_author_email", ""),
            author_ip=get("user_ip", ""),
            date=get("comment_date_gmt", ""),
            parent=(get("comment_parent") or "").strip() or None,
            # Akismet also has reply, forum-post, contact-form, signup, ...: all are text someone wrote.
            type=comment_type(kind),
            extra={"akismet_type": kind},
        )

    @functools.cached_property
    def permalink(self) -> str:
        return normalize_permalink(self.form.get("permalink", ""))

    @property
    def is_test(self) -> bool:
        return truthy(self.form.get("is_test"))

    def missing(self) -> list[str]:
        return [name for name in REQUIRED if not self.form.get(name, "").strip()]

    def test_value_decision(self) -> Decision | None:
        """Akismet's documented test values, answered without the model."""
        author = self.form.get("comment_author", "").strip().lower()
        email = self.form.get("comment_author_email", "").strip().lower()
        if author == GUARANTEED_SPAM_AUTHOR or email == GUARANTEED_SPAM_EMAIL:
            return Decision.fixed(self.comment, spam=True, reason="Akismet test value: guaranteed spam author")
        roles = {r.strip().lower() for r in self.form.get("user_role", "").split(",")}
        if HAM_ROLE in roles:
            return Decision.fixed(
                self.comment, spam=False, reason="Akismet test value: comments by an administrator are never spam"
            )
        return None

    def honeypot_decision(self) -> Decision | None:
        """A filled honeypot (a hidden field people never see but bots fill in) is spam to discard."""
        name = self.form.get("honeypot_field_name", "").strip()
        if not (name and self.form.get(name, "").strip()):
            return None
        return Decision.fixed(
            self.comment, spam=True, reason="The honeypot field, hidden from people, was filled in", blatant=True
        )


def normalize_permalink(url: str) -> str:
    """The same post under small URL variations (case of host, fragment, trailing slash) is one key."""
    url = url.strip()
    if not url:
        return ""
    try:
        parts = urllib.parse.urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return url
    if port and not ((parts.scheme == "http" and port == 80) or (parts.scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/") or "/"
    return urllib.parse.urlunsplit((parts.scheme.lower(), host, path, parts.query, ""))


@dataclass(frozen=True)
class Answer:
    body: str
    headers: tuple[tuple[str, str], ...] = ()


def check_answer(decision: Decision, *, hold_as: str, shadow: bool = False) -> Answer:
    """From our three verdicts to Akismet's true/false.

    Akismet has no "hold": a held comment is answered as ``hold_as`` (spam by default, so a WordPress
    site files it in the Spam folder, which a moderator reviews and which WordPress keeps for 15 days;
    "ham" instead sends it through the site's normal moderation). The verdict itself is always sent in
    ``X-moderation-verdict`` for clients that want the distinction.

    ``discard`` lets the client drop the comment unseen, so it is sent only for ``decision.blatant``:
    spam past the discard score with no sign of a real reader (``api.REAL_READER_SIGNS``), never for a
    reader's relevant link or a reply, however high its score.

    ``shadow`` (a site in shadow mode, issue 11): every comment is answered as fine, and the verdict the
    model gave is only in ``X-moderation-shadow-verdict``.
    """
    if shadow:
        return Answer("false", (("X-moderation-shadow-verdict", decision.verdict),))
    headers = [("X-moderation-verdict", decision.verdict), ("X-moderation-score", f"{decision.score:.4f}")]
    if decision.verdict == "spam" or (decision.verdict == "hold" and hold_as == "spam"):
        if decision.blatant:
            headers.append(("X-akismet-pro-tip", "discard"))
        return Answer("true", tuple(headers))
    return Answer("false", tuple(headers))
