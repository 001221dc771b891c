"""Word and character n-gram counts of a whole batch with numpy, identical to scikit-learn's.

scikit-learn's analyzers build every n-gram of every comment as a Python string and look it up in a
dict: on blog comments that was 36% of scoring time for the character block and 8% for the word block
(issue 10). Here a fitted vectorizer's vocabulary is encoded once as sorted integer codes; a batch is
turned into one array of symbol ids (characters, or tokens for the word analyzer), every n-gram of
length n is the rolling code ``code[n-1] << bits | id`` over the whole array, and one ``searchsorted``
maps codes to columns. Python still runs once per comment (decoding, preprocessing, tokenizing with the
vectorizer's own functions), never once per n-gram.

Only transform uses this: fitting stays scikit-learn's, so the vocabulary and idf, and the saved
model, do not change. ``Tfidf`` is the vocabulary-and-idf form used for scoring, by the pipeline's
transformers and by the parameter file alike, without importing scikit-learn: it counts with
``NgramCounter`` (or in Python for a few word documents, or a vocabulary that does not pack), then
weights and normalises as ``TfidfTransformer.transform`` does, operation for operation, so its output
is bit-identical to the vectorizer's (tests/test_ngrams.py). ``transform(vectorizer, ...)`` serves any
other fitted vectorizer: the counts are the same matrix ``CountVectorizer.transform`` builds (same
values, sorted indices, no duplicates), weighted by the vectorizer's own ``_tfidf``; a configuration
the counter does not reproduce (a callable analyzer, a custom tokenizer or token pattern with word
n-grams longer than one, an alphabet too large to pack) falls back to ``vectorizer.transform``.

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
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

try:  # built by setup.py where a C compiler is found; without it the numpy form counts, to the same bit
    from moderation.model import _ngramcount as _compiled
except ImportError:  # pragma: no cover - exercised by tests that set _compiled to None
    _compiled = None

__all__ = ["NgramCounter", "Tfidf", "build_counter", "counter_for", "tfidf", "tfidf_for", "transform"]

# Token patterns whose tokens never contain a space, so that a vocabulary entry "a b" splits back into
# its tokens exactly (scikit-learn joins word n-grams with one space). The first is scikit-learn's
# default, the second ours (features.TextNgrams).
_SPACELESS_TOKEN_PATTERNS = frozenset({r"(?u)\b\w\w+\b", r"(?u)\b\w+\b"})
# Tokenizers the compiled loop reproduces, by token pattern: runs of \w (the re module's, on str) of at
# least one or two characters; 3 is str.split's whitespace (the "split" analyzer).
TOKEN_RULES = {r"(?u)\b\w+\b": 1, r"(?u)\b\w\w+\b": 2, "split": 3}
# scikit-learn's whitespace normalisation for the "char" analyzer (CountVectorizer._white_spaces).
_WHITE_SPACES = re.compile(r"\s\s+")
# Symbols per chunk: bounds the working arrays (about 8 bytes x a few arrays per symbol) whatever the
# batch size, and keeps them in cache.
CHUNK_SYMBOLS = 1 << 19
# Below this many characters in a call, counting n-gram by n-gram in Python is faster than this
# module's numpy counter, whose fixed cost per call is some 30 numpy and scipy calls: the Python cost
# follows the text's length, so the crossing is set in characters, not documents. Per call with the
# shipped model (median of 5), numpy/Python: words, blog comments (158 characters) 3 texts 141/129 us,
# 4 texts 163/173; short checks (71 characters) 8 texts 116/103, 12 texts 138/146. The post block's
# stems ("split"): blog comments (78 characters) 24 texts 162/156, 32 texts 184/208; short ones (45)
# 24 texts 92/84, 32 texts 98/110. Characters are faster in numpy from one text (142 against 215 us).
# The compiled loop's fixed cost is lower: counting one blog comment (162 characters), compiled/Python,
# words 31/41 us, characters 28/158; so it counts words from one text, and stems from about 300
# characters (1 text of 74 characters: 30.4/17.5 us; 4 texts, 400 characters: 32.7/36.5).
SMALL_BATCH_CHARS = {"word": 600, "split": 1500} if _compiled is None else {"split": 300}
# Documents a Tfidf counts in Python before it builds its numpy counter. With the shipped model, per
# blog comment, Python/numpy: words 63/21 us, characters 342/55 us; building the counter took 71 ms
# (words) and 31 ms (characters), paid back after about 1,700 and 110 comments. A `moderation score`
# of a small page or a service's first checks would otherwise wait for both (0.1 s of a 0.6 s run).
BUILD_COUNTER_AFTER = {"word": 1024, "split": 1024, "char": 128, "char_wb": 128}
# Documents per chunk at most, so that a row index fits the 16-bit radix sort in NgramCounter._block.
MAX_CHUNK_DOCS = 1 << 16


class NgramCounter:
    """Counts the n-grams of a fitted vectorizer's vocabulary in a batch of documents.

    Build it with ``counter_for(vectorizer)``, which returns None for configurations it cannot
    reproduce exactly.
    """

    def __init__(
        self,
        *,
        analyzer: str,
        ngram_range: tuple[int, int],
        n_features: int,
        bits: int,
        codes,
        columns,
        symbols,
        preprocess=None,
        tokenize=None,
        token_rule: int | None = None,
        stop_words=None,
        binary: bool = False,
        dtype=np.int64,
    ):
        self.analyzer = analyzer
        self.min_n, self.max_n = ngram_range
        self.n_features = n_features
        self.binary = binary
        self.dtype = dtype
        self._bits = np.uint64(bits)
        self._table = _CodeTable(codes, columns)
        self._symbols = symbols  # char: lookup table code point -> id; word: dict token -> id
        self._preprocess = preprocess  # None: documents are used as given
        self._tokenize = tokenize
        # What ``tokenize`` does, for the compiled loop to tokenize in C (TOKEN_RULES); None: only Python can.
        self._token_rule = token_rule if token_rule in TOKEN_RULES.values() else None
        self._stop_words = frozenset(stop_words) if stop_words else None
        self._tokens = None  # the compiled loop's token table, built on first use

    # ----------------------------------------------------------------------------------------------
    def counts(self, documents) -> sp.csr_array:
        """The count matrix ``CountVectorizer.transform(documents)`` returns, before API alignment."""
        return _as_csr(self.rows(documents))

    def rows(self, documents) -> sp.csr_array | Rows:
        """``counts``, or its arrays as ``Rows`` where they come from the compiled loop in one piece."""
        docs = list(documents) if self._preprocess is None else [self._preprocess(doc) for doc in documents]
        if self.analyzer == "word":
            return self._word_counts(docs)
        return self._char_counts(docs)

    def _finish(self, blocks: list, n_docs: int) -> sp.csr_array | Rows:
        if len(blocks) == 1 and isinstance(blocks[0], Rows):
            # Sorted and without duplicates already (the compiled loop); no CSR built, see Rows.
            if self.binary:
                blocks[0].data.fill(1)
            return blocks[0]
        blocks = [_as_csr(block) for block in blocks]
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

    def _compiled_block(self, ids: np.ndarray, groups: np.ndarray, docs: np.ndarray) -> sp.csr_array:
        """``_block`` of every window of ``ids`` by the compiled loop (_ngramcount.c): the same CSR, in
        one pass. ``groups`` are the lengths of the runs a window stays inside (padded words for
        char_wb, else documents), ``docs`` those of the documents."""
        return self._compiled_rows(
            len(docs),
            len(ids),
            lambda *out: _compiled.count(
                np.ascontiguousarray(ids, dtype=np.uint64),
                np.ascontiguousarray(groups, dtype=np.int64),
                np.ascontiguousarray(docs, dtype=np.int64),
                *self._table_arguments(),
                *out,
            ),
        )

    def _compiled_documents(self, docs: list[str], per_character: int, per_document: int, count) -> sp.csr_array | Rows:
        """The counts of ``docs`` by a compiled entry that reads the documents themselves, one chunk at a
        time: ``count(chunk, indptr, indices, data)``, for at most ``per_character`` symbols a character
        and ``per_document`` more a document."""
        lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        blocks = [
            self._compiled_rows(
                last - first,
                int(lengths[first:last].sum()) * per_character + per_document * (last - first),
                lambda *out, first=first, last=last: count(docs[first:last], *out),
            )
            for first, last in _chunks(lengths)
        ]
        return self._finish(blocks, len(docs))

    def _table_arguments(self) -> tuple:
        table = self._table
        return table.slots(), int(table._shift), int(self._bits), self.min_n, self.max_n, self.n_features

    def _compiled_rows(self, n_docs: int, symbols: int, count) -> Rows:
        """The CSR rows ``count(indptr, indices, data)`` writes for ``n_docs`` documents of at most
        ``symbols`` symbols in all, and returns the number of entries of."""
        capacity = symbols * (self.max_n - self.min_n + 1)
        indptr = np.empty(n_docs + 1, dtype=np.int64)
        indices = np.empty(capacity, dtype=np.int32)
        data = np.empty(capacity, dtype=np.int64)
        stored = count(indptr, indices, data)
        # Views of the first entries, not copies: a copy was 1.6 us per blog comment, most of it page
        # faults on fresh memory, and the matrix is short-lived (weighted into a new one by ``tfidf``).
        index_dtype = np.int32 if stored <= np.iinfo(np.int32).max else np.int64
        return Rows(
            data[:stored].astype(self.dtype, copy=False),
            indices[:stored].astype(index_dtype, copy=False),
            indptr.astype(index_dtype),
            (n_docs, self.n_features),
        )

    def _token_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The vocabulary's tokens for the compiled loop: their code points end to end, where each
        starts, and an open-addressing table of their ids by a hash of their code points."""
        if self._tokens is None:
            tokens = list(self._symbols)  # ids 1, 2, ... in order (_word_codes)
            if list(self._symbols.values()) != list(range(1, len(tokens) + 1)):
                raise AssertionError("token ids are not 1..n in order")
            points = np.frombuffer("".join(tokens).encode("utf-32-le", "surrogatepass"), dtype="<u4")
            offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
            np.cumsum(np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens)), out=offsets[1:])
            slots = np.zeros(1 << max(int(4 * len(tokens)).bit_length(), 4), dtype=np.int64)  # load at most 1/4
            points = np.ascontiguousarray(points, dtype=np.uint32)
            _compiled.token_slots(points, offsets, slots)
            self._tokens = (points, offsets, slots)
        return self._tokens

    def _lookup(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(which of ``codes`` are vocabulary entries, their columns); code 0 is never one."""
        return self._table.find(codes)

    def _windows(self, ids: np.ndarray, room: np.ndarray, row_of_symbol: np.ndarray, short: tuple | None):
        """Rows and columns of every vocabulary n-gram among the windows of ``ids``.

        ``room[p]`` is how many symbols from p on stay in p's word (char_wb) or document, 0 where
        ``ids[p]`` is unknown: a window of n symbols from p counts when ``room[p] >= n``. ``short`` is
        (starts, lengths) of padded words shorter than min_n, counted whole once (char_wb's rule).
        The windows of every n are looked up together: one probe of the table instead of one per n
        (one comment's character block 167 -> 142 us, 2,000 comments 25.2 -> 23.9 us each, median of 5;
        the order of the pairs is sorted away in _block).
        """
        rows, codes = [], []
        code = ids
        for n in range(1, self.max_n + 1):
            if n > len(ids):
                break
            if n > 1:
                code = (code[:-1] << self._bits) | ids[n - 1 :]
            if n < self.min_n:
                if short is not None:
                    at = short[0][short[1] == n]
                    rows.append(row_of_symbol[at])
                    codes.append(code[at])
                continue
            at = np.flatnonzero(room >= n)
            rows.append(row_of_symbol[at])
            codes.append(code[at])
        if not codes:
            return [], []
        every_row = rows[0] if len(rows) == 1 else np.concatenate(rows)
        hit, col = self._lookup(codes[0] if len(codes) == 1 else np.concatenate(codes))
        return [every_row[hit]], [col]

    # ----------------------------------------------------------------------------------------------
    def _char_counts(self, docs: list[str]) -> sp.csr_array:
        if _compiled is not None and (self.analyzer == "char" or self.min_n <= 3):
            # The documents as they are: C splits, pads and maps them (char_wb with min_n > 3 also
            # counts short padded words whole, which only the numpy form does). char_wb pads each word
            # with two spaces: at most 3 symbols per character, plus 2.
            wb = self.analyzer == "char_wb"
            return self._compiled_documents(
                docs,
                3 if wb else 1,
                2,
                lambda chunk, *out: _compiled.count_chars(chunk, wb, self._symbols, *self._table_arguments(), *out),
            )
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
        if _compiled is not None and self._token_rule is not None and self._stop_words is None:
            tokens = self._token_table()
            return self._compiled_documents(  # a token has at least one character
                docs,
                1,
                0,
                lambda chunk, *out: _compiled.count_tokens(
                    chunk, self._token_rule, *tokens, *self._table_arguments(), *out
                ),
            )
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
            if _compiled is not None:  # ids made in Python (another tokenizer, or stop words), counted in C
                blocks.append(self._compiled_block(ids, lengths[first:last], lengths[first:last]))
                continue
            doc_of_token = np.repeat(np.arange(n_docs), lengths[first:last])
            rows, cols = self._windows(ids, _room(lengths[first:last], ids), doc_of_token, None)
            blocks.append(self._block(rows, cols, n_docs))
        return self._finish(blocks, len(docs))


def _small(documents: list[str], analyzer: str) -> bool:
    """Whether a call is small enough to count in Python (SMALL_BATCH_CHARS)."""
    limit = SMALL_BATCH_CHARS.get(analyzer, 0)
    return limit > 0 and sum(map(len, documents)) < limit


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
    if n and total[-1] <= CHUNK_SYMBOLS and n <= MAX_CHUNK_DOCS:
        yield 0, n  # the usual call, in one piece
        return
    while first < n:
        base = total[first - 1] if first else 0
        last = int(np.searchsorted(total, base + CHUNK_SYMBOLS, side="right"))
        last = min(max(last, first + 1), first + MAX_CHUNK_DOCS)
        yield first, min(last, n)
        first = last


# --------------------------------------------------------------------------------------------------
# The vocabulary-and-idf form: what a fitted TfidfVectorizer knows, without scikit-learn.


class Tfidf:
    """TF-IDF vectors of documents over a fixed vocabulary, as a fitted ``TfidfVectorizer`` makes them.

    Built from plain data (the terms in column order, the idf, the analyzer's settings) so that scoring
    from a parameter file needs no scikit-learn: ``TextNgrams`` and ``PostRelatedness`` call the same
    object (``from_vectorizer``), so there is one implementation. ``analyzer`` is "word", "char",
    "char_wb" or "split" (whitespace-separated terms, what ``PostRelatedness`` fits with ``str.split``).
    The output is bit-identical to the vectorizer's (tests/test_ngrams.py).
    """

    ANALYZERS = ("word", "char", "char_wb", "split")

    def __init__(
        self,
        terms,
        idf,
        *,
        analyzer: str,
        ngram_range=(1, 1),
        token_pattern: str | None = r"(?u)\b\w\w+\b",
        lowercase: bool = False,
        sublinear_tf: bool = False,
        norm: str | None = "l2",
    ):
        if analyzer not in self.ANALYZERS:
            raise ValueError(f"unknown analyzer {analyzer!r}")
        if norm not in ("l2", None):
            raise ValueError(f"unsupported norm {norm!r}")
        self.terms = list(terms)
        self.idf = np.asarray(idf, dtype=np.float64)
        if len(self.idf) != len(self.terms):
            raise ValueError(f"{len(self.terms)} terms but {len(self.idf)} idf values")
        self.analyzer = analyzer
        self.ngram_range = (int(ngram_range[0]), int(ngram_range[1]))
        self.token_pattern = token_pattern
        self.lowercase = bool(lowercase)
        self.sublinear_tf = bool(sublinear_tf)
        self.norm = norm
        self._counter = None
        self._vocabulary = None
        self._python_docs = 0
        self._token_re = re.compile(token_pattern) if analyzer == "word" else None

    def __getstate__(self):
        # The counter and the vocabulary dict are rebuilt on first use: a pickle (a Dask worker's copy)
        # carries the terms and idf only.
        return {**self.__dict__, "_counter": None, "_vocabulary": None}

    @property
    def n_features(self) -> int:
        return len(self.terms)

    @property
    def vocabulary(self) -> dict[str, int]:
        if self._vocabulary is None:
            self._vocabulary = {term: column for column, term in enumerate(self.terms)}
        return self._vocabulary

    def counter(self) -> NgramCounter | None:
        """The numpy counter, or None when this vocabulary cannot be packed (then Python counts)."""
        if self._counter is None:
            self._counter = (
                build_counter(
                    self.terms,
                    analyzer="word" if self.analyzer == "split" else self.analyzer,
                    ngram_range=self.ngram_range,
                    preprocess=str.lower if self.lowercase else None,
                    tokenize=str.split if self.analyzer == "split" else self._tokenize,
                    token_rule=TOKEN_RULES.get("split" if self.analyzer == "split" else self.token_pattern),
                    spaceless=self.analyzer == "split" or self.token_pattern in _SPACELESS_TOKEN_PATTERNS,
                )
                or _UNSUPPORTED
            )
        return None if self._counter is _UNSUPPORTED else self._counter

    def _tokenize(self, doc: str) -> list[str]:
        return self._token_re.findall(doc)

    def counts(self, documents: list[str]) -> sp.csr_array:
        """Term counts (int64, sorted indices), as ``CountVectorizer.transform`` counts them."""
        return _as_csr(self._rows(documents))

    def _rows(self, documents: list[str]) -> sp.csr_array | Rows:
        if self._counter is None:
            # The numpy counter is built only once it pays: until then documents are counted in Python.
            self._python_docs += len(documents)
            if self._python_docs < BUILD_COUNTER_AFTER[self.analyzer]:
                return self._python_counts(documents)
        counter = None if _small(documents, self.analyzer) else self.counter()
        if counter is None:
            return self._python_counts(documents)
        return counter.rows(documents)

    def transform(self, documents) -> sp.csr_array:
        return _as_csr(self.weighted_rows(documents))

    def weighted_rows(self, documents) -> sp.csr_array | Rows:
        """``transform``'s arrays, before scipy's constructor checks them (11 us a call): what
        ``ScoringModel.features`` lays out in its own matrix."""
        if not isinstance(documents, list):
            documents = list(documents)
        return tfidf(self._rows(documents), self.idf, sublinear_tf=self.sublinear_tf, norm=self.norm, csr=False)

    # ----------------------------------------------------------------------------------------------
    def analyze(self, doc: str) -> list[str]:
        """Every n-gram of ``doc`` in scikit-learn's order (its ``build_analyzer()``, for our settings)."""
        if self.analyzer == "split":
            return doc.split()
        if self.lowercase:
            doc = doc.lower()
        min_n, max_n = self.ngram_range
        if self.analyzer == "word":
            tokens = self._tokenize(doc)
            if max_n == 1:
                return tokens
            grams = list(tokens) if min_n == 1 else []
            for n in range(max(min_n, 2), min(max_n + 1, len(tokens) + 1)):
                grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
            return grams
        doc = _WHITE_SPACES.sub(" ", doc)
        if self.analyzer == "char":
            grams = list(doc) if min_n == 1 else []
            for n in range(max(min_n, 2), min(max_n + 1, len(doc) + 1)):
                grams += [doc[i : i + n] for i in range(len(doc) - n + 1)]
            return grams
        grams = []
        for word in doc.split():
            word = " " + word + " "
            for n in range(min_n, max_n + 1):
                if len(word) <= n:
                    # A padded word no longer than n is counted whole, once (scikit-learn's rule).
                    grams.append(word)
                    break
                grams += [word[i : i + n] for i in range(len(word) - n + 1)]
        return grams

    def _python_counts(self, documents: list[str]) -> Rows:
        """Counts in Python, n-gram by n-gram: faster than numpy's fixed cost for a few word documents,
        and the only way for a vocabulary whose alphabet does not pack into 64-bit codes."""
        get = self.vocabulary.get
        indptr = [0]
        indices: list[int] = []
        values: list[int] = []
        for doc in documents:
            counted: dict[int, int] = {}
            for gram in self.analyze(doc):
                column = get(gram)
                if column is not None:
                    counted[column] = counted.get(column, 0) + 1
            row = sorted(counted.items())
            indices += [column for column, _ in row]
            values += [value for _, value in row]
            indptr.append(len(indices))
        return Rows(
            np.asarray(values, dtype=np.int64),
            np.asarray(indices, dtype=np.int32),
            np.asarray(indptr, dtype=np.int32),
            (len(documents), self.n_features),
        )

    @classmethod
    def from_vectorizer(cls, vectorizer) -> Tfidf | None:
        """The same vectors from a fitted ``TfidfVectorizer``'s data; None for settings not reproduced."""
        idf = getattr(vectorizer, "idf_", None)
        vocabulary = getattr(vectorizer, "vocabulary_", None)
        if idf is None or not vocabulary or not _plain_settings(vectorizer):
            return None
        analyzer = "split" if vectorizer.analyzer is str.split else vectorizer.analyzer
        if analyzer not in cls.ANALYZERS or vectorizer.norm not in ("l2", None):
            return None
        terms = [""] * len(vocabulary)
        for term, column in vocabulary.items():
            terms[column] = term
        return cls(
            terms,
            idf,
            analyzer=analyzer,
            ngram_range=vectorizer.ngram_range,
            token_pattern=vectorizer.token_pattern,
            lowercase=vectorizer.lowercase and analyzer != "split",
            sublinear_tf=vectorizer.sublinear_tf,
            norm=vectorizer.norm,
        )


def _plain_settings(vectorizer) -> bool:
    """Whether a vectorizer's settings are ones ``Tfidf`` reproduces (ours: no accents stripped, no stop
    words, no custom preprocessor or tokenizer, float64 TF-IDF with idf)."""
    return (
        vectorizer.input == "content"
        and vectorizer.decode_error == "strict"
        and vectorizer.strip_accents is None
        and vectorizer.preprocessor is None
        and vectorizer.tokenizer is None
        and vectorizer.stop_words is None
        and not vectorizer.binary
        and vectorizer.use_idf
        and np.dtype(vectorizer.dtype) == np.float64
        and (vectorizer.analyzer != "word" or re.compile(vectorizer.token_pattern).groups <= 1)
    )


_TFIDF_FORMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tfidf_for(vectorizer) -> Tfidf | None:
    """``Tfidf.from_vectorizer``, built once per fitted vectorizer (never stored in its pickle)."""
    with _LOCK:
        form = _TFIDF_FORMS.get(vectorizer)
    if form is None:
        form = Tfidf.from_vectorizer(vectorizer) or _UNSUPPORTED
        with _LOCK:
            _TFIDF_FORMS[vectorizer] = form
    return None if form is _UNSUPPORTED else form


def tfidf(
    counts: sp.csr_array | Rows, idf: np.ndarray, *, sublinear_tf: bool, norm: str | None, csr: bool = True
) -> sp.csr_array | Rows:
    """``TfidfTransformer.transform`` on a count matrix, operation for operation, so bit for bit.

    The l2 norm of each row is summed in order like scikit-learn's Cython loop: ``np.bincount`` with
    weights adds them one by one, where a numpy sum would add pairwise and round differently. The
    compiled ``weigh`` does the same operations in the same order, in one pass.
    """
    data = counts.data.astype(np.float64)
    if sublinear_tf:
        np.log(data, data)
        data += 1.0
    if _compiled is not None and len(data):
        _compiled.weigh(data, counts.indices, counts.indptr, np.ascontiguousarray(idf, dtype=np.float64), norm == "l2")
        weighted = Rows(data, counts.indices, counts.indptr, counts.shape)
        return _as_csr(weighted) if csr else weighted
    X = sp.csr_array((data, counts.indices, counts.indptr), shape=counts.shape)
    X.data *= idf[X.indices]
    if norm == "l2" and X.nnz:
        lengths = np.diff(X.indptr)
        rows = np.repeat(np.arange(X.shape[0]), lengths)
        sums = np.bincount(rows, weights=X.data * X.data, minlength=X.shape[0])
        norms = np.sqrt(sums)
        norms[sums == 0.0] = 1.0  # scikit-learn leaves an all-zero row as it is
        X.data /= np.repeat(norms, lengths)
    return X


class Rows(NamedTuple):
    """A count matrix's CSR arrays (sorted indices, no duplicates) before any CSR is built: scipy's
    constructor checks cost 11 us a call, twice per block for one comment's counts and then weights
    (``tfidf`` builds the one matrix it returns)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]


def _as_csr(counts: sp.csr_array | Rows) -> sp.csr_array:
    if isinstance(counts, Rows):
        return sp.csr_array((counts.data, counts.indices, counts.indptr), shape=counts.shape)
    return counts


# --------------------------------------------------------------------------------------------------
# Building a counter, once per vocabulary.

_COUNTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_UNSUPPORTED = object()
_LOCK = threading.Lock()


def counter_for(vectorizer) -> NgramCounter | None:
    """The counter for a fitted vectorizer, built on first use; None if this module cannot match it."""
    with _LOCK:
        counter = _COUNTERS.get(vectorizer)
    if counter is None:
        counter = _build(vectorizer) or _UNSUPPORTED
        with _LOCK:
            _COUNTERS[vectorizer] = counter
    return None if counter is _UNSUPPORTED else counter


def transform(vectorizer, documents):
    """``vectorizer.transform(documents)`` for any fitted vectorizer, counted with numpy when the
    configuration allows it (scikit-learn's own analyzers otherwise)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not isinstance(documents, list):
        documents = list(documents)
    counter = counter_for(vectorizer)
    if counter is None or _small(documents, counter.analyzer):
        return vectorizer.transform(documents)
    X = counter.counts(documents)
    if isinstance(vectorizer, TfidfVectorizer):
        # The vectorizer's own fitted TfidfTransformer, as TfidfVectorizer.transform calls it.
        return vectorizer._tfidf.transform(X, copy=False)
    return _align_api_if_sparse(X)


def _align_api_if_sparse(X):
    try:  # scikit-learn >= 1.8 returns sparse arrays or matrices as configured; match what transform returns.
        from sklearn.utils._sparse import _align_api_if_sparse as align
    except ImportError:  # pragma: no cover - older scikit-learn always returned spmatrix
        return sp.csr_matrix(X)
    return align(X)


def _build(vectorizer) -> NgramCounter | None:
    from sklearn.feature_extraction.text import CountVectorizer

    vocabulary = getattr(vectorizer, "vocabulary_", None)
    if not isinstance(vectorizer, CountVectorizer) or not vocabulary or vectorizer.input != "content":
        return None
    analyzer = vectorizer.analyzer
    if analyzer not in ("word", "char", "char_wb"):
        return None  # a callable analyzer
    terms = [""] * len(vocabulary)
    for term, column in vocabulary.items():
        terms[column] = term
    preprocess = vectorizer.build_preprocessor()
    decode = vectorizer.decode
    word = analyzer == "word"
    return build_counter(
        terms,
        analyzer=analyzer,
        ngram_range=vectorizer.ngram_range,
        preprocess=lambda doc: preprocess(decode(doc)),
        tokenize=vectorizer.build_tokenizer() if word else None,
        token_rule=TOKEN_RULES.get(vectorizer.token_pattern) if word and vectorizer.tokenizer is None else None,
        stop_words=vectorizer.get_stop_words() if word else None,
        spaceless=vectorizer.tokenizer is None and vectorizer.token_pattern in _SPACELESS_TOKEN_PATTERNS,
        binary=vectorizer.binary,
        dtype=vectorizer.dtype,
    )


def build_counter(
    terms: list[str], *, analyzer: str, ngram_range, spaceless: bool = True, **options
) -> NgramCounter | None:
    """A counter for a vocabulary (``terms[column]``); None where codes cannot be exact.

    ``spaceless``: the tokenizer never yields a token with a space, so a word n-gram "a b" splits back
    into its tokens. ``options`` go to ``NgramCounter`` (preprocess, tokenize, stop_words, binary, dtype).
    """
    min_n, max_n = ngram_range
    if not terms or not 1 <= min_n <= max_n:
        return None
    if analyzer in ("char", "char_wb"):
        built = _char_codes(terms, max_n)
    elif analyzer == "word":
        built = None if max_n > 1 and not spaceless else _word_codes(terms, max_n)
    else:
        return None
    if built is None:
        return None
    bits, codes, columns, symbols = built
    return NgramCounter(
        analyzer=analyzer,
        ngram_range=(min_n, max_n),
        n_features=len(terms),
        bits=bits,
        codes=codes,
        columns=columns,
        symbols=symbols,
        **options,
    )


def _char_codes(terms: list[str], max_n: int):
    lengths = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
    keep = (lengths > 0) & (lengths <= max_n)
    if not keep.any():
        return None
    kept = [term for term, wanted in zip(terms, keep.tolist(), strict=True) if wanted]
    points = np.frombuffer("".join(kept).encode("utf-32-le", "surrogatepass"), dtype="<u4")
    alphabet = np.unique(points)
    bits = int(len(alphabet)).bit_length()
    if bits * max_n > 64:
        return None
    lut = np.zeros(int(alphabet[-1]) + 2, dtype=np.uint64)  # the last entry: every larger code point
    lut[alphabet] = np.arange(1, len(alphabet) + 1, dtype=np.uint64)
    codes = _pack(lut[points], lengths[keep], bits)
    return bits, codes, np.flatnonzero(keep), lut


def _word_codes(terms: list[str], max_n: int):
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
    return bits, codes, np.flatnonzero(keep), tokens


def _pack(ids: np.ndarray, lengths: np.ndarray, bits: int) -> np.ndarray:
    """Each term's code: its symbol ids (laid out one term after another) as digits in base 2**bits."""
    starts = np.cumsum(lengths) - lengths
    place = np.repeat(starts + lengths - 1, lengths) - np.arange(len(ids))  # digits after this one
    return np.add.reduceat(ids << (place.astype(np.uint64) * np.uint64(bits)), starts)


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
        self._slots = None
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

    def slots(self) -> np.ndarray:
        """The table as (key, column) pairs side by side, the compiled loop's form: one cache line per
        probe instead of two."""
        if self._slots is None:
            self._slots = np.ascontiguousarray(np.stack([self.keys, self.columns.astype(np.uint64)], axis=1))
        return self._slots

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
