"""Scoring from the fitted parameters with numpy and scipy only: no scikit-learn, no joblib, no pickle.

Importing scikit-learn took 0.7-1 s and unpickling the model 0.3 s of a 1.5-1.7 s ``moderation score``
on 18 comments (issue 10). ``ScoringModel`` holds what the fitted pipeline knows as plain arrays (the
n-gram vocabularies and idf, the post-relatedness idf, each signal block's MaxAbs scale and weight,
the logistic regression's coefficients and the sigmoid calibration) and computes the same feature
matrix and the same probabilities with the same code the pipeline's transformers call (signals.py,
ngrams.Tfidf). Each step repeats scikit-learn's operations in its order (FeatureUnion's ``hstack``,
``X /= scale`` then ``* weight``, ``X @ coef.T + intercept``, ``expit(-(a * d + b))``), so scores
agree bit for bit; ``save_model`` refuses to write a parameter file whose scores differ by more than
1e-9 from the pipeline's on ``probe_items``.

The parameter file (``write_params``/``read_params``) is an ``.npz`` of numeric arrays plus a JSON
header, read with ``allow_pickle=False``: loading it runs no code from the file.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from ..errors import ModelError
from . import signals
from .arrays import ranges
from .bundle import (
    DEFAULT_MODEL_PATH,
    FORMAT_VERSION,
    ModelBundle,
    card_path,
    check_model_path,
    file_sha256,
    params_path,
    read_card,
)
from .decisions import Thresholds
from .items import CommentItem, field_text, item_for_comment, items_from_thread
from .ngrams import Rows, Tfidf, tfidf_for
from .thread import Comment, Post, Thread

# Bump when the parameter file's layout changes; a file of another layout is refused.
PARAMS_FORMAT = 1
# The largest difference between the parameter file's scores and the pipeline's that saving accepts.
TOLERANCE = 1e-9

# The pipeline's signal transformers (features.py) by class name, and the sklearn-free code of each.
SIGNAL_KINDS = {
    "PostRelatedness": "post",
    "LinkFeatures": "link",
    "OfferFeatures": "offer",
    "DisguiseFeatures": "disguise",
    "AuthorFeatures": "author",
    "ShapeFeatures": "shape",
    "ThreadContext": "context",
}
_ROW_SIGNALS = {
    "link": signals.LinkSignals,
    "offer": signals.OfferSignals,
    "disguise": signals.DisguiseSignals,
    "author": signals.AuthorSignals,
    "shape": signals.ShapeSignals,
    "context": signals.ContextSignals,
}


@dataclass
class NgramBlock:
    """A TextNgrams block: TF-IDF n-grams of one field, columns named ``namespace:term``."""

    name: str
    field: str
    namespace: str
    tfidf: Tfidf

    @property
    def width(self) -> int:
        return self.tfidf.n_features

    def transform(self, items) -> sp.csr_array:
        return self.tfidf.transform(self._texts(items))

    def rows(self, items) -> sp.csr_array | Rows:
        """``transform``'s arrays without the matrix: ``ScoringModel.features`` lays them out itself."""
        return self.tfidf.weighted_rows(self._texts(items))

    def _texts(self, items) -> list[str]:
        return [field_text(item, self.field) for item in items]

    def names(self) -> list[str]:
        prefix = self.namespace + ":"
        return [prefix + term for term in self.tfidf.terms]


@dataclass
class SignalBlock:
    """A signal block scaled by its fitted MaxAbs scale, then multiplied by its block weight."""

    name: str
    kind: str
    scale: np.ndarray
    weight: float | None
    shingle_size: int = 5
    idf: Tfidf | None = None  # the post block's stems

    def __post_init__(self):
        if self.kind == "post":
            self._signals = signals.PostSignals(self.idf, self.shingle_size)
        else:
            self._signals = _ROW_SIGNALS[self.kind]()
        self.scale = np.asarray(self.scale, dtype=np.float64)
        if self.scale.shape != (len(self._signals.NAMES),):
            raise ModelError(f"block {self.name}: {len(self.scale)} scales for {len(self._signals.NAMES)} signals")

    @property
    def width(self) -> int:
        return len(self.scale)

    def transform(self, items) -> np.ndarray:
        # MaxAbsScaler.transform (X /= scale_), then FeatureUnion's weight (X * weight), in that order.
        X = self._signals.rows(items)
        X /= self.scale
        return X if self.weight is None else X * self.weight

    def names(self) -> list[str]:
        return list(self._signals.NAMES)


class ScoringModel:
    """The fitted pipeline's features and calibrated linear model, from plain arrays."""

    def __init__(self, blocks: list, coef: np.ndarray, intercept: float, calibration: tuple[float, float]):
        self.blocks = blocks
        self.width = sum(block.width for block in blocks)
        self.coef = np.asarray(coef, dtype=np.float64).reshape(1, -1)
        if self.coef.shape[1] != self.width:
            raise ModelError(f"{self.coef.shape[1]} coefficients for {self.width} features")
        self.intercept = np.asarray([intercept], dtype=np.float64)
        self.a, self.b = (float(value) for value in calibration)
        self._names: np.ndarray | None = None

    _lookups: dict[bytes, np.ndarray] | None = None  # see _lookup; not pickled

    def __getstate__(self):
        return {**self.__dict__, "_names": None, "_lookups": None}

    # ----------------------------------------------------------------------------------------------
    def features(self, items) -> sp.csr_array:
        """The pipeline's ``features`` step: every block side by side, as FeatureUnion stacks them.

        The same CSR matrix as ``sp.hstack(blocks).tocsr()`` (each row's entries by block, then by
        column; a dense block's zeros left out), laid out directly: scipy's hstack, through COO and its
        checks, took 1.7 of 8.6 ms per single comment (profiled). Consecutive dense blocks (the signal
        blocks) are stacked and laid out as one: the same entries in the same order, and 6 of the 9
        placements saved (features for one comment 823 -> 760 us, one run on a loaded machine).
        """
        items = list(items)
        n = len(items)
        parts = []
        dense: list[np.ndarray] = []  # consecutive dense blocks, laid out as one
        dense_start = 0

        def add_dense() -> None:
            X = dense[0] if len(dense) == 1 else np.hstack(dense)
            rows, columns = np.nonzero(X)  # row by row, columns ascending: CSR order
            parts.append((np.bincount(rows, minlength=n), columns + dense_start, X[rows, columns]))
            dense.clear()

        for start, block in self.block_ranges():
            X = block.rows(items) if isinstance(block, NgramBlock) else block.transform(items)
            if not isinstance(X, np.ndarray):  # an n-gram block's CSR arrays
                if dense:
                    add_dense()
                parts.append((np.diff(X.indptr), X.indices.astype(np.int64) + start, X.data))
            else:
                if not dense:
                    dense_start = start
                dense.append(X)
        if dense:
            add_dense()
        counts = np.stack([part[0] for part in parts])  # blocks x rows
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts.sum(axis=0), out=indptr[1:])
        # Where each block's entries of a row begin: after the row's entries of the blocks before it.
        offsets = indptr[:-1] + np.cumsum(counts, axis=0) - counts
        nnz = int(indptr[-1])
        indices = np.empty(nnz, dtype=np.int64)
        data = np.empty(nnz, dtype=np.float64)
        for (count, columns, values), offset in zip(parts, offsets, strict=True):
            place = ranges(offset, count)
            indices[place] = columns
            data[place] = values
        index_dtype = np.int32 if max(nnz, self.width) < np.iinfo(np.int32).max else np.int64
        return sp.csr_array((data, indices.astype(index_dtype), indptr.astype(index_dtype)), shape=(n, self.width))

    def columns(self, matrix, columns: np.ndarray) -> np.ndarray:
        """The dense values of a few distinct ``columns`` of a CSR matrix, one pass over its entries
        (scipy's column indexing builds a new sparse matrix per call)."""
        where = self._lookup(columns)[matrix.indices]
        found = where >= 0
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        out = np.zeros((matrix.shape[0], len(columns)))
        out[rows[found], where[found]] = matrix.data[found]
        return out

    def _lookup(self, columns: np.ndarray) -> np.ndarray:
        """Per column of the model, its place among ``columns`` (-1: not there), kept for the few sets of
        columns asked for (the signal columns, a reader's signs): filling one for every call took 33 of
        the 640 us of a lone check."""
        key = np.asarray(columns, dtype=np.int64).tobytes()
        lookups = self._lookups if self._lookups is not None else {}
        lookup = lookups.get(key)
        if lookup is None:
            lookup = np.full(self.width, -1, dtype=np.int64)
            lookup[columns] = np.arange(len(columns))
            lookup.flags.writeable = False
            if len(lookups) < 4:
                self._lookups = {**lookups, key: lookup}
        return lookup

    def decision_function(self, matrix) -> np.ndarray:
        """The logistic regression's decision values (its ``decision_function``)."""
        return np.reshape(matrix @ self.coef.T + self.intercept, (-1,))

    def predict(self, matrix) -> np.ndarray:
        """Calibrated spam probabilities: the sigmoid calibrator on the decision values."""
        return expit(-(self.a * self.decision_function(matrix) + self.b))

    def scores(self, items) -> np.ndarray:
        items = list(items)
        return self.predict(self.features(items)) if items else np.zeros(0)

    # ----------------------------------------------------------------------------------------------
    @property
    def feature_names(self) -> np.ndarray:
        """Every column's name (``word:bookmarking``, ``link:count``), in column order; built once."""
        if self._names is None:
            names = [name for block in self.blocks for name in block.names()]
            self._names = np.asarray(names, dtype=object)
        return self._names

    def block_ranges(self):
        """(first column, block) of each block, in column order."""
        start = 0
        for block in self.blocks:
            yield start, block
            start += block.width

    def signal_blocks(self):
        """(first column, width, block weight, scale) of each scaled signal block, in column order."""
        for start, block in self.block_ranges():
            if isinstance(block, SignalBlock):
                yield start, block.width, 1.0 if block.weight is None else block.weight, block.scale

    def signal_columns(self) -> dict[str, int]:
        """The column of each signal feature by name (n-gram columns are not included)."""
        return {
            name: start + number
            for start, block in self.block_ranges()
            if isinstance(block, SignalBlock)
            for number, name in enumerate(block.names())
        }

    # ----------------------------------------------------------------------------------------------
    @classmethod
    def from_pipeline(cls, pipeline) -> ScoringModel:
        """The parameters of a fitted ``build_pipeline`` pipeline; a ModelError for any other shape.

        The n-gram and idf forms are the ones the pipeline's own transformers use (``tfidf_for``), so
        their counters are built once for both."""
        try:
            features = pipeline.named_steps["features"]
            classifier = pipeline.named_steps["classifier"]
        except (AttributeError, KeyError):
            raise ModelError("not a moderation pipeline (no features and classifier steps)") from None
        weights = features.transformer_weights or {}
        blocks: list = []
        ngram_weights: dict[int, float] = {}
        for name, transformer in features.transformer_list:
            kind = type(transformer).__name__
            if kind == "TextNgrams":
                tfidf = tfidf_for(transformer.vectorizer_)
                if tfidf is None:
                    raise ModelError(f"block {name}: n-gram settings the parameter file cannot reproduce")
                blocks.append(NgramBlock(name, transformer.field, transformer.namespace, tfidf))
                if name in weights:
                    ngram_weights[len(blocks) - 1] = float(weights[name])
                continue
            steps = getattr(transformer, "named_steps", {})
            inner, scaler = steps.get("signals"), steps.get("scale")
            if len(steps) != 2 or type(scaler).__name__ != "MaxAbsScaler" or type(inner).__name__ not in SIGNAL_KINDS:
                raise ModelError(f"block {name}: not a signal block with a MaxAbs scaler")
            kind = SIGNAL_KINDS[type(inner).__name__]
            idf = None
            if kind == "post":
                idf = tfidf_for(inner.idf_)
                if idf is None:
                    raise ModelError(f"block {name}: idf settings the parameter file cannot reproduce")
            weight = weights.get(name)
            blocks.append(
                SignalBlock(
                    name,
                    kind,
                    scaler.scale_,
                    None if weight is None else float(weight),
                    shingle_size=int(getattr(inner, "shingle_size", 5)),
                    idf=idf,
                )
            )
        calibrated = getattr(classifier, "calibrated_classifiers_", None)
        if (
            type(classifier).__name__ != "CalibratedClassifierCV"
            or classifier.method != "sigmoid"
            or not calibrated
            or len(calibrated) != 1
            or len(classifier.classes_) != 2
        ):
            raise ModelError("classifier: not one sigmoid-calibrated linear model over two classes")
        estimator, (calibrator,) = calibrated[0].estimator, calibrated[0].calibrators
        if list(estimator.classes_) != list(classifier.classes_) or np.shape(estimator.coef_)[0] != 1:
            raise ModelError("classifier: not one binary linear model")
        coef = estimator.coef_
        if ngram_weights:
            # A weighted n-gram block's columns are its TF-IDF values times the weight: folded into the
            # coefficients here (x * w) @ c == x @ (w * c), so the scorer and its reasons stay as they are.
            coef = np.array(coef, dtype=np.float64, copy=True)
            start = 0
            for index, block in enumerate(blocks):
                if index in ngram_weights:
                    coef[:, start : start + block.width] *= ngram_weights[index]
                start += block.width
        return cls(blocks, coef, float(estimator.intercept_[0]), (calibrator.a_, calibrator.b_))


# --------------------------------------------------------------------------------------------------
# The parameter file.


def _encode_terms(terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The terms as UTF-32 code points, one line each, and their lengths.

    Lines, so that reading splits them in one call (slicing 120,000 terms by their lengths took 31 ms
    of a 68 ms load); a vocabulary with a line break in a term (a "char" analyzer's) keeps the
    lengths only, and is sliced.
    """
    joined = "\n".join(terms) if not any("\n" in term for term in terms) else "".join(terms)
    points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    return points.copy(), np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))


def _decode_terms(points: np.ndarray, lengths: np.ndarray) -> list[str]:
    if points.dtype != np.dtype("<u4") or lengths.dtype.kind not in "iu" or lengths.ndim != 1:
        raise ValueError("terms are not code points with lengths")
    if len(lengths) and int(lengths.min()) < 0:
        raise ValueError("negative term length")
    text = points.tobytes().decode("utf-32-le", "surrogatepass")
    total = int(lengths.sum())
    if len(text) == total + max(len(lengths) - 1, 0) and total != len(text):
        terms = text.split("\n")
    elif len(text) == total and len(lengths):
        ends = np.cumsum(lengths).tolist()
        terms = [text[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    elif len(text) == total == 0:
        terms = []
    else:
        raise ValueError("terms and their lengths disagree")
    if len(terms) != len(lengths):
        raise ValueError("terms and their lengths disagree")
    return terms


def _tfidf_header(tfidf: Tfidf) -> dict:
    return {
        "analyzer": tfidf.analyzer,
        "ngram_range": list(tfidf.ngram_range),
        "token_pattern": tfidf.token_pattern,
        "lowercase": tfidf.lowercase,
        "sublinear_tf": tfidf.sublinear_tf,
        "norm": tfidf.norm,
    }


def _put_tfidf(arrays: dict, key: str, tfidf: Tfidf) -> None:
    arrays[f"{key}.terms"], arrays[f"{key}.lengths"] = _encode_terms(tfidf.terms)
    arrays[f"{key}.idf"] = tfidf.idf


def _get_tfidf(arrays, key: str, settings: dict) -> Tfidf:
    terms = _decode_terms(arrays[f"{key}.terms"], arrays[f"{key}.lengths"])
    return Tfidf(
        terms,
        arrays[f"{key}.idf"],
        analyzer=settings["analyzer"],
        ngram_range=tuple(settings["ngram_range"]),
        token_pattern=settings["token_pattern"],
        lowercase=settings["lowercase"],
        sublinear_tf=settings["sublinear_tf"],
        norm=settings["norm"],
    )


def write_params(model: ScoringModel, fh, *, version: str, thresholds: Thresholds) -> None:
    """Write ``model`` to an open binary file as an ``.npz``: arrays, and the header as UTF-8 JSON bytes."""
    arrays: dict[str, np.ndarray] = {}
    blocks = []
    for block in model.blocks:
        if isinstance(block, NgramBlock):
            _put_tfidf(arrays, block.name, block.tfidf)
            blocks.append(
                {"name": block.name, "kind": "ngrams", "field": block.field, "namespace": block.namespace}
                | {"tfidf": _tfidf_header(block.tfidf)}
            )
        else:
            arrays[f"{block.name}.scale"] = block.scale
            entry = {"name": block.name, "kind": block.kind, "weight": block.weight, "shingle_size": block.shingle_size}
            if block.idf is not None:
                _put_tfidf(arrays, block.name, block.idf)
                entry["tfidf"] = _tfidf_header(block.idf)
            blocks.append(entry)
    arrays["coef"] = model.coef.ravel()
    arrays["intercept"] = model.intercept
    arrays["calibration"] = np.asarray([model.a, model.b], dtype=np.float64)
    header = {
        "params_format": PARAMS_FORMAT,
        "format_version": FORMAT_VERSION,
        "version": version,
        "thresholds": {"hold": thresholds.hold, "spam": thresholds.spam},
        "blocks": blocks,
    }
    arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    np.savez_compressed(fh, **arrays)


def read_params(path: Path) -> tuple[ScoringModel, dict]:
    """The model and header of a parameter file; any damage or another layout is a one-line ModelError."""
    try:
        # Opened here, not by np.load, which leaves its own handle open when the zip is damaged.
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as arrays:
            header = json.loads(arrays["header"].tobytes().decode("utf-8"))
            if not isinstance(header, dict) or header.get("params_format") != PARAMS_FORMAT:
                raise ModelError(f"{path}: not a parameter file of format {PARAMS_FORMAT}; re-save or retrain it")
            if header.get("format_version") != FORMAT_VERSION:
                raise ModelError(
                    f"{path}: model format {header.get('format_version')} is not supported (this version reads "
                    f"format {FORMAT_VERSION}); retrain it with `moderation train`"
                )
            blocks: list = []
            for entry in header["blocks"]:
                name, kind = entry["name"], entry["kind"]
                if kind == "ngrams":
                    tfidf = _get_tfidf(arrays, name, entry["tfidf"])
                    blocks.append(NgramBlock(name, entry["field"], entry["namespace"], tfidf))
                elif kind in _ROW_SIGNALS or kind == "post":
                    idf = _get_tfidf(arrays, name, entry["tfidf"]) if kind == "post" else None
                    weight = entry["weight"]
                    blocks.append(
                        SignalBlock(
                            name,
                            kind,
                            arrays[f"{name}.scale"],
                            None if weight is None else float(weight),
                            shingle_size=int(entry["shingle_size"]),
                            idf=idf,
                        )
                    )
                else:
                    raise ValueError(f"unknown block kind {kind!r}")
            calibration = arrays["calibration"]
            model = ScoringModel(blocks, arrays["coef"], float(arrays["intercept"][0]), tuple(calibration[:2]))
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, TypeError, IndexError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: not a readable parameter file ({type(exc).__name__})") from None
    return model, header


# --------------------------------------------------------------------------------------------------
# Checking a parameter file against its pipeline, and loading the model to score with.


def probe_items() -> list[CommentItem]:
    """Comments that reach every feature block: scored both ways when saving (``check_params``).

    A thread with replies, names, quotes, a copy, links (to the site, to a reference, to a shop),
    contact details, money, disguised letters, another script, a pingback and an empty comment; each
    comment again on its own, with its post only, and with nothing around it.
    """
    post = Post(
        title="Cast iron care",
        body="Season the pan with a thin layer of oil and bake it upside down for an hour at 230 C. "
        "Never soak it; dry it on the stove. See https://blog.example.org/cast-iron for photos.",
        author="Ines",
        url="https://blog.example.org/cast-iron",
    )
    bodies = [
        ("Great post, thanks! I bake mine at 250 C and it works fine.", "Sam Taylor", "", "comment", None),
        ("@Sam Taylor: 250 C smoked my kitchen out, 230 is safer.", "Ines", "", "comment", "1"),
        ("Great web site! I'll be bookmarking it. Visit http://cheap.example.biz/loans now!!!", "best payday loans",
         "http://cheap.example.biz/product/loans-today", "comment", None),
        ('> Never soak it\nI soak mine overnight, "and it is still fine after ten years of abuse".', "Kim", "",
         "comment", None),
        ("I earned $3,000 in a week, WhatsApp +1 555 010 9999 or email rich@example.com for the plan",
         "Mrs Helen", "", "comment", None),
        ("𝐒𝐆𝐈𝟖𝟖 W h a t s A p p best sl\u200bot site", "sgi88", "", "comment", None),
        ("Чугунная сковорода — лучшая. 鋳鉄のフライパンは最高です。", "Олег", "", "comment", None),
        ("Docs: https://docs.python.org/3/library/functions.html and https://blog.example.org/seasoning",
         "Sam Taylor", "https://sam.example.net", "comment", None),
        ("Season the pan with a thin layer of oil and bake it upside down for an hour at 230 C.", "copy", "",
         "comment", None),
        ("", "C. Clavin", "", "comment", None),
        ("[...] a great guide to cast iron care [...]", "Kitchen Links", "https://links.example.com/iron",
         "pingback", None),
        ("cheap pans cheap pans cheap pans buy cheap pans online best cheap pans", "cheap pans online", "",
         "comment", None),
    ]  # fmt: skip
    comments = [
        Comment(body=body, author=author, author_url=url, type=kind, id=str(number), parent=parent)
        for number, (body, author, url, kind, parent) in enumerate(bodies, start=1)
    ]
    thread = Thread(post=post, comments=comments)
    items = items_from_thread(thread)
    items += [item_for_comment(comment, post) for comment in comments]
    items += [item_for_comment(comment) for comment in comments]
    items += [item_for_comment(Comment(body="One more thought on seasoning.", author="Kim"), post, thread)]
    return items


def check_params(pipeline, model: ScoringModel, items: list[CommentItem] | None = None) -> float:
    """The largest difference between ``model``'s scores and the pipeline's; a ModelError above TOLERANCE."""
    items = probe_items() if items is None else list(items)
    expected = pipeline.predict_proba(items)[:, 1]
    actual = model.scores(items)
    worst = float(np.max(np.abs(actual - expected))) if len(items) else 0.0
    if not worst <= TOLERANCE:  # NaN fails too
        raise ModelError(
            f"the parameter file's scores differ from the pipeline's by {worst:.3g} (more than {TOLERANCE:g}); "
            "not writing it"
        )
    return worst


def load_for_scoring(path: str | Path | None = None) -> tuple[ModelBundle, ScoringModel]:
    """The model at ``path`` (default: the shipped one) ready to score, and its bundle.

    From the parameter file when the card records its SHA-256 and the file is there, without importing
    scikit-learn or joblib; otherwise from the joblib file (older models, or a parameter file
    removed). A parameter file that does not match its recorded hash is refused, never used and
    never silently skipped: it was changed after saving, like a tampered joblib file.
    """
    path = Path(path) if path is not None else DEFAULT_MODEL_PATH
    check_model_path(path)
    card = read_card(path)
    params = params_path(path)
    expected = card.get("params_sha256")
    if isinstance(expected, str) and params.is_file():
        if file_sha256(params) != expected:
            raise ModelError(f"{params}: does not match the SHA-256 in {card_path(path).name}; refusing to load it")
        model, header = read_params(params)
        if header.get("version") != card.get("version"):
            raise ModelError(
                f"{params}: saved for model {header.get('version')}, but its card is for {card.get('version')}"
            )
        try:
            limits = header["thresholds"]
            thresholds = Thresholds(hold=float(limits["hold"]), spam=float(limits["spam"]))
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"{params}: its thresholds are not 0 <= hold <= spam <= 1") from None
        return ModelBundle(pipeline=None, thresholds=thresholds, card=card), model
    from .pipeline import load_model  # scikit-learn and joblib: only for a model without its parameter file

    bundle = load_model(path)
    return bundle, ScoringModel.from_pipeline(bundle.pipeline)
