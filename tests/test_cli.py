import csv
import hashlib
import io
import json
import os
import re
from pathlib import Path

import click
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
    assert "no card model.card.json beside it" in result.output
    # With a card that vouches for it, the junk is still refused in one line.
    (tmp_path / "model.card.json").write_text(json.dumps({"model_sha256": hashlib.sha256(b"junk").hexdigest()}))
    result = runner.invoke(main, ["score", str(garden_page), "--model", str(bad)])
    assert result.exit_code == 1
    assert "not a readable model file" in result.output and len(result.output.strip().splitlines()) == 1


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


# ------------------------------------------------------------ issue 9, item 4: outputs never destroy anything


def _output_case(tmp_path: Path, garden_page: Path, case: str) -> tuple[list[str], Path]:
    """The filter arguments for one hostile output choice, and the file that must survive it."""
    page = tmp_path / "page.txt"
    page.write_bytes(garden_page.read_bytes())
    clean = tmp_path / "clean.txt"
    if case == "spam-out-is-input":
        return [str(page), "-o", str(clean), "--spam-out", str(page)], page
    if case == "default-spam-is-input":
        spam_named = tmp_path / "x.spam.txt"
        spam_named.write_bytes(garden_page.read_bytes())
        return [str(spam_named), "-o", str(tmp_path / "x.txt")], spam_named
    if case == "output-is-spam-out":
        return [str(page), "-o", str(clean), "--spam-out", str(clean)], page
    if case == "hard-link-to-input":
        link = tmp_path / "hard.txt"
        link.hardlink_to(page)
        return [str(page), "-o", str(link)], page
    if case == "symlink-output":
        target = tmp_path / "precious.txt"
        target.write_text("keep me\n")
        link = tmp_path / "link.txt"
        link.symlink_to(target)
        return [str(page), "-o", str(link)], target
    if case == "fifo-spam-out":
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        return [str(page), "-o", str(clean), "--spam-out", str(fifo)], page
    if case == "device":
        return [str(page), "-o", "/dev/null"], page
    if case == "proc":
        return [str(page), "-o", "/proc/self/comm"], page
    if case == "dash":
        return [str(page), "-o", "-"], page
    raise AssertionError(case)


OUTPUT_CASES = [
    "spam-out-is-input",
    "default-spam-is-input",
    "output-is-spam-out",
    "hard-link-to-input",
    "symlink-output",
    "fifo-spam-out",
    "device",
    "proc",
    "dash",
]


@pytest.mark.parametrize("case", OUTPUT_CASES, ids=OUTPUT_CASES)
def test_filter_refuses_outputs_that_would_destroy_something(runner, tmp_path, garden_page, model_path, case):
    args, survivor = _output_case(tmp_path, garden_page, case)
    before = survivor.read_bytes()
    kinds = {p.name: p.lstat().st_mode for p in tmp_path.iterdir()}
    result = runner.invoke(main, ["filter", *args, "--model", str(model_path)])
    assert result.exit_code == 1, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert survivor.read_bytes() == before
    assert {p.name: p.lstat().st_mode for p in tmp_path.iterdir()} == kinds  # nothing replaced or added
    assert Path("/dev/null").is_char_device()


# ------------------------------------------------------------ issue 9, items 8 and 13: signals and odd input


def test_sigterm_during_filter_leaves_no_temporary_file(runner, tmp_path, garden_page, model_path, monkeypatch):
    import signal

    from moderation.formats import plaintext

    real_write = plaintext.write

    def write_then_get_killed(threads, stream, **options):
        real_write(threads, stream, **options)
        stream.flush()
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(plaintext, "write", write_then_get_killed)
    previous = signal.getsignal(signal.SIGTERM)
    result = runner.invoke(
        main, ["filter", str(garden_page), "-o", str(tmp_path / "out.txt"), "--model", str(model_path)]
    )
    assert result.exit_code == 128 + signal.SIGTERM, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) == previous


def test_unreadable_input_is_exit_1_in_one_line(runner, tmp_path, garden_page, model_path, monkeypatch):
    page = tmp_path / "page.txt"
    page.write_bytes(garden_page.read_bytes())
    real_access = os.access
    # Root reads any file, so the test makes this one unreadable the way click and our readers ask.
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == page else real_access(p, mode, **kw))
    for command in (["score", str(page)], ["filter", str(page), "-o", str(tmp_path / "o.txt")]):
        result = runner.invoke(main, [*command, "--model", str(model_path)])
        assert result.exit_code == 1, result.output
        assert "permission denied" in result.output and len(result.output.strip().splitlines()) == 1


HOSTILE_FILES = {
    "json-huge-int": ("x.json", '{"comments": [{"body": "hi", "n": ' + "9" * 5000 + "}]}"),
    "jsonl-huge-int": ("x.jsonl", '{"body": "hi", "n": ' + "9" * 5000 + "}\n"),
    "json-surrogate": ("x.json", '{"comments": [{"body": "a \\ud800 b"}]}'),
    "jsonl-surrogate": ("x.jsonl", '{"body": "a \\udc00 b"}\n'),
    "csv-unclosed-quote": ("x.csv", 'id,body\n1,"never closed\n2,second\n'),
}


@pytest.mark.parametrize("case", list(HOSTILE_FILES), ids=list(HOSTILE_FILES))
@pytest.mark.parametrize("command", ["score", "filter"])
def test_hostile_json_and_csv_are_one_line_exit_1(runner, tmp_path, model_path, case, command):
    name, content = HOSTILE_FILES[case]
    path = tmp_path / name
    path.write_text(content)
    extra = ["-o", str(tmp_path / f"out-{name}")] if command == "filter" else ["--format", "json"]
    result = runner.invoke(main, [command, str(path), *extra, "--model", str(model_path)])
    assert result.exit_code == 1, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_evaluate_with_a_huge_integer_is_one_line(runner, tmp_path, model_path):
    data = tmp_path / "labeled.jsonl"
    data.write_text('{"body": "hi", "label": "ham", "n": ' + "9" * 5000 + "}\n")
    result = runner.invoke(main, ["evaluate", "--data", str(data), "--model", str(model_path)])
    assert result.exit_code == 1, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_filter_skip_bad_counts_skipped_comments_and_keeps_the_thread(runner, tmp_path, model_path):
    src = tmp_path / "t.jsonl"
    thread = {"id": "t1", "comments": [{"id": "1", "body": "Nice post"}, {"id": "2"}, {"id": "3", "body": "Thanks"}]}
    src.write_text(json.dumps(thread) + "\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(main, ["filter", str(src), "-o", str(out), "--skip-bad", "--model", str(model_path)])
    assert result.exit_code == 0, result.output
    assert "skipped 1 malformed" in result.stderr and "2 comments in 1 thread" in result.stderr
    (written,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert [c["id"] for c in written["comments"]] == ["1", "2", "3"]


# ------------------------------------------------------------ issue 9, items 14 and 20: held comments, counts


def test_filter_summary_names_the_held_comments(runner, tmp_path, garden_page, model_path, monkeypatch):
    from moderation.api import Moderator

    real = Moderator.score_threads

    def everything_held(self, threads, **kwargs):
        for thread, decisions in real(self, threads, **kwargs):
            for decision in decisions:
                decision.verdict = "hold"
            yield thread, decisions

    monkeypatch.setattr(Moderator, "score_threads", everything_held)
    out = tmp_path / "out.txt"
    result = runner.invoke(main, ["filter", str(garden_page), "-o", str(out), "--model", str(model_path)])
    assert result.exit_code == 0, result.output
    assert "held 5 (#1 Sam Whitfield, #2 Kezia," in result.stderr
    assert "5 comments in 1 thread:" in result.stderr
    assert out.read_text().count("[held for moderation]") == 5


def test_one_comment_is_singular(runner, tmp_path, model_path):
    page = tmp_path / "one.jsonl"
    page.write_text('{"thread_id": "t", "body": "Thanks for the tips on watering."}\n')
    table = runner.invoke(main, ["score", str(page), "--model", str(model_path)])
    assert table.exit_code == 0, table.output
    assert "\n1 comment:" in table.stdout
    result = runner.invoke(main, ["filter", str(page), "-o", str(tmp_path / "o.jsonl"), "--model", str(model_path)])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("1 comment in 1 thread:")


# ------------------------------------------------------------ issue 9, item 19: progress on long work


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_off_a_terminal_prints_plain_lines_every_interval(capsys):
    from moderation.cli.options import Progress

    clock = FakeClock()
    with Progress("scoring", 3000, terminal=False, interval=10, clock=clock) as progress:
        progress(1000)
        clock.now = 11
        progress(1000)
        clock.now = 15
        progress(1000)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["scoring: 2,000/3,000 comments", "scoring: 3,000/3,000 comments"]


def test_progress_quiet_for_short_work_off_a_terminal(capsys):
    from moderation.cli.options import Progress

    with Progress("scoring", terminal=False, clock=FakeClock()) as progress:
        progress(50)
    assert capsys.readouterr().err == ""


def test_progress_on_a_terminal_is_a_tqdm_bar(capsys):
    from moderation.cli.options import Progress

    with Progress("filtering", terminal=True) as progress:
        progress(1200)
        progress.to(1500)
        assert progress._bar.n == 1500
    err = capsys.readouterr().err
    assert "filtering" in err and "comments/s" in err  # tqdm's own rendering, on stderr


# ------------------------------------------------------------ issue 9, item 20: train's output, score decimals


def test_train_without_output_leaves_the_default_model_alone(runner, tmp_path, fitted_bundle, monkeypatch):
    import moderation.learning.training
    import moderation.model.pipeline

    default = tmp_path / "models" / "default.joblib"
    default.parent.mkdir()
    default.write_bytes(b"the shipped model")
    monkeypatch.setattr(moderation.model.pipeline, "DEFAULT_MODEL_PATH", default)
    monkeypatch.setattr(moderation.learning.training, "train_model", lambda threads, **kwargs: fitted_bundle)
    args = ["train", "--cv", "2", "--data", "tests/fixtures/labeled/thread.json"]
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert default.read_bytes() == b"the shipped model"
    (saved,) = [p for p in default.parent.glob("model-*.joblib")]
    assert str(saved) in result.stdout and "default model is unchanged" in result.stdout
    again = runner.invoke(main, args)
    assert again.exit_code == 0, again.output
    assert len(list(default.parent.glob("model-*.joblib"))) == 2  # a second run does not overwrite the first
    named = runner.invoke(main, [*args, "-o", str(default)])
    assert named.exit_code == 0, named.output
    assert default.read_bytes() != b"the shipped model"


@pytest.mark.parametrize("name", ["x.json", "x.jsonl", "x.csv"], ids=["json", "jsonl", "csv"])
def test_filter_writes_scores_with_four_decimals(runner, tmp_path, model_path, name, monkeypatch):
    from moderation.api import Moderator

    real = Moderator.score_threads

    def round_scores(self, threads, **kwargs):
        for thread, decisions in real(self, threads, **kwargs):
            for decision in decisions:
                decision.score = 0.0
            yield thread, decisions

    monkeypatch.setattr(Moderator, "score_threads", round_scores)
    src = (
        Path(__file__).resolve().parent
        / "fixtures"
        / "formats"
        / {"x.json": "threads.json"}.get(name, "comments" + name[1:])
    )
    out = tmp_path / name
    result = runner.invoke(main, ["filter", str(src), "-o", str(out), "--model", str(model_path)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "0.0000" in text and not re.search(r"\b0\.0\b(?!0)", text)


# ------------------------------------------------------------ issue 8: train learns from every source present


def _write_sms(root: Path, spam: int, ham: int) -> None:
    folder = root / "sms_spam_collection"
    folder.mkdir(parents=True)
    lines = [f"spam\tWIN a free prize {i}! Text CLAIM to 80086 now, only £{i}.50/msg" for i in range(spam)]
    lines += [f"ham\tsee you at the station at {i} then, bring the umbrella" for i in range(ham)]
    (folder / "SMSSpamCollection").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_train_adds_the_named_sources_and_records_each_in_the_card(runner, tmp_path, small_corpus_paths, monkeypatch):
    _write_sms(tmp_path / "datasets", spam=8, ham=8)
    monkeypatch.setenv("MODERATION_DATASETS", str(tmp_path / "datasets"))
    out = tmp_path / "m.joblib"
    args = ["train", "-o", str(out), "--cv", "2", "--sources", "sms,youtube"]
    for path in small_corpus_paths[:4]:
        args += ["--data", str(path)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "source youtube is absent" in result.stderr
    card = json.loads((tmp_path / "m.card.json").read_text())
    assert set(card["sources"]) == {"sms", "data"}
    assert card["sources"]["sms"]["comments"] == 16 and len(card["sources"]["sms"]["sha256"]) == 64
    assert card["sources"]["data"]["files"] == [str(p) for p in small_corpus_paths[:4]]
    assert "sms" in card["metrics_by_source"] and "blog" in card["metrics_by_source"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--sources", "none"], 2, "nothing to train on"),
        (["--sources", "usenet"], 1, "unknown source 'usenet'"),
        (["--sources", "tubespam_pilot"], 1, "never trained on"),
    ],
    ids=["nothing", "unknown", "test-only"],
)
def test_train_refuses_bad_sources_in_one_line(runner, tmp_path, args, code, message):
    result = runner.invoke(main, ["train", "-o", str(tmp_path / "m.joblib"), *args])
    assert result.exit_code == code
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m.joblib").exists()


def test_train_on_text_too_scarce_for_min_df_fails_in_one_line(runner, tmp_path):
    # Twelve comments that share no word: the word n-grams' min_df=2 keeps nothing. The block once
    # lowered min_df silently; now the command says so, and writes no model.
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu"]
    rows = [f"{word}{n} {word}x{n},{'spam' if n % 2 else 'ham'},{n % 4}" for n, word in enumerate(words)]
    data = tmp_path / "tiny.csv"
    data.write_text("body,label,thread_id\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = runner.invoke(main, ["train", "--data", str(data), "-o", str(tmp_path / "m.joblib")])
    assert result.exit_code == 1, result.output
    assert "min_df=2" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m.joblib").exists()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"body": "x", "label": ' + "9" * 5000 + "}", "4300 digits"),
        ("[" * 100_000, "recursion"),
    ],
    ids=["huge-integer", "deep-nesting"],
)
def test_labeled_jsonl_that_json_cannot_hold_is_one_line(runner, tmp_path, line, message):
    data = tmp_path / "labeled.jsonl"
    data.write_text(line + "\n")
    result = runner.invoke(main, ["evaluate", "--data", str(data)])
    assert result.exit_code == 1
    assert message in result.output and "line 1" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_postgresql_error_mid_command_is_one_line():
    psycopg = pytest.importorskip("psycopg")
    from moderation.cli.errors import reports_errors

    @click.command()
    @reports_errors
    def command():
        raise psycopg.OperationalError("server closed the connection unexpectedly\n\tThis probably means ...")

    result = CliRunner().invoke(command, [])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: database error: server closed the connection unexpectedly"


def _option_help(command: str, option: str) -> str:
    cmd = main.commands[command]
    ctx = click.Context(cmd)
    for param in cmd.params:
        if option in getattr(param, "opts", ()):
            return param.get_help_record(ctx)[1]
    raise AssertionError(f"{command} has no {option}")


@pytest.mark.parametrize("option", ["--data", "--sources", "--text-column", "--label-column"], ids=str)
def test_train_and_retrain_read_training_data_with_the_same_options(option):
    # `retrain --data` once added files to the shipped sources while `train --data` replaced them.
    assert _option_help("train", option) == _option_help("retrain", option)


def test_input_format_means_the_same_for_every_command_that_reads_pages():
    helps = {name: _option_help(name, "--input-format") for name in ("score", "filter")}
    assert len(set(helps.values())) == 1
