"""Labeled data through a column mapping: columns, label spellings, groups, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moderation.errors import DataError, InputError
from moderation.learning.labeled import ColumnMapping, data_files, is_grouped, label_counts, load_labeled, parse_label

FIXTURES = Path(__file__).parent / "fixtures" / "labeled"
THREAD_FIXTURES = Path(__file__).parent / "fixtures" / "formats"
YOUTUBE = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "youtube_spam_collection"

YOUTUBE_MAPPING = ColumnMapping(text="CONTENT", label="CLASS", author="AUTHOR", id="COMMENT_ID")


def test_youtube_style_csv_keeps_text_exactly():
    (thread,) = load_labeled([FIXTURES / "youtube_style.csv"], YOUTUBE_MAPPING)
    assert thread.id == "youtube_style"
    assert thread.post.text == ""
    assert [c.label for c in thread.comments] == ["spam", "ham", "spam", "ham"]
    assert [c.id for c in thread.comments] == ["yt1", "yt2", "yt3", "yt4"]
    first, second, third, fourth = thread.comments
    assert "<br />" in first.body
    assert second.body.endswith("\ufeff")
    assert third.body.startswith('<a href="http://promo.example.net">')
    assert fourth.body == "Who else is here in 2014?\nLine two of the same comment."
    assert second.author == "Marco"
    assert first.extra == {"source": str(FIXTURES / "youtube_style.csv"), "line": 2}


def test_jsonl_rows_grouped_by_column():
    mapping = ColumnMapping(text="text", label="is_spam", author="user", group="video")
    threads = load_labeled([FIXTURES / "groups.jsonl"], mapping)
    assert [t.id for t in threads] == ["groups:v1", "groups:v2"]
    assert [[c.label for c in t.comments] for t in threads] == [["spam", "ham", None], ["spam", "ham"]]
    assert [c.author for c in threads[1].comments] == ["promo2", "Lu"]
    assert is_grouped(threads)
    assert label_counts(threads) == {"spam": 2, "ham": 2, "unlabeled": 1}


def test_one_thread_per_file_without_group_column():
    mapping = ColumnMapping(text="message", label="is_spam", author="user")
    threads = load_labeled([FIXTURES / "tiny_corpus.csv"], mapping)
    assert len(threads) == 1
    assert len(threads[0].comments) == 86
    assert not is_grouped(threads)


def test_post_column_fills_the_post(tmp_path):
    path = tmp_path / "with_post.csv"
    path.write_text("text,label,topic,post_text\nnice,ham,a,Rye bread at home\nbuy,spam,a,ignored\n", encoding="utf-8")
    mapping = ColumnMapping(text="text", group="topic", post="post_text")
    (thread,) = load_labeled([path], mapping)
    assert thread.post.body == "Rye bread at home"


def test_our_schema_loads_without_options():
    threads = load_labeled([THREAD_FIXTURES / "comments.csv"])
    assert [t.id for t in threads] == ["comments:food-cast-iron", "comments:go-japan-rail"]
    assert is_grouped(threads)
    food = threads[0]
    assert food.post.title == "Cast Iron Care"
    assert [(c.id, c.parent, c.label) for c in food.comments] == [
        ("c1", None, "ham"),
        ("c2", "c1", "ham"),
        ("c3", None, "spam"),
    ]
    assert food.comments[2].author_url == "http://cheap-cookware.example"
    assert [c.label for c in threads[1].comments] == [None, "ham"]


def test_thread_files_are_delegated_to_the_thread_loader():
    threads = load_labeled([FIXTURES / "thread.json"])
    assert [t.id for t in threads] == ["bread-rye"]
    assert threads[0].post.title == "Rye loaf"
    assert is_grouped(threads)


def test_column_options_are_refused_for_thread_files():
    with pytest.raises(DataError, match="column options apply to CSV"):
        load_labeled([FIXTURES / "thread.json"], ColumnMapping(text="CONTENT"))


def test_directory_expands_to_data_files(tmp_path):
    (tmp_path / "a.csv").write_text("body,label\nhi,ham\n", encoding="utf-8")
    (tmp_path / "b.tsv").write_text("body\tlabel\nwin\tspam\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not data", encoding="utf-8")
    assert [p.name for p in data_files([tmp_path])] == ["a.csv", "b.tsv"]
    assert [t.comments[0].label for t in load_labeled([tmp_path])] == ["ham", "spam"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", "spam"),
        ("0", "ham"),
        ("spam", "spam"),
        ("HAM", "ham"),
        (" Spam ", "spam"),
        ("true", "spam"),
        ("False", "ham"),
        ("", None),
    ],
    ids=["one", "zero", "spam", "upper-ham", "padded", "true", "false", "empty-is-unlabeled"],
)
def test_default_label_values(value, expected):
    spam, ham = ColumnMapping().label_values()
    assert parse_label(value, spam, ham, where="x") == expected


def test_label_override_replaces_its_side():
    # A corpus where 2 means spam and 1 means legitimate.
    spam, ham = ColumnMapping(spam_labels=("2",), ham_labels=("1",)).label_values()
    assert parse_label("2", spam, ham, where="x") == "spam"
    assert parse_label("1", spam, ham, where="x") == "ham"
    with pytest.raises(DataError):
        parse_label("0", spam, ham, where="x")


def test_one_sided_override_removes_the_clash():
    spam, ham = ColumnMapping(spam_labels=("0",)).label_values()
    assert parse_label("0", spam, ham, where="x") == "spam"
    assert parse_label("ham", spam, ham, where="x") == "ham"


def test_same_value_both_sides_is_an_error():
    with pytest.raises(DataError, match="both spam and ham"):
        ColumnMapping(spam_labels=("x",), ham_labels=("X",)).label_values()


def test_unknown_label_names_file_and_line():
    with pytest.raises(DataError) as caught:
        load_labeled([FIXTURES / "bad_label.csv"])
    message = str(caught.value)
    assert "bad_label.csv: line 4" in message
    assert "'maybe'" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("mapping", "needle"),
    [
        (ColumnMapping(text="CONTENTS", label="CLASS"), "no text column 'CONTENTS'"),
        (ColumnMapping(text="CONTENT", label="TAG"), "no label column 'TAG'"),
        (ColumnMapping(text="CONTENT", label="CLASS", group="VIDEO"), "no group column 'VIDEO'"),
        (ColumnMapping(), "no text column 'body'; name it with --text-column"),
    ],
    ids=["text", "label", "group", "default-text"],
)
def test_missing_column_lists_what_the_file_has(mapping, needle):
    with pytest.raises(DataError) as caught:
        load_labeled([FIXTURES / "youtube_style.csv"], mapping)
    assert needle in str(caught.value)
    assert "COMMENT_ID, AUTHOR, DATE, CONTENT, CLASS" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "content", "error", "needle"),
    [
        ("extra.csv", "body,label\nhi,ham,oops\n", DataError, "line 2: more fields"),
        ("short.csv", "body,label,author\nhi,ham\n", DataError, "line 2: fewer fields"),
        ("broken.jsonl", '{"body": "hi", "label": "ham"}\n{"body": \n', DataError, "line 2: invalid JSON"),
        ("list.jsonl", "[1, 2]\n", DataError, "line 1: expected an object"),
        ("nested.jsonl", '{"body": {"a": 1}, "label": "ham"}\n', DataError, "holds a dict"),
        ("binary.csv", "body,label\n\x00\x01\n", InputError, "binary"),
    ],
    ids=["extra-field", "missing-field", "bad-json", "not-object", "nested-value", "binary"],
)
def test_malformed_files_fail_in_one_line(tmp_path, name, content, error, needle):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(error) as caught:
        load_labeled([path])
    assert needle in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_labeled([tmp_path / "absent.csv"])


def test_empty_directory_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no .json"):
        load_labeled([tmp_path])


def test_json_booleans_and_numbers_as_labels(tmp_path):
    path = tmp_path / "typed.jsonl"
    lines = [{"body": "a", "label": True}, {"body": "b", "label": 0}, {"body": "c", "label": 1.0}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    (thread,) = load_labeled([path])
    assert [c.label for c in thread.comments] == ["spam", "ham", "spam"]


def test_duplicate_ids_fall_back_to_row_numbers(tmp_path):
    path = tmp_path / "dupes.csv"
    path.write_text("id,body,label\nx,a,ham\nx,b,spam\n", encoding="utf-8")
    (thread,) = load_labeled([path])
    assert [c.id for c in thread.comments] == ["1", "2"]


@pytest.mark.skipif(not YOUTUBE.is_dir(), reason="../shared/datasets/youtube_spam_collection is not present")
def test_youtube_spam_collection_loads_with_flags_only():
    threads = load_labeled([YOUTUBE], YOUTUBE_MAPPING)
    assert len(threads) == 5
    assert label_counts(threads) == {"spam": 1005, "ham": 951, "unlabeled": 0}
