import json
import os

import joblib
import numpy as np
import pytest
import sklearn

from moderation.errors import ModelError, ModerationError
from moderation.learning.dataset import data_hash, load_labeled_threads, training_arrays
from moderation.learning.training import choose_thresholds, grouped_folds, metrics, train_model
from moderation.model.decisions import Thresholds
from moderation.model.pipeline import FORMAT_VERSION, ModelVersionWarning, card_path, file_sha256, load_model


def test_card_carries_versions_hash_metrics_and_thresholds(fitted_bundle, small_corpus):
    card = fitted_bundle.card
    assert card["format_version"] == FORMAT_VERSION
    assert card["sklearn_version"] == sklearn.__version__
    assert card["data_hash"] == data_hash(small_corpus)
    for key in ("f1", "mcc", "roc_auc", "pr_auc", "blocked_legit", "spam_caught"):
        assert 0.0 <= card["metrics"][key] <= 1.0
    assert card["thresholds"] == {"hold": fitted_bundle.thresholds.hold, "spam": fitted_bundle.thresholds.spam}


def test_small_model_separates_spam_from_ham(fitted_bundle):
    # Grouped CV on twelve threads: a weak bar, but one a broken feature pipeline fails.
    assert fitted_bundle.card["metrics"]["roc_auc"] > 0.9


def test_training_is_reproducible(small_corpus, fitted_bundle):
    again = train_model(small_corpus, seed=0, cv=3)
    items, _, _ = training_arrays(small_corpus[:2])
    np.testing.assert_array_equal(again.pipeline.predict_proba(items), fitted_bundle.pipeline.predict_proba(items))
    assert again.version == fitted_bundle.version


def test_folds_never_split_a_thread(small_corpus):
    _, y, groups = training_arrays(small_corpus)
    for train, test in grouped_folds(y, groups, cv=3, seed=0):
        assert not set(groups[train]) & set(groups[test])


def test_save_and_load_round_trip(model_path, fitted_bundle):
    loaded = load_model(model_path)
    assert loaded.version == fitted_bundle.version
    card = json.loads(card_path(model_path).read_text())
    assert card["data_hash"] == fitted_bundle.card["data_hash"]


def _vouch(path):
    """Write a card beside ``path`` that records its hash, as save_model does."""
    card_path(path).write_text(json.dumps({"model_sha256": file_sha256(path)}))
    return path


def _resave(model_path, tmp_path, **changes):
    payload = joblib.load(model_path)
    payload.update(changes)
    target = tmp_path / "changed.joblib"
    joblib.dump(payload, target)
    return _vouch(target)


def _resave_bundle(model_path, tmp_path, change):
    payload = joblib.load(model_path)
    change(payload["bundle"])
    target = tmp_path / "changed.joblib"
    joblib.dump(payload, target)
    return _vouch(target)


class _Exploit:
    """A pickle that runs code when loaded: here it only creates a file, which must never appear."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_tampered_model_is_refused_before_unpickling(model_path, tmp_path):
    target = tmp_path / "model.joblib"
    target.write_bytes(model_path.read_bytes())
    card_path(target).write_text(card_path(model_path).read_text())
    marker = tmp_path / "exploited"
    joblib.dump({"bundle": _Exploit(marker)}, target)
    with pytest.raises(ModelError, match="does not match the SHA-256"):
        load_model(target)
    assert not marker.exists()


def test_model_without_a_card_is_refused(model_path, tmp_path):
    target = tmp_path / "model.joblib"
    target.write_bytes(model_path.read_bytes())
    with pytest.raises(ModelError, match="no card model.card.json beside it"):
        load_model(target)


def test_model_path_on_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.joblib"
    os.mkfifo(fifo)
    with pytest.raises(ModelError, match="not a regular file"):
        load_model(fifo)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda bundle: object.__setattr__(bundle.thresholds, "spam", float("nan")), "thresholds are not"),
        (lambda bundle: object.__setattr__(bundle.thresholds, "hold", -0.5), "thresholds are not"),
        (lambda bundle: setattr(bundle, "pipeline", None), "not a moderation model file"),
    ],
    ids=["nan-threshold", "negative-threshold", "no-pipeline"],
)
def test_broken_bundle_is_refused(model_path, tmp_path, change, message):
    with pytest.raises(ModelError, match=message):
        load_model(_resave_bundle(model_path, tmp_path, change))


def test_other_format_version_is_refused(model_path, tmp_path):
    with pytest.raises(ModelError, match="model format 0 is not supported"):
        load_model(_resave(model_path, tmp_path, format_version=0))


@pytest.mark.parametrize(
    "old_class",
    [b"moderation.features\nTextNgrams", b"moderation.model\nModelBundle"],
    ids=["module-gone", "module-now-a-package"],
)
def test_model_of_the_old_layout_says_to_retrain(tmp_path, old_class):
    # A format-3 file names its classes by the modules' places before moderation/model/ existed.
    path = tmp_path / "old.joblib"
    path.write_bytes(b"\x80\x04c" + old_class + b"\n)\x81.")
    with pytest.raises(ModelError, match=r"older release of moderation .*moderation train"):
        load_model(_vouch(path))


def test_other_scikit_learn_release_is_refused(model_path, tmp_path):
    with pytest.raises(ModelError, match="saved with scikit-learn 0.24.2"):
        load_model(_resave(model_path, tmp_path, sklearn_version="0.24.2"))


def test_other_scikit_learn_patch_is_warned_about(model_path, tmp_path):
    major, minor, *_ = sklearn.__version__.split(".")
    with pytest.warns(ModelVersionWarning, match="retrain to be sure"):
        load_model(_resave(model_path, tmp_path, sklearn_version=f"{major}.{minor}.999"))


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not a pickle", "not a readable model file"), (None, "no such model file")],
    ids=["garbage", "missing"],
)
def test_unusable_model_file_is_a_model_error(tmp_path, content, message):
    path = tmp_path / "model.joblib"
    if content is not None:
        path.write_bytes(content)
        _vouch(path)
    with pytest.raises(ModelError, match=message):
        load_model(path)


def test_unknown_label_names_the_comment(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "t", "post": {}, "comments": [{"id": "c1", "body": "x", "label": "maybe"}]}))
    with pytest.raises(ModerationError, match=r"comments\[0\]: label 'maybe' is not one of ham, spam"):
        load_labeled_threads([bad])


def test_thresholds_keep_the_legitimate_share_held_small():
    rng = np.random.default_rng(0)
    y = np.array([0] * 900 + [1] * 100)
    scores = np.concatenate([rng.beta(1, 12, 900), rng.beta(12, 1, 100)])
    thresholds = choose_thresholds(y, scores)
    figures = metrics(y, scores, thresholds)
    assert figures["blocked_legit"] <= 0.005
    assert figures["held_legit"] <= 0.03
    assert 0.7 <= thresholds.spam <= 0.95 and 0.3 <= thresholds.hold <= thresholds.spam


def test_spam_threshold_holds_for_each_source_not_only_overall():
    # One source's readers score higher than the rest (YouTube's did): a threshold pooled over all
    # sources would block 3% of them; chosen per source, no more than the rate of any source.
    rng = np.random.default_rng(1)
    y = np.array([0] * 4000 + [1] * 500 + [0] * 400 + [1] * 400)
    sources = np.array(["blog"] * 4500 + ["youtube"] * 800, dtype=object)
    scores = np.concatenate([rng.beta(1, 30, 4000), rng.beta(12, 1, 500), rng.beta(2, 3, 400), rng.beta(12, 1, 400)])
    pooled = choose_thresholds(y, scores)
    per_source = choose_thresholds(y, scores, sources)
    youtube_ham = scores[(sources == "youtube") & (y == 0)]
    assert (youtube_ham >= pooled.spam).mean() > 0.005
    assert (youtube_ham >= per_source.spam).mean() <= 0.005
    assert per_source.spam > pooled.spam


def test_a_clean_validation_set_cannot_pull_the_spam_threshold_below_its_floor():
    y = np.array([0] * 500 + [1] * 500)
    scores = np.concatenate([np.full(500, 0.01), np.full(500, 0.99)])
    assert choose_thresholds(y, scores) == Thresholds(hold=0.3, spam=0.7)


@pytest.mark.parametrize(
    ("score", "verdict"), [(0.1, "approve"), (0.5, "hold"), (0.9, "spam")], ids=["approve", "hold", "spam"]
)
def test_verdicts(score, verdict):
    assert Thresholds(hold=0.4, spam=0.8).verdict(score) == verdict


def test_thresholds_must_be_ordered():
    with pytest.raises(ValueError, match="hold <= spam"):
        Thresholds(hold=0.9, spam=0.5)
