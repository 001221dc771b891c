"""Reasons found for a whole batch at once (``explain.explain_rows``) are those the row-by-row code gave.

``reference`` below is that code as it was (moderation/model/explain.py before the batched path): one
row at a time, a stable ``np.argsort`` per block and for the evidence (equal strengths in column
order, the same on every CPU). Both ways ``explain_rows`` works (a batch pass, and one row at a time
below ``ROW_BY_ROW_BELOW`` rows) must give the same strings in the same order and the same evidence,
ties included.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from moderation.model import explain
from moderation.model.decisions import EMPTY_REASON
from moderation.model.explain import (
    _BLOCKS,
    _ONLY_TOWARD_HAM,
    _PHRASES,
    _SILENT,
    FeatureIndex,
    SignalValues,
    _first,
    _segment_sums,
    _speaks,
    contributions,
    explain_rows,
    reasons_for,
)
from moderation.model.items import items_from_thread


@pytest.fixture(autouse=True, params=["compiled", "numpy"])
def selection(request, monkeypatch):
    """Every test here with the compiled selection of explain._first (_ranking.c) and the numpy one."""
    if request.param == "compiled":
        if explain._ranking is None:
            pytest.skip("moderation.model._ranking is not built (no C compiler at install)")
    else:
        monkeypatch.setattr(explain, "_ranking", None)
    return request.param


def reference(row, contrib, index, raw, *, toward_spam, limit=3):
    """The per-row ``reasons_for`` as it was, line for line."""
    start, end = contrib.indptr[row], contrib.indptr[row + 1]
    cols = contrib.indices[start:end]
    vals = contrib.data[start:end]
    sign = 1.0 if toward_spam else -1.0
    blocks = index.block[cols]
    candidates = []
    for number, namespace in enumerate(index.blocks):
        mask = (blocks == number) & (vals * sign > 0)
        if not mask.any():
            continue
        block_cols, block_vals = cols[mask], vals[mask] * sign
        order = np.argsort(-block_vals, kind="stable")
        terms = []
        for position in order[:40]:
            term = str(index.names[block_cols[position]]).partition(":")[2]
            if _speaks(namespace, term):
                terms.append(term)
                if len(terms) == 3:
                    break
        if terms:
            candidates.append((float(block_vals.sum()), namespace, terms))
    by_kind = {kind: (strength, detail) for strength, kind, detail in candidates}
    if "char" in by_kind and "word" in by_kind:
        candidates = [c for c in candidates if c[1] not in ("char", "word")]
        candidates.append((by_kind["word"][0] + by_kind["char"][0], "word", by_kind["word"][1]))
    for position in np.flatnonzero(blocks < 0):
        name = str(index.names[cols[position]])
        if vals[position] * sign > 0 and name not in _SILENT and not (toward_spam and name in _ONLY_TOWARD_HAM):
            candidates.append((float(vals[position] * sign), "signal", int(cols[position])))
    candidates.sort(key=lambda c: -c[0])
    reasons = []
    for strength, kind, detail in candidates[:limit]:
        if strength <= 0.05:
            break
        if kind == "signal":
            value = raw[row, detail]
            key = str(index.names[detail])
            phrase = _PHRASES.get(key, key + " ({v:.2f})")
            reasons.append(phrase.format(v=value, p=100 * value, n=max(round(math.expm1(value)), 0)))
        else:
            quoted = ", ".join(f"'{term}'" for term in detail)
            reasons.append(_BLOCKS[kind][0 if toward_spam else 1].format(terms=quoted))
    strongest = np.argsort(-np.abs(vals), kind="stable")[:10]
    evidence = [(str(index.names[cols[i]]), float(vals[i])) for i in strongest]
    return reasons, evidence


@pytest.fixture(params=["batched", "row-by-row"])
def path(request, monkeypatch):
    """Both ways ``explain_rows`` works, whatever the number of rows: batched, and one row at a time."""
    monkeypatch.setattr(explain, "ROW_BY_ROW_BELOW", 0 if request.param == "batched" else 10**9)
    return request.param


# ------------------------------------------------------------------------------------ a made-up model

WORDS = ["cheap", "pills", "the", "of the", "_url_", "0th", "garden", "tomato", "blight", "soil", "rye", "buy now"]
CHARS = [" th", "the ", "pill", "ills ", "chea", "heap", "0th ", "mato", "omato", "blig", "ght ", "soi"]
SIGNALS = ["post:available", "post:similarity", "link:count", "shape:length", "contact:email", "misc:unknown"]
NAMES = np.asarray(
    [f"word:{t}" for t in WORDS]
    + [f"char:{t}" for t in CHARS]
    + [f"word:w{i}" for i in range(60)]
    + [f"char:c{i}xx" for i in range(300)]
    + SIGNALS,
    dtype=object,
)
SIGNAL_COLUMNS = np.arange(len(NAMES) - len(SIGNALS), len(NAMES))
WORD_COLUMNS = np.flatnonzero([str(n).startswith("word:") for n in NAMES])
CHAR_COLUMNS = np.flatnonzero([str(n).startswith("char:") for n in NAMES])


def made_up_rows(rng: np.random.Generator) -> list[dict[int, float]]:
    """Rows that are hard for a batched sort: equal strengths, nothing at all, one kind of entry only."""
    levels = np.array([0.01, 0.04, 0.06, 0.1, 0.25, 0.5])  # few values: many ties
    rows = [
        {},  # no entries
        {int(c): -0.3 for c in WORD_COLUMNS[:5]},  # only terms toward ham, all equal
        {int(c): 0.2 for c in CHAR_COLUMNS[:50]},  # only character n-grams, all equal
        {int(c): v for c, v in zip(SIGNAL_COLUMNS, [0.9, 0.4, 0.7, 0.7, -0.2, 0.3], strict=True)},  # signals only
        {int(WORD_COLUMNS[2]): 0.9, int(WORD_COLUMNS[3]): 0.8, int(CHAR_COLUMNS[0]): 0.7},  # terms that do not speak
        {int(WORD_COLUMNS[0]): 0.02, int(WORD_COLUMNS[1]): 0.02},  # too weak to be a reason
        {int(c): 0.5 for c in np.concatenate([WORD_COLUMNS, SIGNAL_COLUMNS[2:4]])},  # a block ties a signal
        {int(c): 0.1 * (1 + i % 3) for i, c in enumerate(CHAR_COLUMNS)},  # long: the partitioned path
    ]
    for _ in range(40):
        size = int(rng.choice([0, 3, 12, 45, 200, 370]))
        columns = rng.choice(len(NAMES), size=min(size, len(NAMES)), replace=False)
        rows.append({int(c): float(rng.choice(levels) * rng.choice([-1, 1])) for c in columns})
    return rows


def as_contributions(rows: list[dict[int, float]]) -> sp.csr_matrix:
    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = np.concatenate([np.sort(list(r)) for r in rows if r] or [np.zeros(0, dtype=np.int64)]).astype(np.int32)
    data = np.array([r[c] for r in rows for c in sorted(r)])
    return sp.csr_matrix((data, indices, indptr), shape=(len(rows), len(NAMES)))


@pytest.fixture(scope="module")
def made_up():
    contrib = as_contributions(made_up_rows(np.random.default_rng(7)))
    # Raw values unlike the scaled ones, so that a phrase quoting the wrong one shows.
    values = np.random.default_rng(8).uniform(0, 3, size=(contrib.shape[0], len(SIGNAL_COLUMNS)))
    return contrib, FeatureIndex(NAMES), SignalValues(values, SIGNAL_COLUMNS)


@pytest.mark.parametrize("toward_spam", [True, False], ids=["toward-spam", "toward-ham"])
@pytest.mark.usefixtures("path")
def test_batched_reasons_match_row_by_row_on_hard_rows(made_up, toward_spam):
    contrib, index, raw = made_up
    rows = contrib.shape[0]
    got = explain_rows(contrib, index, raw, np.full(rows, toward_spam))
    want = [reference(row, contrib, index, raw, toward_spam=toward_spam) for row in range(rows)]
    assert got == want
    # The rows are hard in the ways meant: some give no reason, and some equal strengths are shown.
    assert any(not reasons for reasons, _ in got) and any(reasons for reasons, _ in got)
    assert any(len({value for _, value in evidence}) < len(evidence) for _, evidence in got)


@pytest.mark.usefixtures("path")
def test_batched_reasons_mix_directions_and_pick_rows(made_up):
    contrib, index, raw = made_up
    toward = np.arange(contrib.shape[0]) % 3 == 0
    got = explain_rows(contrib, index, raw, toward)
    assert got == [reference(r, contrib, index, raw, toward_spam=bool(toward[r])) for r in range(len(toward))]
    picked = np.array([5, 0, 47, 3, 3])
    assert explain_rows(contrib, index, raw, toward[picked], rows=picked) == [got[r] for r in picked]
    assert reasons_for(10, contrib, index, raw, toward_spam=False) == reference(
        10, contrib, index, raw, toward_spam=False
    )


@pytest.mark.parametrize("longest", [7, 128, 1100], ids=["short", "one-pass", "halved"])
def test_block_strengths_are_numpys_sums_bit_for_bit(longest):
    rng = np.random.default_rng(longest)
    counts = rng.integers(0, longest + 1, size=60)
    counts[::7] = 0
    values = rng.random(int(counts.sum())) ** 8 * 10 ** rng.uniform(-3, 3, int(counts.sum()))
    starts = np.cumsum(counts) - counts
    sums = _segment_sums(values, starts, counts)
    assert sums.tolist() == [values[s : s + c].sum() for s, c in zip(starts, counts, strict=True)]


@pytest.mark.parametrize("k", [1, 3, 10, 40], ids=["k1", "k3", "k10", "k40"])
@pytest.mark.parametrize("packed", [True, False], ids=["packed", "picked-rows"])
def test_first_keys_are_a_stable_sorts_first(k, packed):
    rng = np.random.default_rng(k)
    counts = rng.choice([0, 1, k - 1, k, k + 1, 4 * k, 4 * k + 3, 300], size=80).clip(0)
    keys = rng.choice([-2.0, -1.0, -0.5, 0.0, 0.25], size=int(counts.sum()))  # few values: ties everywhere
    starts = np.cumsum(counts) - counts
    if not packed:
        order = rng.permutation(len(counts))  # segments taken out of order, as explain_rows(rows=...) does
        counts, starts = counts[order], starts[order]
    got = _first(keys, starts, counts, k)
    for segment, (start, count) in enumerate(zip(starts.tolist(), counts.tolist(), strict=True)):
        want = (start + np.argsort(keys[start : start + count], kind="stable")[:k]).tolist()
        assert got[segment].tolist() == want + [-1] * (k - len(want))


@pytest.mark.usefixtures("path")
def test_equal_strengths_are_quoted_in_column_order(made_up):
    _, index, raw = made_up
    # Five equal terms toward spam, the last two ("cheap", "pills") at the lowest columns, written last.
    columns = [WORD_COLUMNS[6], WORD_COLUMNS[7], WORD_COLUMNS[8], WORD_COLUMNS[0], WORD_COLUMNS[1]]
    contrib = as_contributions([{int(c): 0.4 for c in columns}])
    [(reasons, evidence)] = explain_rows(contrib, index, raw, np.array([True]))
    assert reasons == ["wording common in spam: 'cheap', 'pills', 'garden'"]
    assert [name for name, _ in evidence] == [str(NAMES[c]) for c in sorted(columns)]


CPU_SCRIPT = """
import sys
import numpy as np, scipy.sparse as sp
from moderation.model import explain
from moderation.model.explain import FeatureIndex, SignalValues, explain_rows
if sys.argv[1] == "numpy":
    explain._ranking = None
rng = np.random.default_rng(3)
names = np.asarray([f"word:w{i}x" for i in range(300)] + [f"char:c{i}yy" for i in range(300)], dtype=object)
dense = rng.choice([0.0, 0.1, 0.2, -0.2], size=(40, 600)) * (rng.random((40, 600)) < 0.5)
contrib = sp.csr_matrix(dense)
raw = SignalValues(np.zeros((40, 0)), np.zeros(0, dtype=np.int64))
print(explain_rows(contrib, FeatureIndex(names), raw, np.arange(40) % 2 == 0))
"""


def test_reasons_do_not_depend_on_the_cpu(selection):
    """numpy's default sort orders equal keys one way with AVX-512 and another without it (numpy 2.4):
    on an AVX-512 machine, reasons taken in np.argsort's order differed for this script with its
    vector sorts disabled. Quoting equal strengths in column order, they are the same either way."""
    runs = []
    for disabled in ("", "X86_V4 AVX512_ICL AVX512_SPR AVX512_SKX AVX512F X86_V3 AVX2"):
        env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": disabled}
        command = [sys.executable, "-c", CPU_SCRIPT, selection]
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        if result.returncode != 0:
            pytest.skip(f"numpy refused NPY_DISABLE_CPU_FEATURES={disabled!r} here: {result.stderr.strip()[-200:]}")
        runs.append(result.stdout.splitlines())
    assert runs[0] == runs[1]
    assert "wording common" in runs[0][0]


@pytest.mark.usefixtures("path")
def test_no_rows_no_reasons(made_up):
    contrib, index, raw = made_up
    assert explain_rows(contrib[:0], index, raw, np.zeros(0, dtype=bool)) == []


# ----------------------------------------------------------------------------------- a trained model


@pytest.fixture(scope="module")
def scored(moderator, small_corpus):
    items = [item for thread in small_corpus for item in items_from_thread(thread)]
    matrix = moderator.model.features(items)
    contrib, _, raw = contributions(moderator.model, matrix, moderator.feature_index.names)
    return contrib, raw, moderator.model.predict(matrix)


@pytest.mark.parametrize("toward_spam", [True, False], ids=["toward-spam", "toward-ham"])
@pytest.mark.usefixtures("path")
def test_batched_reasons_match_row_by_row_on_a_trained_model(moderator, scored, toward_spam):
    contrib, raw, _ = scored
    index = moderator.feature_index
    rows = contrib.shape[0]
    got = explain_rows(contrib, index, raw, np.full(rows, toward_spam))
    assert got == [reference(row, contrib, index, raw, toward_spam=toward_spam) for row in range(rows)]
    assert sum(bool(reasons) for reasons, _ in got) > rows // 2


@pytest.mark.usefixtures("path")
def test_decisions_carry_the_row_by_row_reasons(moderator, small_corpus, scored):
    contrib, raw, scores = scored
    items = [item for thread in small_corpus for item in items_from_thread(thread)]
    comments = [comment for thread in small_corpus for comment in thread.comments]
    decisions = moderator.decide(items, comments)
    index = moderator.feature_index
    assert {d.verdict for d in decisions} >= {"approve", "spam"}
    for row, decision in enumerate(decisions):
        reasons, evidence = reference(row, contrib, index, raw, toward_spam=decision.verdict != "approve")
        if comments[row].is_empty and EMPTY_REASON not in reasons:
            reasons.insert(0, EMPTY_REASON)
        assert (decision.reasons, decision.contributions) == (reasons, evidence)
