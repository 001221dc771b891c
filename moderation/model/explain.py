"""Why a comment got its score: per-feature contributions to the linear model, put into words."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from .arrays import ranges
from .scoring import ScoringModel
from .stopwords import ENGLISH_STOP_WORDS

try:  # built by setup.py where a C compiler is found; without it _first selects with numpy, the same places
    from moderation.model import _ranking
except ImportError:  # pragma: no cover - exercised by tests that set _ranking to None
    _ranking = None

# For each signal feature, the phrase for its presence. Every signal is zero or positive and scaled
# without centring, so a feature contributes to a score only when present, and its phrase needs no
# "high"/"low" variant. {v}: the raw value; {p}: as a percentage; {n}: a log1p count turned back.
_PHRASES: dict[str, str] = {
    "post:available": "the post's text is known",
    "post:similarity": "related to the post (similarity {v:.2f})",
    "post:shared_words": "{p:.0f}% of its words appear in the post",
    "post:unshared_words": "{n} of its words appear nowhere in the post or thread",
    "post:off_topic": "{p:.0f}% of its words appear nowhere in the post or thread",
    "post:copied": "copies text from the post ({p:.0f}% of its phrases)",
    "thread:similarity": "close to another comment in the thread (similarity {v:.2f})",
    "thread:shared_words": "{p:.0f}% of its words are used in the post or thread",
    "thread:copied": "copies another comment ({p:.0f}% of its phrases)",
    "link:count": "contains {n} link(s)",
    "link:html_anchor": "contains {n} HTML link(s)",
    "link:url_share": "{p:.0f}% of its text is URLs",
    "link:author_url": "the author left a website",
    "link:author_url_deep": "the author's website is a deep, shop-like page",
    "link:reference": "links documentation, code or a reference page",
    "link:on_topic": "links a page about the post's subject",
    "link:to_site": "links this blog or this post",
    "link:unvouched": "{n} link(s) to unrelated sites",
    "contact:email": "contains an e-mail address",
    "contact:phone": "contains a phone number",
    "contact:messenger": "names a messaging app (WhatsApp, Telegram, ...)",
    "contact:handle": "gives an @handle that is no commenter here",
    "contact:solicit": "asks to be contacted",
    "money:amount": "names {n} sum(s) of money",
    "money:earnings": "claims earnings or returns",
    "keywords:service_phrase": 'advertises a service line ("support number", "customer care")',
    "keywords:repeated_phrase": "repeats the same phrase",
    "keywords:tail": "ends in a keyword phrase unrelated to the rest",
    "obfuscation:lookalike": "letters disguised as look-alikes (𝐒𝐆𝐈, Cyrillic а)",
    "obfuscation:invisible": "invisible characters hidden inside words",
    "obfuscation:spaced": 'words spaced out letter by letter ("W h a t s A p p")',
    "author:words": "an author name of {n} word(s)",
    "author:digits": "digits in the author name",
    "author:url_like": "the author name is a web address",
    "author:anonymous": "an anonymous author",
    "author:is_post_author": "written by the post's author",
    "author:name_in_text": "the author's name is a keyword phrase the comment repeats ({p:.0f}% of its words)",
    "shape:empty": "empty comment (deleted or blank)",
    "shape:length": "{n} characters long",
    "shape:sentences": "{n} sentence(s)",
    "shape:uppercase": "{p:.0f}% of its letters are capitals",
    "shape:exclamations": "exclamation marks",
    "shape:questions": "question marks",
    "shape:repeats": 'repeated characters ("!!!!", "soooo")',
    "shape:line_breaks": "{n} line break(s)",
    "shape:pingback": "a pingback or trackback",
    "context:reply": "replies to an earlier comment",
    "context:names_commenter": "names an earlier commenter",
    "context:quotes": "quotes text",
    "context:regular": "the author commented earlier in the thread",
}
# Features that set the scale for others but are no reason on their own: "the post's text is known"
# moves every score a little, and saying so would explain nothing.
_SILENT = {"post:available"}
# Features that describe a tie to the post or the thread: a reason for a legitimate verdict, never
# one for spam. A copy that reuses the post's words has its own features (post:copied); shown as a
# spam reason, "100% of its words are used in the post" read as nonsense (issue 9).
_ONLY_TOWARD_HAM = {
    "post:similarity",
    "post:shared_words",
    "thread:similarity",
    "thread:shared_words",
    "link:reference",
    "link:on_topic",
    "link:to_site",
    "context:reply",
    "context:names_commenter",
    "context:quotes",
    "context:regular",
    "author:is_post_author",
}

_BLOCKS = {
    "word": ("wording common in spam: {terms}", "wording common in real comments: {terms}"),
    "char": ("spelling patterns common in spam: {terms}", "spelling patterns common in real comments: {terms}"),
}


def contributions(
    model: ScoringModel, matrix, names: np.ndarray | None = None, index: FeatureIndex | None = None
) -> tuple[sp.csr_matrix, np.ndarray, SignalValues]:
    """Per-item, per-feature contributions to the decision value; also feature names and raw values.

    ``matrix`` is ``model.features`` of the items; ``names`` its feature names, and ``index`` the
    model's ``FeatureIndex``, when the caller has them already. For a linear model the decision value
    is the intercept plus the sum of these contributions, so they account for the whole score.
    ``model`` is the same whether it was read from the parameter file or taken from the joblib
    pipeline (``ScoringModel.from_pipeline``).
    """
    # matrix.multiply(coef), explicit zeros and entry order included, without scipy's broadcasting.
    data = matrix.data * model.coef.ravel()[matrix.indices]
    contrib = sp.csr_matrix((data, matrix.indices, matrix.indptr), shape=matrix.shape)
    if names is None:
        names = model.feature_names
    raw = _raw_signal_values(model, matrix, None if index is None else index.signals)
    return contrib, names, raw


class SignalValues:
    """Raw values of the scaled signal columns only, read as ``values[row, column]``.

    A dense rows x columns array over every column (100k, mostly n-grams, whose raw value no reason
    quotes) took 840 KB per comment: 3.4 GB for one 4,000-comment thread (issue 9 item 6). The ~50
    signal columns take 400 bytes per comment.
    """

    def __init__(self, values: np.ndarray, columns: np.ndarray, layout: SignalLayout | None = None):
        self.values = values
        layout = SignalLayout(columns) if layout is None else layout
        self.position, self._sorted, self._columns = layout.position, layout.order, layout.sorted_columns

    def __getitem__(self, key: tuple[int, int]) -> float:
        row, column = key
        number = self.position.get(int(column))
        return 0.0 if number is None else float(self.values[row, number])

    def at(self, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """``self[row, column]`` for each pair at once."""
        where = np.minimum(np.searchsorted(self._columns, columns), max(len(self._columns) - 1, 0))
        found = self._columns[where] == columns if len(self._columns) else np.zeros(len(columns), dtype=bool)
        out = np.zeros(len(columns))
        out[found] = self.values[rows[found], self._sorted[where[found]]]
        return out


class SignalLayout:
    """A model's signal columns, with each one's block weight and scale and where to find it: built
    once per model (``FeatureIndex.signals``) rather than for every batch (57 -> 30 us of a one-comment
    check, median of 2,000)."""

    def __init__(self, columns: np.ndarray, weights: np.ndarray | None = None, scales: np.ndarray | None = None):
        self.columns = np.asarray(columns, dtype=np.int64)
        self.weights, self.scales = weights, scales
        self.position = {int(column): number for number, column in enumerate(self.columns)}
        self.order = np.argsort(self.columns)
        self.sorted_columns = self.columns[self.order]

    @classmethod
    def for_model(cls, model: ScoringModel) -> SignalLayout:
        columns, weights, scales = [], [], []
        for start, width, weight, scale in model.signal_blocks():
            columns.append(np.arange(start, start + width))
            weights.append(np.full(width, weight))
            scales.append(scale)
        if not columns:
            return cls(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
        return cls(np.concatenate(columns), np.concatenate(weights), np.concatenate(scales))


def _raw_signal_values(model: ScoringModel, matrix, layout: SignalLayout | None = None) -> SignalValues:
    """Undo each signal block's weight and scaler, so reasons can quote real values (a count, a similarity)."""
    layout = SignalLayout.for_model(model) if layout is None else layout
    if not len(layout.columns):
        return SignalValues(np.zeros((matrix.shape[0], 0)), layout.columns, layout)
    # The scaler's inverse_transform, without its per-call checks: (value / weight) * scale.
    values = model.columns(matrix, layout.columns) / layout.weights * layout.scales
    return SignalValues(values, layout.columns, layout)


def raw_scale(model: ScoringModel, width: int | None = None) -> np.ndarray:
    """Per column, the factor from the model's scaled and weighted value back to the raw signal (1 for n-grams)."""
    scale = np.ones(model.width if width is None else width)
    for start, block_width, weight, block_scale in model.signal_blocks():
        scale[start : start + block_width] = block_scale / weight
    return scale


class FeatureIndex:
    """What reasons need to know about a model's columns, built once per model.

    Looking names up per comment (comparing 50,000 names for each reason) held WordPress-export
    scoring to 45 comments/s. Whether an n-gram column's term speaks is found when a batch first
    meets the column, and kept: all 104,054 columns of the shipped model at once took 88 ms, which
    a one-comment ``moderation score`` would pay at every cold start.
    """

    def __init__(self, names: np.ndarray, block: np.ndarray | None = None, signals: SignalLayout | None = None):
        self.names = names
        self.signals = signals
        self.blocks = list(_BLOCKS)
        if block is None:
            namespaces = np.array([str(name).partition(":")[0] for name in names], dtype=object)
            block = np.full(len(names), -1, dtype=np.int8)
            for number, namespace in enumerate(self.blocks):
                block[namespaces == namespace] = number
        self.block = block
        self.silent = np.zeros(len(names), dtype=bool)
        self.only_toward_ham = np.zeros(len(names), dtype=bool)
        for column in np.flatnonzero(block < 0).tolist():
            name = str(names[column])
            self.silent[column] = name in _SILENT
            self.only_toward_ham[column] = name in _ONLY_TOWARD_HAM
        # -1: not known yet. Threads sharing a Moderator may fill in the same column at once; each
        # writes the same value, so no lock is needed.
        self._speaks = np.full(len(names), -1, dtype=np.int8)
        self._phrases: dict[int, str] = {}
        self._terms: dict[int, str] = {}

    @classmethod
    def for_model(cls, model: ScoringModel) -> FeatureIndex:
        """The index of a model's columns, with blocks taken from its n-gram blocks' namespaces rather
        than from parsing every name."""
        block = np.full(model.width, -1, dtype=np.int8)
        for start, part in model.block_ranges():
            namespace = getattr(part, "namespace", None)
            if namespace in _BLOCKS:
                block[start : start + part.width] = list(_BLOCKS).index(namespace)
        return cls(model.feature_names, block, SignalLayout.for_model(model))

    def term(self, column: int) -> str:
        """An n-gram column's term, without its namespace; kept once found (a batch's reasons quote
        about 6 terms a comment, 2.3 us each split from its name every time)."""
        term = self._terms.get(column)
        if term is None:
            term = self._terms[column] = str(self.names[column]).partition(":")[2]
        return term

    def speaks(self, columns: np.ndarray) -> np.ndarray:
        """Per n-gram column, whether its term says something to a person (``_speaks``)."""
        flags = self._speaks[columns]
        unknown = flags < 0
        if unknown.any():
            for column in np.unique(columns[unknown]).tolist():
                self._speaks[column] = _speaks(self.blocks[self.block[column]], self.term(column))
            flags = self._speaks[columns]
        return flags == 1

    def speaks_one(self, column: int) -> bool:
        """``speaks`` for one column."""
        flag = self._speaks[column]
        if flag < 0:
            flag = self._speaks[column] = _speaks(self.blocks[self.block[column]], self.term(column))
        return flag == 1

    def phrase(self, column: int, value: float) -> str:
        """A signal column's phrase for its raw ``value``."""
        template = self._phrases.get(column)
        if template is None:
            key = str(self.names[column])
            template = self._phrases[column] = _PHRASES.get(key, key + " ({v:.2f})")
        if "{n" not in template:
            return template.format(v=value, p=100 * value)
        return template.format(v=value, p=100 * value, n=max(round(math.expm1(value)), 0))


Explanation = tuple[list[str], list[tuple[str, float]]]

# Fewer rows than this are explained one by one (~75 us a row). With one stable selection per block
# (bb6de62) a batch pass costs less than the tie emulation before it: benchmark rows, median per call,
# 4 rows 439 us batched / 303 one by one, 8 rows 555 / 574, 16 rows 790 / 1,144, 32 rows 1,214 / 2,287.
ROW_BY_ROW_BELOW = 8


def reasons_for(
    row: int,
    contrib: sp.csr_matrix,
    index: FeatureIndex,
    raw: SignalValues,
    *,
    toward_spam: bool,
    limit: int = 3,
) -> Explanation:
    """The ``limit`` strongest reasons pushing the score the way the verdict went, in words, and the
    ten strongest contributions either way as evidence: ``explain_rows`` for one row."""
    return explain_rows(contrib, index, raw, np.array([toward_spam]), rows=np.array([row]), limit=limit)[0]


def explain_rows(
    contrib: sp.csr_matrix,
    index: FeatureIndex,
    raw: SignalValues,
    toward_spam: np.ndarray,
    *,
    rows: np.ndarray | None = None,
    limit: int = 3,
) -> list[Explanation]:
    """Reasons and evidence for each row of ``contrib`` (or each of ``rows``), in one pass over them all.

    ``toward_spam``: per row explained, whether its verdict went toward spam. Each n-gram block speaks
    as one reason, with its three strongest terms that point the verdict's way (among its 40
    strongest); terms pointing the other way are evidence too, but listing them under this reason
    would contradict it. Each signal feature is a reason of its own. Evidence: the ten contributions
    of largest magnitude.

    Row by row (an argsort and masks per block, a name split and ``_speaks`` per term) this took 41%
    of batch scoring with reasons (benchmarks/README.md, bench_speed).

    Equal strengths are common (n-grams that always occur together get equal weights) and go in
    column order, here and row by row: a stable sort's order. numpy's default sort orders equal keys
    one way on a CPU with AVX-512 and others without it (numpy 2.4: three orders of the same array
    under NPY_DISABLE_CPU_FEATURES), so reasons quoted by np.argsort's order changed with the machine.
    """
    indptr = np.asarray(contrib.indptr, dtype=np.int64)
    if rows is None:
        rows = np.arange(len(indptr) - 1)
        counts = np.diff(indptr)
        cols, vals = np.asarray(contrib.indices), np.asarray(contrib.data)
    else:
        rows = np.asarray(rows, dtype=np.int64)
        counts = indptr[rows + 1] - indptr[rows]
        take = ranges(indptr[rows], counts)
        cols, vals = np.asarray(contrib.indices)[take], np.asarray(contrib.data)[take]
    n = len(rows)
    toward_spam = np.asarray(toward_spam, dtype=bool)
    starts = np.cumsum(counts) - counts
    if n < ROW_BY_ROW_BELOW:
        return [
            _explain_one(row, cols[start : start + count], vals[start : start + count], index, raw, spam, limit)
            for row, start, count, spam in zip(
                rows.tolist(), starts.tolist(), counts.tolist(), toward_spam.tolist(), strict=True
            )
        ]
    row_of = np.repeat(np.arange(n), counts)
    strength = vals * np.where(toward_spam, 1.0, -1.0)[row_of]
    pushes = strength > 0
    block = index.block[cols]

    # One candidate reason per n-gram block with terms to show: per block and row, its strength (the
    # sum of its entries that push the verdict's way) and its terms.
    nblocks = len(index.blocks)
    block_strength = np.zeros((nblocks, n))
    block_terms: list[list[list[str]]] = []
    for number in range(nblocks):
        entries = np.flatnonzero(pushes & (block == number))
        row_counts = np.bincount(row_of[entries], minlength=n)
        row_starts = np.cumsum(row_counts) - row_counts
        block_strength[number] = _segment_sums(strength[entries], row_starts, row_counts)
        chosen = _chosen(index, cols[entries], -strength[entries], row_starts, row_counts)
        shown = chosen >= 0
        terms = [index.term(column) for column in cols[entries[chosen[shown]]].tolist()]
        counts_chosen = shown.sum(axis=1).tolist()
        ends = np.cumsum(counts_chosen).tolist()
        per_row = [terms[end - count : end] for end, count in zip(ends, counts_chosen, strict=True)]
        block_terms.append(per_row)
    block_has = np.array([[bool(terms) for terms in per_row] for per_row in block_terms], dtype=bool).reshape(
        nblocks, n
    )
    # Character n-grams carry much of the weight but read poorly ("'iting'"): their strength goes to
    # the wording reason when it has words to show, and they speak for themselves only when it has
    # none (spun or foreign text).
    word, char = index.blocks.index("word"), index.blocks.index("char")
    both = block_has[word] & block_has[char]
    block_strength[word] = np.where(both, block_strength[word] + block_strength[char], block_strength[word])
    block_has[char] &= ~both

    signal_entries = np.flatnonzero(pushes & (block < 0))
    signal_cols = cols[signal_entries]
    silent = index.silent[signal_cols] | (toward_spam[row_of[signal_entries]] & index.only_toward_ham[signal_cols])
    signal_entries = signal_entries[~silent]
    block_rows, block_kinds = np.nonzero(block_has.T)
    # Candidates by row, strongest first; equal strengths in the order the reasons were found in
    # (blocks, then signals by column), as Python's stable sort left them.
    candidate_rows = np.concatenate([block_rows, row_of[signal_entries]])
    candidate_strength = np.concatenate([block_strength[block_kinds, block_rows], strength[signal_entries]])
    candidate_tie = np.concatenate([block_kinds, nblocks + signal_entries])
    candidate_kind = np.concatenate([block_kinds, np.full(len(signal_entries), -1)])  # -1: a signal
    candidate_entry = np.concatenate([np.zeros(len(block_rows), dtype=np.int64), signal_entries])
    order = np.lexsort((candidate_tie, -candidate_strength, candidate_rows))
    ranked_rows = candidate_rows[order]
    rank = np.arange(len(order)) - np.searchsorted(ranked_rows, ranked_rows)
    order = order[(rank < limit) & (candidate_strength[order] > 0.05)]
    entry = candidate_entry[order]
    values = raw.at(rows[row_of[entry]], cols[entry])

    reasons: list[list[str]] = [[] for _ in range(n)]
    spam = toward_spam.tolist()
    templates = [_BLOCKS[namespace] for namespace in index.blocks]
    phrase = index.phrase
    for row, kind, column, value in zip(
        candidate_rows[order].tolist(),
        candidate_kind[order].tolist(),
        cols[entry].tolist(),
        values.tolist(),
        strict=True,
    ):
        if kind < 0:
            reasons[row].append(phrase(column, value))
        else:
            quoted = "'" + "', '".join(block_terms[kind][row]) + "'"
            reasons[row].append(templates[kind][0 if spam[row] else 1].format(terms=quoted))

    # Evidence: the ten contributions of largest magnitude either way.
    top = _first(-np.abs(vals), starts, counts, 10)
    shown = top[top >= 0]
    evidence = list(zip(index.names[cols[shown]].tolist(), vals[shown].tolist(), strict=True))
    ends = np.cumsum(np.minimum(counts, 10)).tolist()
    return [
        (reasons[row], evidence[end - min(count, 10) : end])
        for row, (end, count) in enumerate(zip(ends, counts.tolist(), strict=True))
    ]


def _explain_one(
    row: int, cols: np.ndarray, vals: np.ndarray, index: FeatureIndex, raw: SignalValues, toward_spam: bool, limit: int
) -> Explanation:
    """``explain_rows`` for one row (``row`` of ``raw``, whose entries are ``cols`` and ``vals``), the
    way reasons were found before batches: for a handful of comments, one check or a short thread."""
    sign = 1.0 if toward_spam else -1.0
    blocks = index.block[cols]
    candidates: list[tuple[float, str, object]] = []
    for number, namespace in enumerate(index.blocks):
        mask = (blocks == number) & (vals * sign > 0)
        if not mask.any():
            continue
        block_cols, block_vals = cols[mask], vals[mask] * sign
        terms = []
        # Term by term, stopping at the third that speaks: a one-comment check meets mostly columns
        # not yet known to speak or not, and finding that for all 40 took 104 us a comment, not 72.
        for column in block_cols[np.argsort(-block_vals, kind="stable")[:40]].tolist():
            if index.speaks_one(column):
                terms.append(index.term(column))
                if len(terms) == 3:
                    break
        if terms:
            candidates.append((float(block_vals.sum()), namespace, terms))
    by_kind = {kind: (strength, detail) for strength, kind, detail in candidates}
    if "char" in by_kind and "word" in by_kind:
        candidates = [c for c in candidates if c[1] not in ("char", "word")]
        candidates.append((by_kind["word"][0] + by_kind["char"][0], "word", by_kind["word"][1]))
    for position in np.flatnonzero(blocks < 0).tolist():
        column = int(cols[position])
        strength = float(vals[position] * sign)
        if strength > 0 and not index.silent[column] and not (toward_spam and index.only_toward_ham[column]):
            candidates.append((strength, "signal", column))
    candidates.sort(key=lambda c: -c[0])
    reasons = []
    for strength, kind, detail in candidates[:limit]:
        if strength <= 0.05:
            break
        if kind == "signal":
            reasons.append(index.phrase(detail, raw[row, detail]))
        else:
            quoted = "'" + "', '".join(detail) + "'"
            reasons.append(_BLOCKS[kind][0 if toward_spam else 1].format(terms=quoted))
    strongest = np.argsort(-np.abs(vals), kind="stable")[:10]
    evidence = list(zip(index.names[cols[strongest]].tolist(), vals[strongest].tolist(), strict=True))
    return reasons, evidence


def _first(keys: np.ndarray, starts: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """For each segment ``keys[start : start + count]``, where its ``k`` smallest keys are, in order,
    equal keys in the order they come (a stable sort's first ``k``): segments x ``k``, -1 past a
    segment's end.

    Only the keys that can be among a segment's ``k`` smallest are sorted: in a segment of at least
    4k keys, the minima of 4k disjoint chunks are 4k of its keys, so the k-th smallest of them bounds
    its k-th smallest (a 2,000-comment batch's evidence: of 626,000 entries, 105,000 were sorted with
    the largest of k minima as the bound, 45,000 with this one). ``np.lexsort`` is stable: equal keys
    keep their places' order.
    """
    n = len(counts)
    out = np.full((n, k), -1, dtype=np.int64)
    if _ranking is not None and k:
        # One pass per segment keeping its k best (_ranking.c): the evidence of 2,000 benchmark
        # comments (313 entries a row, k = 10) 4.86 -> 0.89 us a row, median of 5.
        _ranking.first_k(
            np.ascontiguousarray(keys, dtype=np.float64),
            np.ascontiguousarray(starts, dtype=np.int64),
            np.ascontiguousarray(counts, dtype=np.int64),
            k,
            out,
        )
        return out
    total = int(counts.sum())
    if not total or not k:
        return out
    packed = np.cumsum(counts) - counts
    at = None
    if total != len(keys) or not np.array_equal(starts, packed):
        at = ranges(starts, counts)
        keys = keys[at]
    segment = np.repeat(np.arange(n), counts)
    chunks = 4 * k
    long = np.flatnonzero(counts >= chunks)
    if len(long):
        cuts = packed[long, None] + np.arange(chunks + 1) * counts[long, None] // chunks
        # The last cut only ends a segment's last chunk; past the end of the array it is the last place.
        cuts[:, -1] = np.minimum(cuts[:, -1], total - 1)
        least = np.minimum.reduceat(keys, cuts.ravel()).reshape(len(long), chunks + 1)[:, :chunks]
        bound = np.full(n, np.inf)
        bound[long] = np.partition(least, k - 1, axis=1)[:, k - 1]
        kept = np.flatnonzero(keys <= bound[segment])
    else:
        kept = np.arange(total)
    # Segments as 16-bit keys where they fit: numpy sorts those by radix.
    segment_keys = segment[kept].astype(np.uint16) if n <= 1 << 16 else segment[kept]
    kept = kept[np.lexsort((keys[kept], segment_keys))]
    segment = segment[kept]
    rank = np.arange(len(kept)) - np.searchsorted(segment, segment)
    first = rank < k
    out[segment[first], rank[first]] = kept[first] if at is None else at[kept[first]]
    return out


def _chosen(
    index: FeatureIndex, cols: np.ndarray, keys: np.ndarray, starts: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Per segment of ``keys`` (one row's entries of a block, strongest smallest, laid out one row
    after another), the places of the terms its reason shows: the first three that speak among its
    first 40 (by strength, equal strengths by column); -1 where there are fewer.

    Only terms that speak are ranked (38% of the character n-grams of a benchmark batch); a term
    shown must then have fewer than 40 entries before it: stronger ones, or equally strong ones at
    an earlier column.
    """
    rows = len(counts)
    row_of = np.repeat(np.arange(rows), counts)
    speaking = np.flatnonzero(index.speaks(cols))
    speaking_counts = np.bincount(row_of[speaking], minlength=rows)
    top = _first(keys[speaking], np.cumsum(speaking_counts) - speaking_counts, speaking_counts, 3)
    chosen = np.full((rows, 3), -1, dtype=np.int64)
    found = top >= 0
    chosen[found] = speaking[top[found]]
    # A term shown must have fewer than 40 entries before it. Rows where at most 40 entries are as
    # strong as their last term shown are sure; the few others are counted exactly, term by term.
    shown = found.sum(axis=1)
    crowded = np.flatnonzero((counts > 40) & (shown > 0))
    if len(crowded):
        last = chosen[crowded, shown[crowded] - 1]
        bound = np.full(rows, -np.inf)
        bound[crowded] = keys[last]
        as_strong = np.bincount(row_of[keys <= bound[row_of]], minlength=rows)
        for row in crowded[as_strong[crowded] > 40].tolist():
            segment = keys[starts[row] : starts[row] + counts[row]]
            for place in range(int(shown[row])):
                key, at = keys[chosen[row, place]], chosen[row, place] - starts[row]
                if np.count_nonzero(segment < key) + np.count_nonzero(segment[:at] == key) >= 40:
                    chosen[row, place:] = -1
                    break
    return chosen


def _segment_sums(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``values[start : start + count].sum()`` for each segment, bit for bit.

    numpy sums pairwise, and ``np.add.reduceat`` adds in sequence (different last bits, so a different
    order of two near-equal reasons); rows of one length summed as a 2-D array sum pairwise like one.
    """
    out = np.zeros(len(counts))
    by_length = np.argsort(counts, kind="stable")
    lengths = counts[by_length]
    bounds = np.flatnonzero(np.diff(lengths)) + 1
    for group in np.split(by_length, bounds):
        length = int(counts[group[0]]) if len(group) else 0
        if length:
            out[group] = values[starts[group, None] + np.arange(length)].sum(axis=1)
    return out


def _speaks(namespace: str, term: str) -> bool:
    """Whether a term says something to a person.

    Not 'the' or ' th', which carry weight but no meaning; not the placeholders and masks the model
    reads instead of the text ("site_online", "_url_", "0th" for "10th"), which a person cannot
    match to anything they wrote (issue 9).
    """
    if "0" in term or "_" in term:
        return False
    if namespace == "char":
        return len(term.strip()) >= 4 and not set(term.split()) <= _STOP_TERMS
    return not set(term.split()) <= _STOP_TERMS


_STOP_TERMS = set(ENGLISH_STOP_WORDS) | {"0", "s", "t", "ll", "ve", "d", "m", "re", "_url_", "_email_"}
