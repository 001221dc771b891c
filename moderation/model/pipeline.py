"""The classifier: its pipeline, and saving and loading it with the facts needed to trust it.

A saved model is a joblib file holding a ``ModelBundle``: the fitted pipeline, the thresholds, and a
card (format version, scikit-learn version, training-data hash, metrics). The card is also written as
JSON beside the model, so a person can read it without loading anything. joblib files are pickles:
loading one runs code, so only load model files you trust. Beside them, the parameter file
(scoring.py) holds the same fitted model as plain arrays, which scoring reads without scikit-learn.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import joblib
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import MaxAbsScaler

from ..errors import ModelError
from .bundle import (
    DEFAULT_MODEL_PATH,
    FORMAT_VERSION,
    PROJECT_ROOT,
    ModelBundle,
    card_path,
    check_model_path,
    file_sha256,
    params_path,
    verify_model_file,
)
from .decisions import Thresholds
from .features import (
    AuthorFeatures,
    DisguiseFeatures,
    LinkFeatures,
    OfferFeatures,
    PostRelatedness,
    ShapeFeatures,
    TextNgrams,
    ThreadContext,
)
from .scoring import ScoringModel, check_params, read_params, write_params

# Re-exported: the saved model's files and facts live in bundle.py, which scoring imports without
# scikit-learn.
__all__ = [
    "BLOCK_WEIGHTS",
    "DEFAULT_MODEL_PATH",
    "FORMAT_VERSION",
    "PROJECT_ROOT",
    "ModelBundle",
    "ModelVersionWarning",
    "build_pipeline",
    "card_path",
    "file_sha256",
    "linear_model",
    "load_model",
    "params_path",
    "save_model",
    "verify_model_file",
]


# How much each block of features may speak, relative to the others. A block's weight scales its
# columns after MaxAbs scaling, so a weight below 1 means the model needs larger coefficients to use
# it: a stronger L2 penalty on that block alone. The shape block (length, capitals, "!") separates our
# own threads very well but does not transfer: unweighted, it marked 8% of the YouTube corpus's
# legitimate comments as spam. The weights were chosen on that transfer and on grouped CV together
# (benchmarks/bench_peers.py and `moderation train`); see the README's Accuracy section.
BLOCK_WEIGHTS = {
    "words": 1.0,
    "chars": 1.0,
    "post": 1.0,
    "link": 1.0,
    "offer": 1.0,
    "disguise": 1.0,
    "author": 1.0,
    "shape": 0.3,
    "context": 1.0,
}


def build_pipeline(*, seed: int = 0, C: float = 4.0, weights: dict[str, float] | None = None) -> Pipeline:
    """The default pipeline: n-gram blocks plus scaled signal blocks, into a calibrated linear model.

    A linear model keeps every score explainable as a sum of named contributions. Calibration
    (Platt scaling on cross-validated decision values, ``ensemble=False`` so one linear model remains
    to explain) makes the score usable as a probability for the hold and spam thresholds.
    """
    weights = {**BLOCK_WEIGHTS, **(weights or {})}
    signal_blocks = {
        "post": PostRelatedness(),
        "link": LinkFeatures(),
        "offer": OfferFeatures(),
        "disguise": DisguiseFeatures(),
        "author": AuthorFeatures(),
        "shape": ShapeFeatures(),
        "context": ThreadContext(),
    }
    blocks = [
        ("words", TextNgrams(field="body", namespace="word", analyzer="word", ngram_range=(1, 2), min_df=2)),
        (
            "chars",
            TextNgrams(
                field="body", namespace="char", analyzer="char_wb", ngram_range=(3, 5), min_df=3, max_features=40000
            ),
        ),
        # No n-grams of the author's name: that block learned our writers' first names ("an author
        # name like real readers': 'sam'"), which no other blog shares. Without it (and with
        # author:name_in_text for keyword names), held-out ROC AUC rose: blog 0.795 -> 0.802, Psy
        # 0.970 -> 0.974 with legit blocked 6.3% -> 5.1%; TubeSpam pilot 0.972 both; SMS 0.934 -> 0.928
        # (benchmarks/README.md, bench_transfer.py).
    ]
    # N-gram blocks carry a weight only when it is not 1 (models trained before had none for them).
    ngram_weights = {name: weights[name] for name, _ in blocks if weights.get(name, 1.0) != 1.0}
    # Each signal block is scaled to [0, 1] on its own (no centring: an absent signal contributes
    # nothing, so reasons name only what is there).
    blocks += [
        (name, Pipeline([("signals", block), ("scale", MaxAbsScaler())])) for name, block in signal_blocks.items()
    ]
    features = FeatureUnion(
        blocks,
        transformer_weights={**ngram_weights, **{name: weights[name] for name in signal_blocks}},
        verbose_feature_names_out=False,
    )
    classifier = CalibratedClassifierCV(
        LogisticRegression(C=C, class_weight="balanced", max_iter=5000, random_state=seed),
        method="sigmoid",
        cv=5,
        ensemble=False,
    )
    return Pipeline([("features", features), ("classifier", classifier)])


def linear_model(pipeline: Pipeline) -> LogisticRegression:
    """The single fitted logistic regression inside the calibrated classifier, for explanations."""
    classifier = pipeline.named_steps["classifier"]
    if isinstance(classifier, CalibratedClassifierCV):
        return classifier.calibrated_classifiers_[0].estimator
    return classifier


def save_model(bundle: ModelBundle, path: str | Path) -> Path:
    """Write the model, its parameter file and its card, each atomically, so a reader never sees half a
    model. The card, written last, records the SHA-256 of the other two.

    The parameter file is written only if its scores, read back, match the pipeline's within
    ``scoring.TOLERANCE`` on ``scoring.probe_items``; otherwise the joblib model and its card are kept
    (scoring falls back to the joblib) and a ModelError says why.
    """
    from ..formats.source import atomic_write

    if bundle.pipeline is None:
        raise ModelError(f"{path}: this model was loaded from its parameter file; load it with load_model to save it")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    bundle.card.setdefault("format_version", FORMAT_VERSION)
    bundle.card.setdefault("sklearn_version", sklearn.__version__)
    bundle.card["thresholds"] = {"hold": bundle.thresholds.hold, "spam": bundle.thresholds.spam}
    bundle.card.pop("params_sha256", None)
    with atomic_write(path, "wb") as fh:
        joblib.dump(
            {"format_version": FORMAT_VERSION, "sklearn_version": sklearn.__version__, "bundle": bundle}, fh, compress=3
        )
    # Loading a joblib file runs code, so its hash is recorded beside it and checked before loading.
    bundle.card["model_sha256"] = file_sha256(path)
    params = params_path(path)
    failure = None
    try:
        with atomic_write(params, "wb") as fh:
            write_params(
                ScoringModel.from_pipeline(bundle.pipeline), fh, version=bundle.version, thresholds=bundle.thresholds
            )
        check_params(bundle.pipeline, read_params(params)[0])
        bundle.card["params_sha256"] = file_sha256(params)
    except ModelError as error:
        failure = error
        params.unlink(missing_ok=True)
    with atomic_write(card_path(path)) as fh:
        json.dump(bundle.card, fh, indent=2, sort_keys=True, ensure_ascii=False)
        fh.write("\n")
    if failure is not None:
        raise ModelError(f"{path}: saved without its parameter file: {failure}")
    return path


class ModelVersionWarning(UserWarning):
    """A model saved by another patch release of scikit-learn: usable, but worth retraining."""


def _minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def load_model(path: str | Path | None = None) -> ModelBundle:
    """Load a model saved by ``save_model``, refusing files this version cannot use safely."""
    path = Path(path) if path is not None else DEFAULT_MODEL_PATH
    check_model_path(path)
    verify_model_file(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            payload = joblib.load(path)
    except (ModuleNotFoundError, AttributeError) as exc:
        if "moderation" in str(exc):
            # Files of format 3 and older name their classes by the modules' places before the
            # layout by concern (moderation.features, moderation.model): unpickling cannot find them.
            raise ModelError(
                f"{path}: saved by an older release of moderation (format 3 or earlier); retrain it "
                "with `moderation train`"
            ) from None
        raise ModelError(f"{path}: not a readable model file ({type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a usable model"
        raise ModelError(f"{path}: not a readable model file ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or "bundle" not in payload:
        raise ModelError(f"{path}: not a moderation model file")
    saved_format = payload.get("format_version")
    if saved_format != FORMAT_VERSION:
        raise ModelError(
            f"{path}: model format {saved_format} is not supported (this version reads format "
            f"{FORMAT_VERSION}); retrain it with `moderation train`"
        )
    saved_sklearn = str(payload.get("sklearn_version"))
    if saved_sklearn != sklearn.__version__:
        message = f"{path}: saved with scikit-learn {saved_sklearn}, but {sklearn.__version__} is installed"
        if _minor(saved_sklearn) != _minor(sklearn.__version__):
            # Pickled estimators are not portable across feature releases: refuse rather than
            # score with a model whose internals may have changed meaning.
            raise ModelError(f"{message}; retrain with `moderation train` or install scikit-learn=={saved_sklearn}")
        warnings.warn(f"{message}; scores may differ slightly, retrain to be sure", ModelVersionWarning, stacklevel=2)
    for warning in caught:
        # Unpickling warnings (e.g. InconsistentVersionWarning) were checked above; anything else is news.
        if not issubclass(warning.category, sklearn.exceptions.InconsistentVersionWarning):
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    bundle = payload["bundle"]
    if not isinstance(bundle, ModelBundle) or not isinstance(bundle.pipeline, Pipeline):
        raise ModelError(f"{path}: not a moderation model file")
    try:
        # Unpickling skips __post_init__: check the thresholds as if they were made afresh.
        Thresholds(hold=float(bundle.thresholds.hold), spam=float(bundle.thresholds.spam))
    except (AttributeError, TypeError, ValueError):
        raise ModelError(f"{path}: its thresholds are not 0 <= hold <= spam <= 1") from None
    return bundle
