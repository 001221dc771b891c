"""Links here (to the blog, or on a video site to the video) are taken out of the model's view of a
comment and counted; every other link stays."""

from __future__ import annotations

import pytest

from moderation.model.features import LinkFeatures
from moderation.model.items import item_for_comment, items_from_thread
from moderation.model.pagelinks import page_key, site_host, without_links_here
from moderation.model.text import analyse
from moderation.model.thread import Comment, Post, Thread

VIDEO = "https://www.youtube.com/watch?v=9bZkp7q19f0"
POST_URL = "https://slowquery.blog/2024/03/partial-indexes/"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (VIDEO, "http://youtu.be/9bZkp7q19f0"),
        (VIDEO, "https://m.youtube.com/watch?feature=share&v=9bZkp7q19f0&t=2m19s"),
        (VIDEO, "youtube.com/embed/9bZkp7q19f0"),
        (POST_URL, "http://www.slowquery.blog/2024/03/partial-indexes"),
        (POST_URL, "https://slowquery.blog/2024/03/partial-indexes/#comment-12"),
        (POST_URL, "https://slowquery.blog/2024/03/partial-indexes/?utm_source=feed"),
        ("https://blog.example/?p=12", "http://blog.example/?p=12"),
    ],
    ids=[
        "short-link",
        "mobile-with-time",
        "embed",
        "www-no-slash",
        "comment-anchor",
        "tracking-query",
        "plain-permalink",
    ],
)
def test_one_page_spelled_two_ways_has_one_key(first, second):
    assert page_key(first) is not None
    assert page_key(first) == page_key(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (VIDEO, "http://youtu.be/abcdefghijk"),
        (VIDEO, "https://www.youtube.com/channel/UCrDkAvwZum-UTjHmzDI2iIw"),
        (POST_URL, "https://slowquery.blog/2024/03/partial-indexes-part-2/"),
        (POST_URL, "https://slowquery.blog/"),
        ("https://blog.example/?p=12", "https://blog.example/?p=13"),
    ],
    ids=["other-video", "a-channel", "next-post", "home-page", "other-permalink"],
)
def test_two_pages_have_two_keys(first, second):
    assert page_key(first) != page_key(second)


@pytest.mark.parametrize(
    "url",
    ["", "nonsense", "http://", "https://[::1", "javascript:alert(1)"],
    ids=["empty", "word", "no-host", "bad-ip", "js"],
)
def test_what_is_no_address_has_no_key(url):
    assert page_key(url) is None


@pytest.mark.parametrize(
    ("body", "page", "expected", "taken"),
    [
        # YouTube's comments end in U+FEFF; the share button writes the title and the short link.
        ("PSY - GANGNAM STYLE M/V: http://youtu.be/9bZkp7q19f0\ufeff", VIDEO, "PSY - GANGNAM STYLE M/V:  \ufeff", 1),
        (
            '<a href="http://www.youtube.com/watch?v=9bZkp7q19f0&amp;t=2m19s">2:19</a> best part',
            VIDEO,
            "2:19</a> best part",
            1,
        ),
        (
            "As I said above (https://slowquery.blog/2024/03/partial-indexes/#comment-12), the index helps.",
            POST_URL,
            "As I said above ( ), the index helps.",
            1,
        ),
        (
            "Part two is up: https://slowquery.blog/2024/03/partial-indexes-2/ and the feed is "
            "https://feeds.slowquery.blog/all.xml",
            POST_URL,
            "Part two is up:   and the feed is  ",
            2,
        ),
        ("Same fix on my end, see HTTPS://SlowQuery.Blog/2024/03/ :)", POST_URL, "Same fix on my end, see   :)", 1),
        # "İ" lowers to two characters: the lower-cased text no longer lines up, the other search serves.
        ("İstanbul too: HTTPS://SlowQuery.Blog/2024/03/", POST_URL, "İstanbul too:  ", 1),
    ],
    ids=[
        "youtube-share",
        "anchor-keeps-its-text",
        "reply-to-a-comment-anchor",
        "the-blog-and-its-subdomain",
        "host-in-capitals",
        "host-in-capitals-beside-dotted-capital-i",
    ],
)
def test_links_here_are_taken_out(body, page, expected, taken):
    assert without_links_here(body, page) == (expected, taken)


@pytest.mark.parametrize(
    ("body", "page"),
    [
        ("my new video http://youtu.be/abcdefghijk please watch 9bZkp7q19f0 fans", VIDEO),
        ("cheap pills https://pills.example/slowquery.blog/buy", POST_URL),
        ("cheap pills https://slowquery.blog.pills.example/buy", POST_URL),
        ("write to editor@slowquery.blog for a guest post", POST_URL),
        # Browsers read "\\" as "/": these go to evil.example, whatever Python's urlsplit makes of them.
        ("see https://evil.example\\.slowquery.blog/pills", POST_URL),
        ("https://evil.example\\@youtu.be/9bZkp7q19f0", VIDEO),
        # Only /watch reads ?v= as the video: a channel or a redirect naming it is another page.
        ("Subscribe!! https://www.youtube.com/@SpamChannel?v=9bZkp7q19f0", VIDEO),
        ("https://www.youtube.com/redirect?q=https://evil.example/&v=9bZkp7q19f0", VIDEO),
        # On a shared platform the query can be the page.
        ("https://www.facebook.com/watch/?v=999", "https://www.facebook.com/watch/?v=123"),
        ("PSY M/V: http://youtu.be/9bZkp7q19f0", ""),
        ("PSY M/V: http://youtu.be/9bZkp7q19f0", "not a url"),
        # A video's ID is case-sensitive: another case is another video.
        ("my video http://youtu.be/9BZKP7Q19F0", VIDEO),
        ("write to EDITOR@SLOWQUERY.BLOG for a guest post", POST_URL),
    ],
    ids=[
        "other-video-and-bare-id",
        "blog-name-in-a-path",
        "blog-name-in-a-host",
        "e-mail",
        "backslash-host",
        "backslash-userinfo",
        "channel-naming-the-video",
        "redirect-naming-the-video",
        "other-facebook-video",
        "no-page-url",
        "bad-page-url",
        "video-id-in-another-case",
        "e-mail-in-capitals",
    ],
)
def test_every_other_link_stays(body, page):
    assert without_links_here(body, page) == (body, 0)


@pytest.mark.parametrize(
    ("url", "expected"),
    [(VIDEO, ""), ("https://www.facebook.com/somepage/posts/1", ""), (POST_URL, "slowquery.blog"), ("", "")],
    ids=["video-site", "social-network", "own-blog", "none"],
)
def test_a_shared_platform_is_no_site_of_ours(url, expected):
    assert site_host(url) == expected


@pytest.mark.parametrize(
    "body",
    [
        '<a>Cheap pills at https://evil.example/pills, whatsapp +1 555 0100 href="https://slowquery.blog/"> see</a>',
        '<abbr title="https://evil.example/pills" href="https://slowquery.blog/">pills</abbr>',
        '<a title="https://evil.example/pills" href="https://slowquery.blog/">pills</a>',
    ],
    ids=["text-before-the-href", "not-an-anchor", "another-address-in-the-tag"],
)
def test_taking_out_a_link_here_never_takes_the_text_around_it(body):
    stripped, taken = without_links_here(body, POST_URL)
    assert taken == 1 and "https://slowquery.blog/" not in stripped
    assert "https://evil.example/pills" in stripped


def test_a_hostile_comment_repeating_the_address_costs_a_bounded_scan():
    assert without_links_here("x" * 10_000_000, VIDEO) == ("x" * 10_000_000, 0)
    # 700,000 mentions: the first 64 are looked at, the rest left as they are (a bounded cost, and still
    # a comment the model reads in full).
    body = "https://slowquery.blog/2024/03/partial-indexes/ " * 700_000
    stripped, taken = without_links_here(body, POST_URL)
    assert taken == 64
    assert stripped.count("slowquery.blog") == 700_000 - 64


@pytest.mark.parametrize(
    "body",
    ["\ud800slowquery.blog\udfff", "slowquery.blog" * 3, "((((slowquery.blogger.example))))", "\x00slowquery.blog\x00"],
    ids=["lone-surrogates", "needle-run", "longer-host", "nul"],
)
def test_odd_text_around_the_slug_is_left_alone(body):
    assert without_links_here(body, POST_URL) == (body, 0)


def test_items_read_the_comment_without_its_page_link_and_keep_the_comment():
    share = Comment(body="Love this part http://youtu.be/9bZkp7q19f0", author="a", id="1")
    other = Comment(body="sub to me http://youtu.be/abcdefghijk", author="b", id="2", parent="1")
    thread = Thread(post=Post(url=VIDEO), comments=[share, other])
    first, second = items_from_thread(thread)
    assert (first.body, first.links_here) == ("Love this part  ", 1)
    assert (second.parent_body, second.links_here) == ("Love this part  ", 0)
    assert first.thread_bodies == (first.body, second.body)
    assert second.body == other.body
    assert analyse(first.body).links == ()
    # The comment itself is untouched: a filter writes it back as it came.
    assert share.body == "Love this part http://youtu.be/9bZkp7q19f0"
    alone = item_for_comment(share, post=thread.post, thread=thread)
    assert alone.body == first.body and alone.thread_bodies == (second.body,)


@pytest.mark.parametrize(
    ("link", "to_site", "unvouched", "url_share"),
    [
        (POST_URL, 1.0, 0.0, 0.0),
        ("https://slowquery.blog/2024/04/brin-indexes/", 1.0, 0.0, 0.0),
        ("https://pills.example/buy-now", 0.0, pytest.approx(0.6931, abs=1e-3), None),
    ],
    ids=["this-page", "another-page-of-the-blog", "outside"],
)
def test_a_link_here_counts_as_one_to_this_blog_and_nothing_else(link, to_site, unvouched, url_share):
    comment = Comment(body=f"This saved our queue table, thanks. {link}", id="1")
    post = Post(title="Partial indexes in Postgres", body="Index only the rows you query.", url=POST_URL)
    (item,) = items_from_thread(Thread(post=post, comments=[comment]))
    fitted = LinkFeatures().fit([item])
    values = dict(zip(fitted.get_feature_names_out(), fitted.transform([item])[0], strict=True))
    assert values["link:to_site"] == to_site
    assert values["link:unvouched"] == unvouched
    if url_share is not None:  # the address is not in the text the URL share and the n-grams read
        assert values["link:url_share"] == url_share and values["link:count"] == 0.0
    else:
        assert values["link:url_share"] > 0 and values["link:count"] > 0
