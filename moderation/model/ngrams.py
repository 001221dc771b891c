"""Word and character n-gram counts of a whole batch with numpy, identical to scikit-learn's.

scikit-learn's analyzers build every n-gram of every comment as a Python string and look it up in a
dict: on blog comments that was 36% of scoring time for the character block and 8% for the word block
(issue 10). Here a fitted vectorizer's vocabulary is encoded once as sorted integer codes; a batch is
turned into one array of symbol ids (characters, or tokens for the word analyzer), every n-gram of
length n is the rolling code ``code[n-1] << bits | id`` over the whole array, and one ``searchsorted``
maps codes to columns. Python still runs once per comment (decoding, preprocessing, tokenizing with the
vectorizer's own functions), never once per n-gram.

Only transform uses this: fitting stays scikit-learn's, so the vocabulary and idf, and the saved
model, do not change. The counts are the same matrix ``CountVectorizer.transform`` builds (same
values, sorted indices, no duplicates), and the TF-IDF weighting and normalisation are scikit-learn's
own ``_tfidf.transform`` on it, so the output is bit-identical (tests/test_ngrams.py). A configuration
this module does not reproduce exactly (a callable analyzer, a custom tokenizer or token pattern with
word n-grams longer than one, an alphabet too large to pack) falls back to ``vectorizer.transform``.

Codes are exact, not hashes: symbols known to the vocabulary get ids 1..A, unknown ones 0, and an
n-gram's code is its ids in base ``2**bits``. Because no vocabulary symbol has id 0, a code whose first
symbol is known has exactly n digits and equals a vocabulary code only if it is that very n-gram; a
window starting on an unknown symbol is skipped, and one with an unknown symbol inside has a 0 digit
that no vocabulary code has.
"""

from __future__ import annotations

import re
import threading
import weakref
from itertools import chain, repeat

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

try:  # scikit-learn >= 1.8 returns sparse arrays or matrices as configured; match what transform returns.
    from sklearn.utils._sparse import _align_api_if_sparse
except ImportError:  # pragma: no cover - older scikit-learn always returned spmatrix

    def _align_api_if_sparse(X):
        return sp.csr_matrix(X)


__all__ = ["NgramCounter", "counter_for", "transform"]

# Token patterns whose tokens never contain a space, so that a vocabulary entry "a b" splits back into
# its tokens exactly (scikit-learn joins word n-grams with one space). The first is scikit-learn's
# default, the second ours (features.TextNgrams).
_SPACELESS_TOKEN_PATTERNS = frozenset({r"(?u)\b\w\w+\b", r"(?u)\b\w+\b"})
# scikit-learn's whitespace normalisation for the "char" analyzer (CountVectorizer._white_spaces).
_WHITE_SPACES = re.compile(r"\s\s+")
# Symbols per chunk: bounds the working arrays (about 8 bytes x a few arrays per symbol) whatever the
# batch size, and keeps them in cache.
CHUNK_SYMBOLS = 1 << 19
# Below this many documents, scikit-learn's own transform counts words faster: this module's fixed
# cost per call (about 80 us of numpy and scipy calls) outweighs its analyzer's per-token cost. Per
# call with the shipped model, scikit-learn/numpy: 1 text 373/452 us, 4 texts 513/535, 8 texts
# 660/597, 32 texts 1469/994. The character block is faster here from one text (540/517 us).
SMALL_WORD_BATCH = 8
# Documents per chunk at most, so that a row index fits the 16-bit radix sort in NgramCounter._block.
MAX_CHUNK_DOCS = 1 << 16


class NgramCounter:
    """Counts the n-grams of a fitted vectorizer's vocabulary in a batch of documents.

    Build it with ``counter_for(vectorizer)``, which returns None for configurations it cannot
    reproduce exactly.
    """

    def __init__(self, vectorizer: CountVectorizer, *, analyzer: str, bits: int, codes, columns, symbols):
        self.analyzer = analyzer
        self.min_n, self.max_n = vectorizer.ngram_range
        self.n_features = len(vectorizer.vocabulary_)
        self.binary = vectorizer.binary
        self.dtype = vectorizer.dtype
        self._bits = np.uint64(bits)
        self._table = _CodeTable(codes, columns)
        self._symbols = symbols  # char: lookup table code point -> id; word: dict token -> id
        self._decode = vectorizer.decode
        self._preprocess = vectorizer.build_preprocessor()
        if analyzer == "word":
            self._tokenize = vectorizer.build_tokenizer()
            stop = vectorizer.get_stop_words()
            self._stop_words = frozenset(stop) if stop else None

    # ----------------------------------------------------------------------------------------------
    def counts(self, documents) -> sp.csr_array:
        """The count matrix ``CountVectorizer.transform(documents)`` returns, before API alignment."""
        docs = [self._preprocess(self._decode(doc)) for doc in documents]
        if self.analyzer == "word":
            return self._word_counts(docs)
        return self._char_counts(docs)

    def _finish(self, blocks: list[sp.csr_array], n_docs: int) -> sp.csr_array:
        if not blocks:
            X = sp.csr_array((n_docs, self.n_features), dtype=self.dtype)
        elif len(blocks) == 1:
            X = blocks[0]
        else:
            X = sp.vstack(blocks, format="csr")
        if self.binary:
            X.data.fill(1)
        X.sort_indices()
        return X

    def _block(self, rows: list[np.ndarray], cols: list[np.ndarray], n_docs: int) -> sp.csr_array:
        """The counts of one chunk as CSR with sorted indices and no duplicates, as CountVectorizer
        leaves them. Sorting (row, column) pairs with numpy's 16-bit radix sorts took a third of the
        time scipy's COO conversion and per-row index sort did (110 vs 180 ms for 3M pairs)."""
        rows_ = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        cols_ = np.concatenate(cols) if cols else np.zeros(0, np.int64)
        if n_docs <= 1 << 16 and self.n_features <= 1 << 16:
            order = np.lexsort((cols_.astype(np.uint16), rows_.astype(np.uint16)))
        else:
            order = np.argsort(rows_ * self.n_features + cols_, kind="stable")
        rows_, cols_ = rows_[order], cols_[order]
        first = np.ones(len(rows_), dtype=bool)
        first[1:] = (rows_[1:] != rows_[:-1]) | (cols_[1:] != cols_[:-1])
        starts = np.flatnonzero(first)
        counts = np.diff(np.append(starts, len(rows_)))
        index_dtype = np.int32 if len(starts) <= np.iinfo(np.int32).max else np.int64
        indptr = np.zeros(n_docs + 1, dtype=index_dtype)
        np.cumsum(np.bincount(rows_[starts], minlength=n_docs), out=indptr[1:])
        return sp.csr_array(
            (counts.astype(self.dtype), cols_[starts].astype(index_dtype), indptr), shape=(n_docs, self.n_features)
        )

    def _lookup(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(which of ``codes`` are vocabulary entries, their columns); code 0 is never one."""
        return self._table.find(codes)

    def _windows(self, ids: np.ndarray, room: np.ndarray, row_of_symbol: np.ndarray, short: tuple | None):
        """Rows and columns of every vocabulary n-gram among the windows of ``ids``.

        ``room[p]`` is how many symbols from p on stay in p's word (char_wb) or document, 0 where
        ``ids[p]`` is unknown: a window of n symbols from p counts when ``room[p] >= n``. ``short`` is
        (starts, lengths) of padded words shorter than min_n, counted whole once (char_wb's rule).
        """
        rows, cols = [], []
        code = ids
        for n in range(1, self.max_n + 1):
            if n > len(ids):
                break
            if n > 1:
                code = (code[:-1] << self._bits) | ids[n - 1 :]
            if n < self.min_n:
                if short is not None:
                    at = short[0][short[1] == n]
                    hit, col = self._lookup(code[at])
                    rows.append(row_of_symbol[at[hit]])
                    cols.append(col)
                continue
            at = np.flatnonzero(room >= n)
            hit, col = self._lookup(code[at])
            rows.append(row_of_symbol[at[hit]])
            cols.append(col)
        return rows, cols

    # ----------------------------------------------------------------------------------------------
    def _char_counts(self, docs: list[str]) -> sp.csr_array:
        if self.analyzer == "char_wb":
            # _char_wb_ngrams: runs of whitespace become one space, then each word of split() is
            # padded with a space on each side. \s in re and str.split() share Python's definition of
            # whitespace, so split() alone gives the same words. The padded words are laid out back to
            # back (" w1  w2 "), so a window is inside a word when its first and last symbols are.
            words_of = [doc.split() for doc in docs]
            pieces = [" " + "  ".join(words) + " " if words else "" for words in words_of]
        else:
            words_of = None
            pieces = [_WHITE_SPACES.sub(" ", doc) for doc in docs]
        lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        lut = self._symbols
        blocks = []
        for first, last in _chunks(lengths):
            text = "".join(pieces[first:last])
            points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
            ids = lut[np.minimum(points, len(lut) - 1)]
            n_docs = last - first
            row_of_symbol = np.repeat(np.arange(n_docs), lengths[first:last])
            if words_of is None:
                room = _room(lengths[first:last], ids)
                rows, cols = self._windows(ids, room, row_of_symbol, None)
            else:
                word_lengths = np.fromiter(map(len, chain.from_iterable(words_of[first:last])), dtype=np.int64) + 2
                starts = np.cumsum(word_lengths) - word_lengths
                room = _room(word_lengths, ids)
                # A padded word has at least 3 symbols: none is short unless min_n > 3.
                short = (starts, word_lengths) if self.min_n > 3 else None
                rows, cols = self._windows(ids, room, row_of_symbol, short)
            blocks.append(self._block(rows, cols, n_docs))
        return self._finish(blocks, len(docs))

    def _word_counts(self, docs: list[str]) -> sp.csr_array:
        token_lists = [self._tokenize(doc) for doc in docs]
        if self._stop_words is not None:
            stop = self._stop_words
            token_lists = [[t for t in tokens if t not in stop] for tokens in token_lists]
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
        get = self._symbols.get
        blocks = []
        for first, last in _chunks(lengths):
            tokens = list(chain.from_iterable(token_lists[first:last]))
            ids = np.fromiter(map(get, tokens, repeat(0)), dtype=np.uint64, count=len(tokens))
            n_docs = last - first
            doc_of_token = np.repeat(np.arange(n_docs), lengths[first:last])
            rows, cols = self._windows(ids, _room(lengths[first:last], ids), doc_of_token, None)
            blocks.append(self._block(rows, cols, n_docs))
        return self._finish(blocks, len(docs))


def _room(group_lengths: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Per symbol, how many symbols from it to the end of its group (0 where the symbol is unknown)."""
    ends = np.cumsum(group_lengths)
    room = np.repeat(ends, group_lengths) - np.arange(ends[-1] if len(ends) else 0)
    room[ids == 0] = 0
    return room


def _chunks(lengths: np.ndarray):
    """(first, last) document ranges of about CHUNK_SYMBOLS symbols each (a long document alone)."""
    total = np.cumsum(lengths)
    first = 0
    n = len(lengths)
    while first < n:
        base = total[first - 1] if first else 0
        last = int(np.searchsorted(total, base + CHUNK_SYMBOLS, side="right"))
        last = min(max(last, first + 1), first + MAX_CHUNK_DOCS)
        yield first, min(last, n)
        first = last


# --------------------------------------------------------------------------------------------------
# Building a counter from a fitted vectorizer, once per vectorizer.

_COUNTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_UNSUPPORTED = object()
_LOCK = threading.Lock()


def counter_for(vectorizer: CountVectorizer) -> NgramCounter | None:
    """The counter for a fitted vectorizer, built on first use; None if this module cannot match it."""
    with _LOCK:
        counter = _COUNTERS.get(vectorizer)
    if counter is None:
        counter = _build(vectorizer) or _UNSUPPORTED
        with _LOCK:
            _COUNTERS[vectorizer] = counter
    return None if counter is _UNSUPPORTED else counter


def transform(vectorizer: CountVectorizer, documents) -> sp.csr_array | sp.csr_matrix:
    """``vectorizer.transform(documents)``, counted with numpy when the configuration allows it."""
    if not isinstance(documents, list):
        documents = list(documents)
    counter = counter_for(vectorizer)
    if counter is None or (counter.analyzer == "word" and len(documents) < SMALL_WORD_BATCH):
        return vectorizer.transform(documents)
    X = counter.counts(documents)
    if isinstance(vectorizer, TfidfVectorizer):
        # The vectorizer's own fitted TfidfTransformer, as TfidfVectorizer.transform calls it.
        return vectorizer._tfidf.transform(X, copy=False)
    return _align_api_if_sparse(X)


def _build(vectorizer: CountVectorizer) -> NgramCounter | None:
    vocabulary = getattr(vectorizer, "vocabulary_", None)
    if not isinstance(vectorizer, CountVectorizer) or not vocabulary or vectorizer.input != "content":
        return None
    min_n, max_n = vectorizer.ngram_range
    if not 1 <= min_n <= max_n:
        return None
    analyzer = vectorizer.analyzer
    if analyzer in ("char", "char_wb"):
        return _build_char(vectorizer, vocabulary, analyzer, max_n)
    if analyzer == "word":
        spaceless = vectorizer.tokenizer is None and vectorizer.token_pattern in _SPACELESS_TOKEN_PATTERNS
        if max_n > 1 and not spaceless:
            return None
        return _build_word(vectorizer, vocabulary, max_n)
    return None  # a callable analyzer


def _build_char(vectorizer, vocabulary: dict, analyzer: str, max_n: int) -> NgramCounter | None:
    terms = [term for term in vocabulary if 0 < len(term) <= max_n]
    if not terms:
        return None
    points = np.frombuffer("".join(terms).encode("utf-32-le", "surrogatepass"), dtype="<u4")
    alphabet = np.unique(points)
    bits = int(len(alphabet)).bit_length()
    if bits * max_n > 64:
        return None
    lut = np.zeros(int(alphabet[-1]) + 2, dtype=np.uint64)  # the last entry: every larger code point
    lut[alphabet] = np.arange(1, len(alphabet) + 1, dtype=np.uint64)
    lengths = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
    codes = _pack(lut[points], lengths, bits)
    columns = np.fromiter(map(vocabulary.__getitem__, terms), dtype=np.int64, count=len(terms))
    return _counter(vectorizer, analyzer, bits, codes, columns, lut)


def _build_word(vectorizer, vocabulary: dict, max_n: int) -> NgramCounter | None:
    terms = list(vocabulary)
    columns = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(terms))
    if max_n == 1:
        parts = terms
        lengths = np.ones(len(terms), dtype=np.int64)
    else:
        # Tokens of the spaceless patterns contain no space, so one split of the vocabulary joined by
        # spaces gives every term's tokens in order (a loop splitting each of 64,054 terms took 77 ms
        # of the 143 ms it took to build this counter on the shipped model).
        parts = " ".join(terms).split(" ")
        lengths = np.fromiter(map(str.count, terms, repeat(" ")), dtype=np.int64, count=len(terms)) + 1
    tokens = {token: number for number, token in enumerate(dict.fromkeys(parts), start=1)}
    bits = len(tokens).bit_length()
    if bits * max_n > 64:
        return None
    ids = np.fromiter(map(tokens.__getitem__, parts), dtype=np.uint64, count=len(parts))
    keep = lengths <= max_n  # a longer term (a vocabulary given by hand) is never produced
    codes = _pack(ids[np.repeat(keep, lengths)], lengths[keep], bits)
    return _counter(vectorizer, "word", bits, codes, columns[keep], tokens)


def _pack(ids: np.ndarray, lengths: np.ndarray, bits: int) -> np.ndarray:
    """Each term's code: its symbol ids (laid out one term after another) as digits in base 2**bits."""
    starts = np.cumsum(lengths) - lengths
    place = np.repeat(starts + lengths - 1, lengths) - np.arange(len(ids))  # digits after this one
    return np.add.reduceat(ids << (place.astype(np.uint64) * np.uint64(bits)), starts)


def _counter(vectorizer, analyzer, bits, codes, columns, symbols) -> NgramCounter:
    return NgramCounter(vectorizer, analyzer=analyzer, bits=bits, codes=codes, columns=columns, symbols=symbols)


class _CodeTable:
    """An open-addressing hash table from n-gram code to column, probed for a whole array at once.

    On 10,575 blog comments ``searchsorted`` against the 40,000 sorted character codes was 37% of the
    character block (16 dependent reads per lookup); here most lookups end at the first slot.
    Linear probing, built in rounds: a code lands in the first free slot from its hash, so looking it
    up meets no empty slot before it.
    """

    _MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of code x phi

    def __init__(self, codes: np.ndarray, columns: np.ndarray):
        codes = np.asarray(codes, dtype=np.uint64)
        if len(np.unique(codes)) != len(codes) or (codes == 0).any():
            # Distinct terms have distinct codes, and none is 0; counting the wrong column would be silent.
            raise AssertionError("n-gram codes are not distinct")
        slots_log2 = max(int(4 * len(codes)).bit_length(), 4)  # load factor at most 1/4
        self._shift = np.uint64(64 - slots_log2)
        self._mask = (1 << slots_log2) - 1
        self.keys = np.zeros(1 << slots_log2, dtype=np.uint64)  # 0: empty
        self.columns = np.zeros(1 << slots_log2, dtype=np.int64)
        home = self._home(codes)
        pending = np.arange(len(codes))
        self.probes = 0
        while len(pending):
            slot = (home[pending] + self.probes) & self._mask
            free = self.keys[slot] == 0
            # Among codes wanting the same free slot, the first takes it; the rest probe on.
            _, first = np.unique(slot[free], return_index=True)
            taken = np.flatnonzero(free)[first]
            self.keys[slot[taken]] = codes[pending[taken]]
            self.columns[slot[taken]] = columns[pending[taken]]
            pending = np.delete(pending, taken)
            self.probes += 1

    def _home(self, codes: np.ndarray) -> np.ndarray:
        return ((codes * self._MULTIPLIER) >> self._shift).astype(np.int64)

    def find(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        slot = self._home(codes)
        key = self.keys[slot]
        hit = key == codes
        # The few codes whose home slot holds another code probe on (load factor 1/4).
        more = np.flatnonzero(~hit & (key != 0))
        for _ in range(self.probes - 1):
            if not len(more):
                break
            slot[more] = (slot[more] + 1) & self._mask
            key = self.keys[slot[more]]
            found = key == codes[more]
            hit[more[found]] = True
            more = more[~found & (key != 0)]
        return hit, self.columns[slot[hit]]
