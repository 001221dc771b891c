"""JSON, JSONL and CSV: the documented schema, score/verdict written back, unknown keys kept."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from moderation.errors import InputError, ParseError
from moderation.formats import detect_format, read_threads, write_threads

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
DATA_THREADS = Path(__file__).parent.parent / "data" / "threads"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("threads.json", "json"), ("comments.jsonl", "jsonl"), ("comments.csv", "csv")],
    ids=["json", "jsonl", "csv"],
)
def test_detected(name, fmt):
    assert detect_format(FIXTURES / name) == fmt


def test_json_list_of_threads():
    threads = list(read_threads(FIXTURES / "threads.json"))
    assert [t.id for t in threads] == ["food-cast-iron", "go-japan-rail"]
    first = threads[0]
    assert first.post.title == "Cast Iron Care: Stop Babying Your Skillet"
    assert [(c.id, c.parent, c.label) for c in first.comments] == [
        ("c1", None, "ham"),
        ("c2", "c1", "ham"),
        ("c3", None, "spam"),
        ("c4", "c3", None),
    ]
    assert threads[1].comments[1].parent == "1"  # a number in the file is still an id
    assert first.comments[0].author == "Bjørn Østergaard"


@pytest.mark.skipif(not DATA_THREADS.is_dir(), reason="no data/threads in this checkout")
def test_project_thread_files_read():
    for path in sorted(DATA_THREADS.glob("*.json")):
        (thread,) = read_threads(path)
        assert thread.comments and all(c.label in ("ham", "spam", None) for c in thread.comments)


def _score(threads):
    for thread in threads:
        for i, comment in enumerate(thread.comments):
            comment.score = 0.123456 * (i + 1)
            comment.verdict = ["approve", "hold", "spam"][i % 3]
    return threads


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("threads.json", "json"), ("comments.jsonl", "jsonl"), ("comments.csv", "csv")],
    ids=["json", "jsonl", "csv"],
)
def test_round_trip_adds_score_and_verdict(tmp_path, name, fmt):
    threads = _score(list(read_threads(FIXTURES / name)))
    out = tmp_path / f"out.{fmt}"
    write_threads(threads, out, fmt)
    assert detect_format(out) == fmt
    again = list(read_threads(out))
    assert [t.id for t in again] == [t.id for t in threads]
    for old, new in zip(threads, again, strict=True):
        assert [(c.id, c.body, c.author, c.parent, c.label) for c in old.comments] == [
            (c.id, c.body, c.author, c.parent, c.label) for c in new.comments
        ]
        assert new.post.title == old.post.title


def test_json_written_back_keeps_unknown_keys(tmp_path):
    threads = _score(list(read_threads(FIXTURES / "threads.json")))
    out = tmp_path / "out.json"
    write_threads(threads, out, "json")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data[0]["subject"] == "food"
    assert data[0]["comments"][1]["likes"] == 4
    assert data[0]["comments"][1]["score"] == 0.2469 and data[0]["comments"][1]["verdict"] == "hold"


def test_single_object_stays_an_object(tmp_path):
    src = tmp_path / "one.json"
    src.write_text(json.dumps({"id": "t", "post": {"title": "T"}, "comments": [{"body": "hi"}]}))
    (thread,) = _score(list(read_threads(src)))
    write_threads([thread], src, "json")
    data = json.loads(src.read_text())
    assert isinstance(data, dict) and data["comments"][0]["verdict"] == "approve"


def test_csv_written_back_with_extra_columns(tmp_path):
    threads = _score(list(read_threads(FIXTURES / "comments.csv")))
    out = tmp_path / "out.csv"
    write_threads(threads, out, "csv")
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[-3:] == ["note", "score", "verdict"]
    assert rows[2]["note"] == "flagged" and rows[2]["verdict"] == "spam"
    assert rows[2]["body"] == 'Buy "discount" skillets 70% off!!!'
    assert rows[1]["body"] == "@Bjørn: same here.\n\nChain mail scrubber too."


def test_jsonl_comment_lines_keep_their_shape(tmp_path):
    threads = _score(list(read_threads(FIXTURES / "comments.jsonl")))
    assert [len(t.comments) for t in threads] == [3, 2]
    assert threads[0].post.url == "https://kitchen-notes.example/2022/03/cast-iron-care/"
    out = tmp_path / "out.jsonl"
    write_threads(threads, out, "jsonl")
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 5 and lines[1]["source"] == "import-2024" and lines[1]["thread_id"] == "food-cast-iron"
    assert all("verdict" in line for line in lines)


def test_jsonl_thread_lines(tmp_path):
    src = tmp_path / "threads.jsonl"
    threads = json.loads((FIXTURES / "threads.json").read_text(encoding="utf-8"))
    src.write_text("\n".join(json.dumps(t, ensure_ascii=False) for t in threads) + "\n", encoding="utf-8")
    assert detect_format(src) == "jsonl"
    assert [len(t.comments) for t in read_threads(src)] == [4, 3]


BAD_LINES = {
    "syntax": "{not json",
    "label": '{"thread_id": "t", "body": "x", "label": "maybe"}',
    "no-body": '{"thread_id": "t", "author": "x"}',
    "body-type": '{"thread_id": "t", "body": ["x"]}',
    "not-object": "[1, 2]",
}


@pytest.mark.parametrize("bad", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_jsonl_bad_line_named_and_skippable(tmp_path, bad):
    src = tmp_path / "bad.jsonl"
    good = '{"thread_id": "t", "id": "1", "body": "fine"}'
    src.write_text(f"{good}\n{bad}\n{good.replace('1', '2')}\n", encoding="utf-8")
    with pytest.raises(ParseError, match="line 2"):
        list(read_threads(src, format="jsonl"))
    problems: list[ParseError] = []
    (thread,) = read_threads(src, format="jsonl", skip_bad=True, on_problem=problems.append)
    assert [c.id for c in thread.comments] == ["1", "2"]
    assert [p.line for p in problems] == [2]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("id,author\n1,x\n", "no 'body' column"),
        ("", "empty CSV"),
        ("thread_id,body,label\nt,hi,bogus\n", "label 'bogus'"),
        ("thread_id,body\nt,hi,extra\n", "3 fields"),
    ],
    ids=["no-body-column", "empty", "bad-label", "ragged"],
)
def test_csv_errors(tmp_path, content, match):
    src = tmp_path / "bad.csv"
    src.write_text(content, encoding="utf-8")
    with pytest.raises(ParseError, match=match):
        list(read_threads(src, format="csv"))


@pytest.mark.parametrize(
    ("content", "match"),
    [("[1, 2", "line 1"), ('{"comments": "x"}', "must be a list"), ("42", "expected a thread")],
    ids=["syntax", "comments-not-list", "scalar"],
)
def test_json_errors(tmp_path, content, match):
    src = tmp_path / "bad.json"
    src.write_text(content, encoding="utf-8")
    with pytest.raises(ParseError, match=match):
        list(read_threads(src, format="json"))


def test_json_not_utf8_is_input_error(tmp_path):
    src = tmp_path / "latin.json"
    src.write_bytes('{"comments": [{"body": "café"}]}'.encode("latin-1"))
    with pytest.raises(InputError, match="not valid UTF-8"):
        list(read_threads(src, format="json"))


# ----------------------------------------------------------------------- issue 9, items 8 and 13


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ('id,body\n1,"never closed\n2,second\n3,third\n', 2),
        ('id,body\n1,fine\n2,"opens here\n3,"closed"\n', 3),
    ],
    ids=["open-to-eof", "closed-by-a-later-quote"],
)
def test_csv_unclosed_quote_is_an_error_naming_the_line(tmp_path, content, line):
    path = tmp_path / "c.csv"
    path.write_text(content)
    with pytest.raises(ParseError, match=rf"line {line}\b") as caught:
        list(read_threads(path, "csv"))
    assert "quote" in str(caught.value)


HOSTILE_JSON = {
    "huge-int-json": ('{"comments": [{"body": "hi", "n": ' + "9" * 5000 + "}]}", "json", "digits"),
    "huge-int-jsonl": ('{"body": "hi", "n": ' + "9" * 5000 + "}\n", "jsonl", "digits"),
    "surrogate-json": ('{"comments": [{"body": "a \\ud800 b"}]}', "json", "surrogate"),
    "surrogate-jsonl": ('{"body": "ok", "extra": {"k": ["\\udfff"]}}\n', "jsonl", "surrogate"),
}


@pytest.mark.parametrize("case", list(HOSTILE_JSON), ids=list(HOSTILE_JSON))
def test_json_huge_integers_and_lone_surrogates_are_parse_errors(tmp_path, case):
    content, fmt, match = HOSTILE_JSON[case]
    path = tmp_path / f"x.{fmt}"
    path.write_text(content)
    with pytest.raises(ParseError, match=match):
        list(read_threads(path, fmt))


def test_detection_survives_a_huge_integer(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"body": "hi", "n": ' + "9" * 5000 + "}\n")
    assert detect_format(path) in ("jsonl", "json")


def test_a_real_surrogate_pair_escape_is_fine(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"body": "smile \\ud83d\\ude00"}\n')
    assert next(read_threads(path, "jsonl")).comments[0].body == "smile \U0001f600"


# ----------------------------------------------------------------------- issue 9, item 15


def test_jsonl_skip_bad_keeps_the_threads_good_comments_and_writes_the_bad_one_back(tmp_path):
    src = tmp_path / "t.jsonl"
    thread = {
        "id": "t1",
        "comments": [{"id": "1", "body": "good"}, {"id": "2", "author": "x"}, {"id": "3", "body": "ok"}],
    }
    src.write_text(json.dumps(thread) + "\n" + json.dumps({"id": "t2", "comments": [{"body": "fine"}]}) + "\n")
    problems: list[ParseError] = []
    threads = list(read_threads(src, "jsonl", skip_bad=True, on_problem=problems.append))
    assert [[c.id for c in t.comments] for t in threads] == [["1", "3"], ["1"]]
    assert len(problems) == 1 and "comments[1]" in str(problems[0])
    out = tmp_path / "out.jsonl"
    write_threads(threads, out, "jsonl")
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [c.get("id") for c in written[0]["comments"]] == ["1", "2", "3"]
    assert written[0]["comments"][1] == {"id": "2", "author": "x"}


def test_jsonl_and_csv_rows_skipped_as_bad_are_written_back_in_place(tmp_path):
    src = tmp_path / "rows.jsonl"
    lines = [
        '{"thread_id": "a", "id": "1", "body": "hi"}',
        '{"thread_id": "a", "id": "2"}',
        "not json",
        '{"thread_id": "b", "body": "yo"}',
    ]
    src.write_text("\n".join(lines) + "\n")
    threads = list(read_threads(src, "jsonl", skip_bad=True, on_problem=lambda p: None))
    out = tmp_path / "out.jsonl"
    write_threads(threads, out, "jsonl")
    assert [line.split(', "score"')[0].rstrip("}") for line in out.read_text().splitlines()] == [
        line.rstrip("}") for line in lines
    ]
    csv_src = tmp_path / "rows.csv"
    csv_src.write_text("id,body,label\n1,ok,\n2,bad,bogus\n")
    threads = list(read_threads(csv_src, "csv", skip_bad=True, on_problem=lambda p: None))
    write_threads(threads, tmp_path / "out.csv", "csv")
    rows = list(csv.reader((tmp_path / "out.csv").read_text().splitlines()))
    assert [r[:3] for r in rows[1:]] == [["1", "ok", ""], ["2", "bad", "bogus"]]
