import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from moderation.cli import main
from moderation.formats import read_threads


@pytest.fixture
def runner():
    return CliRunner()


def test_score_json_has_post_and_comments(runner, garden_page, model_path):
    result = runner.invoke(main, ["score", str(garden_page), "--format", "json", "--model", str(model_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["post"]["title"].startswith("Why my tomatoes")
    assert [c["position"] for c in data["comments"]] == [1, 2, 3, 4, 5]
    for comment in data["comments"]:
        assert set(comment) >= {"position", "author", "score", "verdict", "reasons"}
        assert comment["verdict"] in ("approve", "hold", "spam")
        assert isinstance(comment["reasons"], list)
    assert data["comments"][1]["empty"] is True


def test_score_csv(runner, garden_page, model_path):
    result = runner.invoke(main, ["score", str(garden_page), "--format", "csv", "--model", str(model_path)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["author"] for row in rows][:2] == ["Sam Whitfield", "Kezia"]
    assert all(0 <= float(row["score"]) <= 1 for row in rows)


def test_score_table_lists_every_comment(runner, garden_page, model_path):
    result = runner.invoke(main, ["score", str(garden_page), "--model", str(model_path)])
    assert result.exit_code == 0, result.output
    assert "5 comments:" in result.stdout
    assert "bestcheapessays" in result.stdout and "Kezia" in result.stdout


def test_filter_writes_clean_and_spam_and_counts(runner, garden_page, model_path, tmp_path):
    clean, spam = tmp_path / "clean.txt", tmp_path / "spam.txt"
    result = runner.invoke(
        main, ["filter", str(garden_page), "-o", str(clean), "--spam-out", str(spam), "--model", str(model_path)]
    )
    assert result.exit_code == 0, result.output
    kept = next(read_threads(clean)).comments
    removed = next(read_threads(spam)).comments
    assert len(kept) + len(removed) == 5
    assert "bestcheapessays online" in [c.author for c in removed]
    assert "kept" in result.stderr and "held" in result.stderr and "removed 1" in result.stderr


def test_filter_without_spam_out_still_writes_the_spam_somewhere(runner, garden_page, model_path, tmp_path):
    clean = tmp_path / "clean.txt"
    result = runner.invoke(main, ["filter", str(garden_page), "-o", str(clean), "--model", str(model_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "clean.spam.txt").exists()
    assert "clean.spam.txt" in result.stderr


def test_filter_refuses_to_overwrite_its_input(runner, tmp_path, garden_page, model_path):
    page = tmp_path / "page.txt"
    page.write_bytes(garden_page.read_bytes())
    result = runner.invoke(main, ["filter", str(page), "-o", str(page), "--model", str(model_path)])
    assert result.exit_code == 1
    assert page.read_bytes() == garden_page.read_bytes()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["score", "missing.txt"], 1, "no such file"),
        (["score", "."], 1, "is a directory"),
        (["score", "tests/fixtures/pages/no_comments.txt"], 3, "no comment section"),
        (["score", "tests/fixtures/pages/latin1.txt"], 1, "not valid UTF-8"),
        (["score", "--format", "xml", "x"], 2, "Invalid value"),
    ],
    ids=["missing", "directory", "no-comments", "encoding", "bad-option"],
)
def test_errors_are_one_line_with_exit_codes(runner, args, code, message, model_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    result = runner.invoke(main, args if code == 2 else [*args, "--model", str(model_path)])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_binary_and_huge_input(runner, tmp_path, model_path):
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    for path, message in ((binary, "binary"), (huge, "MB")):
        result = runner.invoke(main, ["score", str(path), "--model", str(model_path), "--input-format", "text"])
        assert result.exit_code == 1, result.output
        assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_bad_model_file_is_one_line(runner, tmp_path, garden_page):
    bad = tmp_path / "model.joblib"
    bad.write_bytes(b"junk")
    result = runner.invoke(main, ["score", str(garden_page), "--model", str(bad)])
    assert result.exit_code == 1
    assert "not a readable model file" in result.output


def test_train_writes_model_and_card(runner, tmp_path, small_corpus_paths):
    out = tmp_path / "m.joblib"
    args = ["train", "-o", str(out), "--cv", "2"]
    for path in small_corpus_paths[:4]:
        args += ["--data", str(path)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert out.exists() and (tmp_path / "m.card.json").exists()
    assert "mcc" in result.stdout and "blocked_legit" in result.stdout


def test_filter_marks_spam_in_a_wordpress_export_and_copies_it_as_jsonl(runner, model_path, tmp_path):
    export = Path(__file__).resolve().parent / "fixtures" / "formats" / "wordpress-1.2.xml"
    out, spam = tmp_path / "clean.xml", tmp_path / "spam.jsonl"
    result = runner.invoke(
        main, ["filter", str(export), "-o", str(out), "--spam-out", str(spam), "--model", str(model_path)]
    )
    assert result.exit_code == 0, result.output
    before = [c for t in read_threads(export) for c in t.comments]
    after = [c for t in read_threads(out) for c in t.comments]
    assert [c.id for c in after] == [c.id for c in before]  # nothing removed from an export
    marked = {c.id for c in after if c.extra.get("approved") == "spam"} - {
        c.id for c in before if c.extra.get("approved") == "spam"
    }
    copied = [c for t in read_threads(spam) for c in t.comments]
    assert marked, "the fixture has spam the model should mark"
    assert {c.id for c in copied} >= marked
    assert "marked spam" in result.stderr
