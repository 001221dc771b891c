"""The signal features, computed without scikit-learn: one implementation for training and for scoring.

Each block turns a list of ``CommentItem`` into a rows x ``NAMES`` float array. features.py wraps them as
scikit-learn transformers (the pipeline that is fitted and pickled); moderation/model/scoring.py calls
them directly when scoring from a parameter file, which never imports scikit-learn (issue 10).
"""

from __future__ import annotations

import bisect
import functools
import math
import re

import numpy as np
import scipy.sparse as sp

from .arrays import ranges
from .items import CommentItem
from .ngrams import Tfidf
from .pagelinks import site_host
from .text import STOP_WORDS, Analysis, Words, _contains_any, analyse, host_of, word_runs, words_of
from .thread import LINKBACK_TYPES, _name_key, mentioned_name

try:  # built by setup.py where a C compiler is found (tests/test_ngramcount.py); else Python counts
    from moderation.model import _signals as _compiled
except ImportError:  # pragma: no cover - exercised by tests that set the forms below to Python's
    _compiled = None


class RowSignals:
    """A stateless block of named signals computed one comment at a time by ``row``."""

    NAMES: tuple[str, ...] = ()

    def rows(self, items) -> np.ndarray:
        # One array from all the rows' tuples: assigning each row into a zeroed array cost ~1 us a row
        # (the same float64 values either way).
        row = self.row
        values = [row(item, analyse(item.body)) for item in items]
        return np.array(values, dtype=np.float64).reshape(len(items), len(self.NAMES))

    def row(self, item: CommentItem, text: Analysis) -> tuple[float, ...]:
        raise NotImplementedError


# A comment is compared with at most this many neighbours on each side in its thread. Every pair in
# a 16,000-comment thread took 80 s and 8.7 GB (issue 9); copies and near-copies of a comment sit
# close to it in the thread, and the window keeps the cost linear in the thread's length.
NEIGHBOURS = 64


class PostSignals:
    """How much a comment is about the post and the thread it sits under.

    The bookmarking comment on the seed thread shares no subject word with a post about Russia and
    Syria, while even "Thanks, Putin." shares one. Similarity is measured on content-word stems with
    IDF learned from the training posts and comments, so that words every blog uses count for little.
    """

    NAMES = (
        "post:available",
        "post:similarity",
        "post:shared_words",
        "post:unshared_words",
        "post:copied",
        "thread:similarity",
        "thread:shared_words",
        "thread:copied",
        "post:off_topic",
    )

    def __init__(self, idf: Tfidf, shingle_size: int = 5):
        # ``idf``: content-word stems of the training posts and comments (PostRelatedness.fit).
        self.idf = idf
        self.shingle_size = int(shingle_size)
        self._post_vector = functools.lru_cache(maxsize=64)(self._vector)
        self._kept_thread: tuple[tuple[str, ...], _ThreadCounts] | None = None

    def __getstate__(self):
        # The cache of post vectors and the kept thread are rebuilt after unpickling (a Dask worker's
        # copy of the model).
        return {key: value for key, value in self.__dict__.items() if key not in ("_post_vector", "_kept_thread")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._post_vector = functools.lru_cache(maxsize=64)(self._vector)
        self._kept_thread = None

    def _vector(self, post: str) -> sp.csr_array:
        return self.idf.transform([" ".join(words_of(post).stems)])

    def _vectors(self, ordered: list[str], analysed: list[Analysis | Words], posts: int) -> sp.csr_array:
        """The TF-IDF rows of ``ordered``, whose first ``posts`` texts are posts. A post's row is kept
        between calls: computing it again was 58% of the post block for a check
        under a known post (125 of 217 us on a 500-word post). Rows are computed one document at a
        time either way, so a kept row is the same to the bit. Stems go in their set's order: a row's
        counts and weights do not depend on it, and sorting them cost 0.4 of 0.85 us a text."""
        if not posts or posts > _KEPT_POSTS_PER_CALL:
            # A batch of many threads counts its posts with the rest, in one call, and leaves the
            # 64-post cache to single checks (a batch would only churn it; measured, one call per
            # post made no difference to batch speed: benchmarks/README.md, 15:35).
            return self.idf.transform([" ".join(a.stems) for a in analysed])
        rest = self.idf.transform([" ".join(a.stems) for a in analysed[posts:]])
        kept = [
            self._post_vector(text) if len(a.words) <= _KEPT_POST_WORDS else self._vector(text)
            for text, a in zip(ordered[:posts], analysed[:posts], strict=True)
        ]
        return _stacked_rows([*kept, rest], rest.shape[1])

    def rows(self, items) -> np.ndarray:
        out = np.zeros((len(items), len(self.NAMES)))
        # A comment with neither a post nor another comment beside it has nothing to relate to, and its
        # row is all zeros: a check under a post the service does not know spent 169 of its 881 us here
        # (median of 2,000, shipped model). Each row depends on its own item alone, so the others'
        # rows are the same computed without it.
        related = [
            row
            for row, item in enumerate(items)
            if len(item.thread_bodies) > (item.index >= 0) or item.post_text.strip()
        ]
        if len(related) < len(items):
            if related:
                out[related] = self.rows([items[row] for row in related])
            return out
        # Posts first, so that their rows can come from the cache (``_vectors``).
        texts: dict[str, int] = {text: number for number, text in enumerate(dict.fromkeys(i.post_text for i in items))}
        posts_here = len(texts)
        spans = _compared_spans(items)
        seen_threads: set[int] = set()
        also_comments: set[int] = set()  # posts whose text is also a comment's here
        for item in items:
            also_comments.add(texts.setdefault(item.body, len(texts)))
            # Items of a thread share its tuple of bodies: walk it once per thread, not once per item
            # (that was quadratic in the thread's length), and of a long thread only the part this
            # call's comments are compared with.
            if id(item.thread_bodies) not in seen_threads:
                seen_threads.add(id(item.thread_bodies))
                lo, hi = spans.get(id(item.thread_bodies), (0, len(item.thread_bodies)))
                for other in item.thread_bodies[lo:hi]:
                    also_comments.add(texts.setdefault(other, len(texts)))
        ordered = list(texts)
        # The posts' words and stems only (words_of): the rest of an analysis is for a comment's own blocks.
        analysed = [words_of(text) for text in ordered[:posts_here]] + [analyse(text) for text in ordered[posts_here:]]
        stems = [a.stems for a in analysed]
        size = int(self.shingle_size)
        shingles: list[frozenset | None] = [
            _shingle_set(a.words, size) if number >= posts_here or number in also_comments else None
            for number, a in enumerate(analysed)
        ]
        vectors = self._vectors(ordered, analysed, posts_here)
        threads: dict[int, _ThreadCounts] = {}
        nearest = self._nearest_neighbour_similarity(items, texts, vectors)
        mine = np.fromiter((texts[item.body] for item in items), dtype=np.int64, count=len(items))
        posts = np.fromiter((texts[item.post_text] for item in items), dtype=np.int64, count=len(items))
        # A post's shingles are only compared with those of the comments under it (post:copied), so
        # only those are found: a set entry for each shingle of each post cost 3 us a comment in
        # batches of 20-comment threads with 2.8 KB posts, and the 64 posts' sets kept for single checks
        # (43 us of one on a 500-word post) are no longer needed.
        under: dict[int, list[frozenset]] = {}
        for me, post in zip(mine.tolist(), posts.tolist(), strict=True):
            if shingles[post] is None:
                under.setdefault(post, []).append(shingles[me])
        for post, theirs in under.items():
            shingles[post] = _shingles_among(analysed[post].words, size, set().union(*theirs))
        post_similarity = paired_dots(vectors, mine, posts)
        for row, item in enumerate(items):
            has_post = bool(item.post_text.strip())
            out[row, 0] = float(has_post)
            me = mine[row]
            unique = stems[me]
            if not unique:
                # An empty or link-only comment: nothing to relate. Leave it at 0, "not about anything".
                continue
            post = posts[row]
            key = id(item.thread_bodies)
            if key not in threads:
                if key in spans:
                    threads[key] = self._long_thread_counts(item.thread_bodies)
                else:
                    threads[key] = _ThreadCounts([texts[b] for b in item.thread_bodies], stems, shingles)
            counts = threads[key]
            own = 1 if item.index >= 0 else 0
            context_words = counts.shared_words(unique, own)
            if has_post:
                out[row, 1] = float(post_similarity[row])
                out[row, 2] = len(unique & stems[post]) / len(unique)
                out[row, 4] = _copied(shingles[me], shingles[post])
            if has_post or len(item.thread_bodies) > own:
                # Only with something to compare against: a comment scored alone (no post, no thread)
                # is not "off topic", its topic is unknown.
                foreign = unique - stems[post] - context_words
                out[row, 3] = math.log1p(len(foreign))
                # The share of its subject words that neither the post nor the thread uses: 1.0 for the
                # bookmarking comment, which talks about "web site" and "articles" under a post on Syria.
                # Scaled down below 8 subject words: "Thanks, great tutorial" has two words the post
                # lacks and scored 0.70 under a tutorial (issue 8); a short reply says too little to be
                # called off topic.
                out[row, 8] = len(foreign) / len(unique) * min(1.0, len(unique) / 8)
            if len(item.thread_bodies) > own:
                out[row, 5] = nearest[row]
                out[row, 6] = len(context_words | (unique & stems[post])) / len(unique)
                out[row, 7] = counts.copied_share(shingles[me], own)
        return out

    def _long_thread_counts(self, bodies: tuple[str, ...]) -> _ThreadCounts:
        """The counts of a long thread, kept for the next call: ``Moderator.decide`` scores a long
        thread in slices, and counting all of its comments for each slice was quadratic (64,000
        comments in one thread: 175 s, 37x the time of 16,000)."""
        kept = self._kept_thread
        if kept is not None and kept[0] is bodies:
            return kept[1]
        analysed = [analyse(body) for body in bodies]
        size = int(self.shingle_size)
        counts = _ThreadCounts(
            range(len(bodies)), [a.stems for a in analysed], [_shingle_set(a.words, size) for a in analysed]
        )
        self._kept_thread = (bodies, counts)
        return counts

    @staticmethod
    def _nearest_neighbour_similarity(items, texts, vectors, window: int = NEIGHBOURS, chunk: int = 256) -> np.ndarray:
        """For each item, its highest similarity to one of the ``window`` comments on each side of it.

        A comment scored beside a thread it is not in (index -1) is compared with the thread's last
        ``2 * window`` comments, the ones it would follow. Threads of at most ``chunk`` comments are
        compared whole, all of them in one sparse product (``_whole_threads``); the items of a longer
        thread are taken in blocks of ``chunk`` consecutive positions, each compared with its block
        widened by the window on each side: one dense product of at most chunk x (chunk + 2 * window)
        per block.
        """
        best = np.zeros(len(items))
        by_thread: dict[int, list[int]] = {}
        for row, item in enumerate(items):
            by_thread.setdefault(id(item.thread_bodies), []).append(row)
        whole: list[tuple[tuple[str, ...], list[tuple[int, int]]]] = []
        for rows in by_thread.values():
            bodies = items[rows[0]].thread_bodies
            if not bodies:
                continue
            size = len(bodies)
            inside = sorted((items[r].index, r) for r in rows if items[r].index >= 0)
            outside = [r for r in rows if items[r].index < 0]
            if size <= chunk and inside:
                whole.append((bodies, inside))
                inside = []
            if not inside and not outside:
                continue
            # Only the comments within the window of this call's ones (_compared_spans): row r of
            # ``others`` is comment ``first + r``.
            first, last = _span(size, [index for index, _ in inside], bool(outside), window)
            columns = np.fromiter((texts[b] for b in bodies[first:last]), dtype=np.int64, count=last - first)
            others = vectors[columns].tocsr()
            for start in range(0, len(inside), chunk):
                block = inside[start : start + chunk]
                positions = np.asarray([index for index, _ in block])
                lo, hi = max(0, positions[0] - window), min(size, positions[-1] + window + 1)
                sims = (others[positions - first] @ others[lo - first : hi - first].T).toarray()
                offsets = np.arange(lo, hi)[None, :] - positions[:, None]
                sims[(np.abs(offsets) > window) | (offsets == 0)] = -np.inf
                found = sims.max(axis=1) if sims.shape[1] else np.zeros(len(block))
                best[[r for _, r in block]] = np.maximum(found, 0.0)
            if outside:
                lo = max(0, size - 2 * window)
                mine = vectors[[texts[items[r].body] for r in outside]]
                sims = (mine @ others[lo - first : size - first].T).toarray()
                best[outside] = np.maximum(sims.max(axis=1), 0.0) if sims.shape[1] else 0.0
        if whole:
            PostSignals._whole_threads(whole, texts, vectors, window, best)
        return best

    @staticmethod
    def _whole_threads(whole, texts, vectors, window: int, best: np.ndarray) -> None:
        """``_nearest_neighbour_similarity`` for threads compared whole: one product for all of them.

        Each thread's stems get columns of their own (a thread's stem ids shifted past the previous
        threads'), so the product of the stacked threads with themselves holds only pairs of one
        thread; the shift keeps each row's entries in their order, so every dot product adds the same
        terms in the same order as the per-thread product did, to the bit. The products per thread
        (scipy's fixed cost of five calls each) took 12 of the post block's 49 us per comment on
        20-comment threads.
        """
        sizes = np.fromiter((len(bodies) for bodies, _ in whole), dtype=np.int64, count=len(whole))
        starts = np.cumsum(sizes) - sizes
        columns = np.fromiter((texts[b] for bodies, _ in whole for b in bodies), dtype=np.int64, count=int(sizes.sum()))
        stacked = vectors[columns].tocsr()
        total = len(columns)
        thread = np.repeat(np.arange(len(whole), dtype=np.int64), sizes)
        keys = np.repeat(thread, np.diff(stacked.indptr)) * stacked.shape[1] + stacked.indices
        unique, local = np.unique(keys, return_inverse=True)
        shifted = sp.csr_array(
            (stacked.data, local.reshape(-1).astype(np.int64), stacked.indptr.astype(np.int64)),
            shape=(total, len(unique)),
        )
        sims = (shifted @ shifted.T).tocsr()
        rows = np.repeat(np.arange(total, dtype=np.int64), np.diff(sims.indptr))
        position = np.arange(total, dtype=np.int64) - np.repeat(starts, sizes)
        offsets = np.abs(position[sims.indices] - position[rows])
        keep = (offsets > 0) & (offsets <= window)
        # Pairs without a stored product are 0, and the result is at least 0: the maximum of the
        # stored products in the window and 0 is what the dense per-thread product gave.
        found = np.zeros(total)
        np.maximum.at(found, rows[keep], sims.data[keep])
        for (_, inside), start in zip(whole, starts.tolist(), strict=True):
            best[[r for _, r in inside]] = found[[start + index for index, _ in inside]]


# A post's TF-IDF row is kept between calls (_vectors): only posts, 64 of them, of at most 5,000 words.
_KEPT_POST_WORDS = 5000
_KEPT_POSTS_PER_CALL = 4


def _shingles_among(words: tuple[str, ...], size: int, candidates: set) -> frozenset:
    """``_shingle_set(words, size) & candidates``."""
    if _compiled_shingles_in is not None:
        return _compiled_shingles_in(words, size, candidates)
    return _shingle_set(words, size) & candidates


def _shingle_set(words: tuple[str, ...], size: int) -> frozenset:
    if _compiled_shingles is not None and size >= 1:
        return _compiled_shingles(words, size)
    if size < 1:
        return frozenset(hash(words[i : i + size]) for i in range(len(words) - size + 1))
    # zip yields the same tuples as the slices (so the same hashes) without a Python loop: 4.3 -> 3.8
    # us per benchmark comment (27.6 words on average, best of 5).
    return frozenset(map(hash, zip(*(words[k:] for k in range(size)), strict=False)))


def _checked_shingles():
    """The compiled ``_shingle_set`` (_signals.c), if built and if its hashes are this interpreter's own
    tuple hashes (it follows CPython's tuplehash): 3.8% of batch scoring with reasons was building the
    tuples to hash (py-spy, 80,000 benchmark comments)."""
    if _compiled is None:  # pragma: no cover
        return None
    words = ("a", "shingle", "of", "words", "\ud800", "")
    if _compiled.shingle_set(words, 2) != frozenset(map(hash, zip(words, words[1:], strict=False))):  # pragma: no cover
        return None
    return _compiled.shingle_set


_compiled_shingles = _checked_shingles()
# The same hashes as _compiled_shingles, so only where it is used.
_compiled_shingles_in = _compiled.shingles_in if _compiled_shingles is not None else None


# A thread longer than this is not vectorised whole for every call: only the comments within the
# window of the call's ones are, and its counts are kept for the next slice (_long_thread_counts).
_LONG_THREAD = 512


def _span(size: int, positions: list[int], outside: bool, window: int) -> tuple[int, int]:
    """The comments of a thread of ``size`` that comments at ``positions`` in it (and, if ``outside``,
    comments beside it, which follow its last ``2 * window``) are compared with: [first, last)."""
    first, last = size, 0
    if positions:
        first, last = max(0, min(positions) - window), min(size, max(positions) + window + 1)
    if outside:
        first, last = min(first, max(0, size - 2 * window)), size
    return first, last


def _compared_spans(items) -> dict[int, tuple[int, int]]:
    """Per long thread among ``items`` (by id of its bodies), the span ``_span`` gives for them."""
    positions: dict[int, list[int]] = {}
    outside: dict[int, bool] = {}
    size: dict[int, int] = {}
    for item in items:
        if len(item.thread_bodies) > _LONG_THREAD:
            key = id(item.thread_bodies)
            size[key] = len(item.thread_bodies)
            places = positions.setdefault(key, [])
            if item.index >= 0:
                places.append(item.index)
            else:
                outside[key] = True
    return {key: _span(size[key], places, outside.get(key, False), NEIGHBOURS) for key, places in positions.items()}


class _ThreadCounts:
    """How many of a thread's comments use each stem and each shingle (duplicates counted twice)."""

    def __init__(self, members: list[int], stems: list[frozenset], shingles: list[frozenset]):
        # "Used by more than ``own`` comments" as sets, for own = 0 (a comment beside the thread) and
        # own = 1 (one of its comments): a set intersection per comment, where counting every stem and
        # shingle and looking each up cost 8 us per comment on 20-comment threads (now 4.5).
        self._words = _used_once_and_twice(stems[i] for i in members)
        self._grams = _used_once_and_twice(shingles[i] for i in members)

    def shared_words(self, stems: frozenset, own: int) -> frozenset:
        """The ``stems`` that another comment of the thread also uses."""
        return stems & self._words[own]

    def copied_share(self, grams: frozenset, own: int) -> float:
        """The share of ``grams`` that another comment of the thread also uses: 1.0 for a pasted copy."""
        if not grams:
            return 0.0
        return len(grams & self._grams[own]) / len(grams)


def _stacked_rows(parts: list[sp.csr_array], width: int) -> sp.csr_array:
    """The rows of ``parts`` one after another, as ``sp.vstack`` gives them, without its ~50 us."""
    offsets = np.cumsum([0] + [part.nnz for part in parts[:-1]])
    indptr = np.concatenate(
        [np.zeros(1, dtype=np.int64)]
        + [part.indptr[1:].astype(np.int64) + offset for part, offset in zip(parts, offsets, strict=True)]
    )
    index_dtype = np.int32 if indptr[-1] <= np.iinfo(np.int32).max else np.int64
    return sp.csr_array(
        (
            np.concatenate([part.data for part in parts]),
            np.concatenate([part.indices for part in parts]).astype(index_dtype),
            indptr.astype(index_dtype),
        ),
        shape=(len(indptr) - 1, width),
    )


def paired_dots(X: sp.csr_array, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row ``a[k]`` of ``X`` dotted with row ``b[k]``, for every k: the same bits as
    ``X[a].multiply(X[b]).sum(axis=1)``, without building three sparse matrices.

    ``X`` has sorted column indices. The products are taken in column order and each pair's added by
    ``np.add.reduceat``, as scipy's row sum does (a sum one by one differs in the last bit). The
    scipy calls cost ~250 us per call whatever the batch, most of the post block's 400 us for one
    comment scored alone (a check); this costs ~30 us (tests/test_signals.py checks the bits).
    """
    n = len(a)
    width = X.shape[1]

    def entries(rows):
        starts = X.indptr[rows].astype(np.int64)
        lengths = X.indptr[rows + 1].astype(np.int64) - starts
        positions = ranges(starts, lengths)
        pairs = np.repeat(np.arange(n, dtype=np.int64), lengths)
        return positions, pairs * width + X.indices[positions]

    mine, mine_keys = entries(np.asarray(a, dtype=np.int64))
    theirs, their_keys = entries(np.asarray(b, dtype=np.int64))
    if not len(mine_keys) or not len(their_keys):
        return np.zeros(n)
    # Both key arrays are sorted (pair, then column): each of a's entries finds b's by binary search.
    where = np.minimum(np.searchsorted(their_keys, mine_keys), len(their_keys) - 1)
    found = their_keys[where] == mine_keys
    products = X.data[mine[found]] * X.data[theirs[where[found]]]
    out = np.zeros(n)
    if len(products):
        pairs = mine_keys[found] // width
        firsts = np.flatnonzero(np.r_[True, pairs[1:] != pairs[:-1]])
        out[pairs[firsts]] = np.add.reduceat(products, firsts)
    return out


def _used_once_and_twice(sets) -> tuple[set, set]:
    """The elements of at least one of ``sets``, and those of at least two (a Counter's > 0 and > 1)."""
    once: set = set()
    twice: set = set()
    for members in sets:
        twice |= once & members
        once |= members
    return once, twice


def _copied(shingles: frozenset, other: frozenset) -> float:
    """Share of the comment's word 5-grams found verbatim in the other text: 1.0 for a pasted copy."""
    if not shingles:
        return 0.0
    return len(shingles & other) / len(shingles)


_DEEP_URL = re.compile(r"https?://[^/\s]{1,255}/\S{12,}")


class LinkSignals(RowSignals):
    """Links and contact details: what link drops, number ads and scams exist to deliver.

    A link alone decides little. Real readers link documentation, code, reference pages, the blog
    itself, or their own write-up on the post's subject; before ``link:reference``, ``link:on_topic``
    and ``link:to_site`` those readers scored 0.89-1.00 on real comment sets (issue 8). The contact
    signals cover the commonest real spam, which has no link at all: "<brand> support number" ads,
    and testimonials that end in a WhatsApp number or a handle.
    """

    NAMES = (
        "link:count",
        "link:html_anchor",
        "link:url_share",
        "link:author_url",
        "link:author_url_deep",
        "link:reference",
        "link:on_topic",
        "link:to_site",
        "link:unvouched",
        "contact:email",
        "contact:phone",
        "contact:messenger",
        "contact:handle",
        "contact:solicit",
    )

    def row(self, item: CommentItem, text: Analysis) -> tuple[float, ...]:
        url = item.author_url.strip()
        links = text.links
        site = site_host(item.post_url)
        post_stems = words_of(item.post_text).stems if links and item.post_text else frozenset()
        # Links to this blog were taken out of the text (pagelinks.py); they count here only.
        reference = on_topic = 0
        to_site = item.links_here
        for link in links:
            if site and (link.host == site or link.host.endswith("." + site)):
                to_site += 1
            elif link.is_reference:
                reference += 1
            elif len(link.words & post_stems) >= 2 or (link.words and link.words <= post_stems):
                on_topic += 1
        unvouched = len(links) + item.links_here - reference - on_topic - to_site
        handles = any(not _names_commenter(h, item.thread_authors) for h in text.handles)
        contact = bool(text.phones or text.emails or handles or text.messengers)
        n = max(len(links) + item.links_here, 1)
        return (
            math.log1p(len(links)),
            math.log1p(text.anchors),
            min(text.url_chars / max(len(text.clean), 1), 1.0),
            float(bool(url)),
            # A link to a page deep inside a shop (/product/cheap-...) rather than a home page.
            float(bool(_DEEP_URL.match(url[:2048]))),
            reference / n,
            on_topic / n,
            to_site / n,
            math.log1p(unvouched),
            float(bool(text.emails)),
            float(bool(text.phones)),
            float(bool(text.messengers)),
            float(bool(handles)),
            float(text.contact_verb and contact),
        )


def _names_commenter(handle: str, authors: tuple[str, ...]) -> bool:
    """Whether an @handle names one of the thread's last 500 commenters: "@maria_k" or "@Maria" answering
    Maria K (the handle begins the name, both without case, spaces or punctuation)."""
    key = _name_key(handle)
    if len(key) < 3:
        return False
    # The names that begin with the key sit together in sorted order, from the first name at or after it.
    names = _commenter_names(authors)
    at = bisect.bisect_left(names, key)
    return at < len(names) and names[at].startswith(key)


# The last thread's sorted name keys, for its next comment: held with the thread's tuple of authors.
_KEPT_COMMENTER_NAMES: list = [None]


def _commenter_names(authors: tuple[str, ...]) -> list[str]:
    """The keys of a thread's last 500 commenters' names, sorted, made once per thread.

    Each handle was compared with every name, each normalised again: one comment of 3,640 "@handles"
    (45 KB) beside 600 commenters took 1.9 s of CPU, 4.1 s profiled, and a service's checks waited
    behind it. A search per handle is now the cost: 12 ms for that comment.
    """
    kept = _KEPT_COMMENTER_NAMES[0]
    if kept is not None and kept[0] is authors:
        return kept[1]
    names = sorted(_name_key(author) for author in authors[-500:])
    _KEPT_COMMENTER_NAMES[0] = (authors, names)
    return names


class OfferSignals(RowSignals):
    """What commercial spam sells without a link: money claims, service-number phrases, keyword stuffing."""

    NAMES = (
        "money:amount",
        "money:earnings",
        "keywords:service_phrase",
        "keywords:repeated_phrase",
        "keywords:tail",
    )

    def row(self, item: CommentItem, text: Analysis) -> tuple[float, ...]:
        return (
            math.log1p(text.money),
            # An amount beside profit or withdrawal words: "I withdrew $3,000 in a week thanks to ...".
            float(text.earning),
            math.log1p(text.service_phrases),
            min(text.repeated_phrase, 3) / 3,
            float(text.keyword_tail),
        )


class DisguiseSignals(RowSignals):
    """Letters swapped for look-alikes, invisible characters inside words, spaced-out words.

    The text the other blocks read has these undone (``text.undisguise``); that something had to be
    undone is evidence of its own: real readers do not write 𝐒𝐆𝐈𝟖𝟖 or hide a zero-width space in
    "WhatsApp".
    """

    NAMES = ("obfuscation:lookalike", "obfuscation:invisible", "obfuscation:spaced")

    def row(self, item: CommentItem, text: Analysis) -> tuple[float, ...]:
        letters = max(len(text.clean), 1)
        return (
            min(text.disguise.lookalike / letters * 10, 1.0),
            float(text.disguise.invisible > 0),
            float(text.disguise.spaced > 0),
        )


class AuthorSignals(RowSignals):
    """The commenter's name: keyword names ("best payday loans") rather than people's names."""

    NAMES = (
        "author:words",
        "author:digits",
        "author:url_like",
        "author:anonymous",
        "author:is_post_author",
        "author:name_in_text",
    )

    def row(self, item: CommentItem, text: Analysis) -> tuple[float, ...]:
        name = item.author.strip()[:200]
        words = name.split()
        return (
            math.log1p(len(words)),
            float(any(map(str.isdigit, name))),
            # host_of finds a host only in a word with a "." or a "/" (most names have neither).
            float(("." in name or "/" in name) and any(host_of(word) for word in words)),
            float(not name or name.casefold() in {"anonymous", "guest", "anon"}),
            float(bool(name) and name.casefold() == item.post_author.strip().casefold()),
            _name_in_text(name, text, item.author_url),
        )


def _name_in_text(name: str, text: Analysis, author_url: str) -> float:
    """Share of a several-word name's words that the comment or its links repeat.

    A keyword name ("cheap above ground pools") is the anchor text of the link it drops, so its
    words come back both in the comment and in the link's address. This replaced n-grams of the
    name itself, which learned our writers' first names and transferred to no other blog (pipeline.py).
    """
    words = [w for w in _NAME_LETTERS.findall(name.casefold()[:200]) if w not in _NAME_STOP]
    if len(words) < 2:
        return 0.0
    addresses = " ".join([link.url.casefold()[:300] for link in text.links[:20]] + [author_url.casefold()[:300]])
    # Only the text: a reader signing their comment. Only the address: a reader linking a blog named
    # after them. Both is the anchor-and-domain pattern of a keyword name. A stop word said is no
    # repeat: "Two Kids No Debt" linking twokidsnodebt.blog and writing "the two tiny balances" scored
    # 0.95 (spam) on a probe; no comment of any source changes.
    if not any(word in addresses for word in words):
        return 0.0
    said = set(text.words)
    if not any(word in said and word not in STOP_WORDS for word in words):
        return 0.0
    repeated = sum(word in said or word in addresses for word in words)
    return repeated / len(words) if repeated >= 2 else 0.0


_NAME_LETTERS = re.compile(r"[^\W\d_]{3,}")
_NAME_STOP = frozenset({"the", "and", "for", "with", "from", "van", "von", "der", "del", "mrs", "miss"})


class ShapeSignals(RowSignals):
    """Length, case, punctuation, repetition and line breaks of the text.

    There is no feature for the script a comment is written in: our first threads had spam in
    Russian and Chinese but no real readers writing in them, and a "non-Latin" feature taught the model
    that a language is spam (issue 8). Readers in other languages are now in the data instead.
    """

    NAMES = (
        "shape:empty",
        "shape:length",
        "shape:sentences",
        "shape:uppercase",
        "shape:exclamations",
        "shape:questions",
        "shape:repeats",
        "shape:line_breaks",
        "shape:pingback",
    )

    def row(self, item: CommentItem, text: Analysis) -> tuple[float, ...]:
        clean = _TAG.sub(" ", text.clean).strip() if "<" in text.clean else text.clean.strip()
        letters, upper, sentence_ends, repeats = _shape_counts(clean)
        return (
            float(not clean),
            math.log1p(len(item.body.strip())),
            math.log1p(sentence_ends),
            upper / max(letters, 1),
            # Counts of "!", "?" and repeats are capped at 3: "shuffle!!!!..." (191 of them) under a music
            # video is enthusiasm, and uncapped the count alone marked 16% of YouTube's legitimate
            # comments as spam (benchmarks/bench_peers.py, transfer of the shipped model).
            min(clean.count("!"), 3) / 3,
            min(clean.count("?"), 3) / 3,
            min(repeats, 3) / 3,
            math.log1p(clean.count("\n")),
            float(item.type in LINKBACK_TYPES),
        )


_TAG = re.compile(r"<[^<>]{0,2048}>")
_NOT_ASCII_LETTER = bytes(b for b in range(256) if not (65 <= b <= 90 or 97 <= b <= 122))
_NOT_ASCII_UPPER = bytes(b for b in range(256) if not 65 <= b <= 90)
# From the start of a run of marks only: every start in a run meets the same end, and tried at each one
# "!!!...!x" was quadratic (16 KB 2.1 s; the compiled shape_counts never was).
_SENTENCE_END = re.compile(r"(?<![.!?])[.!?]+(?:\s|$)")
_REPEAT = re.compile(r"(.)\1{3,}")
# A line whose first character other than a space is ">", or a quotation. The first form was "^\s*>",
# whose spaces could cross line breaks, so each of a run of them rescanned the rest: '"' and 32 KB of
# line breaks took 1.4 s. A line start before spaces and a ">" means the ">"'s own line starts so, so
# the texts found are the same (tests/test_signals.py compares the two).
_QUOTE = re.compile(r"^[^\S\n]*>|[\"“][^\"”\n]{12,400}[\"”]", re.MULTILINE)


def _python_shape_counts(clean: str) -> tuple[int, int, int, int]:
    """Letters, upper-case letters, sentence ends and repeats of ``clean``: _signals.shape_counts, which
    counts them in one pass (the shape block 10.9 -> 3.4 us a comment, 40,000 benchmark comments,
    median of 5), where it is not built."""
    if clean.isascii():
        # In ASCII, str.isalpha is A-Z and a-z and str.isupper is A-Z: bytes.translate counts them
        # in C (6.1 -> 0.9 us per ASCII benchmark comment, with the encoding; 71% of them are ASCII).
        ascii = clean.encode("ascii")
        letters = len(ascii.translate(None, _NOT_ASCII_LETTER))
        upper = len(ascii.translate(None, _NOT_ASCII_UPPER))
    else:
        ascii = None
        letters = sum(map(str.isalpha, clean))
        upper = sum(map(str.isupper, clean))
    return letters, upper, len(_SENTENCE_END.findall(clean)), _repeats(clean, ascii)


_shape_counts = _python_shape_counts if _compiled is None else _compiled.shape_counts


def _repeats(clean: str, ascii: bytes | None) -> int:
    """``len(_REPEAT.findall(clean))``, without the scan when no character repeats four times in a row.

    For ASCII text, the XOR of its bytes with themselves shifted by one is zero where two neighbours are
    equal, so four equal characters leave three zero bytes in a row: when there are none, there is no
    match (the regex tries a match at every character: 3.3 -> 1.3 us per ASCII benchmark comment).
    """
    if ascii is not None and len(ascii) > 3:
        neighbours = int.from_bytes(ascii[:-1], "big") ^ int.from_bytes(ascii[1:], "big")
        if b"\0\0\0" not in neighbours.to_bytes(len(ascii) - 1, "big"):
            return 0
    elif ascii is not None:
        return 0
    return len(_REPEAT.findall(clean))


class ContextSignals:
    """Conversation: replies to earlier commenters, quotes, and the post's author answering.

    Real readers answer each other ("@Argon: Leading from behind."); spam bots post into a thread
    without reading it, so a reply is strong evidence of a human even when it is short and off topic.
    """

    NAMES = ("context:reply", "context:names_commenter", "context:quotes", "context:regular")

    def rows(self, items) -> np.ndarray:
        out = np.zeros((len(items), len(self.NAMES)))
        # Per thread, where each commenter (and each name, as lower-case words) first appears, built
        # once: a comment's "earlier commenters" are looked up, not rescanned (that was quadratic).
        first_seen: dict[int, tuple[dict[str, int], dict[tuple[str, ...], int], frozenset[str], tuple[str, ...]]] = {}
        for row, item in enumerate(items):
            key = id(item.thread_authors)
            if key not in first_seen:
                first_seen[key] = _first_seen(item.thread_authors)
            seen, names, firsts, first_words = first_seen[key]
            limit = item.index if item.index >= 0 else len(item.thread_authors)
            body = item.body
            out[row, 0] = float(item.parent_body is not None or bool(mentioned_name(body)))
            folded = analyse(body).clean.casefold() if names else ""
            # A name's first word is among the text's words only if the text contains it: with few
            # names, looking for each is cheaper than splitting the text into words (the block 10.9 ->
            # 9.3 us a comment on 40,000 benchmark comments, threads of 20, median of 5).
            if names and (len(firsts) > _FEW_NAMES or _contains_any(folded, first_words)):
                words = word_runs(folded)
                # Only windows that start with a name's first word can name a commenter; most comments
                # hold none (one set test), and looking up every 1-3 word window was 20 of the block's
                # 27 us per comment (20,000 benchmark comments).
                if not firsts.isdisjoint(words):
                    out[row, 1] = float(
                        any(
                            names.get(tuple(words[i : i + size]), limit) < limit
                            for i, word in enumerate(words)
                            if word in firsts
                            for size in (1, 2, 3)
                            if i + size <= len(words)
                        )
                    )
            # Both alternatives of _QUOTE need a ">" or a quotation mark: without one, no scan.
            if ">" in body or '"' in body or "\u201c" in body:
                out[row, 2] = float(bool(_QUOTE.search(body[:32768])))
            out[row, 3] = float(bool(item.author) and seen.get(item.author, limit) < limit)
        return out


_FEW_NAMES = 32
# The last long thread's first appearances, for its next slice (see _long_thread_counts): held with the
# thread's tuple of authors, so that only that same tuple finds them.
_KEPT_FIRST_SEEN: list = [None]


def _first_seen(
    authors: tuple[str, ...],
) -> tuple[dict[str, int], dict[tuple[str, ...], int], frozenset[str], tuple[str, ...]]:
    """Where each commenter of a thread (and each name, as lower-case words) first appears, and the
    first words of the names, as a set and as a tuple (for _contains_any)."""
    kept = _KEPT_FIRST_SEEN[0]
    if kept is not None and kept[0] is authors:
        return kept[1]
    seen: dict[str, int] = {}
    names: dict[tuple[str, ...], int] = {}
    for position, author in enumerate(authors):
        seen.setdefault(author, position)
        words = tuple(word_runs(author.casefold()))
        if 0 < len(words) <= 3 and len("".join(words)) >= 3:
            names.setdefault(words, position)
    firsts = frozenset(name[0] for name in names)
    found = (seen, names, firsts, tuple(firsts))
    if len(authors) > _LONG_THREAD:
        _KEPT_FIRST_SEEN[0] = (authors, found)
    return found
