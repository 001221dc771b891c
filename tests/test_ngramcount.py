"""The compiled inner loop of the n-gram counter (moderation/model/_ngramcount.c): that it is built, and
that it refuses arrays it could read or write out of bounds. That it counts what scikit-learn counts is
tests/test_ngrams.py's, which runs every test with it and without it."""

from __future__ import annotations

import shutil
import sysconfig

import numpy as np
import pytest

from moderation.model import ngrams

COMPILED = ngrams._compiled


def test_the_compiled_loop_is_built_where_a_c_compiler_is():
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}): the numpy form counts")
    assert COMPILED is not None, "setup.py's optional extension did not build: see `pip install -v -e .`"


@pytest.mark.skipif(COMPILED is None, reason="moderation.model._ngramcount is not built")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"groups": np.array([2], dtype=np.int64)}, "do not add up"),
        ({"docs": np.array([-1, 4], dtype=np.int64)}, "do not add up"),
        ({"table": np.zeros((12, 2), dtype=np.uint64)}, "power of two"),
        ({"data": np.zeros(2, dtype=np.int64)}, "wrong size"),
        ({"indices": np.zeros(2, dtype=np.int32), "data": np.zeros(2, dtype=np.int64)}, "too small"),
        ({"ids": np.zeros(3, dtype=np.int32)}, "ids: expected items of 8 bytes"),
        ({"bits": 40}, "out of range"),
        ({"n_features": 1}, "column is out of range"),
    ],
    ids=[
        "groups-short",
        "negative-doc",
        "table-not-power-of-two",
        "data-size",
        "no-room",
        "ids-int32",
        "bits",
        "column",
    ],
)
def test_the_compiled_loop_refuses_arrays_that_do_not_fit(change, message):
    table = np.zeros((16, 2), dtype=np.uint64)  # (key, column) per slot
    code = np.uint64(1 << 4 | 2)  # the bigram of symbols 1 and 2, 4 bits each
    slot = (int(code) * 0x9E3779B97F4A7C15 % (1 << 64)) >> 60  # ngrams._CodeTable._home, 16 slots
    table[slot] = code, 3
    args = {
        "ids": np.array([1, 2, 1, 2], dtype=np.uint64),
        "groups": np.array([4], dtype=np.int64),
        "docs": np.array([2, 2], dtype=np.int64),
        "table": table,
        "shift": 60,
        "bits": 4,
        "min_n": 2,
        "max_n": 2,
        "n_features": 4,
        "indptr": np.zeros(3, dtype=np.int64),
        "indices": np.zeros(4, dtype=np.int32),
        "data": np.zeros(4, dtype=np.int64),
    }
    # As given: the bigram "1 2" once in each document (the window across their border is "2 1").
    assert COMPILED.count(*args.values()) == 2
    np.testing.assert_array_equal(args["indptr"], [0, 1, 2])
    with pytest.raises(ValueError, match=message):
        COMPILED.count(*{**args, **change}.values())
