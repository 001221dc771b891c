"""No input makes a reader raise anything but our own errors (ModerationError subclasses)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderation.errors import ModerationError
from moderation.formats import detect_format, format_names, read_threads

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
SEEDS = [p.read_bytes() for p in sorted(FIXTURES.iterdir()) if p.is_file()]


@st.composite
def mangled(draw):
    """Realistic files cut, spliced and sprinkled with hostile bytes, plus pure noise."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=2000))
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["cut", "insert", "delete"]))
        if action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(
                st.sampled_from(
                    [b"<", b"&", b"]]>", b"\x00", b"\xff\xfe", b"\x93", b'"', b",", b"\n{", b"<!DOCTYPE x>"]
                )
                | st.binary(max_size=20)
            )
        else:
            del data[at : at + draw(st.integers(1, 200))]
    return bytes(data)


@pytest.mark.parametrize("fmt", [None, *format_names()], ids=["detect", *format_names()])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mangled())
def test_readers_raise_only_our_errors(fmt, data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input"
        path.write_bytes(data)
        try:
            name = fmt or detect_format(path)
            for thread in read_threads(path, format=name):
                assert isinstance(thread.comments, list)
            problems: list = []
            for thread in read_threads(path, format=name, skip_bad=True, on_problem=problems.append):
                assert isinstance(thread.comments, list)
        except ModerationError as exc:
            assert "\n" not in str(exc).strip() or fmt in (None, "text", "html")
