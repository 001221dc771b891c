"""The feature pipeline's scikit-learn transformers: what the classifier knows about a comment, each
feature with a readable name.

The pipeline's input is a list of ``CommentItem`` (items.py): one comment together with the post it
sits under and the rest of its thread. Every transformer here reads the fields it needs and returns a
numeric matrix whose columns ``get_feature_names_out`` names (``link:count``, ``post:similarity``,
``word:bookmarking``) so that ``explain`` can turn a score into reasons. The computing is in
signals.py and ngrams.py, without scikit-learn, so that scoring from a parameter file runs the same
code (scoring.py); these classes add fitting and scikit-learn's estimator API, and are what the saved
pipeline pickles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from ..errors import TooLittleTextError
from . import ngrams, signals
from .items import CommentItem, field_text, item_for_comment, items_from_thread
from .text import analyse

# Re-exported: callers built items from here before items.py existed.
__all__ = [
    "AuthorFeatures",
    "CommentItem",
    "DisguiseFeatures",
    "LinkFeatures",
    "OfferFeatures",
    "PostRelatedness",
    "ShapeFeatures",
    "TextNgrams",
    "ThreadContext",
    "item_for_comment",
    "items_from_thread",
]
_field_text = field_text


class _ItemTransformer(TransformerMixin, BaseEstimator):
    """Shared validation: the input is a sequence of ``CommentItem``."""

    def _check_items(self, X) -> Sequence[CommentItem]:
        if isinstance(X, CommentItem) or not isinstance(X, Sequence | np.ndarray):
            raise TypeError(f"{type(self).__name__} expects a sequence of CommentItem, got {type(X).__name__}")
        for item in X[:1]:
            if not isinstance(item, CommentItem):
                raise TypeError(f"{type(self).__name__} expects CommentItem elements, got {type(item).__name__}")
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags


class _RowFeatures(_ItemTransformer):
    """A stateless block of named signals (``_SIGNALS``, a class of signals.py): nothing to fit."""

    _SIGNALS: type = signals.RowSignals

    def fit(self, X, y=None):
        self._check_items(X)
        return self

    def transform(self, X):
        return self._SIGNALS().rows(self._check_items(X))

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self._SIGNALS.NAMES, dtype=object)

    def __sklearn_is_fitted__(self):
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags


class TextNgrams(_ItemTransformer):
    """TF-IDF n-grams of one field of the comment, namespaced (``word:``, ``char:``, ``name:``).

    Word n-grams learn the wording of template spam ("bookmarking", "this web site"); character
    n-grams catch the same in spun or misspelt variants and in languages we have few words for.
    """

    def __init__(
        self,
        *,
        field="body",
        namespace="word",
        analyzer="word",
        ngram_range=(1, 2),
        min_df=2,
        max_features=None,
        sublinear_tf=True,
    ):
        self.field = field
        self.namespace = namespace
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    def _vectorizer(self) -> TfidfVectorizer:
        token_pattern = r"(?u)\b\w+\b" if self.analyzer == "word" else None
        return TfidfVectorizer(
            analyzer=self.analyzer,
            ngram_range=tuple(self.ngram_range),
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=self.sublinear_tf,
            lowercase=False,
            token_pattern=token_pattern,
            dtype=np.float64,
        )

    def fit(self, X, y=None):
        items = self._check_items(X)
        texts = [field_text(item, self.field) for item in items]
        self.vectorizer_ = self._vectorizer()
        try:
            self.vectorizer_.fit(texts)
        except ValueError as exc:
            # Too little text for min_df. This once refitted with min_df=1 and a dummy "_" document,
            # silently: a model trained on a few comments then kept every term they used, and its card
            # did not say so (issue 10). The caller decides: a smaller min_df, or more data.
            raise TooLittleTextError(
                f"{self.namespace} n-grams: no term is in {self.min_df} or more of the {len(texts)} "
                f"training texts (min_df={self.min_df}); give more text or a smaller min_df ({exc})"
            ) from exc
        self.n_features_out_ = len(self.vectorizer_.vocabulary_)
        # Every term min_df or max_features left out: never used to transform, and most of the saved
        # model (scikit-learn's own advice is to delete it before pickling).
        if hasattr(self.vectorizer_, "stop_words_"):
            del self.vectorizer_.stop_words_
        return self

    def transform(self, X):
        check_is_fitted(self, "vectorizer_")
        items = self._check_items(X)
        texts = [field_text(item, self.field) for item in items]
        # The vocabulary-and-idf form scoring uses (ngrams.Tfidf): the same matrix as
        # self.vectorizer_.transform, bit for bit, counted over the whole batch with numpy (4.8x faster
        # for the character block and 2.4x for the word block on blog comments).
        form = ngrams.tfidf_for(self.vectorizer_)
        if form is None:
            return ngrams.transform(self.vectorizer_, texts)
        return ngrams._align_api_if_sparse(form.transform(texts))

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "vectorizer_")
        return np.asarray(
            [f"{self.namespace}:{name}" for name in self.vectorizer_.get_feature_names_out()], dtype=object
        )


class PostRelatedness(_ItemTransformer):
    """How much a comment is about the post and the thread it sits under (``signals.PostSignals``).

    Fitting learns the IDF of content-word stems over the training posts and comments, so that words
    every blog uses count for little.
    """

    _NAMES = signals.PostSignals.NAMES

    def __init__(self, *, shingle_size=5):
        self.shingle_size = shingle_size

    def fit(self, X, y=None):
        items = self._check_items(X)
        if int(self.shingle_size) < 2:
            raise ValueError(f"shingle_size must be at least 2, got {self.shingle_size}")
        docs = {item.post_text for item in items} | {item.body for item in items}
        self.idf_ = TfidfVectorizer(analyzer=str.split, sublinear_tf=True).fit(
            sorted(" ".join(sorted(analyse(doc).stems)) for doc in docs)
        )
        return self

    def transform(self, X):
        check_is_fitted(self, "idf_")
        items = self._check_items(X)
        # The fitted vectorizer itself only if its settings were ever ones Tfidf does not reproduce.
        idf = ngrams.tfidf_for(self.idf_) or self.idf_
        return signals.PostSignals(idf, self.shingle_size).rows(items)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self._NAMES, dtype=object)


class LinkFeatures(_RowFeatures):
    """Links and contact details (``signals.LinkSignals``)."""

    _SIGNALS = signals.LinkSignals


class OfferFeatures(_RowFeatures):
    """Money claims, service-number phrases, keyword stuffing (``signals.OfferSignals``)."""

    _SIGNALS = signals.OfferSignals


class DisguiseFeatures(_RowFeatures):
    """Look-alike letters, invisible characters, spaced-out words (``signals.DisguiseSignals``)."""

    _SIGNALS = signals.DisguiseSignals


class AuthorFeatures(_RowFeatures):
    """The commenter's name (``signals.AuthorSignals``)."""

    _SIGNALS = signals.AuthorSignals


class ShapeFeatures(_RowFeatures):
    """Length, case, punctuation, repetition and line breaks (``signals.ShapeSignals``)."""

    _SIGNALS = signals.ShapeSignals


class ThreadContext(_RowFeatures):
    """Replies, quotes, names of earlier commenters (``signals.ContextSignals``)."""

    _SIGNALS = signals.ContextSignals
