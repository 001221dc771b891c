"""Why a comment got its score: per-feature contributions to the linear model, put into words."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.pipeline import Pipeline

from .model import linear_model

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
    "contact:email": "contains an e-mail address",
    "contact:phone": "contains a phone number",
    "author:words": "an author name of {n} word(s)",
    "author:digits": "digits in the author name",
    "author:lowercase_name": "an all-lowercase author name",
    "author:url_like": "the author name is a web address",
    "author:anonymous": "an anonymous author",
    "author:is_post_author": "written by the post's author",
    "shape:empty": "empty comment (deleted or blank)",
    "shape:length": "{n} characters long",
    "shape:sentences": "{n} sentence(s)",
    "shape:uppercase": "{p:.0f}% of its letters are capitals",
    "shape:exclamations": "{n} exclamation mark(s)",
    "shape:questions": "{n} question mark(s)",
    "shape:repeats": 'repeated characters ("!!!!", "soooo")',
    "shape:non_latin": "{p:.0f}% of its letters are in a non-Latin script",
    "shape:line_breaks": "{n} line break(s)",
    "shape:pingback": "a pingback or trackback",
    "context:reply": "replies to an earlier comment",
    "context:names_commenter": "names an earlier commenter",
    "context:quotes": "quotes text",
    "context:regular": "the author commented earlier in the thread",
}
_BLOCKS = {
    "word": ("wording common in spam: {terms}", "wording common in real comments: {terms}"),
    "char": ("spelling patterns common in spam: {terms}", "spelling patterns common in real comments: {terms}"),
    "name": ("an author name or site like spammers': {terms}", "an author name like real readers': {terms}"),
}


def contributions(
    pipeline: Pipeline, matrix, names: np.ndarray | None = None
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Per-item, per-feature contributions to the decision value; also feature names and raw values.

    ``matrix`` is the output of the pipeline's ``features`` step for the items; ``names`` its feature
    names, when the caller has them already (building them sorts every vocabulary: 120 ms of the
    165 ms it took to score one comment). For a linear model the decision value is the intercept
    plus the sum of these contributions, so they account for the whole score.
    """
    features = pipeline.named_steps["features"]
    matrix = sp.csr_matrix(matrix)
    coef = np.asarray(linear_model(pipeline).coef_).ravel()
    contrib = matrix.multiply(coef).tocsr()
    if names is None:
        names = features.get_feature_names_out()
    raw = _raw_signal_values(features, matrix, names)
    return contrib, names, raw


def _raw_signal_values(features, matrix: sp.csr_matrix, names: np.ndarray) -> np.ndarray:
    """Undo the scaler on the signal block so reasons can quote real values (a count, a similarity)."""
    signals = dict(features.transformer_list)["signals"]
    scaler = signals.named_steps["scale"]
    width = scaler.n_features_in_
    start = len(names) - width
    raw = np.zeros((matrix.shape[0], len(names)))
    raw[:, start:] = scaler.inverse_transform(matrix[:, start:].toarray())
    return raw


def reasons_for(
    row: int, contrib: sp.csr_matrix, names: np.ndarray, raw: np.ndarray, *, toward_spam: bool, limit: int = 3
) -> tuple[list[str], list[tuple[str, float]]]:
    """The ``limit`` strongest reasons pushing the score the way the verdict went, in words."""
    start, end = contrib.indptr[row], contrib.indptr[row + 1]
    cols = contrib.indices[start:end]
    vals = contrib.data[start:end]
    sign = 1.0 if toward_spam else -1.0
    grouped: dict[str, float] = {}
    terms: dict[str, list[tuple[float, str]]] = {}
    evidence: list[tuple[str, float]] = []
    for col, value in zip(cols, vals, strict=True):
        name = str(names[col])
        namespace, _, term = name.partition(":")
        evidence.append((name, float(value)))
        if namespace in _BLOCKS:
            # A block speaks for the verdict with its terms that point that way; terms pointing the
            # other way are evidence too, but listing them under this reason would contradict it.
            if value * sign > 0 and _speaks(namespace, term):
                grouped[namespace] = grouped.get(namespace, 0.0) + value
                terms.setdefault(namespace, []).append((value * sign, term))
        else:
            grouped[name] = value
    ranked = sorted((item for item in grouped.items() if item[1] * sign > 0.05), key=lambda kv: -abs(kv[1]))
    reasons = []
    for key, _value in ranked[:limit]:
        if key in _BLOCKS:
            top = [t for _, t in sorted(terms.get(key, []), reverse=True)[:3]]
            if not top:
                continue
            reasons.append(_BLOCKS[key][0 if toward_spam else 1].format(terms=", ".join(f"'{t}'" for t in top)))
        else:
            col = int(np.flatnonzero(names == key)[0])
            reasons.append(_phrase(key, raw[row, col]))
    evidence.sort(key=lambda kv: -abs(kv[1]))
    return reasons, evidence[:10]


def _phrase(key: str, value: float) -> str:
    phrase = _PHRASES.get(key, key + " ({v:.2f})")
    return phrase.format(v=value, p=100 * value, n=max(round(math.expm1(value)), 0))


def _speaks(namespace: str, term: str) -> bool:
    """Whether a term says something to a person: not 'the' or ' th', which carry weight but no meaning."""
    if namespace == "char":
        return len(term.strip()) >= 4 and not set(term.split()) <= _STOP_TERMS
    return not set(term.split()) <= _STOP_TERMS


_STOP_TERMS = set(ENGLISH_STOP_WORDS) | {"0", "s", "t", "ll", "ve", "d", "m", "re", "_url_", "_email_"}
