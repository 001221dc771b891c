import io
from pathlib import Path

import pytest

from moderation.errors import InputError, NoCommentsError
from moderation.formats import plaintext, read_threads
from moderation.formats.source import MAX_PAGE_BYTES

PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"


def test_reads_post_and_comments(garden_page):
    thread = next(plaintext.read(garden_page))
    assert thread.post.title == "Why my tomatoes split after the August storms"
    assert thread.post.author == "Ruth Okonkwo"
    assert "Brandywines had split" in thread.post.body
    assert [c.author for c in thread.comments] == [
        "Sam Whitfield",
        "Kezia",
        "Marta Lind",
        "bestcheapessays online",
        "Sam Whitfield",
    ]
    assert [c.position for c in thread.comments] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "furniture",
    ["FILED UNDER", "About Ruth", "plot 23 for eleven years", "Share", "Tweet"],
    ids=["categories", "about-box", "bio", "share", "tweet"],
)
def test_page_furniture_stays_out_of_the_post(garden_page, furniture):
    thread = next(plaintext.read(garden_page))
    assert furniture not in thread.post.body


def test_multi_paragraph_comment_keeps_paragraphs_and_unicode(garden_page):
    first = next(plaintext.read(garden_page)).comments[0]
    assert first.body.split("\n\n")[1] == "Straw mulch it is, then."
    assert "I’d assumed" in first.body


def test_empty_comment_is_kept_and_empty(garden_page):
    comments = next(plaintext.read(garden_page)).comments
    assert comments[1].author == "Kezia"
    assert comments[1].is_empty


def test_at_reply_links_to_the_named_earlier_comment(garden_page):
    comments = next(plaintext.read(garden_page)).comments
    assert comments[2].parent == comments[0].id


def test_page_without_comments_is_its_own_error():
    with pytest.raises(NoCommentsError, match="no comment section"):
        next(plaintext.read(PAGES / "no_comments.txt"))
    assert NoCommentsError.exit_code not in (0, 1, 2)


def test_seed_thread_has_seventeen_comments_and_an_empty_eighth(seed_page):
    thread = next(read_threads(seed_page))
    assert len(thread.comments) == 17
    assert thread.comments[7].is_empty and thread.comments[7].author == "C. Clavin"
    assert thread.comments[10].parent == thread.comments[9].id  # "@Argon: Leading from behind."
    assert thread.post.author == "Doug Mataconis"
    assert "FILED UNDER" not in thread.post.body


def test_numbered_list_in_post_is_not_a_comment_section():
    page = (
        "Ten tips\n\n  1. Bob says: water daily\n\nText.\n\n"
        "  1. Ann says:\n\n    first\n\n  2. Joe says:\n\n    second\n\n  3. Ann says:\n\n    third\n"
    )
    thread = plaintext.parse(page)
    assert [c.body for c in thread.comments] == ["first", "second", "third"]


def test_write_keeps_page_bytes_and_drops_only_removed(garden_page):
    thread = next(plaintext.read(garden_page))
    out = io.StringIO()
    plaintext.write([thread], out, keep={"1", "2", "3", "5"})
    written = out.getvalue()
    original = garden_page.read_text(encoding="utf-8")
    assert written == original.replace(thread.comments[3].extra["raw"], "")
    reread = plaintext.parse(written)
    assert [c.id for c in reread.comments] == ["1", "2", "3", "5"]
    assert reread.comments[1].is_empty


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "no such file"),
        (lambda p: (p.mkdir(), p)[1], "is a directory"),
        (lambda p: (p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00"), p)[1], "binary"),
        (lambda p: (p.write_bytes((PAGES / "latin1.txt").read_bytes()), p)[1], "not valid UTF-8"),
        (lambda p: (p.write_bytes(b"x" * (MAX_PAGE_BYTES + 1)), p)[1], "MB"),
    ],
    ids=["missing", "directory", "binary", "latin-1", "huge"],
)
def test_bad_input_is_a_one_line_input_error(tmp_path, make, message):
    path = make(tmp_path / "page.txt")
    with pytest.raises(InputError, match=message) as info:
        next(read_threads(path, "text"))
    assert "\n" not in str(info.value)


def test_explicit_encoding_reads_latin1():
    thread = next(read_threads(PAGES / "latin1.txt", "text", encoding="latin-1"))
    assert thread.comments[0].body == "café au lait"


def test_unnumbered_says_headers_are_read():
    page = (
        "Bread without kneading\n\nThe report says: nothing.\n\nMix and wait.\n\n"
        "Jen says:\nMarch 3, 2016 at 10:31 am\n\nWorked for me.\n\nReply\n\n"
        "Mr. Prosser says:\n\n@Jen: same here.\n"
    )
    thread = plaintext.parse(page)
    assert [(c.id, c.author, c.body) for c in thread.comments] == [
        ("1", "Jen", "Worked for me."),
        ("2", "Mr. Prosser", "@Jen: same here."),
    ]
    assert thread.comments[0].date == "March 3, 2016 at 10:31 am"
    assert thread.comments[1].parent == "1"
    assert "report says" in thread.post.body


THREADED_PAGE = """Lisbon in a week
Trams, tiles and too many pastries.

  1. Ann says:

    The 28 tram is worth the queue.

      2. Bob says:

        Go early, before nine.

  3. Cy says:

    Great write-up, thanks.

Leave a Reply
Your email address will not be published. Required fields are marked *
Comment *
Post Comment
"""


def test_reply_form_is_not_glued_to_the_last_comment_and_is_written_back():
    thread = plaintext.parse(THREADED_PAGE)
    assert thread.comments[-1].body == "Great write-up, thanks."
    out = io.StringIO()
    plaintext.write([thread], out)
    assert out.getvalue() == THREADED_PAGE


def test_indented_replies_are_linked_to_their_parent():
    thread = plaintext.parse(THREADED_PAGE)
    assert [(c.id, c.parent) for c in thread.comments] == [("1", None), ("2", "1"), ("3", None)]


def test_held_comments_get_a_marker_line_read_back_as_furniture():
    thread = plaintext.parse(THREADED_PAGE)
    thread.comments[1].verdict = "hold"
    out = io.StringIO()
    plaintext.write([thread], out)
    assert "      2. Bob says:\n          [held for moderation]\n" in out.getvalue()
    again = plaintext.parse(out.getvalue())
    assert [c.body for c in again.comments] == [c.body for c in thread.comments]
    twice = io.StringIO()
    again.comments[1].verdict = "hold"
    plaintext.write([again], twice)
    assert twice.getvalue() == out.getvalue()  # marked once, not once per run
    again.comments[1].verdict = "approve"
    cleared = io.StringIO()
    plaintext.write([again], cleared)
    assert cleared.getvalue() == THREADED_PAGE


def _headers_before(text):
    """plaintext._comment_headers as first written: the run copied each time it grew."""
    matches = list(plaintext._HEADER.finditer(text))
    if not matches:
        unnumbered = plaintext._unnumbered_headers(text)
        return unnumbered if len(unnumbered) >= 2 else []
    best, run = [], []
    for match in matches:
        if run and int(match.group("number")) <= int(run[-1].group("number")):
            run = []
        run.append(match)
        if len(run) > len(best):
            best = list(run)
    return best


@pytest.mark.parametrize(
    "numbers",
    [[1, 2, 3], [1, 2, 1, 2, 3], [3, 1, 2], [1, 1, 1], [5, 6, 1, 2, 7, 8, 9], [2, 3, 4, 1, 2, 3], [1]],
    ids=["rising", "longer-second", "fall-first", "flat", "longest-last", "tie-first-wins", "one"],
)
def test_the_longest_rising_run_of_headers_is_the_one_found_before(numbers):
    text = "".join(f"{n}. Reader{i} says:\nhello {i}\n\n" for i, n in enumerate(numbers))
    found = [m.start() for m in plaintext._comment_headers(text)]
    assert found == [m.start() for m in _headers_before(text)]


def test_a_long_run_of_headers_is_found_in_one_pass():
    # 2 MB of numbered headers took 31 s when the run was copied each time it grew.
    text = "".join(f"{i}. N says:\n" for i in range(1, 150_001))
    assert len(plaintext._comment_headers(text)) == 150_000
