"""What a comment's text says before any model looks at it: normalised text and the signals in it.

``analyse(text)`` runs once per distinct text and every feature block reads its result. It undoes
disguises first (look-alike letters, invisible characters, spaced-out words), so that "𝐖𝐡𝐚𝐭𝐬𝐀𝐩𝐩",
"Whаtsаpp" with Cyrillic а and "W h a t s A p p" all reach the n-grams as "whatsapp", and counts
what it undid as its own evidence. Then it finds links, contact details, money claims and
keyword-stuffing patterns.

Every pattern here is linear in the length of the text: a regular expression either has no nested
or overlapping repetition, or its start is anchored by a look-behind so that a failed match cannot be
retried at every later position. Issue 9 found the previous URL pattern took 116 s on
``"a." * 20000``; that input now takes milliseconds (tests/test_text.py pins a 1 MB case). Texts are
also analysed only up to ``MAX_ANALYSED_CHARS`` (the head and the tail), so a 10 MB comment costs
what a 32 KB one does; its full length still reaches ``shape:length``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple
from urllib.parse import urlsplit

from .stopwords import ENGLISH_STOP_WORDS

# Comments longer than this are analysed as their first 24 KB and last 8 KB of characters. Real
# readers' comments are a few hundred characters; the longest in our data and the public corpora
# is under 6 KB.
MAX_ANALYSED_CHARS = 32 * 1024
_HEAD = 24 * 1024

STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | {
    "http",
    "https",
    "www",
    "com",
    "just",
    "like",
    "really",
    "don",
    "ll",
    "ve",
}

# --------------------------------------------------------------------------------------------------
# Undoing disguises.

# Zero-width and direction-control characters: invisible, and used to split words ("What\u200bsApp")
# so that word lists and n-grams miss them.
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u206a-\u206f\ufeff"
)
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]+")
# Only those between two letters are a disguise: a zero-width joiner inside an emoji sequence, or a
# byte-order mark at the start (common in the YouTube corpus), is not.
_INVISIBLE_IN_WORD = re.compile(f"(?<=\\w)[{_INVISIBLE}]+(?=\\w)")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Compatibility forms used to dress letters up: mathematical alphanumerics (𝐒𝐆𝐈𝟖𝟖), fullwidth,
# circled and squared letters. NFKC maps them back; these decomposition tags say it did.
_DISGUISE_TAGS = ("<font>", "<wide>", "<circle>", "<square>", "<super>", "<sub>", "<small>")
# A word with at least one non-ASCII character, found only from a word start (linear).
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_NON_ASCII_WORD = re.compile(r"(?<!\w)\w*[^\x00-\x7f]\w*")
_ASCII_LETTER = re.compile(r"[A-Za-z]")


@functools.lru_cache(maxsize=1)
def _lookalikes() -> dict[int, str]:
    """Non-Latin characters that look like one ASCII letter or digit (Cyrillic а, Greek ο, ...).

    From Unicode's confusables data (UTS #39) as shipped, with each character's script, by the
    confusable-homoglyphs package: the table is Unicode's own and kept up to date there, where a
    hand-made list would cover the few letters we happened to think of.
    """
    from confusable_homoglyphs import categories, confusables

    table: dict[int, str] = {}
    for char, entries in confusables.confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        alias = categories.aliases_categories(char)[0]
        if alias in ("LATIN", "COMMON", "INHERITED"):
            continue
        for entry in entries:
            target = entry["c"]
            if len(target) == 1 and target.isascii() and target.isalnum():
                table[ord(char)] = target
                break
    return table


_SPACED_LETTERS = re.compile(r" [^\W\d_] [^\W\d_] ")
_SPACED_CANDIDATE = re.compile(r"(?:\A| )[^\W\d_] [^\W\d_] [^\W\d_] [^\W\d_][.,;:!?]*(?= |\Z)")


def _spaced_runs(text: str) -> tuple[str, int]:
    """Join runs of four or more single letters ("W h a t s A p p") into one word; count the runs."""
    # The second and third letters of a run stand between spaces: that substring is found 3x faster
    # than the anchored candidate (0.9 against 3.0 us on blog comments) and is absent from nearly all.
    if not _spaced_letters(text) or not _SPACED_CANDIDATE.search(text):
        return text, 0
    tokens = text.split(" ")
    out: list[str] = []
    run: list[str] = []
    runs = 0

    def flush() -> None:
        nonlocal runs
        if len(run) >= 4:
            out.append("".join(run))
            runs += 1
        else:
            out.extend(run)
        run.clear()

    for token in tokens:
        core = token.rstrip(".,;:!?")
        if len(core) == 1 and core.isalpha():
            run.append(core)
            if core != token:
                flush()
                out[-1] += token[1:]
        else:
            flush()
            out.append(token)
    flush()
    return " ".join(out), runs


@dataclass(frozen=True)
class Disguise:
    lookalike: int = 0  # letters replaced: compatibility forms and look-alikes from other scripts
    invisible: int = 0  # invisible characters inside words
    spaced: int = 0  # spaced-out words


_UNDISGUISED = Disguise()
# One scan for what the three passes over non-ASCII text below look for: most such text (an emoji, an
# accent, a curly quote) has neither a lone surrogate nor an invisible character.
_SURROGATE_OR_INVISIBLE = re.compile(f"[\ud800-\udfff{_INVISIBLE}]")


@functools.lru_cache(maxsize=1)
def _lookalike_finders() -> tuple[re.Pattern, frozenset[str]]:
    """A class of the table's characters up to U+FFFF, and the set of those beyond.

    sre checks a class of characters up to U+FFFF with a bitmap (0.7 us on a blog comment); the 105
    beyond make it a list scanned per character (36 us), and a set of them costs 2.3 us.
    """
    codes = sorted(_lookalikes())
    basic = re.compile("[" + "".join(re.escape(chr(code)) for code in codes if code <= 0xFFFF) + "]")
    return basic, frozenset(chr(code) for code in codes if code > 0xFFFF)


_BEYOND_BMP = re.compile("[\U00010000-\U0010ffff]")


def _python_has_lookalike(text: str) -> bool:
    """Whether any character of the look-alike table is in the text: without one, no word can change."""
    basic, beyond = _lookalike_finders()
    return bool(basic.search(text) or (_BEYOND_BMP.search(text) and not beyond.isdisjoint(text)))


def _bitmap(codes: Iterable[int]) -> bytes:
    """Bit c % 8 of byte c // 8 set for each code point c, for _text.has_marked."""
    codes = sorted(codes)
    out = bytearray(codes[-1] // 8 + 1 if codes else 0)
    for code in codes:
        out[code >> 3] |= 1 << (code & 7)
    return bytes(out)


@functools.lru_cache(maxsize=1)
def _lookalike_bitmap() -> bytes:
    return _bitmap(_lookalikes())


def _compiled_has_lookalike(text: str) -> bool:
    return _compiled_text.has_marked(text, _lookalike_bitmap())


def _python_surrogate_or_invisible(text: str) -> bool:
    return _SURROGATE_OR_INVISIBLE.search(text) is not None


def _class_codes(members: str) -> list[int]:
    """The code points of a character class's members written as in _INVISIBLE: characters and a-b ranges."""
    codes: list[int] = []
    at = 0
    while at < len(members):
        if at + 2 < len(members) and members[at + 1] == "-":
            codes.extend(range(ord(members[at]), ord(members[at + 2]) + 1))
            at += 3
        else:
            codes.append(ord(members[at]))
            at += 1
    return codes


_SURROGATE_OR_INVISIBLE_BITS = _bitmap([*range(0xD800, 0xE000), *_class_codes(_INVISIBLE)])


def _compiled_surrogate_or_invisible(text: str) -> bool:
    return _compiled_text.has_marked(text, _SURROGATE_OR_INVISIBLE_BITS)


_WORD_RUN = re.compile(r"\w+")


def _python_word_runs(text: str) -> list[str]:
    return _WORD_RUN.findall(text)


def _python_spaced_letters(text: str) -> bool:
    return _SPACED_LETTERS.search(text) is not None


def undisguise(text: str) -> tuple[str, Disguise]:
    """The text with disguises undone, and what was undone."""
    if len(text) > MAX_ANALYSED_CHARS:
        text = text[:_HEAD] + "\n" + text[-(MAX_ANALYSED_CHARS - _HEAD) :]
    if text.isascii():
        spaced_text, spaced = _spaced_runs(text)
        return spaced_text, Disguise(spaced=spaced) if spaced else _UNDISGUISED
    invisible = 0
    if _surrogate_or_invisible(text):
        text = _LONE_SURROGATE.sub("\ufffd", text)
        invisible = len(_INVISIBLE_IN_WORD.findall(text))
        text = _INVISIBLE_RE.sub("", text)
    compat = 0
    # A character with a compatibility decomposition never survives NFKC, so text that NFKC leaves
    # alone has none to count (the quick check reads no decomposition data).
    if not unicodedata.is_normalized("NFKC", text):
        # Fullwidth forms are ordinary in Chinese, Japanese and Korean text ("！", "Ｔシャツ"): there
        # they are no disguise.
        tags = _DISGUISE_TAGS[:1] + _DISGUISE_TAGS[2:] if _CJK.search(text) else _DISGUISE_TAGS
        for ch, count in Counter(text).items():
            if ch.isalnum() and not ch.isascii() and unicodedata.decomposition(ch).startswith(tags):
                compat += count
        text = unicodedata.normalize("NFKC", text)
    swapped = 0
    if not text.isascii() and _has_lookalike(text):
        table = _lookalikes()
        source = text
        mostly_latin: bool | None = None

        def fix(match: re.Match) -> str:
            nonlocal swapped, mostly_latin
            word = match.group(0)
            # A word mixing scripts ("pаypal"), or an all-look-alike word in Latin text, is disguised;
            # a Russian word in a Russian comment is not touched.
            if not _ASCII_LETTER.search(word):
                if mostly_latin is None:  # counted only when a word needs it
                    letters = sum(map(str.isalpha, source))
                    mostly_latin = letters > 0 and len(_ASCII_LETTER.findall(source)) / letters >= 0.8
                if not mostly_latin:
                    return word
            changed = word.translate(table)
            if changed != word:
                swapped += sum(a != b for a, b in zip(word, changed, strict=True))
            return changed

        text = _NON_ASCII_WORD.sub(fix, text)
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text, spaced = _spaced_runs(text)
    if not (compat or swapped or invisible or spaced):
        return text, _UNDISGUISED
    return text, Disguise(lookalike=compat + swapped, invisible=invisible, spaced=spaced)


# --------------------------------------------------------------------------------------------------
# Links and e-mail addresses: whitespace-delimited tokens holding ".", ":" , "/" or "@", each found from
# its start only, then classified in Python with bounded work per token.

# A token whose only ".", ":", "/" or "@" ends it ("post.", "it:") is neither a link nor an address, so a
# candidate has one followed by more of the token; it is still matched whole, from its start only.
_CANDIDATE = re.compile(r"(?<!\S)\S*?[.:/@]\S+")
_MAY_LINK = re.compile(r"[.:/@]\S")
_HREF = re.compile(r"""href\s*=\s*["']?([^"'\s>]{1,2048})""", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]{0,2048}>")
_ANCHOR = re.compile(r"<a\s[^<>]{0,2048}href", re.IGNORECASE)
# Domains without a scheme count as links only under these endings: a curated list, because bare
# "setup.py", "main.rs" or "notes.sh" in a programming comment end in country codes too.
_TLD_WORDS = (
    "com net org info biz ru in co io xyz top us uk de br cn online site shop store me tv cc ly app club live "
    "pro vip link click website space fun tk ml ga cf gq su ua kz ir vn id ph pk bd ng za ke au ca eu fr it es "
    "nl se ch be cz ro gr tr jp kr tw hk sg my th mx ar cl pe ae sa news blog today world agency guru"
)
_BARE_TLDS = frozenset(_TLD_WORDS.split())
# Link shorteners under endings the list above leaves out: "goo.gl/DEqN8" was no link (6 spam comments
# of the YouTube collection and the TubeSpam pilot), and "youtu.be" is YouTube's own.
_SHORT_LINK_HOSTS = frozenset(
    {
        "goo.gl",
        "youtu.be",
        "amzn.to",
        "is.gd",
        "v.gd",
        "shorturl.at",
        "rb.gy",
        "dlvr.it",
        "discord.gg",
        "linktr.ee",
        "lnk.to",
        "spoti.fi",
    }
)
# Link shorteners, whatever their ending: a backslash after one of them is a disguised slash.
_SHORTENERS = _SHORT_LINK_HOSTS | {
    "bit.ly",
    "ow.ly",
    "buff.ly",
    "cutt.ly",
    "rebrand.ly",
    "t.ly",
    "tinyurl.com",
    "t.co",
    "tiny.cc",
    "lnkd.in",
    "bl.ink",
}
_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TRIM = "\"'()[]{}<>.,;:!?*“”‘’«»"

# Hosts of documentation, code, package indexes, reference works and public bodies: a reader linking
# one is citing, not advertising. Before this list, links to a package vignette, GitHub or another
# tutorial scored 0.89-1.00 on real readers' comments (issue 8).
_REFERENCE_HOSTS = (
    # Documentation sites of widely used projects, each named whole (see Link.is_reference).
    "djangoproject.com",
    "palletsprojects.com",
    "archlinux.org",
    "gnu.org",
    "apache.org",
    "nginx.org",
    "typescriptlang.org",
    "vuejs.org",
    "angular.dev",
    "svelte.dev",
    "php.net",
    "ruby-lang.org",
    "swift.org",
    "kotlinlang.org",
    "docs.oracle.com",
    "cppreference.com",
    "llvm.org",
    "cmake.org",
    "git-scm.com",
    "neovim.io",
    "vim.org",
    "mariadb.org",
    "dev.mysql.com",
    "redis.io",
    "prometheus.io",
    "docs.aws.amazon.com",
    "cloud.google.com",
    "github.com",
    "gist.github.com",
    "github.io",
    "gitlab.com",
    "bitbucket.org",
    "codeberg.org",
    "sourceforge.net",
    "sr.ht",
    "pypi.org",
    "python.org",
    "readthedocs.io",
    "readthedocs.org",
    "r-project.org",
    "rstudio.com",
    "posit.co",
    "bioconductor.org",
    "npmjs.com",
    "crates.io",
    "docs.rs",
    "rubygems.org",
    "pkg.go.dev",
    "go.dev",
    "nuget.org",
    "mvnrepository.com",
    "stackoverflow.com",
    "stackexchange.com",
    "superuser.com",
    "serverfault.com",
    "askubuntu.com",
    "wikipedia.org",
    "wikimedia.org",
    "wiktionary.org",
    "mozilla.org",
    "w3.org",
    "whatwg.org",
    "ietf.org",
    "rfc-editor.org",
    "arxiv.org",
    "doi.org",
    "nih.gov",
    # Platforms that councils publish their agendas, minutes and codes on: only a council gets a
    # subdomain. "the staff report are on the city's agenda portal: https://riverton.legistar.com/..."
    # was held at 0.75 on a probe of local-news comments.
    "legistar.com",
    "municode.com",
    "ecode360.com",
    "archive.org",
    "europa.eu",
    "who.int",
    "un.org",
    "kernel.org",
    "debian.org",
    "ubuntu.com",
    "microsoft.com",
    "apple.com",
    "android.com",
    "postgresql.org",
    "sqlite.org",
    "docker.com",
    "kubernetes.io",
    "rust-lang.org",
    "golang.org",
    "nodejs.org",
    "reactjs.org",
    "react.dev",
    "jupyter.org",
    "scipy.org",
    "numpy.org",
    "pandas.pydata.org",
    "scikit-learn.org",
    "tidyverse.org",
    "ggplot2.tidyverse.org",
    "espressif.com",
    "arduino.cc",
    "raspberrypi.com",
    "raspberrypi.org",
    "bbc.co.uk",
    "reuters.com",
    "apnews.com",
    "nytimes.com",
    "theguardian.com",
)
_REFERENCE_SUFFIXES = (
    ".gov",
    ".edu",
    ".mil",
    ".int",
    ".ac.uk",
    ".gov.uk",
    ".nhs.uk",
    ".gc.ca",
    ".gov.au",
    ".europa.eu",
)
# A reader's own machine or network ("curl http://localhost:5000/api/users", "postgres at
# 192.168.1.20:5432"): code, no site anyone is sent to. It read as an outside link, and "Fixed it with:
# curl -X POST http://localhost:5000/..." was held at 0.72.
_NOWHERE_HOST = re.compile(
    r"(?:localhost|[\w-]+\.localhost|127(?:\.\d{1,3}){3}|0\.0\.0\.0|10(?:\.\d{1,3}){3}|192\.168(?:\.\d{1,3}){2}"
    r"|172\.(?:1[6-9]|2\d|3[01])(?:\.\d{1,3}){2}|[\w-]+\.(?:local|internal|lan))(?::\d{1,5})?$"
)
# A government host of a country ("gov.uk" is a suffix above; "www.nhs.gov.au"): the ending only, so that
# "shop.gov.spam.example" is not one.
_GOV_HOST = re.compile(r"\.gov\.[a-z]{2}$")


@dataclass(frozen=True)
class Link:
    url: str
    host: str
    words: frozenset[str]  # the stems of its host and path, to compare with the post

    @property
    def is_reference(self) -> bool:
        host = self.host
        # Only what the poster cannot choose gives credit: the registered host. A "docs." prefix or a
        # /docs/ path on any domain did too, and turned "This is helpful. https://bestessayhelp.com/docs/"
        # from spam (0.92) to approve (0.06) (review, 2026-11-29).
        if host.endswith(_REFERENCE_SUFFIXES) or _GOV_HOST.search(host) or _NOWHERE_HOST.match(host):
            return True
        # A listed host, or one under it: the host itself or what follows one of its dots is listed
        # (host == h or host.endswith("." + h) for some h). Comparing with each of the 105 took 13.4 us
        # a link, and links are in 12% of benchmark comments; this takes well under 1 us.
        if host in _REFERENCE_HOST_SET:
            return True
        at = host.find(".")
        while at != -1:
            if host[at + 1 :] in _REFERENCE_HOST_SET:
                return True
            at = host.find(".", at + 1)
        return False


_REFERENCE_HOST_SET = frozenset(_REFERENCE_HOSTS)


def _host_of(token: str) -> str | None:
    """The lower-case host of a URL-like token, or None if it is not a link."""
    lowered = token.lower()
    if lowered.startswith(("http://", "https://", "//")):
        try:
            host = urlsplit(lowered if not lowered.startswith("//") else "http:" + lowered).hostname or ""
        except ValueError:
            return None
        return host or None
    if lowered.startswith("www."):
        return lowered.split("/", 1)[0].split(":", 1)[0] or None
    host = lowered.split("/", 1)[0].split(":", 1)[0]
    labels = host.split(".")
    if len(labels) < 2 or (labels[-1] not in _BARE_TLDS and host not in _SHORT_LINK_HOSTS):
        return None
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return None
    return host


def host_of(url: str) -> str:
    """The host of a post's or author's URL ("" when it has none): for comparing links with it."""
    return (_host_of(url.strip()[:2048]) or "").removeprefix("www.")


def _contact_kind(raw: str) -> tuple[str, str | None, str | None]:
    """A candidate token stripped, its placeholder (" _email_ ", " _url_ " or None) and its host."""
    token = raw[:2048].strip(_TRIM)
    if "@" in token and "/" not in token:
        local, _, domain = token.rpartition("@")
        if local and "." in domain and _host_of(domain) is not None:
            return token, " _email_ ", None
        return token, None, None
    host = _host_of(token)
    return token, None if host is None else " _url_ ", host


# Forum markup around a link: BBCode "[url=X]anchor[/url]" or "[url]X[/url]", which link-posting bots
# send to every comment form, and Markdown "[anchor](X)". The link is a whitespace-delimited token of
# neither, so none was found: "[url=http://cheap-pills.com/buy]cheap pills[/url]" had no link at all.
# Each alternative starts at a bracket and stops at the next one, so the scan is linear.
_MARKUP_LINK = re.compile(
    r"\[(?:url|link)\s{0,3}=\s{0,3}[\"']?([^\[\]\s\"']{1,2048})[\"']?\s{0,3}\]"
    r"|\[(?:url|link)\]\s{0,3}([^\[\]\s]{1,2048})\s{0,3}\[/(?:url|link)\]"
    r"|\]\(([^\s()\[\]]{1,2048})(?:\s{1,3}[\"'][^\"'()\[\]]{0,200}[\"'])?\)",
    re.IGNORECASE,
)
_MARKUP_CLOSE = re.compile(r"\[/(?:url|link)\]", re.IGNORECASE)


# Addresses written so that link finders miss them: a dot in round or curly brackets or spelled in
# brackets ("forsoftlips (dot) com", "youtube(.)com", "quickcash[dot]com"), an ideographic full stop
# ("quickcash。com", which browsers read as a dot), or "www . quickcash . com" / "www dot quickcash dot
# com". Each is written back as the address it is, so the link finder judges it like any other link.
# A spelled " dot " or a spaced " . " is read after "www", and elsewhere only as _SPELLED_DOT and
# _SPACED_DOT below say: "the dot com bubble" and "Startups love .com." are no addresses.
# Security's defanging ("evil[.]com", "hxxps://") is left alone: readers of a security blog write
# indicators that way so that nobody can click them, and read as links they scored 0.98 (review).
# Each pattern is a fixed-width look-around or a bounded run from "www", so the scan is linear.
# An ideographic full stop is a dot only before a lower-case letter, a digit, a word in capitals
# ("QUICKCASH。COM") or a last "Com" ("QuickCash。Com"): a reader writing in Chinese or Japanese ends an
# English sentence with one too, and "I use python。It works" was a link to python.it ("Thanks。Com
# certeza" to thanks.com).
_HIDDEN_DOT = re.compile(
    r"(?<=[a-z0-9])(?:\s{0,3}(?:\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\})\s{0,3}(?=[a-z0-9])"
    r"|[\u3002\uff61](?=(?-i:[a-z0-9]|[A-Z]{2,12}\b|(?:Com|Net|Org)\b(?!\s{0,3}[^\W\d_]))))",
    re.IGNORECASE,
)
_HIDDEN_SLASH = re.compile(r"(?<=[a-z0-9])\s{0,3}(?:\(slash\)|\[slash\]|\{slash\})\s{0,3}(?=[a-z0-9])", re.IGNORECASE)
_SPELLED_WWW = re.compile(
    r"\bw\s?w\s?w(?:\s{0,3}\.\s{0,3}|\s{1,3}dot\s{1,3})([a-z0-9][a-z0-9-]{0,62})(?:\s{0,3}\.\s{0,3}|\s{1,3}dot\s{1,3})"
    r"([a-z]{2,12})\b",
    re.IGNORECASE,
)
# "go to Rand Paul dot com", "quickcash dot net": a spelled dot before one of the commonest endings,
# after a name that is no stop word, and not the "dot com" of "the dot com bubble" or "a dot com era".
_SPELLED_DOT = re.compile(
    r"(?<![\w.-])([a-z0-9][a-z0-9-]{1,62})\s{1,3}dot\s{1,3}(com|net|org|info|biz|co|io|xyz|online|site|shop|store|club)\b"
    r"(?!\s{1,3}(?:bubble|boom|bust|crash|era|age|days|years|mania|company|companies|startup|startups|business"
    r"|businesses|world|millionaire|millionaires)\b)",
    re.IGNORECASE,
)
# A short link with a backslash for its slash ("bit.ly\Kw769F", "goo.gl\DEqN8"), which no browser minds:
# 3 comments of the YouTube collection and 13 of the TubeSpam pilot, all spam, and none was a link. Only
# after a link shortener or a "www." host that starts a token: any listed ending made links of Windows
# paths and logins ("Microsoft.NET\Framework64" held at 0.53, "cd socket.io\lib" at 0.73,
# "corp.contoso.com\jsmith") and of C strings ("example.com\n") (review).
_BACKSLASH_PATH = re.compile(r"(?<![\w.\\/:@-])((?:[a-z0-9-]{1,63}\.){1,4}[a-z]{2,12})\\(?=[\w?#=])", re.IGNORECASE)
# A dot with a space beside it before a lower-case "com" or "org" ("pimpmyviews. com", "marketglory .
# com/game", "www.youtube. com/watch?v="): 7 comments of the YouTube collection, all spam, none a link.
# With a space after the dot only, where no word follows; with a space before it, only before a path:
# "Startups love .com." and "Everyone wants .com!" talk about the ending and were held at 0.82 and
# 0.73, and Portuguese "Valeu mano. Com!" was spam at 0.93 (review). ".NET" is never read this way.
_SPACED_DOT = re.compile(
    r"(?<![\w-])([a-z0-9][a-z0-9-]{1,62})(?:\.\s{1,3}(?-i:com|org)(?=\s{0,3}(?:[^\w\s]|\Z))"
    r"|\s{1,3}\.\s{0,3}(?-i:com|org)(?=\s{0,2}/[\w?#=]))",
    re.IGNORECASE,
)
# The domain of an address written around finders ("name @ gmail . com", "name (at) gmail . com") is
# left to hidden_emails; a spelled " at " before a spaced dot is a place ("Play now at marketglory .
# com/game"), since hidden_emails reads a spelled " at " only with a spelled "dot".
_AT_SIGN = r"@|[\[({<]\s?(?:at|@)\s?[\])}>]"
_AT_SIGN_BEFORE = re.compile(rf"(?:{_AT_SIGN})\s{{0,3}}$", re.IGNORECASE)
# "FreeHackingTools24DOTcom", "FreeHackingTools24DotCom": a capital DOT glued between name and ending.
_GLUED_DOT = re.compile(r"(?<=[A-Za-z0-9])(?:DOT|Dot)(?=(?:com|net|org|Com|Net|Org|COM|NET|ORG)\b)")
_HIDDEN_LINK_NEEDS = (
    "(.)",
    "{.}",
    "dot]",
    "dot)",
    "dot}",
    "\u3002",
    "\uff61",
    "www",
    "w w",
    " dot ",
    "\\",
    ". com",
    " .com",
    ". org",
    " .org",
    "dotcom",
    "dotnet",
    "dotorg",
)


# What every _HIDDEN_DOT match holds, in lower case.
_HIDDEN_DOTS = ("(.)", "{.}", "[dot]", "(dot)", "{dot}", "\u3002", "\uff61")


def _unhidden_links(text: str) -> str:
    """The text with addresses written around link finders written back as addresses."""
    lowered = text.lower()
    if not _contains_any(lowered, _HIDDEN_LINK_NEEDS):
        return text
    # Each pattern only where the text has a literal its every match holds: a post of a few thousand
    # characters passes the test above one time in five, and these two scans then cost 43 us of its 92.
    if _contains_any(lowered, _HIDDEN_DOTS):
        text = _HIDDEN_DOT.sub(".", text)
    if "slash" in lowered:
        text = _HIDDEN_SLASH.sub("/", text)
    if ("www" in lowered or "w w" in lowered) and _THREE_WS.search(lowered):
        text = _SPELLED_WWW.sub(_spelled_www, text)
    if " dot " in lowered:
        text = _SPELLED_DOT.sub(_spelled_dot, text)
    if "\\" in text:
        text = _BACKSLASH_PATH.sub(_backslash_path, text)
    if (". " in text or " ." in text) and _dot_before_ending(text):
        text = _SPACED_DOT.sub(_spaced_dot, text)
    if "DOT" in text or "Dot" in text:
        text = _GLUED_DOT.sub(".", text)
    return text


# What _SPELLED_WWW and _SPACED_DOT matches hold, looked for before they run: "w w" is in "new work"
# and "com" in "come", and 13 and 16 of the 94 posts of data/threads had them, where the patterns took
# 50 and 129 us a post; these checks take 1.9 and 6.3 us and let none of those posts through.
_THREE_WS = re.compile(r"w\s?w\s?w")


def _dot_before_ending(text: str) -> bool:
    """Whether a "com" or "org" has a "." among the four characters before it, as every _SPACED_DOT
    match has (its dot and at most three spaces come just before its ending)."""
    for ending in ("com", "org"):
        at = text.find(ending)
        while at != -1:
            if "." in text[max(0, at - 4) : at]:
                return True
            at = text.find(ending, at + 1)
    return False


def _backslash_path(match: re.Match) -> str:
    host = match.group(1)
    lowered = host.lower()
    if lowered in _SHORTENERS or lowered.startswith("www."):
        return host + "/"
    return match.group(0)


def _spaced_dot(match: re.Match) -> str:
    name = match.group(1)
    if _no_name(match, name, _AT_SIGN_BEFORE):
        return match.group(0)
    return name + "." + match.group(0)[-3:]  # every match ends in its "com" or "org"


def _spelled_dot(match: re.Match) -> str:
    name, ending = match.groups()
    if _no_name(match, name, _AT_GAP_BEFORE):
        return match.group(0)
    return f"{name}.{ending}"


def _no_name(match: re.Match, name: str, at_before: re.Pattern) -> bool:
    """Whether the word before a disguised dot is no site's name: a stop word, or the domain of an
    address ("fixer77 at gmail dot com", "name @ gmail . com"), which stays as written for hidden_emails."""
    return (
        name.lower() in STOP_WORDS
        or at_before.search(match.string, max(0, match.start() - 12), match.start()) is not None
    )


_AT_GAP_BEFORE = re.compile(rf"(?:\bat|{_AT_SIGN})\s{{0,3}}$", re.IGNORECASE)


def _spelled_www(match: re.Match) -> str:
    name, ending = match.groups()
    written = match.group(0)
    if ending.lower() not in _BARE_TLDS or not any(ch.isspace() for ch in written):
        return written  # no address, or a plain one the link finder reads as it is
    return f"www.{name}.{ending}"


def _unmarked(text: str) -> tuple[str, int]:
    """The text with each marked-up link written out plainly (" X "), and how many were BBCode: an
    anchor, as an HTML one is. Markup around what is no link ("}, [url]);" in a reader's React code)
    stays as it is."""
    bbcode = 0

    def plain(match: re.Match) -> str:
        nonlocal bbcode
        given, wrapped, markdown = match.groups()
        url = given or wrapped or markdown
        if _contact_kind(url)[2] is None:
            return match.group(0)
        if markdown is not None:
            return "] " + url + " "
        bbcode += 1
        return " " + url + " "

    out = _MARKUP_LINK.sub(plain, text)
    return (_MARKUP_CLOSE.sub(" ", out) if bbcode else out), bbcode


def _links_and_emails(text: str) -> tuple[list[Link], int, bool]:
    """Links, e-mail addresses, and whether any whitespace-delimited token of the text is either.

    The last says whether placeholders change the text; an href can make a link of a token that is
    not one ("href=x.com"), so ``links`` alone does not tell.
    """
    links: list[Link] = []
    emails = 0
    placeheld = False
    candidates = _candidates(text)
    own = len(candidates)
    if "href" in text.lower():
        candidates += [m.group(1) for m in _HREF.finditer(text)]
    for index, raw in enumerate(candidates):
        token, placeholder, host = _contact_kind(raw)
        if placeholder is None:
            continue
        if index < own:
            placeheld = True
        if host is None:
            emails += 1
            continue
        host = host.removeprefix("www.")
        words = frozenset(stem(w) for w in _URL_WORD.findall(token.lower()) if len(w) > 2 and w not in _URL_NOISE)
        links.append(Link(url=token, host=host, words=words))
    # An anchor's href and its visible text are often the same URL: count each URL once.
    unique = {link.url.rstrip("/"): link for link in links}
    return list(unique.values()), emails, placeheld


_URL_WORD = re.compile(r"[a-z]+")
_URL_NOISE = frozenset({"http", "https", "www", "com", "org", "net", "html", "htm", "php", "index", "amp", "utm"})


# --------------------------------------------------------------------------------------------------
# Contact details, money and keyword patterns.

_DIGIT_GROUP = re.compile(r"\d+")
_PHONE_GAP = frozenset(" -().+\u00a0")
_LETTER_O_AFTER = re.compile(r"(?<=\d)[Oo]{1,4}")
_LETTER_O_BEFORE = re.compile(r"[Oo]{1,4}(?=\d)")
_NUMBER_WORDS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "hundred": "00",
}
_SPELLED = re.compile(
    r"\b(?:zero|one|two|three|four|five|six|seven|eight|nine)(?:[\s,-]+(?:zero|one|two|three|four|five|six|seven|"
    r"eight|nine|hundred)\b){3,}",
    re.IGNORECASE,
)
_DATE_LIKE = re.compile(r"(?:19|20)\d\d[-/.]\d\d?[-/.]\d\d?|\d\d?[-/.]\d\d?[-/.](?:19|20)\d\d")


def phone_numbers(text: str) -> int:
    """How many phone numbers the text gives, however written.

    Digit groups joined by spaces, dashes, dots or brackets count when they make 10 to 15 digits, or 8
    or more behind "+" or "(": "+1-888-555-0143", "1 (800) 555 0199", "8 0 0 5 5 5 0 1 2 3". Letter O
    between digits ("1-8OO-...") is read as zero, and spelled-out digits ("one eight hundred five five
    five ...") as digits. Dates and years are not numbers to call, and neither is a view count such as
    "2.126.521.750" (dots alone between groups of three).
    """
    folded, fast = _caseless_text(text)
    return _phones(folded if fast else text, fast, _has_digit(text))


_ANY_DIGIT = re.compile(r"\d")
_SEPARATORS = frozenset("-/.")
_LETTER_O = frozenset("Oo")


def _phones(text: str, fast: bool, has_digit: bool, letter_runs: set[str] | None = None) -> int:
    """phone_numbers of ``text``, lower-cased when ``fast`` (see _caseless_text).

    ``letter_runs``, when given, are all the runs of letters in the text: each word of a spelled-out
    number is one, and the first is zero to nine.
    """
    spelled = _SPELLED_LOWERED if fast else _SPELLED
    # A spelled-out number is four number words or more, so the text holds four occurrences of them.
    may_spell = not fast or (
        (letter_runs is None or not _FIRST_NUMBER_WORDS.isdisjoint(letter_runs)) and _number_words_at_least_4(text)
    )
    if not has_digit:
        return _count_phones(spelled.sub(_spelled_digits, text)) if may_spell and spelled.search(text) else 0
    spans = _digit_spans(text)
    if _may_rewrite(text, spans) or (may_spell and spelled.search(text)):
        text = _DATE_LIKE.sub(" ", text)
        zeros = lambda m: "0" * len(m.group(0))  # noqa: E731
        text = _LETTER_O_BEFORE.sub(zeros, _LETTER_O_AFTER.sub(zeros, text))
        return _count_phones(spelled.sub(_spelled_digits, text))
    # Nothing to rewrite: the groups found are those to join. Fewer than 8 digits make no number.
    if sum(end - start for start, end in spans) < 8:
        return 0
    return _count_phones(text, spans)


def _may_rewrite(text: str, spans: list[tuple[int, int]]) -> bool:
    """Whether a date or a letter O beside a digit may be there, from the digit groups.

    Both date forms are three groups joined by single "-", "/" or "." with one or two digits in the
    middle one ("2024-03-14", "14/3/2024"): a decimal ("3.5") or a range ("2019-2023") is not enough.
    Removing a date leaves a space, so it brings no letter O next to a digit that was not already.
    """
    previous_start = previous_end = -2
    joined = False  # the previous group follows the one before it after a single separator
    for start, end in spans:
        if start == previous_end + 1 and text[previous_end] in _SEPARATORS:
            if joined and previous_end - previous_start <= 2:
                return True
            joined = True
        else:
            joined = False
        if (start and text[start - 1] in _LETTER_O) or (end < len(text) and text[end] in _LETTER_O):
            return True
        previous_start, previous_end = start, end
    return False


_FIRST_NUMBER_WORDS = frozenset(_NUMBER_WORDS) - {"hundred"}


def _number_words_at_least_4(lowered: str) -> bool:
    total = 0
    for word in _NUMBER_WORDS:
        total += lowered.count(word)
        if total >= 4:
            return True
    return False


_LETTERS = re.compile(r"[^\W\d_]+")


def _spelled_digits(match: re.Match) -> str:
    digits = []
    for word in _LETTERS.findall(match.group(0)):
        value = _NUMBER_WORDS.get(word.lower())
        if value is None:
            # Case-insensitive matching reads dotted and dotless I as i ("fİve", "sıx"); before, this
            # raised KeyError and the comment failed to score.
            value = next(v for k, v in _NUMBER_WORDS.items() if re.fullmatch(k, word, re.IGNORECASE))
        digits.append(value)
    return "".join(digits)


def _count_phones(text: str, spans: list[tuple[int, int]] | None = None) -> int:
    if spans is None:
        spans = _digit_spans(text)
    runs: list[tuple[list[int], set[str], bool]] = []
    last_end = -1
    for start, end in spans:
        gap = text[last_end:start] if last_end >= 0 else ""
        if runs and 0 < len(gap) <= 3 and set(gap) <= _PHONE_GAP:
            groups, gaps, _ = runs[-1]
            groups.append(end - start)
            gaps.update(gap)
        else:
            before = text[max(0, start - 2) : start]
            runs.append(([end - start], set(), "+" in before or "(" in before))
        last_end = end
    return sum(_is_phone(*run) for run in runs)


def _is_phone(groups: list[int], gaps: set[str], prefixed: bool) -> bool:
    digits = sum(groups)
    if not 8 <= digits <= 15:
        return False
    if gaps and gaps <= {"."}:
        # "2.126.521.750 views" under a music video is a count; "555.123.4567" is a number.
        return groups == [3, 3, 4]
    return digits >= 10 or prefixed


_MESSENGER = re.compile(
    r"\b(?:whats\s?app|wh?atsap+|telegram|viber|we\s?chat|signal\s+app|skype|kik|snapchat|instagram|insta|"
    r"tiktok|facebook\s+page|messenger|imessage|hangouts|line\s+id|wa\.me|t\.me)\b",
    re.IGNORECASE,
)
_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_][A-Za-z0-9_.]{2,29}")
_CONTACT_VERB = re.compile(
    r"\b(?:call|text|contact|reach|message|msg|dm|inbox|write\s+to|email|e-mail|mail|chat\s+with|hit\s+(?:me\s+)?up|"
    r"whats\s?app\s+(?:him|her|me|them))\b",
    re.IGNORECASE,
)
# An address written so that address finders miss it: "vane (at) protonmail dot com", "genie @ gmail . com",
# "fixer77 at gmail dot com". Recovery-scam and hacker-for-hire comments give their contact this way
# (three in data/threads, one in the YouTube corpus); _links_and_emails saw none of them. The start is
# anchored after a non-address character, and every part is bounded, so a failed match costs at most a
# hundred characters from a word's start: linear in the text.
_HIDDEN_EMAIL = re.compile(
    r"(?<![\w.@+-])[a-z0-9][a-z0-9._+-]{0,63}"
    r"(\s{0,3}@\s{1,3}|\s{1,3}@|@|\s{0,3}[\[({<]\s?(?:at|@)\s?[\])}>]\s{0,3}|\s{1,3}at\s{1,3})"
    r"([a-z0-9][a-z0-9-]{0,62})"
    r"(\s{0,3}\.\s{0,3}|\s{0,3}[\[({<]\s?(?:dot|\.)\s?[\])}>]\s{0,3}|\s{1,3}dot\s{1,3})"
    r"([a-z]{2,12})\b",
    re.IGNORECASE,
)
# An address's last label; anything else ("Thanks @ Sarah. Great tip", "a @ b.transpose()") is prose
# or code around an "@" and a full stop.
_ADDRESS_ENDINGS = _BARE_TLDS | {"edu", "gov", "ac", "at", "pl", "pt", "ie", "nz", "dk", "no", "fi"}
# A host that runs on ("outlook.live.com", "mail.python.org/archives") is a site, not a mailbox; only a
# country code after co/com/org/net/ac ("hotmail.co.uk") ends an address.
_RUNS_ON = re.compile(r"[/\w@-]|\.[a-z0-9]", re.IGNORECASE)
_COUNTRY_AFTER = re.compile(r"\.[a-z]{2}(?![\w.@/-]|\.[a-z0-9])", re.IGNORECASE)
# Mail providers, named whole: "fixer at gmail dot com" is an address whatever its name looks like
# (elsewhere a spelled " at " needs a mailbox-like name), and "name @gmail.com" is one where "Follow
# @site.tv" is not. Names that are also words or numbers ("live", "mail", "163") are left out.
_MAIL_PROVIDERS = frozenset(
    {
        "gmail",
        "googlemail",
        "yahoo",
        "ymail",
        "hotmail",
        "outlook",
        "msn",
        "aol",
        "icloud",
        "proton",
        "protonmail",
        "gmx",
        "yandex",
        "zoho",
        "tutanota",
        "tuta",
        "qq",
        "rediffmail",
    }
)
_PROVIDER_WORD = re.compile(r"\bat\s{1,3}([a-z0-9]+)")
_PROVIDER_NAMES = tuple(sorted(_MAIL_PROVIDERS))
# A hidden address has "@", a bracketed "at", or "dot" in it, or else " at " before a provider's name:
# checked before the pattern runs, so most comments never run it.
_BRACKETED_AT = ("at)", "at]", "at}", "at>", "at )", "at ]", "at }", "at >")
_BRACKETS = "()[]{}<> "
# What every address _HIDDEN_EMAIL finds and _hides_address takes holds when it has neither a spelled
# nor a bracketed "at" or dot: its "@", the host after it, and the start of its dot.
_AT_SIGN_HOST = re.compile(r"@\s{0,3}[\])}>]?\s{0,3}[a-z0-9][a-z0-9-]{0,62}\s{0,3}(?:\.|[\[({<]\s?(?:dot|\.))", re.I)
_BRACKETED_DOT = re.compile(r"[\[({<]\s?\.\s?[\])}>]")


def _hides_address(match: re.Match) -> bool:
    at_gap, host, dot_gap, ending = match.groups()
    if ending.lower() not in _ADDRESS_ENDINGS:
        return False
    text, end = match.string, match.end()
    if _RUNS_ON.match(text, end) and not (
        ending.lower() in ("co", "com", "org", "net", "ac") and _COUNTRY_AFTER.match(text, end)
    ):
        return False
    host = host.lower()
    at, dot = at_gap.strip(_BRACKETS).lower(), dot_gap.strip(_BRACKETS).lower()
    if _bracketed(at_gap) or _bracketed(dot_gap):
        return True  # "name(at)site.com", "name at site[dot]com": nobody brackets these but to hide
    if at == "@":
        if at_gap == "@":
            return dot == "dot" or dot_gap != "."  # "name@gmail . com"; a plain address is counted elsewhere
        if not at_gap[-1].isspace():
            return host in _MAIL_PROVIDERS  # "name @gmail.com", not "Follow @site.tv"
        return True  # "name @ gmail.com"
    # A spelled " at " with a spelled "dot": "fixer77 at gmail dot com", at a provider or from a name
    # that looks like a mailbox, never "look at python dot org". With a plain dot ("I signed up at
    # gmail.com years ago", 0.96 as an address) the host is read as a link already.
    if dot != "dot" or host in STOP_WORDS:
        return False
    name = text[match.start() : match.start(1)]
    return host in _MAIL_PROVIDERS or any(ch.isdigit() or ch in "._-" for ch in name)


def _bracketed(gap: str) -> bool:
    return gap.strip()[:1] in ("(", "[", "{", "<")


def hidden_emails(text: str) -> int:
    """How many e-mail addresses the text writes around address finders (not plain ``a@b.com``)."""
    lowered = text.lower()
    spelled = "dot" in lowered or _contains_any(lowered, _BRACKETED_AT)
    if (
        not spelled
        and "@" not in lowered
        and not (
            "at" in lowered
            # A provider's name is in the text before it can follow an " at ": "at" is in 61% of
            # benchmark comments, and the findall took 3.1 us of hidden_emails' 4.8.
            and _contains_any(lowered, _PROVIDER_NAMES)
            and not _MAIL_PROVIDERS.isdisjoint(_PROVIDER_WORD.findall(lowered))
        )
    ):
        return 0
    if not spelled and not _AT_SIGN_HOST.search(text) and not _BRACKETED_DOT.search(text):
        # Without a spelled or bracketed "at" and a spelled or bracketed dot, an address _hides_address
        # takes is an "@" before a host and a dot: "@Argon: Leading from behind." has none. 98% of the
        # benchmark's comments that reached the scan had only such an "@" (4,320 of 4,410), and the
        # scan took 15 us each.
        return 0
    found = 0
    position = 0
    while (match := _HIDDEN_EMAIL.search(text, position)) is not None:
        if _hides_address(match):
            found += 1
            position = match.end()
        else:
            # "me at JOHN.DOE at gmail dot com": a rejected match must not swallow the address after
            # it. Starts are word starts, each tried once, so this stays linear.
            position = match.start() + 1
    return found


# The second form is tried once per run of digits, commas and dots, from its start: the lookahead finds
# the run's first digit after a word boundary (where the expression was tried before) and is not
# retried. Tried at every digit, "1,1,1,...1 usd" without the money word after it rescanned the rest of
# the run each time: 32 KB took 14 s. Every start in a run meets the same end of the run, so the
# matches counted are the same (tests/test_text_prechecks.py compares the two).
_MONEY = re.compile(
    r"[$£€₹₦¥₱]\s?\d[\d,.]*\s?(?:k\b|m\b|million|thousand|billion)?|"
    r"(?<![\d,.])(?=([\d,.]*?\b\d))\1[\d,.]*\s?(?:k\s)?"
    r"(?:usd|dollars|bucks|eur|euros|gbp|pounds|btc|bitcoins?|usdt|eth|naira|rupees|inr|pesos)\b",
    re.IGNORECASE,
)
_EARNING = re.compile(
    r"\b(?:profits?|earn(?:s|ed|ing|ings)?|withdr[ae]w(?:n|al|als)?|invest(?:ed|ing|ment|ments)?|returns?|"
    r"income|payouts?|roi|trad(?:e|er|ers|ing)|recover(?:ed|y)?|per\s+(?:day|week|month)|daily|weekly|"
    r"a\s+(?:day|week)|passive|forex|bitcoin|crypto)\b",
    re.IGNORECASE,
)
_SERVICE_PHRASE = re.compile(
    r"\b(?:customer\s+(?:service|care|support)|tech(?:nical)?\s+support|help\s?line|help\s?desk|toll[\s-]?free|"
    r"support\s+(?:phone\s+)?(?:number|no)|phone\s+(?:number|no)|contact\s+number|care\s+number|"
    r"reservations?\s+(?:number|phone|desk)|booking\s+(?:number|phone)|hotline)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _regex_candidates(text: str) -> list[str]:
    return _CANDIDATE.findall(text) if _MAY_LINK.search(text) else []


def _regex_digit_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _DIGIT_GROUP.finditer(text)]


def _regex_zero_digits(text: str) -> str:
    return _DIGITS.sub("0", text)


def _regex_has_digit(text: str) -> bool:
    return _ANY_DIGIT.search(text) is not None


def _lowered(pattern: re.Pattern) -> re.Pattern:
    """The IGNORECASE ``pattern`` made case-sensitive, for ASCII text lower-cased beforehand.

    On ASCII text an IGNORECASE match is exactly a case-sensitive match on the lower-cased text (same
    length, same positions; case folding differs only beyond ASCII: the Kelvin sign, long s, dotted
    I), and sre scans without IGNORECASE 2-3x faster. On the 3,525 blog comments, 74% ASCII after
    undisguise, CPU per text: _MESSENGER 13.1 -> 4.8 us, _CONTACT_VERB 9.8 -> 4.4, _SERVICE_PHRASE
    8.3 -> 4.2, _EARNING 14.0 -> 5.0; the same analysis of every comment (tests/test_text_prechecks.py).
    """
    if any(ch.isupper() for ch in re.sub(r"\\.", "", pattern.pattern)):
        raise ValueError(f"{pattern.pattern!r} has upper-case letters: it cannot match lower-cased text")
    return re.compile(pattern.pattern, pattern.flags & ~re.IGNORECASE)


# False: every text takes the IGNORECASE patterns (the reference the tests compare the fast path with).
ASCII_FAST_PATH = True
_CASELESS = (_MESSENGER, _CONTACT_VERB, _MONEY, _EARNING, _SERVICE_PHRASE, _SPELLED)
_LOWERED = {pattern: _lowered(pattern) for pattern in _CASELESS}
# The only characters beyond ASCII that IGNORECASE matches with an ASCII letter (Kelvin sign, long s,
# dotted and dotless I), and İ is also the only one whose lower case is two characters: text without
# them lower-cases letter for letter, so the fast path holds for it too (checked over every code point
# in tests/test_text_prechecks.py). 26% of blog comments are not ASCII (an emoji, a dash, an accent).
_FOLDS_INTO_ASCII = re.compile("[\u0130\u0131\u017f\u212a]")


def _caseless_text(text: str) -> tuple[str, bool]:
    """The text for the case-insensitive patterns, and whether it is lower-cased for _LOWERED ones."""
    if not ASCII_FAST_PATH or (not text.isascii() and _FOLDS_INTO_ASCII.search(text)):
        return text, False
    return text.lower(), True


def _python_contains_any(text: str, literals: tuple[str, ...]) -> bool:
    for literal in literals:  # noqa: SIM110 (any() over a generator costs 2x this loop here)
        if literal in text:
            return True
    return False


# A literal that every match of the lower-cased pattern contains, at least one per alternative: when the
# text has none of them, the pattern cannot match, and ``in`` finds that 3-5x faster than the scan.
_NEEDS = {
    _MESSENGER: (
        "whats",  # whats app, whatsapp
        "atsap",  # watsap, whatsapp
        "telegram",
        "viber",
        "chat",  # we chat, wechat, snapchat
        "signal",
        "skype",
        "kik",
        "insta",
        "tiktok",
        "facebook",
        "messenger",
        "imessage",
        "hangouts",
        "line",
        "wa.me",
        "t.me",
    ),
    _CONTACT_VERB: (
        "call",
        "text",
        "contact",
        "reach",
        "message",
        "msg",
        "dm",
        "inbox",
        "write",
        "mail",  # email, e-mail, mail
        "chat",
        "hit",
        "whats",
    ),
    _SERVICE_PHRASE: (
        "customer",
        "support",  # tech support, technical support, support number
        "help",  # helpline, help desk
        "toll",
        "phone",
        "number",  # contact number, care number
        "reserv",
        "booking",
        "hotline",
    ),
    _MONEY: (
        *"$£€₹₦¥₱",
        "usd",  # usd, usdt
        "dollars",
        "bucks",
        "eur",  # eur, euros
        "gbp",
        "pounds",
        "btc",
        "bitcoin",
        "eth",
        "naira",
        "rupees",
        "inr",
        "pesos",
    ),
}

# Sharper, when the words of the text are its letter runs: each pattern is \b(?:...)\b and starts with
# a letter, so a match starts a letter run, and that run is one of these words (the alternative up to
# its first space, dot or hyphen: "whats" of "whats app", "e" of "e-mail"; a money word after its
# number). The words with a repeated letter ("watsappp") or two words run together ("wechat") are
# found as literals. "line" as a word is rarer than inside "online", and "call" than in "calling".
_WORD_NEEDS: dict[re.Pattern, tuple[frozenset[str], tuple[str, ...]]] = {
    _MESSENGER: (
        frozenset(
            {
                "whats",
                "whatsapp",
                "telegram",
                "viber",
                "signal",
                "skype",
                "kik",
                "snapchat",
                "instagram",
                "insta",
                "tiktok",
                "facebook",
                "messenger",
                "imessage",
                "hangouts",
                "line",
                "wa",
                "t",
            }
        ),
        ("atsap", "chat"),
    ),
    _CONTACT_VERB: (
        frozenset(
            {
                "call",
                "text",
                "contact",
                "reach",
                "message",
                "msg",
                "dm",
                "inbox",
                "write",
                "email",
                "e",
                "mail",
                "chat",
                "hit",
                "whats",
                "whatsapp",
            }
        ),
        (),
    ),
    _SERVICE_PHRASE: (
        frozenset(
            {
                "customer",
                "tech",
                "technical",
                "help",
                "helpline",
                "helpdesk",
                "toll",
                "tollfree",
                "support",
                "phone",
                "contact",
                "care",
                "reservation",
                "reservations",
                "booking",
                "hotline",
            }
        ),
        (),
    ),
    _MONEY: (
        frozenset(
            {
                "usd",
                "usdt",
                "dollars",
                "bucks",
                "eur",
                "euros",
                "gbp",
                "pounds",
                "btc",
                "bitcoin",
                "bitcoins",
                "eth",
                "naira",
                "rupees",
                "inr",
                "pesos",
            }
        ),
        tuple("$£€₹₦¥₱"),
    ),
}


class _Caseless(NamedTuple):
    """A case-insensitive pattern of ``_analyse`` with its lower-cased form and pre-checks, held together.

    ``_analyse`` reads these rather than looking a pattern up in the tables above: a dict keyed by a
    compiled pattern hashes the pattern's whole program at every lookup (re.Pattern.__hash__: 0.3-0.6 us
    for these five, against 0.04 us for a small key), and it looked them up five to nine times a comment.
    """

    as_is: re.Pattern
    lowered: re.Pattern
    needs: tuple[str, ...]
    word_needs: tuple[frozenset[str], tuple[str, ...]]


def _caseless(pattern: re.Pattern) -> _Caseless:
    return _Caseless(pattern, _LOWERED[pattern], _NEEDS.get(pattern, ()), _WORD_NEEDS.get(pattern, (frozenset(), ())))


# In the order _analyse unpacks them. _EARNING has no pre-check: it runs only after a money amount.
_ANALYSED = tuple(map(_caseless, (_MONEY, _MESSENGER, _CONTACT_VERB, _SERVICE_PHRASE, _EARNING)))
_ANALYSED_LOWERED = tuple(caseless.lowered for caseless in _ANALYSED)
_ANALYSED_AS_IS = tuple(caseless.as_is for caseless in _ANALYSED)
_SPELLED_LOWERED = _LOWERED[_SPELLED]
_SEGMENT_END = re.compile(r"[.!?\n]+")
# Words a real reader signs off or opens with: a short last line of these is no keyword tail.
_CHAT_WORDS = STOP_WORDS | {
    "thanks",
    "thank",
    "cheers",
    "regards",
    "lol",
    "haha",
    "great",
    "nice",
    "good",
    "post",
    "article",
    "love",
    "agree",
    "yes",
    "yeah",
    "nope",
    "best",
    "kind",
    "wishes",
    "ok",
    "okay",
    "wow",
    "cool",
    "awesome",
    "amazing",
    "blog",
    "sharing",
    "info",
    "keep",
    "work",
    "hope",
    "helps",
    "luck",
    "man",
    "guys",
    "everyone",
    "folks",
}
_PERSONAL = frozenset({"i", "i'm", "i've", "me", "my", "you", "your", "we", "our", "us", "he", "she", "they"})


def _python_last_segment(text: str) -> tuple[int, str | None]:
    """How many sentences the text has (2 for two or more) and its last, for _keyword_tail."""
    segments = [s for s in _SEGMENT_END.split(text) if s.strip()]
    return min(len(segments), 2), (segments[-1] if segments else None)


def stem(word: str) -> str:
    """A crude stem (a 6-letter prefix): "withdrawal" and "withdraw", "Russians" and "Russian" match."""
    return word[:6]


def content_stems(words: list[str]) -> list[str]:
    return [stem(w) for w in words if len(w) > 2 and w not in STOP_WORDS]


def _python_repeated_phrase(words: list[str]) -> int:
    """How often the most repeated 2-3 word phrase with a content word recurs (0 when none repeats).

    Pairs suffice: a repeated three-word phrase with a content word contains a pair with that word
    repeated at least as often.
    """
    if len(words) < 4 or len(set(words)) == len(words):
        return 0
    pairs = list(pairwise(words))
    if len(set(pairs)) == len(pairs):
        return 0
    best = 1
    for (first, second), count in Counter(pairs).items():
        if count > best and (first not in STOP_WORDS or second not in STOP_WORDS):
            best = count
    return best - 1


def _keyword_tail(clean: str, words: list[str]) -> bool:
    """A short trailing phrase that shares nothing with the rest: "... keep it up. Carpet Cleaning Leeds"."""
    if len(words) < 5:  # two tail words and three more, at least
        return False
    tail_text = clean[-300:].rstrip()
    if not tail_text or tail_text[-1] in "?":
        return False
    segments, last = _last_segment(tail_text)
    if segments < 2 and "\n" not in clean.strip():
        return False
    tail_words = [w.lower() for w in (_compiled_words or _WORD.findall)(last)] if last is not None else []
    if not 2 <= len(tail_words) <= 6 or len(words) < len(tail_words) + 3:
        return False
    if any(w in _PERSONAL for w in tail_words):
        return False
    content = [w for w in tail_words if w not in _CHAT_WORDS]
    if len(content) < 2:
        return False
    rest = {stem(w) for w in words[: len(words) - len(tail_words)] if w not in STOP_WORDS}
    return not any(stem(w) in rest for w in content)


@dataclass(frozen=True)
class Analysis:
    """Everything the features read about one text, computed once."""

    clean: str  # disguises undone, original case
    normalised: str  # lower case; URLs, e-mail addresses and numbers replaced by placeholders
    disguise: Disguise
    links: tuple[Link, ...]
    anchors: int
    url_chars: int
    emails: int
    phones: int
    messengers: int
    handles: tuple[str, ...]
    contact_verb: bool
    money: int
    earning: bool
    service_phrases: int
    repeated_phrase: int
    keyword_tail: bool
    words: tuple[str, ...]  # lower-case words of the clean text, URLs left out
    stems: frozenset[str]


def _placeholders(clean: str, links: list[Link], placeheld: bool, has_digit: bool) -> str:
    text = clean
    if "<" in text:
        text = _TAG.sub(" ", text)
        if links or "@" in text:
            text = _CANDIDATE.sub(_placeholder_for, text)
    elif placeheld:
        # Without tags the candidates are those _links_and_emails classified: when none was a link or
        # an address, the substitution would give the text back unchanged.
        text = _CANDIDATE.sub(_placeholder_for, text)
    if has_digit:
        text = _zero_digits(text)
    return text.lower()


_DIGITS = re.compile(r"\d+")


def _placeholder_for(match: re.Match) -> str:
    token = match.group(0)
    return _contact_kind(token)[1] or token


_ASCII_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")  # _WORD on lower-case ASCII text


@dataclass(frozen=True)
class Words:
    """A text's words and content stems alone, as its Analysis has them: all a post gives the features."""

    words: tuple[str, ...]
    stems: frozenset[str]


class _Read(NamedTuple):
    """The first steps of an analysis, which its words come from."""

    clean: str
    disguise: Disguise
    marked_up: int
    links: list[Link]
    emails: int
    placeheld: bool
    has_digit: bool
    normalised: str
    words_text: str
    words: list[str]


def _read(text: str) -> _Read:
    clean, disguise = undisguise(text)
    clean = _unhidden_links(clean)
    marked_up = 0
    if "[" in clean:
        clean, marked_up = _unmarked(clean)
    links, emails, placeheld = _links_and_emails(clean)
    has_digit = _has_digit(clean)
    normalised = _placeholders(clean, links, placeheld, has_digit)
    words_text = normalised.replace("_url_", " ").replace("_email_", " ") if "_" in normalised else normalised
    if _compiled_words is not None:
        words = _compiled_words(words_text)
    else:
        words = (_ASCII_WORD if normalised.isascii() else _WORD).findall(words_text)
    return _Read(clean, disguise, marked_up, links, emails, placeheld, has_digit, normalised, words_text, words)


def _python_stem_set(words: Iterable[str]) -> frozenset[str]:
    """The set of content_stems(words)."""
    return frozenset(content_stems(words if isinstance(words, (set, frozenset)) else set(words)))


def _words(text: str) -> Words:
    words = _read(text).words
    return Words(words=tuple(words), stems=_stem_set(words))


def _analyse(text: str) -> Analysis:
    clean, disguise, marked_up, links, emails, placeheld, has_digit, normalised, words_text, words = _read(text)
    # An @name opening the comment is a reply ("@Marguerite Lowe Thank you"), not a contact handle: one
    # after the first character that is not a space. (Each handle's text before it, copied and stripped,
    # was quadratic: 3,640 handles in 45 KB took 57 ms.)
    if "@" in clean:
        opening = len(clean) - len(clean.lstrip())
        handles = tuple(m.group(0)[1:].lower() for m in _HANDLE.finditer(clean) if m.start() > opening)
    else:
        handles = ()
    # Case-insensitive patterns run on the lower-cased text where that is the same (see _caseless_text),
    # and only when the text has a literal that a match needs.
    folded, fast = _caseless_text(clean)
    distinct = set(words)
    if fast and not placeheld and "<" not in clean:
        # The words are then the letter runs of the folded text (split at apostrophes: "don'telegram").
        present = distinct
        if "'" in words_text:
            present = distinct.union(*[word.split("'") for word in distinct if "'" in word])
        letter_runs = present

        def may(caseless: _Caseless) -> bool:
            needed_words, literals = caseless.word_needs
            return not needed_words.isdisjoint(present) or _contains_any(folded, literals)
    elif fast:
        letter_runs = None

        def may(caseless: _Caseless) -> bool:
            return _contains_any(folded, caseless.needs)
    else:
        letter_runs = None

        def may(caseless: _Caseless) -> bool:
            return True

    money_c, messenger_c, contact_c, service_c, _ = _ANALYSED
    money_p, messenger_p, contact_p, service_p, earning_p = _ANALYSED_LOWERED if fast else _ANALYSED_AS_IS
    money = len(money_p.findall(folded)) if has_digit and may(money_c) else 0
    return _new_analysis(
        clean=clean,
        normalised=normalised,
        disguise=disguise,
        links=tuple(links),
        anchors=(len(_ANCHOR.findall(clean)) if "<" in clean else 0) + marked_up,
        url_chars=sum(len(link.url) for link in links) if links else 0,
        emails=emails + hidden_emails(folded),
        phones=_phones(
            _without_links(folded, links, fast) if links and has_digit else folded, fast, has_digit, letter_runs
        ),
        messengers=len(messenger_p.findall(folded)) if may(messenger_c) else 0,
        handles=handles,
        contact_verb=may(contact_c) and contact_p.search(folded) is not None,
        money=money,
        earning=bool(money) and bool(earning_p.search(folded)),
        service_phrases=len(service_p.findall(folded)) if may(service_c) else 0,
        repeated_phrase=_repeated_phrase(words),
        keyword_tail=_keyword_tail(_TAG.sub(" ", clean) if "<" in clean else clean, words),
        words=tuple(words),
        stems=_stem_set(distinct),
    )


def _without_links(folded: str, links: list[Link], lowered: bool) -> str:
    """``folded`` with each link written as a gap no phone number spans: the digits of an address are
    an ID, not a number to call. "my setup https://www.flickr.com/photos/tinkertess/53829104417/" read
    as a phone number and scored 0.996 (spam) on a probe of blog comments."""
    for link in links:
        folded = folded.replace(link.url.lower() if lowered else link.url, " _ ")
    return folded


def _new_analysis(**fields: object) -> Analysis:
    """``Analysis(**fields)`` without the frozen dataclass's __init__, which sets the 18 fields one
    object.__setattr__ at a time: 0.24 against 2.3 us (tests/test_text_identity.py compares every field)."""
    analysis = object.__new__(Analysis)
    analysis.__dict__.update(fields)
    return analysis


@functools.lru_cache(maxsize=32768)
def _cached(text: str) -> Analysis:
    return _analyse(text)


@functools.lru_cache(maxsize=256)
def _cached_long(text: str) -> Analysis:
    return _analyse(text)


def analyse(text: str) -> Analysis:
    """The analysis of a text, cached: a thread's comments recur in its context, and its post in every
    comment's features. Long texts (posts, mostly) have a small cache of their own, so a flood of huge
    comments cannot fill memory. Inside ``analyses_scope()`` the texts analysed are kept for the scope
    alone."""
    if len(text) <= 4096:
        scope = _SCOPE.get()
        if scope is not None:
            found = scope.get(text)
            if found is not None:
                return found
            if len(scope) < SCOPE_TEXTS:
                found = scope[text] = _analyse(text)
                return found
        return _cached(text)
    return _cached_long(text) if len(text) <= 256 * 1024 else _cached_huge(text)


# Texts over 256 KB: the two latest only, so that a flood of them holds at most two. Each feature block
# asks for its comment's analysis, and without a cache a 1 MB comment was analysed eight times: a
# 270 KB comment of links took 81 ms against 18 ms at 250 KB, one of "1," and "usd" 76 s at 1 MB.
_cached_huge = functools.lru_cache(maxsize=2)(_analyse)

# The analyses of the texts of ``analyses_scope()``, for this thread (or task) alone; None outside one.
_SCOPE: ContextVar[dict[str, Analysis] | None] = ContextVar("moderation_analyses", default=None)
# A scope keeps at most this many texts; past them (a thread of more comments scored whole) the cache
# above takes the rest, as it takes every text outside a scope.
SCOPE_TEXTS = 8192


@contextmanager
def analyses_scope() -> Iterator[None]:
    """Keep the analyses made inside for the scope only, not in the cache that outlives it.

    For texts that will not recur once the scope ends: a batch of whole threads (``Moderator.score_batch``)
    analyses each comment for its own blocks and its neighbours', and no later batch reads it again. In
    the cache those analyses outlived the batch, and the collector walked them: after every batch of 2,000
    comments (the young generation, 7-10 ms) and again every tenth (75-180 ms), 4.5-6.5% of batch scoring.
    Dropped with the scope, inside the batch's pause of the collector (``api._gc_paused``), they are freed
    by reference counting and never walked. Beside the code before, alternating processes, with
    ``gc.callbacks`` timing each collection: 40,000 benchmark comments, the collector 229-331 -> 56-86 ms;
    100,000 comments in 5,000 threads, 7,365-7,550 -> 7,890-8,124 comments/s without reasons and
    6,256-6,286 -> 6,595-6,646 with them. A scope inside a scope is the outer one.
    """
    if _SCOPE.get() is not None:
        yield
        return
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


@functools.lru_cache(maxsize=256)
def _cached_words(text: str) -> Words:
    return _words(text)


def words_of(text: str) -> Words:
    """A post's words and stems, cached (the 256 latest texts of at most 256 KB): the same as
    ``analyse(text)``'s, without the contact, money and phrase patterns that only a comment's own features
    read. Each thread of an archive has a post of its own, a few thousand characters, and analysing it
    whole cost about 1 ms of which 0.7 went to those patterns (the 94 posts of data/threads, 2,849
    characters on average): with 20 comments a thread, 35 us a comment, a fifth of batch scoring."""
    if len(text) <= 256 * 1024:
        return _cached_words(text)
    return _cached_huge_words(text)


# A post over 256 KB: the two latest only (as _cached_huge). A thread under one is scored comment by
# comment against it, and without a cache the post was read again for each comment with a link: 600
# comments under a 260 KB post took 2.36 s against 39 ms under a 250 KB one.
_cached_huge_words = functools.lru_cache(maxsize=2)(_words)


def clear_cache() -> None:
    """Forget cached analyses (benchmarks time cold runs)."""
    _cached.cache_clear()
    _cached_long.cache_clear()
    _cached_words.cache_clear()
    _cached_huge.cache_clear()
    _cached_huge_words.cache_clear()


# The scans and word counts every text takes, in Python: the compiled ones (_text.c, where setup.py
# found a C compiler) give the same results (tests/test_text_prechecks.py on any text and every code
# point, tests/test_text_identity.py with either set). _WORD.findall 6.7 -> 1.1 us on 200 characters. On
# the 94 posts of data/threads (2.8 KB) and on benchmark comments, best of 5: candidates 72.0 -> 8.1 and
# 3.0 -> 0.5 us, digit spans 37.1 -> 6.1 and 2.9 -> 0.5, zero digits 36.7 -> 8.5 and 2.6 -> 0.6, stems
# sets 41.0 -> 19.2 and 3.6 -> 2.2, repeated phrase 89.5 -> 5.3 and 3.8 -> 0.6; a look for any of the 18
# mail providers in a 190-character comment 1.77 -> 0.58 us; _keyword_tail with the last segment 3.2 -> 1.4
# us a benchmark comment; with the look-alike, invisible and spaced-letter checks, undisguise 46.0 -> 15.1 us
# a post and 3.2 -> 1.8 a comment.
PYTHON_FORMS = {
    "_compiled_words": None,
    "_candidates": _regex_candidates,
    "_digit_spans": _regex_digit_spans,
    "_zero_digits": _regex_zero_digits,
    "_has_digit": _regex_has_digit,
    "_stem_set": _python_stem_set,
    "_repeated_phrase": _python_repeated_phrase,
    "_contains_any": _python_contains_any,
    "_last_segment": _python_last_segment,
    "_has_lookalike": _python_has_lookalike,
    "_surrogate_or_invisible": _python_surrogate_or_invisible,
    "_spaced_letters": _python_spaced_letters,
    "word_runs": _python_word_runs,
}
try:
    from moderation.model import _text as _compiled_text
except ImportError:  # pragma: no cover - exercised by tests that set PYTHON_FORMS
    _compiled_text = None
if _compiled_text is not None:
    _compiled_words = _compiled_text.words
    _candidates = _compiled_text.candidates
    _digit_spans = _compiled_text.digit_spans
    _zero_digits = _compiled_text.zero_digits
    _has_digit = _compiled_text.has_digit
    _stem_set = functools.partial(_compiled_text.stems, STOP_WORDS)
    _repeated_phrase = functools.partial(_compiled_text.repeated_phrase, STOP_WORDS)
    _contains_any = _compiled_text.contains_any
    _last_segment = _compiled_text.last_segment
    _has_lookalike, _surrogate_or_invisible = _compiled_has_lookalike, _compiled_surrogate_or_invisible
    _spaced_letters = _compiled_text.spaced_letters
    word_runs = _compiled_text.word_runs
else:  # pragma: no cover - each name bound to its Python form, as tests do with PYTHON_FORMS
    globals().update(PYTHON_FORMS)
