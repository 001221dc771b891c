"""moderation.model.ngrams counts exactly what scikit-learn's vectorizers count, bit for bit after TF-IDF."""

from __future__ import annotations

import functools
import pickle
import random
import re
import unicodedata
from pathlib import Path

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from moderation.formats import read_threads
from moderation.learning.dataset import thread_files
from moderation.model import ngrams
from moderation.model.features import TextNgrams, _field_text, items_from_thread

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "default.joblib"

# Symbols the fitted vocabularies know, so that random text hits them: ASCII letters, an accented
# letter precomposed and with a combining mark, CJK, an astral emoji, a lone surrogate (JSON's "\ud800"
# escape reaches the pipeline as one), and whitespace of several kinds (tab, no-break space, ideographic
# space, the information separators str.split() also splits on).
ALPHABET = list("abcab xyz é") + [
    "e\u0301",
    "\u4e2d",
    "\U0001f600",
    "\ud800",
    "\t",
    "\n",
    "\u00a0",
    "\u3000",
    "\x1c",
    "_",
]

CONFIGS = {
    "word-ours": dict(analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", lowercase=False),
    "word-default": dict(analyzer="word", ngram_range=(1, 3)),
    "word-bigrams-only": dict(analyzer="word", ngram_range=(2, 2), token_pattern=r"(?u)\b\w+\b"),
    "word-stop-words": dict(analyzer="word", ngram_range=(1, 2), stop_words=["ab", "xyz", "a"]),
    "word-unigram-tokenizer": dict(analyzer="word", tokenizer=str.split, token_pattern=None),
    "word-accents": dict(analyzer="word", strip_accents="unicode", lowercase=True),
    "char_wb-ours": dict(analyzer="char_wb", ngram_range=(3, 5), lowercase=False),
    "char_wb-short-words": dict(analyzer="char_wb", ngram_range=(4, 6)),
    "char_wb-unigrams": dict(analyzer="char_wb", ngram_range=(1, 3), strip_accents="ascii"),
    "char": dict(analyzer="char", ngram_range=(2, 4), lowercase=False),
    "char-preprocessor": dict(
        analyzer="char", ngram_range=(1, 2), preprocessor=functools.partial(unicodedata.normalize, "NFC")
    ),
    "char_wb-binary-max-features": dict(analyzer="char_wb", ngram_range=(2, 4), binary=True, max_features=300),
}


def _random_texts(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 40))) for _ in range(count)]


FIT_TEXTS = _random_texts(random.Random(0), 400)


def _fitted(kind, params):
    return kind(**params).fit(FIT_TEXTS)


@pytest.fixture(scope="module", params=[TfidfVectorizer, CountVectorizer], ids=["tfidf", "count"])
def kind(request):
    return request.param


@pytest.fixture(scope="module", params=list(CONFIGS), ids=list(CONFIGS))
def vectorizer(request, kind):
    return _fitted(kind, {**CONFIGS[request.param], "dtype": np.float64})


def assert_identical(expected, actual):
    assert type(actual) is type(expected)
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    assert actual.has_sorted_indices
    assert actual.indptr.dtype == expected.indptr.dtype and actual.indices.dtype == expected.indices.dtype
    np.testing.assert_array_equal(actual.indptr, expected.indptr)
    np.testing.assert_array_equal(actual.indices, expected.indices)
    np.testing.assert_array_equal(actual.data, expected.data)  # exact: no tolerance


def check(vectorizer, texts):
    """ngrams.transform returns what vectorizer.transform returns, or raises what it raises."""
    try:
        expected = vectorizer.transform(texts)
    except ValueError as error:  # TfidfTransformer refuses an empty batch
        with pytest.raises(ValueError, match=re.escape(str(error))):
            ngrams.transform(vectorizer, texts)
        return
    assert_identical(expected, ngrams.transform(vectorizer, texts))


def test_every_config_is_counted_not_handed_back(vectorizer):
    assert ngrams.counter_for(vectorizer) is not None


def test_fitting_corpus(vectorizer):
    check(vectorizer, FIT_TEXTS)


TEXT = st.lists(st.sampled_from(ALPHABET), max_size=60).map("".join) | st.text(
    st.characters(codec=None, exclude_categories=()), max_size=60
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXT, max_size=8))
def test_random_unicode(vectorizer, texts):
    check(vectorizer, texts)


@pytest.fixture(autouse=True)
def _every_batch_counted(monkeypatch):
    # Small word batches go to scikit-learn for speed; here every batch goes through this module.
    monkeypatch.setattr(ngrams, "SMALL_BATCH_CHARS", {})


COMPILED = ngrams._compiled


@pytest.fixture(autouse=True, params=["compiled", "numpy"])
def counting_form(request, monkeypatch):
    """Every test here runs with the compiled inner loop (_ngramcount.c) and with the numpy form."""
    if request.param == "compiled":
        if COMPILED is None:
            pytest.skip("moderation.model._ngramcount is not built (no C compiler at install)")
    else:
        monkeypatch.setattr(ngrams, "_compiled", None)
    return request.param


def test_small_word_batches_are_scikit_learns_and_the_same():
    vectorizer = _fitted(TfidfVectorizer, CONFIGS["word-ours"])
    texts = FIT_TEXTS[:3]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ngrams, "SMALL_BATCH_CHARS", {"word": 10**6})
        check(vectorizer, texts)
        assert_identical(vectorizer.transform(FIT_TEXTS[:20]), ngrams.transform(vectorizer, iter(FIT_TEXTS[:20])))


@pytest.mark.parametrize(
    "texts",
    [[], [""], ["", "", ""], [" "], ["\t\n \u3000"], ["e\u0301\u0301\u0301"], ["\ud800\udfff"], ["a" * 5000], ["x"]],
    ids=["no-texts", "empty", "empties", "space", "whitespace-only", "combining", "surrogates", "long", "one-letter"],
)
def test_edge_cases(vectorizer, texts):
    check(vectorizer, texts)


@pytest.mark.parametrize(("symbols", "docs"), [(7, 1 << 16), (1 << 19, 3)], ids=["tiny-chunks", "few-docs"])
def test_chunked_batches_match(vectorizer, monkeypatch, symbols, docs):
    monkeypatch.setattr(ngrams, "CHUNK_SYMBOLS", symbols)
    monkeypatch.setattr(ngrams, "MAX_CHUNK_DOCS", docs)
    texts = _random_texts(random.Random(1), 50) + ["ab xyz " * 40]
    check(vectorizer, texts)


@pytest.mark.parametrize(
    "params",
    [
        dict(analyzer=str.split),
        dict(analyzer="word", ngram_range=(1, 2), token_pattern=r"[a-z ]+"),
        dict(analyzer="word", ngram_range=(1, 2), tokenizer=str.split, token_pattern=None),
    ],
    ids=["callable-analyzer", "token-pattern-with-spaces", "custom-tokenizer-bigrams"],
)
def test_configurations_it_cannot_match_fall_back_to_scikit_learn(params):
    vectorizer = _fitted(TfidfVectorizer, params)
    assert ngrams.counter_for(vectorizer) is None
    texts = _random_texts(random.Random(2), 30)
    check(vectorizer, texts)


def test_large_vocabulary_alphabet_falls_back():
    # 5-grams over more than 2**12 distinct characters do not pack into 64 bits.
    rng = random.Random(3)
    texts = ["".join(chr(0x4E00 + rng.randrange(6000)) for _ in range(30)) for _ in range(300)]
    vectorizer = CountVectorizer(analyzer="char", ngram_range=(1, 5)).fit(texts)
    assert ngrams.counter_for(vectorizer) is None
    check(vectorizer, texts[:20])


def test_counter_is_built_once_and_never_saved_with_the_model():
    transformer = TextNgrams(analyzer="char_wb", ngram_range=(3, 5), min_df=1)
    items = [
        item
        for thread in read_threads(ROOT / "data" / "threads" / "food-cast-iron-care.json")
        for item in items_from_thread(thread)
    ]
    transformer.fit(items)
    before = pickle.dumps(transformer)
    transformer.transform(items)
    assert ngrams.counter_for(transformer.vectorizer_) is ngrams.counter_for(transformer.vectorizer_)
    assert pickle.dumps(transformer) == before


# --------------------------------------------------------------------------------------------------
# The shipped model, on every comment of data/threads.


@pytest.fixture(scope="module")
def shipped():
    return joblib.load(MODEL)["bundle"].pipeline


@pytest.fixture(scope="module")
def all_items():
    return [
        item
        for path in thread_files([ROOT / "data" / "threads"])
        for thread in read_threads(path)
        for item in items_from_thread(thread)
    ]


def test_shipped_model_blocks_match_on_every_comment(shipped, all_items):
    blocks = [t for _, t in shipped.named_steps["features"].transformer_list if isinstance(t, TextNgrams)]
    assert {block.analyzer for block in blocks} == {"word", "char_wb"}
    for block in blocks:
        assert ngrams.counter_for(block.vectorizer_) is not None
        texts = [_field_text(item, block.field) for item in all_items]
        assert_identical(block.vectorizer_.transform(texts), ngrams.transform(block.vectorizer_, texts))


def test_shipped_model_scores_are_unchanged(shipped, all_items, monkeypatch):
    ours = shipped.predict_proba(all_items)
    # Without the vocabulary-and-idf form and without the counter: every vectorizer's own transform.
    monkeypatch.setattr(ngrams, "tfidf_for", lambda vectorizer: None)
    monkeypatch.setattr(ngrams, "counter_for", lambda vectorizer: None)
    np.testing.assert_array_equal(ours, shipped.predict_proba(all_items))


def test_output_follows_scikit_learns_sparse_interface(kind):
    import sklearn

    vectorizer = _fitted(kind, CONFIGS["char_wb-ours"])
    for interface in ("sparray", "spmatrix"):
        with sklearn.config_context(sparse_interface=interface):
            expected = vectorizer.transform(FIT_TEXTS[:5])
            actual = ngrams.transform(vectorizer, FIT_TEXTS[:5])
        assert sp.issparse(actual)
        assert_identical(expected, actual)


# --------------------------------------------------------------------------------------------------
# The vocabulary-and-idf form (ngrams.Tfidf): what scoring from a parameter file uses, no scikit-learn.

TFIDF_FORMS = {
    **{name: CONFIGS[name] for name in ("word-ours", "word-default", "word-bigrams-only", "char_wb-ours", "char")},
    "char_wb-short-words": CONFIGS["char_wb-short-words"],
    "split-sublinear": dict(analyzer=str.split, sublinear_tf=True),
    "char_wb-no-norm": dict(analyzer="char_wb", ngram_range=(2, 4), lowercase=False, norm=None),
}


@pytest.fixture(scope="module", params=list(TFIDF_FORMS), ids=list(TFIDF_FORMS))
def tfidf_vectorizer(request):
    return TfidfVectorizer(**TFIDF_FORMS[request.param]).fit(FIT_TEXTS)


@pytest.mark.parametrize("counting", ["numpy", "python"])
def test_vocabulary_and_idf_form_is_the_vectorizers_bit_for_bit(tfidf_vectorizer, counting):
    form = ngrams.Tfidf.from_vectorizer(tfidf_vectorizer)
    assert form is not None
    if counting == "python":
        form._counter = ngrams._UNSUPPORTED  # as for a vocabulary whose alphabet does not pack
    else:
        assert form.counter() is not None
    texts = _random_texts(random.Random(4), 200) + ["", " ", "ab xyz " * 40, "\ud800\udfff", "e\u0301" * 9]
    expected = tfidf_vectorizer.transform(texts)
    actual = form.transform(texts)
    np.testing.assert_array_equal(actual.indptr, expected.indptr)
    np.testing.assert_array_equal(actual.indices, expected.indices)
    np.testing.assert_array_equal(actual.data, expected.data)  # exact: no tolerance


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(TEXT, min_size=1, max_size=8))
def test_vocabulary_and_idf_form_on_random_unicode(tfidf_vectorizer, texts):
    # Every whitespace and word character Python knows: the compiled loop splits and tokenizes itself.
    form = ngrams.Tfidf.from_vectorizer(tfidf_vectorizer)
    assert form.counter() is not None
    expected = tfidf_vectorizer.transform(texts)
    actual = form.transform(texts)
    np.testing.assert_array_equal(actual.indptr, expected.indptr)
    np.testing.assert_array_equal(actual.indices, expected.indices)
    np.testing.assert_array_equal(actual.data, expected.data)


def test_vocabulary_and_idf_form_survives_pickling_without_its_tables(tfidf_vectorizer):
    form = ngrams.Tfidf.from_vectorizer(tfidf_vectorizer)
    before = form.transform(FIT_TEXTS[:30])
    again = pickle.loads(pickle.dumps(form))
    assert again._counter is None and again._vocabulary is None
    np.testing.assert_array_equal(again.transform(FIT_TEXTS[:30]).toarray(), before.toarray())


@pytest.mark.parametrize(
    "params",
    [CONFIGS[name] for name in ("word-stop-words", "word-accents", "char-preprocessor", "char_wb-binary-max-features")]
    + [dict(analyzer="word", use_idf=False), dict(analyzer="char", norm="l1"), dict(analyzer=str.lower)],
    ids=["stop-words", "accents", "preprocessor", "binary", "no-idf", "l1", "other-callable"],
)
def test_settings_the_form_does_not_reproduce_give_none(params):
    assert ngrams.Tfidf.from_vectorizer(TfidfVectorizer(**params).fit(FIT_TEXTS)) is None


def test_large_alphabet_form_counts_in_python():
    rng = random.Random(3)
    texts = ["".join(chr(0x4E00 + rng.randrange(6000)) for _ in range(30)) for _ in range(300)]
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 5)).fit(texts)
    form = ngrams.Tfidf.from_vectorizer(vectorizer)
    assert form.counter() is None
    np.testing.assert_array_equal(form.transform(texts[:20]).toarray(), vectorizer.transform(texts[:20]).toarray())


def test_counter_is_built_once_enough_documents_were_counted_in_python(monkeypatch):
    monkeypatch.setitem(ngrams.BUILD_COUNTER_AFTER, "char_wb", 50)
    vectorizer = TfidfVectorizer(**CONFIGS["char_wb-ours"]).fit(FIT_TEXTS)
    form = ngrams.Tfidf.from_vectorizer(vectorizer)
    outputs = []
    for start in range(0, 120, 30):
        outputs.append(form.transform(FIT_TEXTS[start : start + 30]))
        assert (form._counter is None) == (start + 30 < 50)
    for number, output in enumerate(outputs):
        expected = vectorizer.transform(FIT_TEXTS[number * 30 : number * 30 + 30])
        np.testing.assert_array_equal(output.toarray(), expected.toarray())
