"""The signal blocks' faster paths against plain reference code: the same values, to the bit.

The batch speed-ups of issue 10 (threads compared whole in one product, thread counts as sets, shingles
by zip, pre-checks before the context regexes) must not change a score: each is checked here against
the straightforward code it replaced.
"""

from __future__ import annotations

import random
import re
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.model import signals
from moderation.model.items import item_for_comment, items_from_thread
from moderation.model.text import analyse, host_of
from moderation.model.thread import Comment, Post, Thread, mentioned_name

WORDS = [
    "pan",
    "oil",
    "bake",
    "season",
    "iron",
    "rust",
    "stove",
    "kitchen",
    "cheap",
    "loans",
    "casino",
    "visit",
    "great",
    "post",
    "thanks",
]
AUTHORS = ["Ines", "Sam Taylor", "Kim", "best payday loans", "Dana Whit", "Olaf", "", "Mrs Helen"]


def _thread(rng: random.Random, size: int, number: int) -> Thread:
    post = Post(title=f"Cast iron {number}", body=" ".join(rng.choices(WORDS, k=30)))
    comments = []
    for index in range(size):
        words = rng.choices(WORDS + AUTHORS[:6], k=rng.randint(0, 14))
        if rng.random() < 0.1:
            words = ["> quoted line\n", *words]
        if rng.random() < 0.1:
            words.append('"this one was said before, word for word"')
        if rng.random() < 0.1:
            words.insert(0, f"@{rng.choice(AUTHORS[:6])}:")
        comments.append(Comment(body=" ".join(words), author=rng.choice(AUTHORS), id=str(index)))
    return Thread(post=post, comments=comments)


def _items(sizes: list[int], outside: int = 0, seed: int = 0):
    rng = random.Random(seed)
    threads = [_thread(rng, size, number) for number, size in enumerate(sizes)]
    items = [item for thread in threads for item in items_from_thread(thread)]
    for thread in threads[:outside]:
        items.append(item_for_comment(Comment(body=" ".join(rng.choices(WORDS, k=8))), thread.post, thread))
    return items


@pytest.fixture(scope="module")
def post_signals(moderator) -> signals.PostSignals:
    return next(block._signals for _, block in moderator.model.block_ranges() if getattr(block, "kind", "") == "post")


def _vectors(post_signals, items):
    texts: dict[str, int] = {}
    for item in items:
        texts.setdefault(item.body, len(texts))
        for body in item.thread_bodies:
            texts.setdefault(body, len(texts))
    vectors = post_signals.idf.transform([" ".join(sorted(analyse(text).stems)) for text in texts])
    return texts, vectors


def _nearest_reference(items, texts, vectors, window: int = signals.NEIGHBOURS) -> np.ndarray:
    """Every comment against its window, one dense dot product at a time."""
    dense = vectors.toarray()
    best = np.zeros(len(items))
    for row, item in enumerate(items):
        bodies = item.thread_bodies
        if item.index >= 0:
            others = [j for j in range(len(bodies)) if 0 < abs(j - item.index) <= window]
        else:
            others = list(range(max(0, len(bodies) - 2 * window), len(bodies)))
        me = dense[texts[item.body]]
        best[row] = max([0.0, *(float(me @ dense[texts[bodies[j]]]) for j in others)])
    return best


@pytest.mark.parametrize(
    ("sizes", "outside"),
    [
        ([1, 1, 2, 3], 0),
        ([20] * 30, 0),
        ([129, 130, 5], 0),
        ([300, 7, 256, 257], 0),
        ([20, 0, 40, 1], 3),
    ],
    ids=["tiny threads", "blog-sized threads", "window edge", "longer than a chunk", "with comments beside threads"],
)
def test_threads_compared_whole_give_the_per_block_similarities(post_signals, sizes, outside):
    items = _items(sizes, outside)
    texts, vectors = _vectors(post_signals, items)
    whole = signals.PostSignals._nearest_neighbour_similarity(items, texts, vectors)
    # chunk=1: every thread of more than one comment takes the per-block path, one position a block.
    blocks = signals.PostSignals._nearest_neighbour_similarity(items, texts, vectors, chunk=1)
    assert np.array_equal(whole, blocks)
    assert (whole > 0).sum() > len(items) // 4
    np.testing.assert_allclose(whole, _nearest_reference(items, texts, vectors), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("sizes", "outside"),
    [([1, 1, 2, 3], 0), ([20] * 30, 0), ([0, 0], 3), ([40, 1], 5)],
    ids=["tiny threads", "blog-sized threads", "comments beside empty threads", "beside threads"],
)
def test_paired_dots_are_scipys_row_sums_to_the_bit(post_signals, sizes, outside):
    items = _items(sizes, outside)
    texts, vectors = _vectors(post_signals, items)
    # Empty texts (rows with no entries) and pairs with nothing in common, beside real pairs.
    vectors = sp.vstack([vectors, post_signals.idf.transform(["", "zzzunknownstem"])]).tocsr()
    rng = np.random.default_rng(len(items))
    a = rng.integers(0, vectors.shape[0], 3 * len(items))
    b = np.concatenate([a[: len(items)], rng.integers(0, vectors.shape[0], 2 * len(items))])
    expected = np.asarray(vectors[a].multiply(vectors[b]).sum(axis=1)).ravel()
    got = signals.paired_dots(vectors, a, b)
    assert np.array_equal(got, expected)
    assert (got > 0).sum() >= len(items) // 2


@pytest.mark.parametrize("rows", [[], [0], [0, 1]], ids=["none", "one empty row", "two empty rows"])
def test_paired_dots_of_empty_rows_are_zero(post_signals, rows):
    vectors = post_signals.idf.transform(["", ""])
    assert np.array_equal(
        signals.paired_dots(vectors, np.array(rows, dtype=int), np.array(rows, dtype=int)), np.zeros(len(rows))
    )


@given(st.lists(st.frozensets(st.integers(0, 12), max_size=8), max_size=12))
def test_used_once_and_twice_are_a_counters_above_zero_and_one(sets):
    counts = Counter(element for members in sets for element in members)
    once, twice = signals._used_once_and_twice(iter(sets))
    assert once == {e for e, n in counts.items() if n > 0}
    assert twice == {e for e, n in counts.items() if n > 1}


@pytest.mark.parametrize("size", [1, 2, 5, 6])
@pytest.mark.parametrize("length", [0, 1, 4, 5, 6, 30])
def test_shingles_by_zip_hash_the_same_tuples_as_slices(size, length):
    words = tuple(f"w{i % 7}" for i in range(length))
    text = analyse(" ".join(words))
    expected = frozenset(hash(text.words[i : i + size]) for i in range(len(text.words) - size + 1))
    assert signals._shingle_set(text.words, size) == expected


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
@settings(max_examples=200)
@given(
    words=st.lists(st.sampled_from(["a", "b", "c", "the", "\ud800", ""]), max_size=14).map(tuple),
    others=st.lists(st.sampled_from(["a", "b", "c", "the", "x"]), max_size=14).map(tuple),
    size=st.integers(1, 5),
    extra=st.sets(st.integers(-(2**64), 2**64), max_size=3),
)
def test_a_posts_shingles_among_its_comments_are_the_intersection(compiled, words, others, size, extra):
    # PostSignals finds of a post's shingles only those of the comments under it (_shingles_among).
    if compiled and signals._compiled_shingles_in is None:
        pytest.skip("moderation.model._signals is not built")
    candidates = set(signals._shingle_set(others, size)) | extra
    with pytest.MonkeyPatch.context() as patch:
        if not compiled:
            patch.setattr(signals, "_compiled_shingles_in", None)
        found = signals._shingles_among(words, size, candidates)
    assert found == signals._shingle_set(words, size) & candidates
    assert isinstance(found, frozenset)


_WORD = re.compile(r"\w+")
_QUOTE = re.compile(r"^\s*>|[\"“][^\"”\n]{12,400}[\"”]", re.MULTILINE)


def _context_reference(items) -> np.ndarray:
    """ContextSignals as first written: every 1-3 word window looked up, the quote regex on every body."""
    out = np.zeros((len(items), 4))
    for row, item in enumerate(items):
        seen: dict[str, int] = {}
        names: dict[tuple[str, ...], int] = {}
        for position, author in enumerate(item.thread_authors):
            seen.setdefault(author, position)
            words = tuple(_WORD.findall(author.casefold()))
            if 0 < len(words) <= 3 and len("".join(words)) >= 3:
                names.setdefault(words, position)
        limit = item.index if item.index >= 0 else len(item.thread_authors)
        out[row, 0] = float(item.parent_body is not None or bool(mentioned_name(item.body)))
        words = _WORD.findall(analyse(item.body).clean.casefold())
        out[row, 1] = float(
            any(
                names.get(tuple(words[i : i + size]), limit) < limit
                for size in (1, 2, 3)
                for i in range(len(words) - size + 1)
            )
        )
        out[row, 2] = float(bool(_QUOTE.search(item.body[:32768])))
        out[row, 3] = float(bool(item.author) and seen.get(item.author, limit) < limit)
    return out


@pytest.mark.parametrize("few_names", [0, 32, 10**6], ids=["always-split", "as-shipped", "always-look-for-each"])
@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
def test_context_signals_match_the_reference(seed, few_names, monkeypatch):
    monkeypatch.setattr(signals, "_FEW_NAMES", few_names)
    items = _items([1, 12, 40, 3, 25], outside=2, seed=seed)
    items.append(item_for_comment(Comment(body="“A quote long enough to count” and “short”", author="Kim")))
    actual = signals.ContextSignals().rows(items)
    expected = _context_reference(items)
    assert np.array_equal(actual, expected)
    assert expected[:, 1].any() and expected[:, 2].any() and expected[:, 3].any()


@pytest.mark.parametrize("code", range(128), ids=lambda code: f"U+{code:04X}")
def test_ascii_letter_tables_are_str_isalpha_and_isupper(code):
    byte = bytes([code])
    assert bool(byte.translate(None, signals._NOT_ASCII_LETTER)) == chr(code).isalpha()
    assert bool(byte.translate(None, signals._NOT_ASCII_UPPER)) == chr(code).isupper()


@given(st.text(alphabet="aAb!.\n ?é", max_size=40))
def test_repeats_pre_check_counts_what_the_regex_counts(text):
    ascii = text.encode("ascii") if text.isascii() else None
    assert signals._repeats(text, ascii) == len(signals._REPEAT.findall(text))


@pytest.mark.parametrize(
    "text",
    ["", "aaa", "aaaa", "aaaaaaaa!!!!", "\n\n\n\n", "ab" * 50, "Sooooo good!!!", "a\naaa", "ééééé", "x" * 5000],
    ids=["empty", "three", "four", "two runs", "newlines", "alternating", "word", "broken run", "non-ascii", "long"],
)
def test_shape_signals_match_the_unicode_counts(text):
    item = item_for_comment(Comment(body=text))
    (row,) = signals.ShapeSignals().rows([item])
    clean = analyse(text).clean.strip()
    letters, upper = sum(map(str.isalpha, clean)), sum(map(str.isupper, clean))
    assert row[3] == upper / max(letters, 1)
    assert row[6] == min(len(signals._REPEAT.findall(clean)), 3) / 3


@given(st.text(alphabet="ab./: wxhtpcom", max_size=30))
def test_author_url_like_pre_check_keeps_host_of(name):
    (row,) = signals.AuthorSignals().rows([item_for_comment(Comment(body="hi", author=name))])
    words = name.strip()[:200].split()
    assert row[2] == float(any(host_of(word) for word in words))


def test_kept_post_rows_and_shingles_give_the_same_bits(post_signals):
    """A post's TF-IDF row and shingles are kept between calls: a check under a known post, a copy of
    the model sent to another process (pickled), and a fresh block all give the same signals."""
    import pickle

    post = Post(title="Pruning climbing roses", body="Prune climbing roses after flowering; cut the oldest canes.")
    checks = [
        item_for_comment(Comment(body=body), post, None)
        for body in ("When do you prune climbers?", "Prune climbing roses after flowering; cut the oldest canes.")
    ]
    thread = Thread(post=post, comments=[Comment(body="Cut the oldest canes first."), Comment(body="Thanks!")])
    mixed = [*checks, *items_from_thread(thread)]
    first = post_signals.rows(mixed)
    again = post_signals.rows(mixed)
    fresh = signals.PostSignals(post_signals.idf, post_signals.shingle_size).rows(mixed)
    copied = pickle.loads(pickle.dumps(post_signals)).rows(mixed)
    for other in (again, fresh, copied):
        np.testing.assert_array_equal(first, other)
    alone = np.vstack([post_signals.rows([item]) for item in checks])
    np.testing.assert_array_equal(alone, first[:2])


def test_a_batch_of_many_posts_gives_what_each_post_gives_alone(post_signals):
    """Past a few posts a batch counts its posts with its comments in one call, not from the kept rows."""
    checks = [
        item_for_comment(Comment(body=f"Which {topic} would you pick for a beginner?"), post, None)
        for topic, post in (
            (topic, Post(title=f"Choosing {topic}", body=f"A guide to {topic} for beginners, with prices."))
            for topic in ("roses", "tents", "bikes", "guitars", "laptops", "kayaks")
        )
    ]
    together = post_signals.rows(checks)
    apart = np.vstack([post_signals.rows([item]) for item in checks])
    np.testing.assert_array_equal(together, apart)


def test_comments_with_nothing_to_relate_to_leave_the_others_rows_as_they_are(post_signals):
    """A comment with no post and no other comment beside it gets a row of zeros without the block's
    work; a batch mixing such comments with related ones gives each related row what it gets alone."""
    post = Post(title="Pruning climbing roses", body="Prune climbing roses after flowering; cut the oldest canes.")
    thread = Thread(post=Post(title="", body=""), comments=[Comment(body="Cut canes."), Comment(body="Which canes?")])
    lone = Comment(body="Cut the oldest canes first, then feed the roses.")
    items = [
        item_for_comment(lone, None, None),  # nothing to relate to
        item_for_comment(lone, post, None),  # a post
        item_for_comment(lone, Post(title=" ", body="\n"), None),  # a blank post: nothing
        *items_from_thread(thread),  # no post, but a comment beside each
        *items_from_thread(Thread(post=Post(title="", body=""), comments=[lone])),  # alone in its thread
        item_for_comment(lone, None, thread),  # beside a thread
    ]
    together = post_signals.rows(items)
    assert [bool(row.any()) for row in together] == [False, True, False, True, True, False, True]
    apart = np.vstack([post_signals.rows([item]) for item in items])
    np.testing.assert_array_equal(together, apart)


@pytest.mark.parametrize("size", [513, 900], ids=["just-long", "long"])
def test_a_long_thread_in_slices_gives_what_it_gives_whole(post_signals, monkeypatch, size):
    """Past _LONG_THREAD comments a call vectorises only the comments within the window of its own, and
    a thread's counts and first appearances are kept for its next slice: the rows are those of the
    whole thread vectorised for every call, as before."""
    rng = random.Random(size)
    thread = _thread(rng, size, 0)
    comments = list(thread.comments)
    for k in range(0, size, 97):  # the same comment twice in one thread
        comments[k] = comments[(k * 7) % size]
    thread = Thread(post=thread.post, comments=comments)
    items = items_from_thread(thread)
    beside = [item_for_comment(Comment(body=" ".join(rng.choices(WORDS, k=8))), thread.post, thread) for _ in range(3)]
    context = signals.ContextSignals()
    calls = [items[:200], items[200:400], items[400:], items[size // 2 : size // 2 + 7] + beside, beside]
    got_post = [post_signals.rows(call) for call in calls]
    got_context = [context.rows(call) for call in calls]
    with monkeypatch.context() as patch:
        patch.setattr(signals, "_LONG_THREAD", 10**9)
        patch.setattr(signals, "_KEPT_FIRST_SEEN", [None])
        fresh = signals.PostSignals(post_signals.idf, post_signals.shingle_size)
        for call, post_rows, context_rows in zip(calls, got_post, got_context, strict=True):
            np.testing.assert_array_equal(post_rows, fresh.rows(call))
            np.testing.assert_array_equal(context_rows, signals.ContextSignals().rows(call))
    assert any(row.any() for rows in got_post for row in rows[:, 5:8])  # thread signals were compared


def _python_shingles(words: tuple[str, ...], size: int) -> frozenset:
    return frozenset(map(hash, zip(*(words[k:] for k in range(size)), strict=False)))


@pytest.mark.skipif(signals._compiled_shingles is None, reason="moderation.model._signals is not built")
@given(words=st.lists(st.text(max_size=6), max_size=40).map(tuple), size=st.integers(1, 7))
def test_compiled_shingles_are_the_hashes_of_the_word_tuples(words, size):
    assert signals._compiled_shingles(words, size) == _python_shingles(words, size)


def test_shingles_are_the_same_with_and_without_the_compiled_form(monkeypatch):
    words = ("buy", "now", "buy", "now", "buy")
    compiled = signals._shingle_set(words, 2)
    monkeypatch.setattr(signals, "_compiled_shingles", None)
    assert signals._shingle_set(words, 2) == compiled == _python_shingles(words, 2)
    assert len(compiled) == 2  # four windows, two distinct: "buy now" and "now buy"


SHAPE_TEXT = st.text(st.characters(codec=None, exclude_categories=())) | st.lists(
    st.sampled_from(["a", "A", "É", "ǅ", ".", "!", "?", " ", "\n", "\u3000", "aaaa", "\n\n\n\n", "!!!!"]), max_size=30
).map("".join)


@pytest.mark.skipif(
    signals._shape_counts is signals._python_shape_counts, reason="moderation.model._signals is not built"
)
@given(SHAPE_TEXT)
def test_compiled_shape_counts_are_the_python_ones(text):
    assert signals._shape_counts(text) == signals._python_shape_counts(text)


# --------------------------------------------------------------------------------------------------
# @handles and the thread's commenters: a search in the thread's sorted names, not a scan per handle.


def _names_commenter_reference(handle: str, authors: tuple[str, ...]) -> bool:
    """_names_commenter as first written: every handle against every one of the last 500 names."""
    key = re.sub(r"[\W_]+", "", handle.casefold())
    if len(key) < 3:
        return False
    return any(re.sub(r"[\W_]+", "", a.casefold()).startswith(key) for a in authors[-500:])


_NAME_PARTS = st.sampled_from(
    ["maria", "Maria K", "maria_k", "MARÍA", "ma", "Dana Whit", "d.w", "ß", "ss", "Ǆ", "_", " "]
)


@settings(max_examples=300)
@given(
    handle=st.one_of(_NAME_PARTS, st.text(max_size=8)),
    authors=st.lists(st.one_of(_NAME_PARTS, st.text(max_size=10)), max_size=12).map(tuple),
)
def test_a_handle_names_a_commenter_as_the_scan_of_every_name_found(handle, authors):
    assert signals._names_commenter(handle, authors) == _names_commenter_reference(handle, authors)


def test_only_the_last_500_commenters_are_named():
    authors = ("Maria Keller",) + tuple(f"reader {i}" for i in range(500))
    assert not signals._names_commenter("maria", authors)
    assert signals._names_commenter("maria", authors[:-1])


def test_a_comment_of_many_handles_normalises_each_name_once(monkeypatch):
    # One comment of 3,640 handles beside 600 commenters took 1.9 s when each handle was compared with
    # every name, normalised again each time (re.sub); the work is now one per name and one per handle.
    calls = Counter()
    name_key, sub = signals._name_key, re.sub

    def counted_name_key(name):
        calls["normalised"] += 1
        return name_key(name)

    def counted_sub(*args, **kwargs):
        calls["normalised"] += 1
        return sub(*args, **kwargs)

    monkeypatch.setattr(signals, "_name_key", counted_name_key)
    monkeypatch.setattr(re, "sub", counted_sub)
    monkeypatch.setattr(signals, "_KEPT_COMMENTER_NAMES", [None])
    authors = [f"Reader Number{i:04d}" for i in range(600)]
    body = "hi " + " ".join(f"@ReaderNumber{100 + i % 500:04d}" for i in range(2000))  # the last 500
    post = Post(body="A post about bread.")
    thread = Thread(post=post, comments=[Comment(body=f"comment {i}", author=a) for i, a in enumerate(authors)])
    item = item_for_comment(Comment(body=body, author="attacker"), post, thread)
    row = signals.LinkSignals().row(item, analyse(item.body))
    assert row[signals.LinkSignals.NAMES.index("contact:handle")] == 0.0  # every handle names a commenter
    assert calls["normalised"] <= 500 + 2000


# _QUOTE and _SENTENCE_END: the same answers as the expressions first written, without their rescans.
_QUOTE_BEFORE = re.compile(r"^\s*>|[\"“][^\"”\n]{12,400}[\"”]", re.MULTILINE)
_SENTENCE_END_BEFORE = re.compile(r"[.!?]+(?:\s|$)")
_QUOTE_PIECES = [" ", "\n", "\t", "\r", "\u2003", ">", '"', "“", "”", "a", "word ", ".", "!", "?", "x\n"]


@settings(max_examples=1000)
@given(st.lists(st.sampled_from(_QUOTE_PIECES), max_size=30).map("".join))
def test_quotes_and_sentence_ends_are_found_as_before(body):
    assert bool(signals._QUOTE.search(body)) == bool(_QUOTE_BEFORE.search(body))
    assert len(signals._SENTENCE_END.findall(body)) == len(_SENTENCE_END_BEFORE.findall(body))


def test_a_run_of_line_breaks_is_no_quote_and_is_read_once():
    # '"' and 32 KB of line breaks took 1.4 s when each line start rescanned the rest of the run.
    assert signals._QUOTE.search('"' + "\n" * 1_000_000 + "x") is None
    assert signals._QUOTE.search("\n" * 1_000_000 + "  > quoted") is not None
    assert len(signals._SENTENCE_END.findall("!" * 1_000_000 + "x")) == 0
