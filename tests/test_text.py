"""The signals read from a comment's text: each pinned with realistic spam and with the hard ham beside it."""

from __future__ import annotations

import time
import unicodedata

import pytest
from sklearn.base import clone

from moderation.model import text as text_module
from moderation.model.features import CommentItem, DisguiseFeatures, LinkFeatures, OfferFeatures
from moderation.model.text import analyse, hidden_emails, phone_numbers, undisguise

POST = (
    "Running Postgres locally with docker compose\n\nA compose file with a named volume, a health check and "
    "pg_isready, so the application container waits for the database before it starts."
)


def signals(transformer, body: str, *, post: str = POST, post_url: str = "https://devnotes.example/compose-postgres"):
    item = CommentItem(body=body, post_text=post, post_url=post_url)
    fitted = clone(transformer).fit([item])
    return dict(zip(fitted.get_feature_names_out(), fitted.transform([item])[0], strict=True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("QuickBooks support phone number +1-888-555-0143 call now", 1),
        ("Delta reservations 1 (800) 555 0199 toll free", 1),
        ("call us at 8 0 0 5 5 5 0 1 2 3 for help", 1),
        ("Epson printer helpline 1-8OO-555-0199", 1),
        ("dial one eight hundred five five five zero one two three", 1),
        ("UK readers: 020 7946 0000", 1),
        ("the video has 2.126.521.750 views", 0),
        ("between 2019-2023 we paid $3,000,000 in fees", 0),
        ("the hearing is on 2024-03-14 at 10:30", 0),
        ("I waited 114 minutes on hold", 0),
    ],
    ids=[
        "dashed-us",
        "bracketed-area-code",
        "spaced-digits",
        "letter-o-for-zero",
        "spelled-out",
        "uk-spaced",
        "view-count",
        "years-and-money",
        "date-and-time",
        "minutes",
    ],
)
def test_phone_numbers(text, expected):
    assert phone_numbers(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my setup with the purple cards https://www.flickr.com/photos/tinkertess/53829104417/", 0),
        ("the clip: youtube.com/watch?v=12345678901 and fb.com/groups/100877300245414/", 0),
        ("call +1 555 0142 8890 or see https://x.example/123456789", 1),
        ("call 555 https://shop.example/a 0142 8890", 0),
    ],
    ids=["photo-id", "video-and-group-ids", "phone-beside-a-link", "link-between-digit-groups"],
)
def test_digits_of_a_link_are_no_phone_number(text, expected):
    assert analyse(text).phones == expected


@pytest.mark.parametrize(
    ("text", "clean", "kind"),
    [
        ("Contact 𝐒𝐆𝐈𝟖𝟖 today", "Contact SGI88 today", "lookalike"),
        ("Message me on Whаtsаpp", "Message me on Whatsapp", "lookalike"),
        ("What\u200bsApp me", "WhatsApp me", "invisible"),
        ("add me on W h a t s A p p now", "add me on WhatsApp now", "spaced"),
        ("Ｆｒｅｅ money", "Free money", "lookalike"),
    ],
    ids=["math-bold", "cyrillic-in-latin", "zero-width", "spaced-letters", "fullwidth"],
)
def test_disguises_are_undone_and_counted(text, clean, kind):
    undone, disguise = undisguise(text)
    assert undone == clean
    assert getattr(disguise, kind) > 0


@pytest.mark.parametrize(
    "text",
    [
        "Спасибо, очень полезная статья про Docker",
        "ありがとうございます！とても分かりやすいです",
        "Muchas gracias, me sirvió mucho",
        "family emoji 👨\u200d👩\u200d👧 is fine",
        "\ufeffbyte order mark at the start",
    ],
    ids=["russian", "japanese", "spanish", "emoji-zwj", "bom"],
)
def test_real_text_in_other_scripts_is_not_a_disguise(text):
    undone, disguise = undisguise(text)
    assert disguise.lookalike == 0 and disguise.invisible == 0 and disguise.spaced == 0
    assert undone.strip("\ufeff") == unicodedata.normalize("NFKC", text.strip("\ufeff").replace("\u200d", ""))


@pytest.mark.parametrize(
    ("body", "name", "expected"),
    [
        (
            "Docs for the healthcheck: https://docs.docker.com/compose/compose-file/05-services/#healthcheck",
            "link:reference",
            1.0,
        ),
        ("The image README covers it: https://github.com/docker-library/postgres", "link:reference", 1.0),
        ("I wrote up my setup: https://mynotes.example/postgres-docker-compose-healthcheck", "link:on_topic", 1.0),
        ("see your earlier post https://devnotes.example/volumes", "link:to_site", 1.0),
        ("cheap essays https://essaymill.example/buy-now", "link:unvouched", pytest.approx(0.6931, abs=1e-3)),
        ("cheap essays https://essaymill.example/buy-now", "link:reference", 0.0),
        ("Fixed it with: curl -X POST http://localhost:5000/api/users -d '{}'", "link:reference", 1.0),
        ("postgres listens on http://192.168.1.20:5432 here", "link:unvouched", 0.0),
        ("the new docs are at flask.palletsprojects.com/en/latest/patterns/", "link:reference", 1.0),
        ("cheap pills http://localhost.pills.example/buy", "link:reference", 0.0),
        ("cheap pills http://pills.example/a/b/c/docs/buy", "link:reference", 0.0),
        ("This is helpful. https://bestessayhelp.com/docs/", "link:reference", 0.0),
        ("This is helpful. https://docs.bestessayhelp.com/", "link:reference", 0.0),
        ("Official info: https://shop.gov.spam.example/offer", "link:reference", 0.0),
        ("Official info: https://www.health.gov.au/topics", "link:reference", 1.0),
        (
            "The staff report is on the agenda portal: https://riverton.legistar.com/Legislation.aspx",
            "link:reference",
            1.0,
        ),
    ],
    ids=[
        "docs",
        "code-host",
        "own-on-topic-post",
        "same-site",
        "unrelated-shop",
        "shop-is-no-reference",
        "localhost",
        "private-address",
        "docs-path-on-any-host",
        "localhost-as-a-subdomain",
        "docs-deep-in-a-shop-path",
        "docs-path-chosen-by-the-poster",
        "docs-subdomain-chosen-by-the-poster",
        "gov-inside-a-host",
        "gov-of-a-country",
        "council-agenda-platform",
    ],
)
def test_links_are_judged_by_where_they_go(body, name, expected):
    assert signals(LinkFeatures(), body)[name] == expected


@pytest.mark.parametrize(
    ("body", "fired", "silent"),
    [
        (
            "I withdrew $3,000 in a week thanks to @fx_mark_trades on Instagram, message him",
            ["contact:handle", "contact:messenger", "contact:solicit"],
            [],
        ),
        ("contact Dr. Amara on WhatsApp +44 7700 900 123 she helped me", ["contact:phone", "contact:solicit"], []),
        ("Thanks @pgfan, that fixed it", [], ["contact:solicit", "contact:phone"]),
        ("@Marguerite Lowe thank you, message received", [], ["contact:handle", "contact:solicit"]),
        ("I called the council on their published number and waited 40 minutes", [], ["contact:phone"]),
    ],
    ids=["trader-testimonial", "whatsapp-doctor", "thanks-with-handle", "reply-opening", "called-the-council"],
)
def test_contact_solicitation(body, fired, silent):
    values = signals(LinkFeatures(), body)
    assert all(values[name] > 0 for name in fired), values
    assert all(values[name] == 0 for name in silent), values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I got my $48,000 back, reach them at cybergeniehacks @ gmail . com", 1),
        ("Email creditfixer77 at gmail dot com for a perfect score", 1),
        ("contact: jack.hacker (at) gmail (dot) com", 1),
        ("mail him: HACKLIONEL[AT]PROTON[DOT]ME", 1),
        ("write to recoverypro@ gmail.com today", 1),
        ("fixer at gmail.com, she is legit", 0),
        ("email me at JOHN.DOE AT GMAIL DOT COM", 1),
        ("mail me: a.b@example.com", 0),
        ("look at google.com and at docs.python.org", 0),
        ("Follow @stephedits.tv on tiktok", 0),
        ("Thanks @pgfan.dev, that fixed it", 0),
        ("we met at noon. Then at 5.30 pm the bus left", 0),
        ("I met her at the gym, dot com bubble talk", 0),
        ("name(at)company.net or fixer [at] hackers.com", 2),
        ("name ( at ) gmail.com", 1),
        ("name @gmail.com and name[@]proton.me", 2),
        ("write to x(at)hotmail.co.uk", 1),
        ("Thanks @ Sarah. Great tip", 0),
        ("Look at the dot product of the two vectors.", 0),
        ("I worked at Yahoo. Then Google bought us.", 0),
        ("Log in at outlook.live.com, or see the thread at mail.python.org/archives", 0),
        ("AAPL opened at 163. Then it fell; compute a @ b.transpose() here", 0),
        ("I signed up at gmail.com years ago and my account at outlook.com got it too", 0),
        ("Look at python dot org for the tutorial", 0),
    ],
    ids=[
        "spaced-at-and-dots",
        "spelled-at-and-dot",
        "bracketed",
        "bracketed-upper-case",
        "space-after-at",
        "provider-after-plain-at-is-a-link",
        "rejected-match-does-not-swallow-the-address",
        "plain-address-counted-elsewhere",
        "link-after-at",
        "handle-with-dot",
        "reply-handle-with-dot",
        "times-and-sentences",
        "dot-com-in-prose",
        "bracketed-at-with-plain-dot",
        "spaces-inside-the-brackets",
        "handle-like-at-a-provider-and-bracketed-at-sign",
        "country-code-after-co",
        "at-sign-before-a-sentence",
        "dot-product",
        "provider-name-before-a-sentence",
        "hosts-that-run-on",
        "numbers-and-code",
        "signed-up-at-a-provider",
        "look-at-a-spelled-site",
    ],
)
def test_hidden_email_addresses(text, expected):
    assert hidden_emails(text) == expected
    assert analyse(text).emails == expected + ("@example.com" in text)


@pytest.mark.parametrize(
    ("text", "hosts", "anchors"),
    [
        ("[url=http://cheap-pills.com/buy]cheap pills[/url]", ["cheap-pills.com"], 1),
        ("great post [URL]http://replica-watches.com[/URL]", ["replica-watches.com"], 1),
        ("[link=www.payday-fast.com]loans[/link] [url=http://a-shop.com]a[/url]", ["payday-fast.com", "a-shop.com"], 2),
        ("See the docs: [useEffect](https://react.dev/reference/react/useEffect)", ["react.dev"], 0),
        ("useEffect(() => load(url), [url]); runs on every change", [], 0),
        ("my notes are in [notes](./notes.md) and [setup](setup.py)", [], 0),
        ("deps [url, link] then arr[link] = 1", [], 0),
        ('[url = "https://x-shop.com"]x[/url] and [url] http://y-shop.com [/url]', ["x-shop.com", "y-shop.com"], 2),
        ('see [my shop](https://x-shop.com "best prices") today', ["x-shop.com"], 0),
    ],
    ids=[
        "bbcode-anchor",
        "bbcode-wrapped-upper-case",
        "two-bbcode-anchors",
        "markdown-link",
        "react-dependency-array",
        "markdown-relative-paths",
        "code-with-brackets",
        "bbcode-with-spaces-and-quotes",
        "markdown-link-with-a-title",
    ],
)
def test_links_in_forum_markup_are_found(text, hosts, anchors):
    analysis = analyse(text)
    assert [link.host for link in analysis.links] == hosts
    assert analysis.anchors == anchors


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("Check out my website forsoftlips (dot) com for a part time job", ["forsoftlips.com"]),
        ("events at gonintendo(dot)com/?mode=viewstory&id=205110", ["gonintendo.com/?mode=viewstory&id=205110"]),
        ("sign here tinyurl(dot)com(slash)mxh2y77 now", ["tinyurl.com/mxh2y77"]),
        ("Also seen: login-microsoft-verify[.]com and hxxps://drive-share[.]online/doc", []),
        ("cheap loans quickcash\u3002com", ["quickcash.com"]),
        ("visit WWW DOT QUICKCASH DOT COM today", ["www.QUICKCASH.COM"]),
        ("see www . quickcash . com", ["www.quickcash.com"]),
        ("the dot com bubble and www dot com days", []),
        ("join the fight at Rand Paul dot com. Spread the word", ["Paul.com"]),
        ("visit w w w . quickcash . com or www  .  quickcash  .  net", ["www.quickcash.com", "www.quickcash.net"]),
        ("a dot com startup in the early dot com days, their dot com", []),
        ("\u597d\u7684\u3002\u8c22\u8c22", []),
        ("I said hi[.] and arr[.]length", []),
        ("Full movie free here --->>> bit.ly\\Kw769F I watched it", ["bit.ly/Kw769F"]),
        ("it is on goo.gl\\DEqN8 and youtu.be/dQw4w9WgXcQ", ["goo.gl/DEqN8", "youtu.be/dQw4w9WgXcQ"]),
        ("my config is in C:\\Users\\me\\notes.io\\app and D:\\site.com\\x", []),
        ("I saw it on moviestash. com !!! go to marketglory . com/game", ["moviestash.com", "marketglory.com/game"]),
        ("the source: www.youtube. com/watch?v=TQ046FuAu00", ["www.youtube.com/watch?v=TQ046FuAu00"]),
        ("Muito bom. Com certeza. O melhor. Org tambem", []),
        ("I moved the service to ASP .NET! The new one. Org chart attached.", []),
        ("hack any account, visit : FreeHackingTools24DOTcom", ["FreeHackingTools24.com"]),
        ("the dotcom bubble; Acme's DOT-com era", []),
        ("I use python\u3002It works. Thanks\u3002Com certeza", []),
        ("cheap loans QUICKCASH\u3002COM", ["QUICKCASH.COM"]),
        ("Make $500 a day from home: QuickCash\u3002Com", ["QuickCash.Com"]),
        ("ran it from Microsoft.NET\\Framework64, then cd socket.io\\lib as corp.contoso.com\\jsmith", []),
        ('printf("Welcome to example.com\\n"); and see www.site.com\\page', ["www.site.com/page"]),
        ("Startups love .com. Everyone wants .com! Valeu mano. Com! Device Manager. COM & LPT", []),
        (
            "Play now at marketglory . com/game or tinyurl .com /k3bldr5",
            ["marketglory.com/game", "tinyurl.com"],
        ),
        ("reach them at cybergeniehacks @ gmail . com. Tell them", []),
        ("hack it at FreeHackingTools24DotCom, not in the DotCom bubble", ["FreeHackingTools24.Com"]),
        ("join discord.gg/python or linktr.ee/someone", ["discord.gg/python", "linktr.ee/someone"]),
    ],
    ids=[
        "spelled-dot-in-brackets",
        "bracketed-dot-with-path",
        "bracketed-slash",
        "security-defanging-stays-unclickable",
        "ideographic-full-stop",
        "spelled-www-upper-case",
        "spaced-www",
        "dot-com-in-prose",
        "spelled-dot-before-an-ending",
        "spaced-www-letters-and-wide-gaps",
        "dot-com-as-a-noun",
        "chinese-full-stop",
        "brackets-without-address",
        "backslash-for-slash",
        "shortener-outside-the-endings",
        "windows-paths-are-no-links",
        "space-beside-the-dot",
        "space-inside-a-url",
        "portuguese-com-is-a-word",
        "dotnet-and-sentence-ends",
        "glued-capital-dot",
        "dotcom-as-a-word",
        "ideographic-stop-ends-a-sentence",
        "ideographic-stop-in-capitals",
        "ideographic-stop-before-a-last-com",
        "windows-paths-and-logins",
        "backslash-in-a-c-string",
        "talk-about-endings-and-portuguese-com",
        "spaced-dot-after-at-or-before-a-path",
        "spaced-address-is-an-email",
        "glued-title-case-dot",
        "shorteners-outside-the-endings",
    ],
)
def test_links_written_around_link_finders_are_found(text, urls):
    assert [link.url for link in analyse(text).links] == urls


@pytest.mark.parametrize("opening", ["(", "[", "{", "<"], ids=["round", "square", "curly", "angle"])
@pytest.mark.parametrize(
    "inside", ["at", " at ", "AT", "@", " @ "], ids=["at", "spaced-at", "upper-at", "sign", "spaced-sign"]
)
def test_every_bracketed_at_passes_the_quick_check(opening, inside):
    closing = {"(": ")", "[": "]", "{": "}", "<": ">"}[opening]
    assert hidden_emails(f"write to recovery{opening}{inside}{closing}hackers.net today") == 1


def test_a_hidden_address_is_contact_solicitation():
    values = signals(LinkFeatures(), "I recovered my funds, contact recoverywithvane(at)protonmail dot com")
    assert values["contact:email"] == 1 and values["contact:solicit"] == 1


@pytest.mark.parametrize(
    ("body", "fired", "silent"),
    [
        ("I invested $500 and withdrew $5,000 profit in 7 days", ["money:amount", "money:earnings"], []),
        ("Our rent went from $1,450 to $1,600 this year", ["money:amount"], ["money:earnings"]),
        (
            "Very informative, keep it up.\nCarpet Cleaning Leeds",
            ["keywords:tail"],
            ["money:amount", "keywords:service_phrase"],
        ),
        ("Great write-up, thanks. Cheers", [], ["keywords:tail"]),
        ("Is the volume kept when I run docker compose down?", [], ["keywords:tail"]),
        (
            "Norton support number +1-888-555-0143. Norton support number toll free, call the Norton support number",
            ["keywords:service_phrase", "keywords:repeated_phrase"],
            [],
        ),
    ],
    ids=[
        "earnings-claim",
        "rent-is-no-earnings",
        "keyword-tail",
        "sign-off-is-no-tail",
        "question-is-no-tail",
        "support-number-stuffing",
    ],
)
def test_offer_signals(body, fired, silent):
    values = signals(OfferFeatures(), body)
    assert all(values[name] > 0 for name in fired), values
    assert all(values[name] == 0 for name in silent), values


@pytest.mark.parametrize(
    ("text", "expected"),
    [("call one two three f\u0130ve five five six seven eight nine", 1), ("ONE TWO THREE S\u0131X", 0)],
    ids=["dotted-capital-i", "dotless-i"],
)
def test_spelled_numbers_with_turkish_i_are_read(text, expected):
    # Case-insensitive matching reads "fİve" as five; the digits lookup raised KeyError on it before.
    assert phone_numbers(text) == expected
    assert analyse(text).phones == expected


def test_disguise_features_fire_only_on_disguise():
    assert signals(DisguiseFeatures(), "Cоntact 𝐓𝐞𝐥𝐞𝐠𝐫𝐚𝐦 now")["obfuscation:lookalike"] > 0
    assert signals(DisguiseFeatures(), "Спасибо, очень полезно")["obfuscation:lookalike"] == 0


@pytest.mark.parametrize(
    "text",
    [
        "a." * 500_000,
        "a" * 1_000_000 + "@",
        "1 " * 500_000,
        "http://" + "a" * 1_000_000,
        "<" * 1_000_000,
        "o1" * 500_000,
        "1-" * 500_000,
        "one two " * 125_000,
        "a.b " * 250_000,
        "\U0001d400" * 1_000_000,
        "a\u200b" * 500_000,
        "\u0430 " * 500_000,
        "a at " * 200_000,
        ("x." * 30 + " at ") * 20_000,
        "a @ " * 250_000,
        "name (at) " * 100_000,
        "[url=" * 200_000,
        "](" * 500_000,
        ("[url=http://a.com]" + "x") * 50_000,
        '](a "' * 200_000,
        '[url = "' * 120_000,
        "w w " * 250_000,
        "a dot com " * 100_000,
        "a[.]" * 250_000,
        "www . " * 200_000,
        "hxxp" * 250_000,
        "a\u3002" * 500_000,
        "www dot a dot " * 80_000,
    ],
    ids=[
        "dots",
        "at-after-long-word",
        "digit-groups",
        "long-url",
        "angle-brackets",
        "letter-o-between-digits",
        "dashed-digits",
        "spelled-words",
        "link-candidates",
        "math-bold",
        "zero-width-in-words",
        "cyrillic-lookalikes",
        "spelled-at-flood",
        "dotted-words-before-at",
        "spaced-at-flood",
        "bracketed-at-flood",
        "bbcode-openings",
        "markdown-openings",
        "bbcode-anchors",
        "markdown-title-openings",
        "bbcode-quoted-openings",
        "spaced-w-flood",
        "spelled-dot-flood",
        "bracketed-dots",
        "spaced-www-flood",
        "defanged-schemes",
        "ideographic-stops",
        "spelled-www-flood",
    ],
)
def test_pathological_input_is_analysed_in_bounded_work(text):
    # Not a timing assertion on a shared machine: a quadratic pattern on a million characters takes
    # hours, so finishing at all is the check; the limit is a generous guard against a hang.
    started = time.process_time()
    analysis = analyse(text)
    assert time.process_time() - started < 30
    assert len(analysis.clean) <= 33 * 1024


@pytest.mark.parametrize(
    "host, expected",
    [
        ("github.com", True),
        ("gist.github.com", True),
        ("docs.github.com", True),
        (".github.com", True),
        ("evilgithub.com", False),
        ("github.com.evil.example", False),
        ("ithub.com", False),
        ("cheap-watches.example", False),
        ("", False),
        ("..", False),
    ],
    ids=[
        "listed",
        "listed-deeper",
        "under-listed",
        "leading-dot",
        "glued",
        "listed-prefix",
        "part",
        "shop",
        "empty",
        "dots",
    ],
)
def test_a_reference_host_is_listed_or_under_one(host, expected):
    # Link.is_reference looks the host and what follows each of its dots up in a set; it must say what
    # comparing the host with every listed one says.
    from moderation.model import text

    link = text.Link(url=f"https://{host}/x", host=host, words=frozenset())
    listed = any(host == h or host.endswith("." + h) for h in text._REFERENCE_HOSTS)
    assert link.is_reference == expected == (listed or host.endswith(text._REFERENCE_SUFFIXES))


# --------------------------------------------------------------------------------------------------
# analyses_scope: the analyses made inside are kept for the scope only.


@pytest.fixture
def cold_cache():
    text_module.clear_cache()
    yield text_module
    text_module.clear_cache()


def test_a_scope_keeps_its_analyses_to_itself(cold_cache):
    t = cold_cache
    outside = t._analyse("Rye or wheat? Mail me at fixer77 at gmail dot com")
    with t.analyses_scope():
        first = t.analyse("Rye or wheat? Mail me at fixer77 at gmail dot com")
        assert t.analyse("Rye or wheat? Mail me at fixer77 at gmail dot com") is first
        assert t._cached.cache_info().currsize == 0
    assert first == outside
    assert t._SCOPE.get() is None
    assert t.analyse("Rye or wheat? Mail me at fixer77 at gmail dot com") is not first  # the scope is gone


def test_a_full_scope_hands_the_rest_to_the_shared_cache(cold_cache, monkeypatch):
    t = cold_cache
    monkeypatch.setattr(t, "SCOPE_TEXTS", 2)
    with t.analyses_scope():
        for word in ("one", "two", "three", "four"):
            t.analyse(f"a comment about {word}")
        assert len(t._SCOPE.get()) == 2
        assert t._cached.cache_info().currsize == 2
        t.analyse("a comment about one")  # still the scope's
        assert t._cached.cache_info().currsize == 2


def test_a_scope_inside_a_scope_is_the_outer_one(cold_cache):
    t = cold_cache
    with t.analyses_scope():
        outer = t._SCOPE.get()
        with t.analyses_scope():
            assert t._SCOPE.get() is outer
            t.analyse("inner text")
        assert "inner text" in outer
    assert t._SCOPE.get() is None


def test_a_scope_is_its_own_threads_alone(cold_cache):
    import threading

    t = cold_cache
    inside, done = threading.Event(), threading.Event()

    def scoped():
        with t.analyses_scope():
            t.analyse("the scoped thread's text")
            inside.set()
            done.wait(5)

    worker = threading.Thread(target=scoped)
    worker.start()
    try:
        assert inside.wait(5)
        assert t._SCOPE.get() is None
        t.analyse("another thread's text")
        assert t._cached.cache_info().currsize == 1
    finally:
        done.set()
        worker.join()


def test_a_scope_ends_when_its_block_fails(cold_cache):
    t = cold_cache
    with pytest.raises(RuntimeError), t.analyses_scope():
        t.analyse("a text")
        raise RuntimeError("a batch failed")
    assert t._SCOPE.get() is None


@pytest.mark.parametrize(
    "body",
    [
        "@Marguerite Lowe Thank you",
        "  \n @dana_w thanks, and ask @helpdesk_team",
        "thanks @dana_w",
        "@a@bcd @efg",
        "\u2003@wide_space then @next_one",
        "",
        "@",
        "x" * 50 + " @later_handle",
    ],
    ids=["opening", "after-spaces", "mid-text", "glued", "unicode-space", "empty", "at-alone", "late"],
)
def test_handles_are_those_after_the_opening(body):
    import re

    expected = tuple(
        m.group(0)[1:].lower()
        for m in re.finditer(r"(?<![\w@.])@[A-Za-z0-9_][A-Za-z0-9_.]{2,29}", body)
        if body[: m.start()].strip()
    )
    assert analyse(body).handles == expected


def test_a_huge_comment_is_analysed_once_per_check(cold_cache, moderator):
    # Texts over 256 KB were analysed again by each feature block that asked: eight times a comment.
    body = ("see http://a.example/x and 1,1,1 usd " * 8000)[: 300 * 1024]
    moderator.score_comment(body, post="A post about bread.")
    info = cold_cache._cached_huge.cache_info()
    assert info.misses == 1 and info.hits >= 1


def test_a_huge_post_is_read_once_for_all_its_comments(cold_cache, moderator):
    from moderation.model.thread import Comment, Post, Thread

    post = Post(body=("Sourdough http://bread.example/x notes, crumb and crust. " * 6000)[: 300 * 1024])
    comments = [Comment(body=f"see http://site{i}.example/loaf", author=f"R{i}") for i in range(20)]
    moderator.score_thread(Thread(post=post, comments=comments))
    info = cold_cache._cached_huge_words.cache_info()
    assert info.misses == 1 and info.hits >= 19
