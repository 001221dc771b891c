"""The ASCII fast path of text.analyse (case-sensitive patterns on lower-cased text) changes nothing."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.formats import read_threads
from moderation.learning.dataset import thread_files
from moderation.model import text

ROOT = Path(__file__).resolve().parent.parent

# Pieces that the case-insensitive patterns look for, in mixed case, with digits and separators.
PIECES = [
    "WhatsApp",
    "whats app",
    "TELEGRAM",
    "Wa.Me/",
    "call",
    "Text ME",
    "Hit me up",
    "Customer Care",
    "Toll-Free",
    "Support Phone Number",
    "$500",
    "1,000 USD",
    "2k Bitcoins",
    "EARNED",
    "Per Week",
    "Forex",
    "one Eight HUNDRED five five five",
    "1-8OO-555-0199",
    "+44 20 7946 0958",
    "2024-05-01",
    "o",
    " ",
    "\n",
    ".",
    "@",
    "k",
    "s",
    "i",
]


def reference(monkeypatch, body: str) -> text.Analysis:
    with monkeypatch.context() as patch:
        patch.setattr(text, "ASCII_FAST_PATH", False)
        return text._analyse(body)


@pytest.fixture(scope="module")
def bodies() -> list[str]:
    paths = thread_files([ROOT / "data" / "threads"])
    return [c.body for path in paths for thread in read_threads(path) for c in [*thread.comments]] + [
        thread.post.text for path in paths for thread in read_threads(path)
    ]


def test_every_comment_and_post_of_data_threads(bodies, monkeypatch):
    assert sum(body.isascii() for body in bodies) > len(bodies) // 2  # the fast path is exercised
    for body in bodies:
        assert text._analyse(body) == reference(monkeypatch, body), body[:80]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.text(st.characters(max_codepoint=127), max_size=5), max_size=12))
def test_ascii_texts_built_from_the_patterns_pieces(pieces):
    body = " ".join(pieces)
    with pytest.MonkeyPatch.context() as patch:
        expected = reference(patch, body)
    assert text._analyse(body) == expected


@pytest.mark.parametrize(
    "body",
    ["\u212aik WhatsApp", "\u017fkype me", "\u0130nstagram", "CALL \u00e9 now 555 0199 0000"],
    ids=["kelvin-sign", "long-s", "dotted-capital-i", "accented"],
)
def test_non_ascii_texts_keep_unicode_case_folding(body, monkeypatch):
    assert text._analyse(body) == reference(monkeypatch, body)


def test_only_four_characters_beyond_ascii_fold_into_ascii_letters():
    # The fast path lower-cases non-ASCII text unless it holds one of text._FOLDS_INTO_ASCII: that is
    # the same as IGNORECASE only if no other character matches an ASCII letter or symbol of the
    # patterns case-insensitively, and lower-casing keeps every other character one character of the
    # same class (word, space, digit, letter).
    pattern_chars = re.compile("[a-z$£€₹₦¥₱,.'/:@+()-]", re.IGNORECASE)
    folding = {c for c in map(chr, range(0x80, 0x110000)) if pattern_chars.match(c) and c not in "£€₹₦¥₱"}
    assert folding == set("\u0130\u0131\u017f\u212a")
    classes = [re.compile(p) for p in (r"\w", r"\s", r"\d", r"[^\W\d_]", "[Oo]")]
    for char in map(chr, range(0x110000)):
        lowered = char.lower()
        if lowered == char or char in folding:
            continue
        assert len(lowered) == 1 and (char.isascii() or not lowered.isascii()), hex(ord(char))
        assert [bool(p.match(char)) for p in classes] == [bool(p.match(lowered)) for p in classes], hex(ord(char))


def test_nfkc_normalised_text_has_no_disguised_letter():
    tagged = [
        c
        for c in map(chr, range(0x80, 0x110000))
        if c.isalnum() and unicodedata.decomposition(c).startswith(text._DISGUISE_TAGS)
    ]
    assert len(tagged) > 1000
    assert not any(unicodedata.is_normalized("NFKC", c) for c in tagged)


# The four case-insensitive patterns with pre-checks (text._NEEDS), one test case each.
EACH_PATTERN = pytest.mark.parametrize(
    "pattern", list(text._NEEDS), ids=["messenger", "contact-verb", "service-phrase", "money"]
)


@EACH_PATTERN
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_every_match_holds_a_needed_literal(pattern, data):
    lowered = text._LOWERED[pattern]
    match = data.draw(st.from_regex(lowered, fullmatch=True).filter(lambda s: lowered.search(s)))
    assert text._contains_any(match, text._NEEDS[pattern])


NON_ASCII = ["é", "É", "Σ", "ς", "ß", "ẞ", "Ω", "µ", "ﬁ", "ǅ", "😀", "—", "“", "£5", "€ 20", "₹100", "٣", "३", "²", "а"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES + NON_ASCII + ["\u0130", "\u0131", "FİVE", "sıx"]), min_size=1, max_size=12))
def test_non_ascii_texts_built_from_the_patterns_pieces(pieces):
    body = " ".join(pieces)
    with pytest.MonkeyPatch.context() as patch:
        expected = reference(patch, body)
    assert text._analyse(body) == expected


@EACH_PATTERN
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_texts_around_a_match_analyse_as_the_reference(pattern, data):
    # The word pre-check (text._WORD_NEEDS) reads the words of the text: a match glued to an apostrophe,
    # a digit or a placeholder must still be found.
    lowered = text._LOWERED[pattern]
    match = data.draw(st.from_regex(lowered, fullmatch=True).filter(lambda s: lowered.search(s)))
    before, after = (data.draw(st.lists(st.sampled_from(PIECES), max_size=4)) for _ in range(2))
    glue = st.sampled_from([" ", "'", "\n", "", "-", "0", "_", "_email_", ". "])
    body = " ".join(before) + data.draw(glue) + data.draw(st.sampled_from([match, match.upper()]))
    body += data.draw(glue) + " ".join(after)
    with pytest.MonkeyPatch.context() as patch:
        expected = reference(patch, body)
    assert text._analyse(body) == expected


# Pieces of addresses written around finders, and of prose around an "@".
ADDRESS_PIECES = [
    "@",
    " @ ",
    "@ ",
    "(@)",
    "[at]",
    "(at)",
    " at ",
    "dot",
    " dot ",
    "(.)",
    "[.]",
    ".",
    " . ",
    "gmail",
    "proton",
    "com",
    "org",
    "co.uk",
    "John",
    "j.doe",
    "fixer77",
    "-",
    " ",
    "\n",
    "K",
    "\u017f",
    "\u0130",
    "DOT",
    "@Argon:",
    "(",
    ")",
]


def _without_at_sign_precheck(body: str) -> int:
    # hidden_emails returns 0 without its scan when a text has no spelled or bracketed "at" or dot and
    # no "@" before a host and a dot; with a pattern that always matches there, the scan always runs.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(text, "_AT_SIGN_HOST", re.compile(""))
        return text.hidden_emails(body)


@pytest.mark.parametrize(
    ("body", "count"),
    [
        ("mail John at gmail(.)com now", 1),
        ("write fixer77 at proton [.] me", 1),
        ("me (@) gmail . com", 1),
        ("x @gmail.com", 1),
        ("Jo@ gmail(dot)com", 1),
        ("@Argon: Leading from behind.", 0),
        ("@Marguerite Lowe Thank you. I agree", 0),
    ],
    ids=[
        "at-bracketed-dot",
        "at-spaced-bracketed-dot",
        "bracketed-sign",
        "sign-provider",
        "sign-dot-word",
        "reply",
        "reply-sentence",
    ],
)
def test_the_at_sign_precheck_keeps_every_hidden_address(body, count):
    assert text.hidden_emails(body) == _without_at_sign_precheck(body) == count


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(ADDRESS_PIECES), min_size=1, max_size=14))
def test_the_at_sign_precheck_drops_no_hidden_address(pieces):
    body = "".join(pieces)
    assert text.hidden_emails(body) == _without_at_sign_precheck(body)


@pytest.mark.skipif(text._compiled_words is None, reason="moderation.model._text is not built")
@settings(max_examples=300)
@given(
    st.text(st.characters(codec=None, exclude_categories=()))
    | st.lists(st.sampled_from(list("ab'_ 1²é")), max_size=30).map("".join)
)
def test_compiled_words_are_the_regex_words(sample):
    assert text._compiled_words(sample) == text._WORD.findall(sample)


SCANS = ["_candidates", "_digit_spans", "_zero_digits", "_has_digit", "_last_segment", "_spaced_letters", "word_runs"]
CLASS_CHECKS = ["_has_lookalike", "_surrogate_or_invisible"]
WORD_COUNTS = ["_stem_set", "_repeated_phrase"]


@pytest.mark.skipif(text._compiled_text is None, reason="moderation.model._text is not built")
@pytest.mark.parametrize("name", SCANS, ids=[name.strip("_") for name in SCANS])
@settings(max_examples=300)
@given(
    sample=st.text(st.characters(codec=None, exclude_categories=()))
    | st.lists(
        st.sampled_from([*".:/@!? \t\n\u00a0\u2003\u3000", "ab", "1", "0", "٣", "²", "é", "😀"]), max_size=30
    ).map("".join)
)
def test_compiled_scans_are_the_regex_scans(name, sample):
    assert getattr(text, name)(sample) == text.PYTHON_FORMS[name](sample)


@pytest.mark.skipif(text._compiled_text is None, reason="moderation.model._text is not built")
@pytest.mark.parametrize("name", SCANS, ids=[name.strip("_") for name in SCANS])
def test_compiled_scans_read_every_code_point_as_the_regex_does(name):
    # Whitespace and digits are where a C loop could differ from re's \s and \d: each code point alone,
    # between letters and after a mark ("a.X b").
    scan, regex = getattr(text, name), text.PYTHON_FORMS[name]
    for start in range(0, 0x110000, 4096):
        block = [chr(c) for c in range(start, min(start + 4096, 0x110000))]
        for sample in ("".join(block), "a.".join(block), " .".join(block)):
            assert scan(sample) == regex(sample)


def _every_rewrite(body: str) -> str:
    """_unhidden_links before each pattern had a pre-check of its own (d13c337)."""
    lowered = body.lower()
    if not text._contains_any(lowered, text._HIDDEN_LINK_NEEDS):
        return body
    body = text._HIDDEN_DOT.sub(".", body)
    if "slash" in lowered:
        body = text._HIDDEN_SLASH.sub("/", body)
    if "www" in lowered or "w w" in lowered:
        body = text._SPELLED_WWW.sub(text._spelled_www, body)
    if " dot " in lowered:
        body = text._SPELLED_DOT.sub(text._spelled_dot, body)
    if "\\" in body:
        body = text._BACKSLASH_PATH.sub(text._backslash_path, body)
    if ". " in body or " ." in body:
        body = text._SPACED_DOT.sub(text._spaced_dot, body)
    if "DOT" in body or "Dot" in body:
        body = text._GLUED_DOT.sub(".", body)
    return body


HIDDEN_LINKS = {
    "bracketed-dot": "forsoftlips (dot) com and youtube(.)com",
    "upper-bracketed": "QUICKCASH[DOT]COM",
    "ideographic": "quickcash\u3002com",
    "spaced-com": "pimpmyviews. com",
    "spaced-path": "marketglory . com/game",
    "spaced-tab": "marketglory\t.  com/game and few weeks",
    "ending-talk": "Startups love .com.",
    "org": "comma. org",
    "spelled-www": "w w w . quickcash . com",
    "www-tab": "W\tw w dot quickcash dot net, a new work",
    "www-newline": "ww\nw. quickcash. com",
}


@pytest.mark.parametrize("body", list(HIDDEN_LINKS.values()), ids=list(HIDDEN_LINKS))
def test_the_hidden_link_prechecks_keep_every_rewrite(body):
    # Each substitution of _unhidden_links runs only where the text has what its matches hold.
    assert text._unhidden_links(body) == _every_rewrite(body)


def test_the_hidden_link_cases_are_rewritten():
    rewritten = [name for name, body in HIDDEN_LINKS.items() if _every_rewrite(body) != body]
    assert {"bracketed-dot", "spaced-com", "spaced-path", "spelled-www", "www-tab"} <= set(rewritten)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["w", "W", "ww", " ", "\t", "\n", ".", ". ", " . ", "com", "Com", "org", "dot", "(dot)", "[.]", "\u3002"]
            + ["quickcash", "new", "work", "/game", "\\", "bit.ly", "DOT", "net", "x"]
        ),
        max_size=16,
    ).map("".join)
)
def test_the_hidden_link_prechecks_drop_no_rewrite(body):
    assert text._unhidden_links(body) == _every_rewrite(body)


@pytest.mark.skipif(text._compiled_text is None, reason="moderation.model._text is not built")
@pytest.mark.parametrize("name", WORD_COUNTS, ids=[name.strip("_") for name in WORD_COUNTS])
@settings(max_examples=500)
@given(
    words=st.lists(
        st.sampled_from(
            ["the", "a", "of", "buy", "cheap", "now", "it", "and", "watches", "replica", "x", "\ud800", "naïve"]
        )
        | st.text(max_size=8),
        max_size=24,
    )
)
def test_compiled_word_counts_are_pythons(name, words):
    # Repeats are what both count: words drawn from a few, stop words among them, and any others.
    assert getattr(text, name)(words) == text.PYTHON_FORMS[name](words)


LITERALS = [
    text._HIDDEN_LINK_NEEDS,
    text._HIDDEN_DOTS,
    text._BRACKETED_AT,
    text._PROVIDER_NAMES,
    *text._NEEDS.values(),
]


@pytest.mark.skipif(text._compiled_text is None, reason="moderation.model._text is not built")
@settings(max_examples=500)
@given(
    sample=st.text(st.sampled_from("abcdotgmail.()[]{}<> @\\\u3002\uff61é😀"), max_size=40) | st.text(max_size=40),
    literals=st.sampled_from(LITERALS)
    | st.lists(st.text(st.sampled_from("ado.( @é😀"), max_size=3), max_size=6).map(tuple),
)
def test_compiled_literal_search_is_pythons(sample, literals):
    assert text._contains_any(sample, literals) == text.PYTHON_FORMS["_contains_any"](sample, literals)


@pytest.mark.skipif(text._compiled_text is None, reason="moderation.model._text is not built")
@pytest.mark.parametrize("name", CLASS_CHECKS, ids=[name.strip("_") for name in CLASS_CHECKS])
def test_compiled_class_checks_mark_the_classes_code_points(name):
    # Each bitmap must hold exactly its class: every code point alone, then runs of unmarked ones.
    check, python = getattr(text, name), text.PYTHON_FORMS[name]
    marked = {code for code in range(0x110000) if python(chr(code))}
    assert marked and all(check(chr(code)) for code in marked)
    unmarked = "".join(chr(code) for code in range(0x110000) if code not in marked)
    for start in range(0, len(unmarked), 4096):
        assert not check(unmarked[start : start + 4096])


def test_every_python_form_has_a_compiled_one():
    expected = {"_compiled_words", "_contains_any", *SCANS, *WORD_COUNTS, *CLASS_CHECKS}
    assert text.PYTHON_FORMS.keys() == expected


@pytest.mark.skipif(text._compiled_text is None, reason="moderation.model._text is not built")
@pytest.mark.parametrize(
    "literals",
    [
        tuple("a" * 199 + chr(98 + i) for i in range(20)),
        (*("a" * 15 + chr(98 + i) for i in range(31)), "aaz"),
        ("a" * 40 + "b", "a" * 40),
    ],
    ids=["near-misses", "near-misses-then-a-match-at-the-end", "a-match-after-a-near-miss"],
)
def test_literal_search_past_its_budget_gives_the_same_answer(literals):
    # Commenters' names are literals (ContextSignals): near misses at every position use up the
    # compiled search's budget of comparisons, and it goes on one literal at a time.
    sample = "a" * 20_000 + "z"
    assert text._contains_any(sample, literals) == text.PYTHON_FORMS["_contains_any"](sample, literals)


# _MONEY's second form is tried once per run of digits, commas and dots (it was tried at every digit, and
# a long run without a money word after it was quadratic). The same matches are counted.
_MONEY_BEFORE = re.compile(
    r"[$£€₹₦¥₱]\s?\d[\d,.]*\s?(?:k\b|m\b|million|thousand|billion)?|"
    r"\b\d[\d,.]*\s?(?:k\s)?(?:usd|dollars|bucks|eur|euros|gbp|pounds|btc|bitcoins?|usdt|eth|naira|rupees|inr|pesos)\b",
    re.IGNORECASE,
)
_MONEY_PIECES = ["1", "2", "0", ",", ".", " ", "\n", "k", "K", "usd", "USD", "eur", "$", "€", "x", "_", "m", "é", "٣"]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(_MONEY_PIECES), max_size=24).map("".join))
def test_money_counts_the_matches_it_counted_when_tried_at_every_digit(body):
    assert len(text._MONEY.findall(body)) == len(_MONEY_BEFORE.findall(body))
    lowered = body.lower()
    assert len(text._LOWERED[text._MONEY].findall(lowered)) == len(text._lowered(_MONEY_BEFORE).findall(lowered))


def test_money_on_a_long_run_without_a_money_word_after_it():
    # 32 KB of "1," with "usd" elsewhere took 14 s when each digit started a match; now one pass a run.
    body = "1," * 16_000 + " x usd and 5 usd"
    assert len(text._MONEY.findall(body)) == 1
    assert text._analyse(body).money == 1
