"""Index arithmetic the batch code shares: numpy only."""

from __future__ import annotations

import numpy as np


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``start, start + 1, ..., start + length - 1`` for each (start, length) pair, concatenated (int64):
    the positions of chosen rows' entries in a CSR matrix, or where each block's entries go in one.

    One ``np.repeat`` and one ``np.arange`` for every range at once, where a Python loop of ``arange``
    calls would cost a numpy call per row.
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    firsts = np.cumsum(lengths) - lengths  # where each range begins in the output
    return np.repeat(starts - firsts, lengths) + np.arange(int(lengths.sum()), dtype=np.int64)
