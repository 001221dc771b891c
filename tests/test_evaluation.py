"""Evaluation of a saved model and grouped cross-validation of a fresh one, through the library and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from moderation.api import Moderator
from moderation.cli.evaluation import data_options, evaluate
from moderation.errors import DataError
from moderation.learning.evaluation import cross_validate, evaluate_model, json_safe
from moderation.learning.labeled import ColumnMapping, load_labeled
from moderation.learning.training import train_model
from moderation.model.pipeline import save_model

FIXTURES = Path(__file__).parent / "fixtures" / "labeled"
CORPUS = FIXTURES / "tiny_corpus.csv"
MAPPING = ColumnMapping(text="message", label="is_spam", author="user", group="post", id="comment_id")
CORPUS_OPTIONS = [
    "--data",
    str(CORPUS),
    "--text-column",
    "message",
    "--label-column",
    "is_spam",
    "--author-column",
    "user",
    "--id-column",
    "comment_id",
]
REQUIRED_KEYS = {"precision", "recall", "f1", "mcc", "roc_auc", "pr_auc", "blocked_legit", "spam_caught", "n"}


@pytest.fixture(scope="module")
def threads():
    return load_labeled([CORPUS], MAPPING)


@pytest.fixture(scope="module")
def grouped_cv(threads):
    return cross_validate(threads, cv=2, seed=0, grouped=True)


@pytest.fixture(scope="module")
def model_path(threads, tmp_path_factory):
    bundle = train_model(threads, seed=0, cv=2)
    return save_model(bundle, tmp_path_factory.mktemp("model") / "tiny.joblib")


def test_grouped_folds_keep_each_thread_whole(threads, grouped_cv):
    groups = np.asarray([index for index, thread in enumerate(threads) for c in thread.comments if c.label])
    for group in np.unique(groups):
        assert len(np.unique(grouped_cv.model_of[groups == group])) == 1
    assert len(np.unique(grouped_cv.model_of)) == 2
    assert len(grouped_cv.moderators) == 2


def test_cross_validation_figures(grouped_cv):
    figures = grouped_cv.metrics
    assert figures.keys() >= REQUIRED_KEYS
    assert figures["n"] == 86
    assert figures["n_spam"] == 34
    assert figures["n_threads"] == 4
    assert sum(map(sum, figures["confusion_matrix"])) == 86
    assert figures["mcc"] > 0.5
    assert "grouped by thread" in figures["evaluation"]
    assert grouped_cv.scores.shape == (86,)


def test_ungrouped_folds_split_threads(threads):
    evaluation = cross_validate(threads, cv=2, seed=0, grouped=False)
    assert "stratified (StratifiedKFold)" in evaluation.metrics["evaluation"]
    groups = np.asarray([index for index, thread in enumerate(threads) for c in thread.comments if c.label])
    assert any(len(np.unique(evaluation.model_of[groups == g])) == 2 for g in np.unique(groups))


@pytest.mark.parametrize(
    ("cv", "grouped", "needle"),
    [(5, True, "needs at least 5 threads"), (40, False, "the smaller class has 34")],
    ids=["too-few-threads", "too-few-per-class"],
)
def test_impossible_folds_are_data_errors(threads, cv, grouped, needle):
    with pytest.raises(DataError, match=needle):
        cross_validate(threads, cv=cv, grouped=grouped)


def test_saved_model_on_labeled_data(threads, model_path):
    moderator = Moderator.load(model_path)
    seen = []
    evaluation = evaluate_model(moderator, threads, progress=lambda done, total: seen.append((done, total)))
    assert evaluation.metrics["n"] == 86
    assert evaluation.metrics["model_version"] == moderator.version
    assert evaluation.metrics["thresholds"] == {"hold": moderator.thresholds.hold, "spam": moderator.thresholds.spam}
    assert seen[-1] == (86, 86)
    # In-sample, so nearly perfect: what matters is that the figures come from this model's scores.
    assert evaluation.metrics["roc_auc"] > 0.9
    explained = evaluation.explain([0, 1])
    assert [d.comment_id for d in explained] == [evaluation.comments[0].id, evaluation.comments[1].id]


def test_json_safe_turns_nan_into_null():
    assert json_safe({"roc_auc": float("nan"), "m": [[1, 2]], "x": {"y": math.inf}}) == {
        "roc_auc": None,
        "m": [[1, 2]],
        "x": {"y": None},
    }


def test_cli_cross_validation_json():
    result = CliRunner().invoke(evaluate, [*CORPUS_OPTIONS, "--group-column", "post", "--cv", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures.keys() >= REQUIRED_KEYS
    assert figures["n"] == 86
    assert "grouped by thread" in figures["evaluation"]
    # Progress goes to stderr (off a terminal only every 10 s, so a 2-fold run prints none): stdout
    # is the JSON alone, which json.loads above proved.
    assert "cross-validating" not in result.stdout


def test_cli_model_text_and_report(model_path, tmp_path):
    report = tmp_path / "report"
    result = CliRunner().invoke(
        evaluate, [*CORPUS_OPTIONS, "--model", str(model_path), "--report", str(report), "--report-format", "md"]
    )
    assert result.exit_code == 0, result.output
    for name in ("precision", "MCC", "ROC AUC", "PR AUC", "legitimate blocked", "spam caught", "confusion matrix"):
        assert name in result.stdout
    assert (report / "report.md").is_file()
    assert f"report written to {report / 'report.md'}" in result.stderr


@pytest.mark.parametrize(
    ("extra", "code", "needle"),
    [
        (["--cv", "2", "--model", "m.joblib"], 2, "cannot be combined with --model"),
        (["--label-column", "nope"], 1, "no label column 'nope'"),
        (["--model", "absent.joblib"], 1, "absent.joblib: no such model file"),
    ],
    ids=["cv-and-model", "missing-column", "missing-model"],
)
def test_cli_errors_are_one_line(extra, code, needle):
    result = CliRunner().invoke(evaluate, [*CORPUS_OPTIONS, *extra])
    assert result.exit_code == code
    assert needle in result.stderr
    assert "Traceback" not in result.output


def test_cli_requires_data():
    result = CliRunner().invoke(evaluate, [])
    assert result.exit_code == 2
    assert "--data" in result.stderr


def test_data_options_collapse_into_one_argument():
    received = {}

    @click.command()
    @data_options()
    def probe(labeled_data):
        received["data"] = labeled_data

    result = CliRunner().invoke(
        probe,
        ["--data", "a.csv", "--data", "b.csv", "--text-column", "CONTENT", "--spam-label", "2", "--ham-label", "1"],
    )
    assert result.exit_code == 0, result.output
    data = received["data"]
    assert data.paths == (Path("a.csv"), Path("b.csv"))
    assert data.mapping == ColumnMapping(text="CONTENT", spam_labels=("2",), ham_labels=("1",))
