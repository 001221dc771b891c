"""Reason families: which kind of signal a stored reason ("contains 2 link(s)") speaks of.

The queue page filters by family ("show me what was held for links"), as moderators of other filters ask
for ("filter the spam folder by reason"). A reason is matched against the phrase templates the model's
explanations are written from (``moderation.model.explain``), so a new phrase there joins its family here
without a second list to keep in step; a reason no template matches (Akismet's test values, the
honeypot) is "other".

Each template becomes an anchored pattern whose placeholders are ``.*``: a stored reason can quote a
comment's words ("wording common in spam: ..."), and such a pattern runs in time linear in its length.
"""

from __future__ import annotations

import functools
import re

# The explanation's feature namespaces (``post:off_topic``), grouped as a moderator thinks of them.
_NAMESPACE_FAMILY = {
    "link": "links",
    "contact": "contact",
    "money": "money",
    "keywords": "wording",
    "obfuscation": "obfuscation",
    "author": "author",
    "shape": "shape",
    "context": "context",
    "post": "off-topic",
    "thread": "off-topic",
}
_KEY_FAMILY = {"post:copied": "copy", "thread:copied": "copy"}
_BLOCK_FAMILY = {"word": "wording", "char": "wording", "name": "author"}

FAMILIES = (
    "links",
    "contact",
    "money",
    "wording",
    "off-topic",
    "copy",
    "obfuscation",
    "author",
    "shape",
    "context",
    "other",
)


def _pattern(template: str) -> str:
    parts = re.split(r"\{[^}]*\}", template)
    return ".*".join(re.escape(part) for part in parts)


def _build() -> list[tuple[re.Pattern, str]]:
    from ..model.explain import _BLOCKS, _PHRASES

    rules = []
    for key, template in _PHRASES.items():
        family = _KEY_FAMILY.get(key) or _NAMESPACE_FAMILY.get(key.split(":", 1)[0], "other")
        rules.append((re.compile(_pattern(template), re.DOTALL), family))
    for kind, templates in _BLOCKS.items():
        for template in templates:
            rules.append((re.compile(_pattern(template), re.DOTALL), _BLOCK_FAMILY.get(kind, "other")))
    return rules


_RULES: list[tuple[re.Pattern, str]] | None = None


# Each logged reason was matched against every template (3% of a serve process's CPU under
# bench_service_load.py); most reasons repeat word for word, so the answers are kept, a bounded number.
@functools.lru_cache(maxsize=4096)
def family_of(reason: str) -> str:
    global _RULES
    if _RULES is None:
        _RULES = _build()
    for pattern, family in _RULES:
        if pattern.fullmatch(reason):
            return family
    return "other"


def families_of(reasons: list[str]) -> list[str]:
    """The distinct families of ``reasons``, in the order they first appear."""
    seen: dict[str, None] = {}
    for reason in reasons:
        if isinstance(reason, str):
            seen.setdefault(family_of(reason), None)
    return list(seen)
