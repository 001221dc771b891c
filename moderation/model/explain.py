"""Why a comment got its score: per-feature contributions to the linear model, put into words."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from .scoring import ScoringModel
from .stopwords import ENGLISH_STOP_WORDS

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
    model: ScoringModel, matrix, names: np.ndarray | None = None
) -> tuple[sp.csr_matrix, np.ndarray, SignalValues]:
    """Per-item, per-feature contributions to the decision value; also feature names and raw values.

    ``matrix`` is ``model.features`` of the items; ``names`` its feature names, when the caller has them
    already. For a linear model the decision value is the intercept plus the sum of these
    contributions, so they account for the whole score. ``model`` is the same whether it was read from
    the parameter file or taken from the joblib pipeline (``ScoringModel.from_pipeline``).
    """
    # matrix.multiply(coef), explicit zeros and entry order included, without scipy's broadcasting.
    data = matrix.data * model.coef.ravel()[matrix.indices]
    contrib = sp.csr_matrix((data, matrix.indices, matrix.indptr), shape=matrix.shape)
    if names is None:
        names = model.feature_names
    raw = _raw_signal_values(model, matrix)
    return contrib, names, raw


class SignalValues:
    """Raw values of the scaled signal columns only, read as ``values[row, column]``.

    A dense rows x columns array over every column (100k, mostly n-grams, whose raw value no reason
    quotes) took 840 KB per comment: 3.4 GB for one 4,000-comment thread (issue 9 item 6). The ~50
    signal columns take 400 bytes per comment.
    """

    def __init__(self, values: np.ndarray, columns: np.ndarray):
        self.values = values
        self.position = {int(column): number for number, column in enumerate(columns)}

    def __getitem__(self, key: tuple[int, int]) -> float:
        row, column = key
        number = self.position.get(int(column))
        return 0.0 if number is None else float(self.values[row, number])


def _raw_signal_values(model: ScoringModel, matrix) -> SignalValues:
    """Undo each signal block's weight and scaler, so reasons can quote real values (a count, a similarity)."""
    columns, weights, scales = [], [], []
    for start, width, weight, scale in model.signal_blocks():
        columns.append(np.arange(start, start + width))
        weights.append(np.full(width, weight))
        scales.append(scale)
    if not columns:
        return SignalValues(np.zeros((matrix.shape[0], 0)), np.zeros(0, dtype=np.int64))
    columns = np.concatenate(columns)
    # The scaler's inverse_transform, without its per-call checks: (value / weight) * scale.
    values = model.columns(matrix, columns) / np.concatenate(weights) * np.concatenate(scales)
    return SignalValues(values, columns)


def raw_scale(model: ScoringModel, width: int | None = None) -> np.ndarray:
    """Per column, the factor from the model's scaled and weighted value back to the raw signal (1 for n-grams)."""
    scale = np.ones(model.width if width is None else width)
    for start, block_width, weight, block_scale in model.signal_blocks():
        scale[start : start + block_width] = block_scale / weight
    return scale


class FeatureIndex:
    """What ``reasons_for`` needs to know about a model's columns, built once per model.

    Looking names up per comment (comparing 50,000 names for each reason) held WordPress-export
    scoring to 45 comments/s.
    """

    def __init__(self, names: np.ndarray, block: np.ndarray | None = None):
        self.names = names
        self.blocks = list(_BLOCKS)
        if block is None:
            namespaces = np.array([str(name).partition(":")[0] for name in names], dtype=object)
            block = np.full(len(names), -1, dtype=np.int8)
            for number, namespace in enumerate(self.blocks):
                block[namespaces == namespace] = number
        self.block = block

    @classmethod
    def for_model(cls, model: ScoringModel) -> FeatureIndex:
        """The index of a model's columns, with blocks taken from its n-gram blocks' namespaces rather
        than from parsing every name."""
        block = np.full(model.width, -1, dtype=np.int8)
        for start, part in model.block_ranges():
            namespace = getattr(part, "namespace", None)
            if namespace in _BLOCKS:
                block[start : start + part.width] = list(_BLOCKS).index(namespace)
        return cls(model.feature_names, block)


def reasons_for(
    row: int,
    contrib: sp.csr_matrix,
    index: FeatureIndex,
    raw: SignalValues,
    *,
    toward_spam: bool,
    limit: int = 3,
) -> tuple[list[str], list[tuple[str, float]]]:
    """The ``limit`` strongest reasons pushing the score the way the verdict went, in words.

    An n-gram block speaks as one reason, with its strongest terms that point the verdict's way;
    terms pointing the other way are evidence too, but listing them under this reason would
    contradict it. Each signal feature is a reason of its own.
    """
    start, end = contrib.indptr[row], contrib.indptr[row + 1]
    cols = contrib.indices[start:end]
    vals = contrib.data[start:end]
    sign = 1.0 if toward_spam else -1.0
    blocks = index.block[cols]
    candidates: list[tuple[float, str, object]] = []
    for number, namespace in enumerate(index.blocks):
        mask = (blocks == number) & (vals * sign > 0)
        if not mask.any():
            continue
        block_cols, block_vals = cols[mask], vals[mask] * sign
        order = np.argsort(-block_vals)
        terms = []
        for position in order[:40]:
            term = str(index.names[block_cols[position]]).partition(":")[2]
            if _speaks(namespace, term):
                terms.append(term)
                if len(terms) == 3:
                    break
        if terms:
            candidates.append((float(block_vals.sum()), namespace, terms))
    # Character n-grams carry much of the weight but read poorly ("'iting'"): their strength goes to
    # the wording reason when it has words to show, and they speak for themselves only when it has
    # none (spun or foreign text).
    by_kind = {kind: (strength, detail) for strength, kind, detail in candidates}
    if "char" in by_kind and "word" in by_kind:
        candidates = [c for c in candidates if c[1] not in ("char", "word")]
        candidates.append((by_kind["word"][0] + by_kind["char"][0], "word", by_kind["word"][1]))
    for position in np.flatnonzero(blocks < 0):
        name = str(index.names[cols[position]])
        if vals[position] * sign > 0 and name not in _SILENT and not (toward_spam and name in _ONLY_TOWARD_HAM):
            candidates.append((float(vals[position] * sign), "signal", int(cols[position])))
    candidates.sort(key=lambda c: -c[0])
    reasons = []
    for strength, kind, detail in candidates[:limit]:
        if strength <= 0.05:
            break
        if kind == "signal":
            reasons.append(_phrase(str(index.names[detail]), raw[row, detail]))
        else:
            quoted = ", ".join(f"'{term}'" for term in detail)
            reasons.append(_BLOCKS[kind][0 if toward_spam else 1].format(terms=quoted))
    strongest = np.argsort(-np.abs(vals))[:10]
    evidence = [(str(index.names[cols[i]]), float(vals[i])) for i in strongest]
    return reasons, evidence


def _phrase(key: str, value: float) -> str:
    phrase = _PHRASES.get(key, key + " ({v:.2f})")
    return phrase.format(v=value, p=100 * value, n=max(round(math.expm1(value)), 0))


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
