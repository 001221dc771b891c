"""WordPress WXR: reading, in-place spam marking, round trips, hostile and broken files."""

from __future__ import annotations

import inspect
import io
from pathlib import Path

import pytest

from moderation.errors import InputError, ParseError
from moderation.formats import detect_format, read_threads, write_threads, wxr

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
WXR = FIXTURES / "wordpress-1.2.xml"


@pytest.fixture
def threads():
    return list(wxr.read(WXR))


def by_id(threads):
    return {c.id: c for t in threads for c in t.comments}


def test_detected_as_wxr():
    assert detect_format(WXR) == "wxr"


def test_one_thread_per_item_with_post(threads):
    assert [t.post.id for t in threads] == ["412", "530", "413", "601"]
    lisbon = threads[0]
    assert lisbon.post.title == "Seven Days in Lisbon Without a Car"
    assert lisbon.post.url == "https://slowpassport.net/2023/10/seven-days-in-lisbon/"
    assert lisbon.post.author == "Maren Ekdahl"  # <dc:creator> is the login; <wp:author> names her
    assert "Pastéis de Belém cost €1.40." in lisbon.post.body
    assert threads[2].comments == [] and threads[2].post.extra["post_type"] == "attachment"


def test_comment_fields_types_and_parents(threads):
    comments = by_id(threads)
    joao = comments["1021"]
    assert (joao.author, joao.author_email, joao.author_ip) == (
        "João Gonçalves",
        "joao.g@example.pt",
        "85.241.12.7",
    )
    assert joao.date == "2023-10-18 10:02:11" and joao.extra["date_gmt"] == "2023-10-18 09:02:11"
    assert "€4.10 & it leaves" in joao.body and "\n\n" in joao.body
    assert comments["1022"].parent == "1021" and comments["1022"].extra["user_id"] == "1"
    assert comments["1103"].parent == "1102"
    assert comments["1024"].type == "pingback" and comments["1024"].author == "Travel Roundup – October"
    assert comments["1104"].type == "trackback"
    assert comments["1101"].type == "comment" and comments["1101"].author == "山田 太郎"
    assert "(http://replica-deals.example/watches)" in comments["1023"].body
    assert comments["1023"].extra["meta"] == [("akismet_result", "true")]


@pytest.mark.parametrize(
    ("comment_id", "status", "label"),
    [
        ("1021", "1", "ham"),
        ("1023", "spam", "spam"),
        ("1025", "0", None),
        ("1105", "trash", None),
        ("1201", "1", "ham"),
    ],
    ids=["approved", "spam", "pending", "trash", "missing-status"],
)
def test_status_becomes_label(threads, comment_id, status, label):
    comment = by_id(threads)[comment_id]
    assert comment.extra["approved"] == status
    assert comment.label == label


def test_read_is_a_lazy_generator():
    assert inspect.isgenerator(wxr.read(WXR))


VERDICTS = {"1023": "spam", "1025": "spam", "1101": "hold", "1105": "spam", "1202": "spam", "1104": "spam"}


def _scored(threads):
    for thread in threads:
        for comment in thread.comments:
            comment.verdict = VERDICTS.get(comment.id, "approve")
    return threads


def test_write_patches_only_changed_statuses(tmp_path, threads):
    out = tmp_path / "out.xml"
    write_threads(_scored(threads), out, "wxr")
    before = WXR.read_bytes().splitlines()
    after = out.read_bytes().splitlines()
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [
        (
            b"\t\t\t<wp:comment_approved><![CDATA[0]]></wp:comment_approved>",
            b"\t\t\t<wp:comment_approved><![CDATA[spam]]></wp:comment_approved>",
        ),
        (
            b"\t\t\t<wp:comment_approved><![CDATA[1]]></wp:comment_approved>",
            b"\t\t\t<wp:comment_approved><![CDATA[0]]></wp:comment_approved>",
        ),
        (
            b"\t\t\t<wp:comment_approved><![CDATA[1]]></wp:comment_approved>",
            b"\t\t\t<wp:comment_approved><![CDATA[spam]]></wp:comment_approved>",
        ),
        (b"\t\t\t<wp:comment_approved/>", b"\t\t\t<wp:comment_approved>spam</wp:comment_approved>"),
    ]


def test_round_trip_same_comments_spam_marked(tmp_path, threads):
    out = tmp_path / "out.xml"
    write_threads(_scored(threads), out, "wxr")
    again = list(read_threads(out))
    old, new = by_id(threads), by_id(again)
    assert list(old) == list(new)
    for cid, comment in new.items():
        assert (comment.body, comment.author, comment.parent, comment.type) == (
            old[cid].body,
            old[cid].author,
            old[cid].parent,
            old[cid].type,
        )
    assert new["1025"].extra["approved"] == "spam" and new["1025"].label == "spam"
    assert new["1101"].extra["approved"] == "0"
    assert new["1105"].extra["approved"] == "trash"  # a moderator's trash is never overridden
    assert new["1023"].extra["approved"] == "spam"


def test_write_to_text_stream_matches_file(tmp_path, threads):
    out = tmp_path / "out.xml"
    write_threads(_scored(threads), out, "wxr")
    stream = io.StringIO()
    wxr.write(threads, stream)
    assert stream.getvalue() == out.read_text(encoding="utf-8")


def test_missing_status_element_is_added(tmp_path):
    src = tmp_path / "no-status.xml"
    text = WXR.read_text(encoding="utf-8").replace(
        "\t\t\t<wp:comment_approved><![CDATA[0]]></wp:comment_approved>\n", ""
    )
    src.write_text(text, encoding="utf-8")
    threads = list(wxr.read(src))
    by_id(threads)["1025"].verdict = "spam"
    out = tmp_path / "out.xml"
    write_threads(threads, out, "wxr")
    assert by_id(wxr.read(out))["1025"].extra["approved"] == "spam"


def test_wxr_1_1_and_1_0_namespaces(tmp_path):
    for version in ("1.1", "1.0"):
        src = tmp_path / f"wxr-{version}.xml"
        src.write_text(WXR.read_text(encoding="utf-8").replace("export/1.2/", f"export/{version}/"), encoding="utf-8")
        assert detect_format(src) == "wxr"
        assert len(by_id(wxr.read(src))) == 12


def test_converted_threads_render_a_fresh_wxr(tmp_path):
    threads = list(read_threads(FIXTURES / "threads.json"))
    threads[0].comments[2].verdict = "spam"
    out = tmp_path / "converted.xml"
    write_threads(threads, out, "wxr")
    again = list(wxr.read(out))
    assert [len(t.comments) for t in again] == [len(t.comments) for t in threads]
    assert again[0].comments[2].extra["approved"] == "spam"
    assert again[0].comments[1].parent == again[0].comments[0].id
    assert again[0].comments[0].body == threads[0].comments[0].body


ATTACKS = {
    "billion-laughs": """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><title>&lol3;</title></item></channel></rss>""",
    "xxe-file": """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><title>&xxe;</title></item></channel></rss>""",
    "xxe-network": """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/evil">]>
<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><title>&xxe;</title></item></channel></rss>""",
    "external-dtd": """<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd">
<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><title>x</title></item></channel></rss>""",
    "doctype-after-comment-and-pi": """<?xml version="1.0"?><!-- a comment --><?pi x?>
   <!doctype rss [<!ENTITY x "y">]><rss><channel/></rss>""",
    "parameter-entity": """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>
<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel/></rss>""",
}


@pytest.mark.parametrize("text", ATTACKS.values(), ids=ATTACKS.keys())
@pytest.mark.parametrize("operation", ["read", "write"])
def test_xml_attacks_are_refused(tmp_path, text, operation):
    src = tmp_path / "evil.xml"
    src.write_text(text)
    with pytest.raises(ParseError, match="refused"):
        if operation == "read":
            list(wxr.read(src))
        else:
            thread = next(wxr.read(WXR))
            wxr.write([thread], io.StringIO(), source=src)


def _truncated(tmp_path) -> Path:
    data = WXR.read_bytes()
    cut = data.index(b"<wp:comment_id>1102")
    src = tmp_path / "truncated.xml"
    src.write_bytes(data[:cut])
    return src


def test_truncated_file_names_the_line(tmp_path):
    with pytest.raises(ParseError, match=r"truncated.*line \d+"):
        list(wxr.read(_truncated(tmp_path)))


def test_skip_bad_yields_complete_items_and_reports_the_rest(tmp_path):
    problems: list[ParseError] = []
    threads = list(wxr.read(_truncated(tmp_path), skip_bad=True, on_problem=problems.append))
    assert [t.post.id for t in threads] == ["412"]
    assert len(problems) == 1 and problems[0].line is not None


def test_bad_item_skipped_with_skip_bad(tmp_path):
    src = tmp_path / "bad-id.xml"
    src.write_text(
        WXR.read_text(encoding="utf-8").replace("<wp:comment_id>1101<", "<wp:comment_id>x1101<"),
        encoding="utf-8",
    )
    with pytest.raises(ParseError, match="comment id 'x1101' is not a number"):
        list(wxr.read(src))
    problems: list[ParseError] = []
    threads = list(wxr.read(src, skip_bad=True, on_problem=problems.append))
    assert [t.post.id for t in threads] == ["412", "413", "601"]
    assert problems[0].element == "wp:comment_id"


def test_mixed_encoding_bytes_decode_as_cp1252(tmp_path):
    src = tmp_path / "mixed.xml"
    data = WXR.read_bytes().replace(b"Obrigada, Jo\xc3\xa3o!", b"Obrigada, Jo\xe3o! \x93quoted\x94")
    src.write_bytes(data)
    assert by_id(wxr.read(src))["1022"].body.startswith("Obrigada, João! “quoted”")


def test_forbidden_control_characters_are_dropped(tmp_path):
    src = tmp_path / "controls.xml"
    src.write_bytes(WXR.read_bytes().replace(b"Not the Nozomi.", b"Not the\x0b Nozomi.\x01"))
    assert by_id(wxr.read(src))["1103"].body == "Yes, the Hikari is covered. Not the Nozomi."


def test_latin1_declared_file(tmp_path):
    src = tmp_path / "latin1.xml"
    text = WXR.read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    text = text.replace("山田 太郎", "Yamada Taro").replace("😅", ":)").replace("–", "-").replace("€", "EUR")
    text = text.replace("…", "...").replace("¥", "JPY ").replace("’", "'")
    src.write_bytes(text.encode("iso-8859-1"))
    threads = list(wxr.read(src))
    assert by_id(threads)["1021"].author == "João Gonçalves"
    by_id(threads)["1021"].verdict = "spam"
    out = tmp_path / "out.xml"
    write_threads(threads, out, "wxr")
    approved = b"<wp:comment_approved><![CDATA[%s]]>"
    assert out.read_bytes() == src.read_bytes().replace(approved % b"1", approved % b"spam", 1)


@pytest.mark.parametrize(
    ("content", "error"),
    [("", ParseError), ("<rss><channel>", ParseError), ("<html><body>hi</body></html>", ParseError)],
    ids=["empty", "unclosed", "wrong-root"],
)
def test_broken_files_raise_parse_error(tmp_path, content, error):
    src = tmp_path / "broken.xml"
    src.write_text(content)
    with pytest.raises(error):
        list(wxr.read(src))


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        list(wxr.read(tmp_path / "nope.xml"))


def test_post_author_without_an_author_list_stays_the_login(tmp_path):
    text = WXR.read_text(encoding="utf-8")
    start, end = text.index("<wp:author>"), text.index("</wp:author>") + len("</wp:author>")
    bare = tmp_path / "bare.xml"
    bare.write_text(text[:start] + text[end:], encoding="utf-8")
    assert {t.post.author for t in wxr.read(bare)} == {"maren"}
