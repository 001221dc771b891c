"""Disqus exports: reading, isSpam written back in place, round trips, hostile files."""

from __future__ import annotations

from pathlib import Path

import pytest

from moderation.errors import ParseError
from moderation.formats import detect_format, disqus, read_threads, write_threads

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
EXPORT = FIXTURES / "disqus-export.xml"


def by_id(threads):
    return {c.id: c for t in threads for c in t.comments}


@pytest.fixture
def threads():
    return list(disqus.read(EXPORT))


def test_detected():
    assert detect_format(EXPORT) == "disqus"


def test_threads_with_posts_only_in_file_order(threads):
    assert [t.id for t in threads] == ["7100001", "7100002"]
    curry = threads[1]
    assert curry.post.title == "A Weeknight Chicken Curry & Its Shortcuts"
    assert curry.post.body == "Thirty minutes, one pan, ½ tsp garam masala at the end."
    assert curry.post.url == "https://kitchen-notes.example/2022/05/weeknight-curry/"
    assert [c.position for c in curry.comments] == [1, 2, 3]


@pytest.mark.parametrize(
    ("post_id", "label", "deleted"),
    [
        ("880001", "ham", False),
        ("880003", "spam", False),
        ("880004", None, True),
        ("880012", "ham", False),
    ],
    ids=["ham", "spam", "deleted", "no-isSpam"],
)
def test_labels(threads, post_id, label, deleted):
    comment = by_id(threads)[post_id]
    assert comment.label == label
    assert comment.extra.get("deleted", False) is deleted


def test_fields_entities_and_replies(threads):
    comments = by_id(threads)
    assert comments["880001"].author == "Bjørn Østergaard"
    assert comments["880001"].body == "I've used soap on mine for ten years. The polymerised oil doesn’t care."
    assert comments["880002"].parent == "880001"
    assert comments["880002"].body == "Same here. Chain mail scrubber + a drop of soap.\n\nThen dry it on the burner."
    assert comments["880011"].parent == "880010" and comments["880010"].author == "佐藤 愛子"
    assert "(http://cheap-cookware.example/?utm=dsq)" in comments["880003"].body
    assert comments["880010"].author_email == "aiko@example.jp" and comments["880010"].author_ip == "126.0.0.1"


def test_round_trip_marks_spam_in_place(tmp_path, threads):
    for thread in threads:
        for comment in thread.comments:
            comment.verdict = "spam" if comment.id in ("880002", "880012", "880003") else "approve"
    out = tmp_path / "out.xml"
    write_threads(threads, out, "disqus")
    before, after = EXPORT.read_text(encoding="utf-8"), out.read_text(encoding="utf-8")
    assert after.count("<isSpam>true</isSpam>") == before.count("<isSpam>true</isSpam>") + 2
    assert len(after) - len(before) == len("<isSpam>true</isSpam>") - 1  # one flipped, one added
    again = by_id(read_threads(out))
    assert list(again) == list(by_id(threads))
    assert {cid for cid, c in again.items() if c.label == "spam"} == {"880002", "880003", "880012"}
    assert [c.body for c in again.values()] == [c.body for c in by_id(threads).values()]


def test_converted_threads_render_a_disqus_export(tmp_path):
    threads = list(read_threads(FIXTURES / "threads.json"))
    threads[1].comments[0].verdict = "spam"
    out = tmp_path / "converted.xml"
    write_threads(threads, out, "disqus")
    again = list(disqus.read(out))
    assert [len(t.comments) for t in again] == [4, 3]
    assert again[1].comments[0].label == "spam"
    assert again[0].comments[1].parent == again[0].comments[0].id


def test_unknown_thread_is_a_bad_post(tmp_path):
    src = tmp_path / "orphan.xml"
    src.write_text(
        EXPORT.read_text(encoding="utf-8").replace(
            '<thread dsq:id="7100002" />\n  </post>', '<thread dsq:id="999" />\n  </post>', 1
        ),
        encoding="utf-8",
    )
    with pytest.raises(ParseError, match="thread '999'"):
        list(disqus.read(src))
    problems: list = []
    assert len(by_id(disqus.read(src, skip_bad=True, on_problem=problems.append))) == 6
    assert len(problems) == 1


def test_entity_attack_refused(tmp_path):
    src = tmp_path / "evil.xml"
    src.write_text(
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<disqus xmlns="http://disqus.com">&x;</disqus>'
    )
    with pytest.raises(ParseError, match="refused"):
        list(disqus.read(src))


def test_truncated_export(tmp_path):
    src = tmp_path / "cut.xml"
    src.write_bytes(EXPORT.read_bytes()[:3000])
    with pytest.raises(ParseError, match="line"):
        list(disqus.read(src))


def test_held_comments_are_marked_not_approved_and_not_spam(tmp_path, threads):
    for thread in threads:
        for comment in thread.comments:
            comment.verdict = "hold" if comment.id == "880001" else "approve"
    out = tmp_path / "out.xml"
    write_threads(threads, out, "disqus")
    after = out.read_text(encoding="utf-8")
    assert after != EXPORT.read_text(encoding="utf-8")
    post = after[after.index('<post dsq:id="880001">') :]
    post = post[: post.index("</post>")]
    assert "<isApproved>false</isApproved>" in post and "<isSpam>false</isSpam>" in post
    assert after.count("<isApproved>") == 1
    assert list(by_id(read_threads(out))) == list(by_id(threads))


def test_deleted_placeholder_is_an_empty_comment(tmp_path):
    text = EXPORT.read_text(encoding="utf-8")
    start = text.index("<message>", text.index('<post dsq:id="880001">'))
    end = text.index("</message>", start) + len("</message>")
    page = tmp_path / "deleted.xml"
    page.write_text(text[:start] + "<message><![CDATA[<p>This comment was deleted.</p>]]></message>" + text[end:])
    comment = by_id(read_threads(page))["880001"]
    assert comment.body == "" and comment.is_empty
