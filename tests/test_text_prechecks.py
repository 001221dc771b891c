"""The ASCII fast path of text.analyse (case-sensitive patterns on lower-cased text) changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.formats import read_threads
from moderation.learning.dataset import thread_files
from moderation.model import text

ROOT = Path(__file__).resolve().parent.parent

# Pieces that the case-insensitive patterns look for, in mixed case, with digits and separators.
PIECES = [
    "WhatsApp",
    "whats app",
    "TELEGRAM",
    "Wa.Me/",
    "call",
    "Text ME",
    "Hit me up",
    "Customer Care",
    "Toll-Free",
    "Support Phone Number",
    "$500",
    "1,000 USD",
    "2k Bitcoins",
    "EARNED",
    "Per Week",
    "Forex",
    "one Eight HUNDRED five five five",
    "1-8OO-555-0199",
    "+44 20 7946 0958",
    "2024-05-01",
    "o",
    " ",
    "\n",
    ".",
    "@",
    "k",
    "s",
    "i",
]


def reference(monkeypatch, body: str) -> text.Analysis:
    with monkeypatch.context() as patch:
        patch.setattr(text, "ASCII_FAST_PATH", False)
        return text._analyse(body)


@pytest.fixture(scope="module")
def bodies() -> list[str]:
    paths = thread_files([ROOT / "data" / "threads"])
    return [c.body for path in paths for thread in read_threads(path) for c in [*thread.comments]] + [
        thread.post.text for path in paths for thread in read_threads(path)
    ]


def test_every_comment_and_post_of_data_threads(bodies, monkeypatch):
    assert sum(body.isascii() for body in bodies) > len(bodies) // 2  # the fast path is exercised
    for body in bodies:
        assert text._analyse(body) == reference(monkeypatch, body), body[:80]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.text(st.characters(max_codepoint=127), max_size=5), max_size=12))
def test_ascii_texts_built_from_the_patterns_pieces(pieces):
    body = " ".join(pieces)
    with pytest.MonkeyPatch.context() as patch:
        expected = reference(patch, body)
    assert text._analyse(body) == expected


@pytest.mark.parametrize(
    "body",
    ["\u212aik WhatsApp", "\u017fkype me", "\u0130nstagram", "CALL \u00e9 now 555 0199 0000"],
    ids=["kelvin-sign", "long-s", "dotted-capital-i", "accented"],
)
def test_non_ascii_texts_keep_unicode_case_folding(body, monkeypatch):
    assert text._analyse(body) == reference(monkeypatch, body)
