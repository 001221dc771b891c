"""The compiled parts (moderation/model/_ngramcount.c, _ranking.c): that they are built, and that they
refuse arrays they could read or write out of bounds. That they give what the numpy forms give is
tests/test_ngrams.py's and tests/test_reasons_batch.py's, which run every test with them and without."""

from __future__ import annotations

import importlib.util
import shutil
import sysconfig

import numpy as np
import pytest

from moderation.model import explain, ngrams

COMPILED = ngrams._compiled


@pytest.mark.parametrize("name", ["_ngramcount", "_ranking", "_signals", "_text"])
def test_the_compiled_parts_are_built_where_a_c_compiler_is(name):
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}): numpy does their work")
    assert importlib.util.find_spec(f"moderation.model.{name}") is not None, (
        f"setup.py's optional extension {name} did not build: see `pip install -v -e .`"
    )


@pytest.mark.skipif(explain._ranking is None, reason="moderation.model._ranking is not built")
@pytest.mark.parametrize(
    ("starts", "counts", "out", "message"),
    [
        ([0, 3], [3, 2], np.zeros((2, 2), np.int64), "past the keys"),
        ([-1, 0], [1, 1], np.zeros((2, 2), np.int64), "past the keys"),
        ([0, 2], [2, 2], np.zeros((2, 3), np.int64), "n x k"),
    ],
    ids=["past-the-end", "negative-start", "out-shape"],
)
def test_the_compiled_selection_refuses_segments_outside_its_keys(starts, counts, out, message):
    keys = np.array([3.0, 1.0, 1.0, 0.5])
    with pytest.raises(ValueError, match=message):
        explain._ranking.first_k(keys, np.array(starts, np.int64), np.array(counts, np.int64), 2, out)
    out = np.zeros((2, 2), np.int64)
    explain._ranking.first_k(keys, np.array([0, 2], np.int64), np.array([3, 2], np.int64), 2, out)
    assert out.tolist() == [[1, 2], [3, 2]]  # equal keys in the order they come


needs_compiled = pytest.mark.skipif(COMPILED is None, reason="moderation.model._ngramcount is not built")


def _table(entries: dict[int, int], slots: int = 16) -> tuple[np.ndarray, int]:
    """A code table as ngrams._CodeTable lays it out for the compiled loop: (key, column) per slot."""
    table = np.zeros((slots, 2), dtype=np.uint64)
    shift = 64 - (slots.bit_length() - 1)
    for code, column in entries.items():
        slot = (code * 0x9E3779B97F4A7C15 % (1 << 64)) >> shift  # _CodeTable._home
        while table[slot, 0]:
            slot = (slot + 1) % slots
        table[slot] = code, column
    return table, shift


def _ids_arguments() -> dict:
    table, shift = _table({1 << 4 | 2: 3})  # the bigram of symbols 1 and 2, 4 bits each: column 3
    return {
        "ids": np.array([1, 2, 1, 2], dtype=np.uint64),
        "groups": np.array([2, 2], dtype=np.int64),
        "docs": np.array([2, 2], dtype=np.int64),
        "table": table,
        "shift": shift,
        "bits": 4,
        "min_n": 2,
        "max_n": 2,
        "n_features": 4,
        "indptr": np.zeros(3, dtype=np.int64),
        "indices": np.zeros(4, dtype=np.int32),
        "data": np.zeros(4, dtype=np.int64),
    }


@needs_compiled
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"groups": np.array([2], dtype=np.int64)}, "do not add up"),
        ({"groups": np.array([4], dtype=np.int64)}, "do not add up"),
        ({"docs": np.array([-1, 5], dtype=np.int64)}, "do not add up"),
        ({"table": np.zeros((12, 2), dtype=np.uint64)}, "power of two"),
        ({"shift": 59}, "smaller than its shift"),
        ({"data": np.zeros(2, dtype=np.int64)}, "wrong size"),
        ({"indices": np.zeros(1, dtype=np.int32), "data": np.zeros(1, dtype=np.int64)}, "too small"),
        ({"ids": np.zeros(4, dtype=np.int32)}, "ids: expected items of 8 bytes"),
        ({"bits": 40}, "out of range"),
        ({"n_features": 1}, "column is out of range"),
    ],
    ids=[
        "groups-short",
        "group-across-documents",
        "negative-doc",
        "table-not-power-of-two",
        "shift-beyond-table",
        "data-size",
        "no-room",
        "ids-int32",
        "bits",
        "column",
    ],
)
def test_the_compiled_loop_refuses_arrays_that_do_not_fit(change, message):
    args = _ids_arguments()
    # As given: the bigram "1 2" once in each document.
    assert COMPILED.count(*args.values()) == 2
    np.testing.assert_array_equal(args["indptr"], [0, 1, 2])
    with pytest.raises(ValueError, match=message):
        COMPILED.count(*{**args, **change}.values())


def _tokens(*tokens: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    points = np.frombuffer("".join(tokens).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).copy()
    offsets = np.cumsum([0, *map(len, tokens)]).astype(np.int64)
    slots = np.zeros(16, dtype=np.int64)
    COMPILED.token_slots(points, offsets, slots)
    return points, offsets, slots


@needs_compiled
@pytest.mark.parametrize(
    ("rule", "docs", "expected"),
    [
        (1, ["a ab x_y", "ab\u00e9 a"], [[0, 1], [0]]),
        (2, ["a ab x_y", "ab\u00e9 a"], [[1], []]),
        (3, ["a ab x_y", "ab\u00e9\u3000a"], [[0, 1], [0]]),
        (1, ["\ud800ab\U0001f600a"], [[0, 1]]),
    ],
    ids=["word-runs", "two-or-more", "whitespace", "surrogate-and-emoji-split-words"],
)
def test_tokens_are_the_re_modules_words_or_str_split(rule, docs, expected):
    # Unigrams of the tokens "a" (column 0) and "ab" (column 1); "x_y" and "abé" are one token each.
    table, shift = _table({1: 0, 2: 1})
    tokens = _tokens("a", "ab")
    indptr, indices, data = np.zeros(len(docs) + 1, np.int64), np.zeros(64, np.int32), np.zeros(64, np.int64)
    stored = COMPILED.count_tokens(docs, rule, *tokens, table, shift, 4, 1, 1, 2, indptr, indices, data)
    rows = [indices[indptr[row] : indptr[row + 1]].tolist() for row in range(len(docs))]
    assert rows == expected and stored == sum(map(len, expected))


@needs_compiled
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t, out: COMPILED.count_tokens(["a", 3], 1, *_tokens("a"), *t, *out), "a list of str"),
        (lambda t, out: COMPILED.count_tokens(("a", "b"), 1, *_tokens("a"), *t, *out), "list"),
        (lambda t, out: COMPILED.count_tokens(["a", "b"], 4, *_tokens("a"), *t, *out), "rule"),
        (
            lambda t, out: COMPILED.count_tokens(
                ["a", "b"], 1, np.zeros(1, np.uint32), np.array([0, 2], np.int64), np.zeros(16, np.int64), *t, *out
            ),
            "do not cover",
        ),
        (
            lambda t, out: COMPILED.count_tokens(
                ["a", "b"], 1, np.zeros(1, np.uint32), np.array([0, 1], np.int64), np.zeros(1, np.int64), *t, *out
            ),
            "power-of-two table",
        ),
        (lambda t, out: COMPILED.count_chars(["a", b"b"], True, np.zeros(4, np.uint64), *t, *out), "a list of str"),
        (lambda t, out: COMPILED.count_chars(["a", "b"], True, np.zeros(0, np.uint64), *t, *out), "lut: empty"),
    ],
    ids=["not-str", "not-list", "unknown-rule", "offsets-beyond-points", "full-token-table", "bytes", "empty-lut"],
)
def test_the_document_entry_points_refuse_what_they_cannot_read(call, message):
    table, shift = _table({1: 0})
    out = (np.zeros(3, np.int64), np.zeros(8, np.int32), np.zeros(8, np.int64))
    with pytest.raises((ValueError, TypeError), match=message):
        call((table, shift, 4, 1, 1, 2), out)
