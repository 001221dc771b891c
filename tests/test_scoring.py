"""Scoring from the parameter file: the pipeline's scores without scikit-learn, and safe to load.

Decided: a parameter file is used only when the card records its SHA-256 and the file matches it. A
missing file, or a card that records none (a model saved before parameter files), falls back to the
joblib model. A file that does not match its recorded hash was changed after saving: it is refused
with a one-line error, like a tampered joblib file, never used and never skipped in silence.
"""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from moderation.api import Moderator
from moderation.cli import main
from moderation.errors import ModelError
from moderation.model import scoring
from moderation.model.bundle import card_path, file_sha256, params_path
from moderation.model.items import items_from_thread
from moderation.model.pipeline import DEFAULT_MODEL_PATH, load_model, save_model

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "example" / "thread.txt"


def _copy_model(model_path: Path, directory: Path, *, params: bool = True) -> Path:
    target = directory / "copy.joblib"
    shutil.copyfile(model_path, target)
    shutil.copyfile(card_path(model_path), card_path(target))
    if params:
        shutil.copyfile(params_path(model_path), params_path(target))
    return target


def _rewrite_params(path: Path, change) -> None:
    """Change the parameter file's arrays or header, then vouch for it in the card as save_model would."""
    with np.load(params_path(path), allow_pickle=False) as data:
        arrays = dict(data)
    header = json.loads(arrays["header"].tobytes().decode("utf-8"))
    change(arrays, header)
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    with open(params_path(path), "wb") as fh:
        np.savez_compressed(fh, **arrays)
    _vouch_params(path)


def _vouch_params(path: Path) -> None:
    card = json.loads(card_path(path).read_text())
    card["params_sha256"] = file_sha256(params_path(path))
    card_path(path).write_text(json.dumps(card))


@pytest.fixture(scope="module")
def corpus_items(small_corpus):
    return [item for thread in small_corpus for item in items_from_thread(thread)]


# --------------------------------------------------------------------------------------------------
# Same scores, same explanations.


def test_saving_writes_the_parameter_file_and_records_its_hash(model_path, fitted_bundle):
    params = params_path(model_path)
    assert params.is_file()
    card = json.loads(card_path(model_path).read_text())
    assert card["params_sha256"] == file_sha256(params)
    assert card["version"] == fitted_bundle.version


def test_small_model_scores_from_parameters_equal_the_pipelines(model_path, fitted_bundle, corpus_items):
    moderator = Moderator.load(model_path)
    assert moderator.bundle.pipeline is None  # read from the parameter file, nothing unpickled
    assert moderator.version == fitted_bundle.version
    assert moderator.thresholds == fitted_bundle.thresholds
    expected = fitted_bundle.pipeline.predict_proba(corpus_items)[:, 1]
    np.testing.assert_allclose(moderator.scores(corpus_items), expected, rtol=0, atol=scoring.TOLERANCE)


def test_shipped_model_scores_from_parameters_equal_the_pipelines():
    from moderation.learning.dataset import load_labeled_threads

    moderator = Moderator.load()
    assert moderator.bundle.pipeline is None
    items = [item for thread in load_labeled_threads() for item in items_from_thread(thread)]
    expected = load_model().pipeline.predict_proba(items)[:, 1]
    np.testing.assert_allclose(moderator.scores(items), expected, rtol=0, atol=scoring.TOLERANCE)


def test_weighted_ngram_blocks_score_the_same_from_parameters(small_corpus):
    # A weight on an n-gram block is folded into its coefficients: (x * w) @ c == x @ (w * c).
    from moderation.learning.dataset import training_arrays
    from moderation.model.pipeline import build_pipeline

    items, y, _groups = training_arrays(small_corpus)
    pipeline = build_pipeline(seed=0, weights={"chars": 0.5, "words": 0.8}).fit(items, y)
    assert pipeline.named_steps["features"].transformer_weights["chars"] == 0.5
    model = scoring.ScoringModel.from_pipeline(pipeline)
    expected = pipeline.predict_proba(items)[:, 1]
    np.testing.assert_allclose(model.scores(items), expected, rtol=0, atol=scoring.TOLERANCE)
    unweighted = build_pipeline(seed=0).fit(items, y)
    assert "chars" not in unweighted.named_steps["features"].transformer_weights  # as models trained before
    assert np.abs(unweighted.predict_proba(items)[:, 1] - expected).max() > 1e-3


def test_feature_matrix_and_names_are_the_pipelines(model_path, fitted_bundle, corpus_items):
    model = Moderator.load(model_path).model
    features = fitted_bundle.pipeline.named_steps["features"]
    ours, theirs = model.features(corpus_items[:200]), features.transform(corpus_items[:200])
    assert ours.shape == theirs.shape
    assert abs(ours - theirs).max() <= scoring.TOLERANCE
    assert list(model.feature_names) == list(features.get_feature_names_out())


def test_explanations_are_the_same_from_either_file(model_path, fitted_bundle, small_corpus):
    from_params = Moderator.load(model_path)
    from_pipeline = Moderator(fitted_bundle)
    for thread in small_corpus[:4]:
        for ours, theirs in zip(from_params.score_thread(thread), from_pipeline.score_thread(thread), strict=True):
            assert (ours.verdict, ours.reasons, ours.blatant) == (theirs.verdict, theirs.reasons, theirs.blatant)
            assert [name for name, _ in ours.contributions] == [name for name, _ in theirs.contributions]
            np.testing.assert_allclose(
                [v for _, v in ours.contributions], [v for _, v in theirs.contributions], rtol=0, atol=1e-9
            )


def test_example_page_json_is_byte_identical_either_way(model_path, tmp_path):
    with_params = _copy_model(model_path, tmp_path)
    without = tmp_path / "without"
    without.mkdir()
    joblib_only = _copy_model(model_path, without, params=False)
    runner = CliRunner()
    outputs = [
        runner.invoke(main, ["score", str(EXAMPLE), "--format", "json", "--model", str(path)])
        for path in (with_params, joblib_only)
    ]
    assert [result.exit_code for result in outputs] == [0, 0], [result.output for result in outputs]
    assert json.loads(outputs[0].stdout)  # a real answer, not two empty ones
    assert outputs[0].stdout == outputs[1].stdout


def test_a_loaded_moderator_pickles_for_workers(model_path, corpus_items):
    moderator = Moderator.load(model_path)
    before = moderator.scores(corpus_items[:50])
    again = pickle.loads(pickle.dumps(moderator))
    np.testing.assert_array_equal(again.scores(corpus_items[:50]), before)


# --------------------------------------------------------------------------------------------------
# Never scikit-learn or joblib on the scoring path.

_NO_SKLEARN = """
import sys
from moderation.cli import main
try:
    main(["score", sys.argv[1], "--format", "json", "--model", sys.argv[2]], standalone_mode=False)
finally:
    loaded = sorted({name.split(".")[0] for name in sys.modules} & {"sklearn", "joblib"})
    print("heavy modules:", loaded, file=sys.stderr)
"""


@pytest.mark.parametrize("which", ["small", "shipped"])
def test_moderation_score_never_imports_scikit_learn_or_joblib(model_path, which):
    model = model_path if which == "small" else DEFAULT_MODEL_PATH
    result = subprocess.run(
        [sys.executable, "-c", _NO_SKLEARN, str(EXAMPLE), str(model)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["comments"]
    assert result.stderr.strip().splitlines()[-1] == "heavy modules: []"


# --------------------------------------------------------------------------------------------------
# Missing, old, tampered, damaged.


def test_missing_parameter_file_falls_back_to_the_joblib(model_path, tmp_path, corpus_items):
    target = _copy_model(model_path, tmp_path, params=False)
    moderator = Moderator.load(target)
    assert moderator.bundle.pipeline is not None
    np.testing.assert_allclose(
        moderator.scores(corpus_items), Moderator.load(model_path).scores(corpus_items), rtol=0, atol=1e-9
    )


def test_card_from_before_parameter_files_falls_back_to_the_joblib(model_path, tmp_path):
    target = _copy_model(model_path, tmp_path)
    card = json.loads(card_path(target).read_text())
    del card["params_sha256"]
    card_path(target).write_text(json.dumps(card))
    assert Moderator.load(target).bundle.pipeline is not None


def test_tampered_parameter_file_is_refused(model_path, tmp_path):
    target = _copy_model(model_path, tmp_path)
    with np.load(params_path(target), allow_pickle=False) as data:
        arrays = dict(data)
    arrays["coef"] = -arrays["coef"]  # every verdict reversed
    with open(params_path(target), "wb") as fh:
        np.savez_compressed(fh, **arrays)
    with pytest.raises(ModelError, match="copy.params.npz: does not match the SHA-256 in copy.card.json"):
        Moderator.load(target)
    result = CliRunner().invoke(main, ["score", str(EXAMPLE), "--model", str(target)])
    assert result.exit_code == 1
    assert "refusing to load it" in result.output and "Traceback" not in result.output


def test_parameter_file_with_a_pickle_inside_is_refused_without_unpickling(model_path, tmp_path):
    target = _copy_model(model_path, tmp_path)
    _rewrite_params(target, lambda arrays, header: arrays.update(coef=np.asarray([object()], dtype=object)))
    with pytest.raises(ModelError, match="not a readable parameter file"):
        Moderator.load(target)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda arrays, header: header.update(params_format=0), "not a parameter file of format 1"),
        (lambda arrays, header: header.update(format_version=3), "model format 3 is not supported"),
        (lambda arrays, header: header.update(version="another"), "saved for model another, but its card is for"),
        (lambda arrays, header: header.update(thresholds={"hold": 0.9, "spam": 0.1}), "thresholds are not"),
        (lambda arrays, header: arrays.pop("calibration"), "not a readable parameter file"),
        (lambda arrays, header: arrays.update(coef=arrays["coef"][:-1]), "coefficients for"),
        (lambda arrays, header: arrays.update({"words.lengths": arrays["words.lengths"][1:]}), "not a readable"),
    ],
    ids=["params-format", "model-format", "version", "thresholds", "missing-array", "short-coef", "bad-terms"],
)
def test_unusable_parameter_file_is_a_one_line_model_error(model_path, tmp_path, change, message):
    target = _copy_model(model_path, tmp_path)
    _rewrite_params(target, change)
    with pytest.raises(ModelError, match=message) as caught:
        Moderator.load(target)
    assert "\n" not in str(caught.value)


def test_garbage_parameter_file_is_a_model_error(model_path, tmp_path):
    target = _copy_model(model_path, tmp_path)
    params_path(target).write_bytes(b"PK\x03\x04 not really a zip")
    _vouch_params(target)
    with pytest.raises(ModelError, match="not a readable parameter file"):
        Moderator.load(target)


def test_saving_refuses_a_parameter_file_whose_scores_differ(fitted_bundle, tmp_path, monkeypatch, corpus_items):
    original = scoring.ScoringModel.predict
    monkeypatch.setattr(scoring.ScoringModel, "predict", lambda self, matrix: original(self, matrix) + 1e-6)
    target = tmp_path / "model.joblib"
    with pytest.raises(ModelError, match=r"saved without its parameter file: .*differ from the pipeline's by 1e-06"):
        save_model(fitted_bundle, target)
    monkeypatch.undo()
    assert not params_path(target).exists()
    assert "params_sha256" not in json.loads(card_path(target).read_text())
    moderator = Moderator.load(target)  # the joblib model is kept and used
    assert moderator.bundle.pipeline is not None
    assert len(moderator.scores(corpus_items[:5])) == 5


def test_probe_items_reach_every_signal_block(fitted_bundle):
    model = scoring.ScoringModel.from_pipeline(fitted_bundle.pipeline)
    matrix = model.features(scoring.probe_items()).tocsc()
    for start, width, _, _ in model.signal_blocks():
        assert matrix[:, start : start + width].nnz > 0
