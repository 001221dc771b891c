"""The local stop-word list is scikit-learn's, so scoring can skip importing scikit-learn."""

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as SKLEARN_STOP_WORDS

from moderation.model.stopwords import ENGLISH_STOP_WORDS


def test_local_stop_words_are_scikit_learns():
    assert ENGLISH_STOP_WORDS == SKLEARN_STOP_WORDS
    assert isinstance(ENGLISH_STOP_WORDS, frozenset)
