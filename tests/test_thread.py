"""The data model's text helpers: who an "@Name" opening addresses."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.model.thread import mentioned_name

# mentioned_name as first written: its strict pattern backtracked over every split of a run of spaces.
_MENTION = re.compile(r"^\s*@\s*([^:,\n]{1,60}?)\s*[:,]", re.UNICODE)
_MENTION_LOOSE = re.compile(r"^\s*@(\S{1,40})", re.UNICODE)


def _reference(body: str) -> str | None:
    match = _MENTION.match(body) or _MENTION_LOOSE.match(body)
    return match.group(1).strip() if match else None


@settings(max_examples=500)
@given(
    st.text(
        alphabet=st.sampled_from([" ", "\n", "\t", "\u00a0", "\u2003", "@", ":", ",", "a", "B", "é", "_"]), max_size=90
    )
)
def test_the_name_is_the_patterns(body):
    assert mentioned_name(body) == _reference(body)


@pytest.mark.parametrize(
    "body",
    [
        "@Argon: Leading from behind.",
        "  @ Dana Whit , thanks",
        "@dana",
        "@" + "x" * 60 + ": too long for the strict form",
        "@" + "x" * 61 + ": too long",
        "@ \n bob: a line break before the name",
        "@bob\nsmith: a line break inside",
        "@   : only spaces",
        "@\n: only a line break",
        "@\t\n: a tab",
        "no mention: here",
        "",
        "@",
    ],
    ids=[
        "colon",
        "spaced-comma",
        "loose",
        "60",
        "61",
        "break-before",
        "break-inside",
        "spaces",
        "newline",
        "tab",
        "none",
        "empty",
        "at-alone",
    ],
)
def test_the_name_of_each_form(body):
    assert mentioned_name(body) == _reference(body)


def test_a_run_of_spaces_is_read_once():
    # "@" and a run of spaces with no ":" after it: 1.3 s for 2 KB with the pattern, 83 s for 16 KB.
    # Read in one pass, a megabyte of them is an ordinary cost; the reference would not finish.
    body = "@" + " " * 1_000_000 + "x"
    assert mentioned_name(body) is None  # no ":" after the name, and no name right after the "@"
    assert mentioned_name("@" + " " * 1_000_000 + "bob: hi") == "bob"
