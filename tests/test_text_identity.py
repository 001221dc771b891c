"""text.analyse gives the same Analysis as before it was made faster (issue 10), on curated hard cases.

The expected digests were recorded with the implementation of commit c89a76d (before the speed-up),
kept outside the repository. The same comparison, every field of every Analysis, was run over every
text of data/threads and data/example, the YouTube, TubeSpam and SMS corpora of ../shared/datasets,
40,000 generated texts and the 20,000-comment benchmark set: no difference (see benchmarks/README.md).
"""

from __future__ import annotations

import hashlib
import json

import pytest

from moderation.model import text
from moderation.model.text import Analysis, _analyse

TEXTS = {
    "empty": "",
    "plain": "Thanks, the health check fixed it for me.",
    "reply-handle": "@Marguerite Lowe thank you, message received",
    "handle-contact": "I withdrew $3,000 in a week thanks to @fx_mark_trades on Instagram, message him",
    "link-and-email": "see https://devnotes.example/volumes or mail me: a.b@example.com, c@d",
    "anchor": "<a href='http://spam.example/x'>http://spam.example/x</a> cheap <b>pills</b>",
    "href-without-tag": "href=x.com and HREF = 'www.y.ru/p'",
    "reference-links": "Docs: https://docs.docker.com/compose/ and github.com/docker-library/postgres.",
    "phone-dashed": "QuickBooks support phone number +1-888-555-0143 call now",
    "phone-letter-o": "Epson printer helpline 1-8OO-555-O199 toll free",
    "phone-spelled": "dial one eight hundred five five five zero one two three",
    "phone-spelled-upper": "DIAL ONE EIGHT HUNDRED FIVE FIVE FIVE ZERO ONE TWO THREE",
    "phone-dates": "between 2019-2023, on 2024-03-14 at 10:30, call 020 7946 0000",
    "view-count": "the video has 2.126.521.750 views (12345)",
    "o-around-digit": "+oooo1oooo and 1oooooooo2",
    "money-earning": "I invested $500 and withdrew $5,000 profit in 7 days, 2k bitcoins",
    "money-words": "paid 300 dollars, 20 euros and 1,000 rupees",
    "keyword-tail": "Very informative, keep it up.\nCarpet Cleaning Leeds",
    "repeated-phrase": (
        "Norton support number +1-888-555-0143. Norton support number toll free, call the Norton support number"
    ),
    "spaced": "add me on W h a t s A p p now, a b c",
    "math-bold": "Contact 𝐒𝐆𝐈𝟖𝟖 on 𝐖𝐡𝐚𝐭𝐬𝐀𝐩𝐩 +𝟏 𝟖𝟖𝟖 𝟓𝟓𝟓 𝟎𝟏𝟒𝟑",
    "cyrillic-lookalike": "Message me on Whаtsаpp or Тelegram, раураl.com",
    "russian": "Спасибо, очень полезная статья про Docker",
    "all-lookalike-in-latin": "Great post about sharing. Contact оо now for more info",
    "japanese-fullwidth": "ありがとうございます！Ｔシャツ",
    "fullwidth": "Ｆｒｅｅ ｍｏｎｅｙ ＄５００",
    "zero-width": "What\u200bs\u200cA\u200dpp me",
    "bidi": "\u202eevil\u202c text \u2066isolate\u2069 call me",
    "emoji-zwj": "family emoji 👨\u200d👩\u200d👧 is fine 😀",
    "bom": "\ufeffbyte order mark at the start",
    "lone-surrogates": "x\ud83dy \udfff 555 0199 \ud800",
    "kelvin-long-s-dotted-i": "\u212aik WhatsApp \u017fkype \u0130nstagram \u0131",
    "non-ascii-caseless": "CALL é now 555 0199 0000 — Whats App £50 “quoted” Σ ς ß",
    "curly-quotes": "I\u2019m sure it\u2018s fine",
    "arabic-indic-digits": "٠١٢٣٤٥٦٧٨٩ ۰۱۲۳ ०१२३४५६७८९ call",
    "nbsp-phone": "call\u00a0555\u00a0123\u00a04567",
    "superscripts": "x²³ ₁₂ ﬁne ①②③",
    "long-text": "a" * 40_000 + " call 555 123 4567 " + "y" * 40_000,
    "dots": "a." * 50_000,
    "digit-groups": "1 " * 50_000,
    "zero-width-flood": "a\u200b" * 50_000,
    "dates-and-phone": "On 14/3/2024 and 2024.03.14 call 555-0199-0000 or 1.800.555.0199",
    "decimal-and-range": "3.5-inch drives, 2019-2023, 10.30 am, 1-2-3-4-5-6-7-8-9, 12.5.2019-2020",
    "o-beside-date": "2024-03-14o 555o0199 0000 and O1-2-2024",
    "spelled-after-date": "2024-01-01one two three four five six seven eight nine zero",
    "glued-keywords": "don'telegram x'call 300usd 5k usd e-mail we chat watsappp toll-free help desk",
}

EXPECTED = {
    "empty": "14052827f7a8fc06",
    "plain": "f07e280a15d0ff47",
    "reply-handle": "ec0cc67f4dea2d63",
    "handle-contact": "d63ba94c437db2b2",
    "link-and-email": "125bd9f6422855ae",
    "anchor": "4dd0e34305faacbd",
    "href-without-tag": "2a89cc8a7575b0f1",
    "reference-links": "87cd07ba87c39a3d",
    "phone-dashed": "a3eed8c0a64a4d8d",
    "phone-letter-o": "8693040615cce752",
    "phone-spelled": "5b1d587ee5f4d421",
    "phone-spelled-upper": "d0ca0ce9819e3af0",
    "phone-dates": "eb6e3b9c56efc6ad",
    "view-count": "0c479fe3e67a8310",
    "o-around-digit": "e0fab49ee77f3a21",
    "money-earning": "1aec6a9571c3accf",
    "money-words": "5f6d0004df573656",
    "keyword-tail": "dd5e6bf1d95c8abf",
    "repeated-phrase": "304232bde561fdc2",
    "spaced": "d2095ac0d7bc4609",
    "math-bold": "5e0e0c658118709a",
    "cyrillic-lookalike": "57afc6831eeacda1",
    "russian": "3a5c895a789f55fa",
    "all-lookalike-in-latin": "47cabec0f46658ac",
    "japanese-fullwidth": "6e9e993f2e66ccf4",
    "fullwidth": "05bc6d35ee99efb0",
    "zero-width": "cfba655f2bef2461",
    "bidi": "8a4244b4af7ace5a",
    "emoji-zwj": "ba61c320a30cc20e",
    "bom": "87b68d0b7cb3e755",
    "lone-surrogates": "2a81f13445188623",
    "kelvin-long-s-dotted-i": "0ba5ddf687d9ec9d",
    "non-ascii-caseless": "c839672a05d72b30",
    "curly-quotes": "57529e364526d338",
    "arabic-indic-digits": "ccd2e6866a0ebccf",
    "nbsp-phone": "fec4f5737f901f0a",
    "superscripts": "5c03e8cfeb888bc8",
    "long-text": "b91c02041f418eae",
    "dots": "a40fa1afd2be492c",
    "digit-groups": "fb88d790c391fe05",
    "zero-width-flood": "95092c356e4c41b9",
    "dates-and-phone": "d52da1f4857a67b1",
    "decimal-and-range": "c560791a847c846d",
    "o-beside-date": "16d7952a57b6a815",
    "spelled-after-date": "b25bb5650c8eeccd",
    "glued-keywords": "78bc8612cbc7f0d9",
}


def canonical(analysis: Analysis) -> str:
    """Every field, with sets sorted (their order changes between processes)."""
    a = analysis
    return json.dumps(
        {
            "clean": a.clean,
            "normalised": a.normalised,
            "disguise": [a.disguise.lookalike, a.disguise.invisible, a.disguise.spaced],
            "links": [[link.url, link.host, sorted(link.words)] for link in a.links],
            **{
                field: getattr(a, field)
                for field in (
                    "anchors",
                    "url_chars",
                    "emails",
                    "phones",
                    "messengers",
                    "contact_verb",
                    "money",
                    "earning",
                    "service_phrases",
                    "repeated_phrase",
                    "keyword_tail",
                )
            },
            "handles": list(a.handles),
            "words": list(a.words),
            "stems": sorted(a.stems),
        },
        ensure_ascii=True,
        sort_keys=True,
    )


def test_every_curated_text_has_a_recorded_analysis():
    assert TEXTS.keys() == EXPECTED.keys()


@pytest.mark.parametrize("scans", ["compiled", "regex"])
@pytest.mark.parametrize("name", list(TEXTS), ids=list(TEXTS))
def test_analysis_is_unchanged(name, scans, monkeypatch):
    if scans == "regex":
        for scan_name, scan in text.PYTHON_FORMS.items():
            monkeypatch.setattr(text, scan_name, scan)
    elif text._compiled_words is None:
        pytest.skip("moderation.model._text is not built")
    analysis = _analyse(TEXTS[name])
    digest = hashlib.sha256(canonical(analysis).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    assert digest == EXPECTED[name], canonical(analysis)[:2000]


def test_an_analysis_has_exactly_the_dataclass_fields():
    # _analyse builds Analysis without its __init__ (text._new_analysis): a field added to the class
    # and not to _analyse would be missing, not defaulted.
    assert vars(_analyse(TEXTS["handle-contact"])).keys() == Analysis.__dataclass_fields__.keys()


@pytest.mark.parametrize("name", list(TEXTS), ids=list(TEXTS))
def test_a_posts_words_are_its_analysis_words(name):
    # Posts are read with text.words_of, comments with analyse: a post that is also a comment's body
    # (or a comment quoted whole under it) must give both the same words and stems.
    analysis, words = _analyse(TEXTS[name]), text.words_of(TEXTS[name])
    assert (words.words, words.stems) == (analysis.words, analysis.stems)
    assert isinstance(words.words, tuple)


def test_words_of_is_cached_and_forgotten_with_the_analyses():
    text.clear_cache()
    post = "A post about sourdough starters, feeding schedules and rye flour."
    assert text.words_of(post) is text.words_of(post)
    huge = "rye flour " * 30_000  # past 256 KB: only the two latest such texts are kept
    assert text.words_of(huge) is text.words_of(huge)
    assert text.words_of(huge).stems == {"rye", "flour"}
    kept = text.words_of(huge)
    for other in ("wheat bran " * 30_000, "spelt seed " * 30_000):
        text.words_of(other)
    assert text.words_of(huge) is not kept  # pushed out by two others: a flood of them holds two
    assert text._cached_huge_words.cache_info().currsize == 2
    text.clear_cache()
    assert text._cached_words.cache_info().currsize == 0
    assert text._cached_huge_words.cache_info().currsize == 0
