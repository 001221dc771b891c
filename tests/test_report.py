"""The evaluation report: an HTML or Markdown page, four valid, non-trivial PNG plots, and explained mistakes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from moderation.errors import InputError
from moderation.learning.evaluation import cross_validate
from moderation.learning.labeled import ColumnMapping, load_labeled
from moderation.learning.report import PLOTS, worst_mistakes, write_report

CORPUS = Path(__file__).parent / "fixtures" / "labeled" / "tiny_corpus.csv"
MAPPING = ColumnMapping(text="message", label="is_spam", author="user", group="post", id="comment_id")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def evaluation():
    return cross_validate(load_labeled([CORPUS], MAPPING), cv=2, seed=0, grouped=True)


@pytest.fixture(scope="module")
def html_report(evaluation, tmp_path_factory):
    return write_report(evaluation, tmp_path_factory.mktemp("report") / "out")


@pytest.mark.parametrize("name", PLOTS, ids=[name[:-4] for name in PLOTS])
def test_plots_are_valid_non_trivial_pngs(html_report, name):
    path = html_report.parent / name
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 5000  # a blank 550x420 canvas compresses to about 2 kB
    pixels = imread(path)
    assert pixels.shape[:2] == (420, 550)
    # Drawn lines and text: many distinct colours, not a flat image.
    assert len(np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0)) > 20


def test_html_report_links_plots_and_figures(html_report, evaluation):
    text = html_report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    for name in PLOTS:
        assert f'<img src="{name}"' in text
    for figure in ("Matthews correlation (MCC)", "ROC AUC", "Legitimate comments blocked", "Spam caught"):
        assert figure in text
    assert f"{evaluation.metrics['n']} comments" in text


def test_worst_mistakes_are_real_mistakes_with_reasons(evaluation):
    mistakes = worst_mistakes(evaluation)
    assert mistakes, "the fixture corpus has deliberately ambiguous rows"
    for mistake in mistakes:
        if mistake["label"] == "ham":
            assert mistake["score"] >= evaluation.thresholds.hold
        else:
            assert mistake["score"] < evaluation.thresholds.spam
        assert mistake["reasons"]
        assert mistake["where"].startswith(str(CORPUS))
    ham_scores = [m["score"] for m in mistakes if m["label"] == "ham"]
    assert ham_scores == sorted(ham_scores, reverse=True)


def test_comment_text_is_escaped(evaluation, tmp_path):
    mistakes = worst_mistakes(evaluation)
    row = next(
        i
        for i, c in enumerate(evaluation.comments)
        if c.id == mistakes[0]["id"] and c.extra["line"] == int(mistakes[0]["where"].rsplit(":", 1)[1])
    )
    comments = list(evaluation.comments)
    comments[row] = dataclasses.replace(comments[row], body='<script>alert("x")</script> | pipe')
    tampered = dataclasses.replace(evaluation, comments=comments)
    html_text = write_report(tampered, tmp_path / "html").read_text(encoding="utf-8")
    assert "<script>" not in html_text
    assert "&lt;script&gt;" in html_text
    md_text = write_report(tampered, tmp_path / "md", fmt="md").read_text(encoding="utf-8")
    assert "&lt;script&gt;" in md_text
    assert "\\| pipe" in md_text


def test_markdown_report(evaluation, tmp_path):
    path = write_report(evaluation, tmp_path / "md", fmt="md")
    text = path.read_text(encoding="utf-8")
    assert path.name == "report.md"
    assert text.startswith("# Spam filter evaluation")
    for name in PLOTS:
        assert f"]({name})" in text
        assert (tmp_path / "md" / name).is_file()


def test_one_class_still_writes_every_plot(evaluation, tmp_path):
    ham = evaluation.y == 0
    figures = dict(evaluation.metrics, roc_auc=float("nan"), pr_auc=float("nan"))
    only_ham = dataclasses.replace(
        evaluation,
        metrics=figures,
        y=evaluation.y[ham],
        scores=evaluation.scores[ham],
        items=[item for item, keep in zip(evaluation.items, ham, strict=True) if keep],
        comments=[comment for comment, keep in zip(evaluation.comments, ham, strict=True) if keep],
        model_of=evaluation.model_of[ham],
    )
    path = write_report(only_ham, tmp_path / "ham")
    assert "n/a" in path.read_text(encoding="utf-8")
    for name in PLOTS:
        assert (tmp_path / "ham" / name).read_bytes().startswith(PNG_SIGNATURE)


def test_report_directory_that_is_a_file(evaluation, tmp_path):
    target = tmp_path / "taken"
    target.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="not a directory"):
        write_report(evaluation, target)


def test_unknown_report_format(evaluation, tmp_path):
    with pytest.raises(ValueError, match="report format"):
        write_report(evaluation, tmp_path, fmt="pdf")
