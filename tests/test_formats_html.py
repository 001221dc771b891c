"""Saved HTML pages: WordPress theme markup, a generic fallback, and writing back the kept comments."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.errors import NoCommentsError
from moderation.formats import detect_format, html, read_threads, write_threads

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
WP_PAGE = FIXTURES / "wordpress-page.html"
GENERIC_PAGE = FIXTURES / "generic-page.html"


@pytest.mark.parametrize("page", [WP_PAGE, GENERIC_PAGE], ids=["wordpress", "generic"])
def test_detected_as_html(page):
    assert detect_format(page) == "html"


def test_wordpress_theme_markup():
    (thread,) = read_threads(WP_PAGE)
    post = thread.post
    assert post.title == "Seven Days in Lisbon Without a Car"
    assert post.author == "Maren Ekdahl"
    assert post.url == "https://slowpassport.net/2023/10/seven-days-in-lisbon/"
    assert "Pastéis de Belém cost €1.40." in post.body and "Humberto Delgado" in post.body
    got = [(c.id, c.parent, c.type, c.author) for c in thread.comments]
    assert got == [
        ("1021", None, "comment", "João Gonçalves"),
        ("1022", "1021", "comment", "Maren Ekdahl"),
        ("1023", None, "comment", "best replica watches"),
        ("1024", None, "pingback", "Travel Roundup – October"),
    ]
    first = thread.comments[0]
    assert (
        first.body == "Great write-up! The 434 bus now costs €4.10 & leaves from the forecourt.\n\n"
        "Also: the Viva Viagem card is 50 cents."
    )
    assert first.date == "2023-10-18T10:02:11+01:00"
    assert thread.comments[1].author_url == "https://slowpassport.net"
    assert "Reply" not in first.body and "says" not in first.author


def test_generic_markup():
    (thread,) = read_threads(GENERIC_PAGE)
    assert thread.post.title == "Cast Iron Care"
    assert thread.post.body == "Stop babying your skillet. Soap is fine."
    got = [(c.id, c.parent, c.author, c.body) for c in thread.comments]
    assert got == [
        ("101", None, "Bjørn Østergaard", "I’ve used soap on mine for ten years."),
        ("102", "101", "Guest Cook", "Same here — chain mail scrubber."),
        ("103", None, "Cookware Outlet", "Buy discount skillets (http://cheap-cookware.example) now!!!"),
    ]


def test_old_wordpress_theme_without_comment_content(tmp_path):
    page = tmp_path / "old.html"
    page.write_text(
        '<html><body><div class="entry-content"><p>Post text.</p></div><ol class="commentlist">'
        '<li class="comment" id="li-comment-7"><div id="comment-7"><div class="comment-author vcard">'
        '<cite class="fn">Ana</cite> <span class="says">says:</span></div>'
        '<div class="comment-meta commentmetadata"><a href="#comment-7">May 1, 2010 at 9:00 am</a></div>'
        '<p>First paragraph.</p><p>Second &amp; last.</p><div class="reply"><a>Reply</a></div></div></li>'
        "</ol></body></html>",
        encoding="utf-8",
    )
    (thread,) = read_threads(page)
    (comment,) = thread.comments
    assert (comment.id, comment.author, comment.date) == ("7", "Ana", "May 1, 2010 at 9:00 am")
    assert comment.body == "First paragraph.\n\nSecond & last."


@pytest.mark.parametrize("page", [WP_PAGE, GENERIC_PAGE], ids=["wordpress", "generic"])
def test_round_trip_drops_spam_keeps_replies(tmp_path, page):
    (thread,) = read_threads(page)
    first, reply = thread.comments[0], thread.comments[1]
    keep = {c.id for c in thread.comments} - {first.id}
    out = tmp_path / "out.html"
    write_threads([thread], out, "html", keep=keep)
    (again,) = read_threads(out)
    assert [c.id for c in again.comments] == [c.id for c in thread.comments if c.id in keep]
    kept_reply = again.comments[0]
    assert (kept_reply.author, kept_reply.body, kept_reply.parent) == (reply.author, reply.body, None)
    assert again.post.body == thread.post.body


def test_comments_missing_from_thread_are_removed():
    (thread,) = read_threads(WP_PAGE)
    thread.comments = [c for c in thread.comments if c.id != "1023"]
    stream = io.StringIO()
    html.write([thread], stream)
    assert "replica" not in stream.getvalue() and "Obrigada" in stream.getvalue()


def test_page_without_comments():
    with pytest.raises(NoCommentsError):
        html.parse("<html><body><article><p>Just a post.</p></article></body></html>")


def test_mixed_encoding_page(tmp_path):
    page = tmp_path / "mixed.html"
    data = WP_PAGE.read_bytes().replace(b"Great write-up!", b"\x93Great\x94 write-up!")
    page.write_bytes(data)
    (thread,) = read_threads(page)
    assert thread.comments[0].body.startswith("“Great” write-up!")
    assert thread.comments[0].author == "João Gonçalves"


def test_cp1252_page_declared_in_meta(tmp_path):
    page = tmp_path / "legacy.html"
    text = WP_PAGE.read_text(encoding="utf-8").replace('charset="UTF-8"', 'charset="windows-1252"')
    page.write_bytes(text.encode("cp1252"))
    (thread,) = read_threads(page)
    assert thread.comments[0].author == "João Gonçalves"


def test_render_from_other_format(tmp_path):
    threads = list(read_threads(FIXTURES / "threads.json"))
    out = tmp_path / "page.html"
    write_threads(threads[:1], out, "html", keep={"c1", "c2"})
    (again,) = read_threads(out)
    assert [(c.author, c.body) for c in again.comments] == [(c.author, c.body) for c in threads[0].comments[:2]]


BYLINE_PAGE = """<!DOCTYPE html><html><head><title>Night sky</title></head><body>
<article><h1 class="entry-title">Night sky</h1>
<span class="byline">By <span class="author vcard"><a class="url fn n" href="https://example.blog/author/nadia/">Nadia
 Brennan</a></span></span>
<div class="entry-content"><p>Orion rises late in autumn.</p></div></article>
<h2 class="comments-title">3 comments</h2>
<ol class="comment-list">
<li id="comment-1" class="comment"><article class="comment-body">
<div class="comment-author vcard"><b class="fn">Ann</b></div>
<div class="comment-content"><p>Lovely photos.</p></div></article></li>
<li id="comment-2" class="comment"><article class="comment-body">
<div class="comment-author vcard"><b class="fn">Bob</b></div>
<div class="comment-content"><p>Which lens?</p></div></article></li>
<li id="comment-3" class="comment"><article class="comment-body">
<div class="comment-author vcard"><b class="fn">Spam</b></div>
<div class="comment-content"><p>cheap pills</p></div></article></li>
</ol></body></html>
"""


def test_byline_author_is_the_display_name_only():
    assert html.parse(BYLINE_PAGE).post.author == "Nadia Brennan"


def test_filtered_page_marks_held_comments_and_updates_the_count_heading():
    thread = html.parse(BYLINE_PAGE)
    for comment, verdict in zip(thread.comments, ["hold", "approve", "spam"], strict=True):
        comment.verdict = verdict
    out = io.StringIO()
    html.write([thread], out, keep={"1"})
    written = out.getvalue()
    assert "1 comment</h2>" in written
    (again,) = [html.parse(written)]
    assert [c.id for c in again.comments] == ["1"]
    assert 'data-moderation="held"' in written and html.HELD_CLASS in written
    out = io.StringIO()
    html.write([thread], out, keep={"1", "2"})
    assert "2 comments</h2>" in out.getvalue() and out.getvalue().count('data-moderation="held"') == 1


# --------------------------------------------------------------------------------------------------
# Hostile markup: the page sniff and nested links are linear.

_HTML_START_BEFORE = re.compile(r"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title)\b", re.I | re.S)


@settings(max_examples=500)
@given(
    st.lists(
        st.sampled_from(["<!--", "-->", "<!-->", " ", "\n", "x", "<html>", "<body", "<meta ", "--", "<"]), max_size=9
    )
)
def test_the_page_sniff_takes_what_it_took(pieces):
    head = "".join(pieces)
    assert bool(html._HTML_START.match(head)) == bool(_HTML_START_BEFORE.match(head))


def test_a_head_of_many_comments_and_no_tag_is_sniffed_at_once():
    # 322 bytes of "<!--a-->" and no tag never finished sniffing when each "-->" could end a comment or
    # sit inside one (26 comments took 9.5 s).
    assert not html.sniff("<!--a-->" * 40 + "X")
    assert html.sniff("<!--a-->" * 40 + "<html>")


@pytest.mark.parametrize(
    "markup",
    [
        '<a href="http://a.example">x</a> and <a href="http://b.example">http://b.example</a>',
        '<a href="http://a.example">outer <a href="http://b.example">inner</a> tail</a>',
        "".join(f'<a href="h{i}">t{i} ' for i in range(16)) + "</a>" * 16,
        '<a href="#top">up</a><a>no href</a><a href=" http://c.example/ ">c</a>',
    ],
    ids=["sequential", "nested", "16-deep", "fragments"],
)
def test_links_up_to_16_deep_read_as_before(markup, monkeypatch):
    followed = html.markup_to_text(markup)
    monkeypatch.setattr(html, "_OPEN_LINKS", 10**9)
    assert followed == html.markup_to_text(markup)


def test_links_nested_deeper_are_read_in_one_pass():
    # 1 MB of nested <a> took 10.6 s when each closing link rejoined all the text since its opening.
    text = html.markup_to_text("".join(f'<a href="x{i}z">y' for i in range(100_000)) + "</a>" * 100_000)
    assert text.count("y") == 100_000
    assert text.count(" (x") == html._OPEN_LINKS  # the innermost links keep their addresses


@pytest.mark.parametrize("markup", ["wordpress", "generic"])
def test_a_page_of_many_comments_is_read_without_a_scan_per_comment(markup, monkeypatch):
    # Each comment's parts were looked up by listing every comment inside it first: a 512 KB page of
    # 2,500 comments took 18.7 s. Containment is now a walk up from the part found.
    calls = []
    inside = html._inside
    monkeypatch.setattr(html, "_inside", lambda tag, container: calls.append(1) or inside(tag, container))
    if markup == "wordpress":
        items = "".join(
            f'<li id="comment-{i}" class="comment"><div class="comment-content"><p>hi {i}</p></div></li>'
            for i in range(500)
        )
        page = f'<html><body><ol class="comment-list">{items}</ol></body></html>'
    else:
        page = "<html><body>" + '<div class="comment"><p class="comment-text">x</p></div>' * 500 + "</body></html>"
    thread = html.parse(page)
    assert len(thread.comments) == 500
    assert len(calls) <= 2 * 500  # the post's search for its body outside the comments, no more
