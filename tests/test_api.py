import pytest

from moderation.api import Moderator
from moderation.formats import read_threads
from moderation.model.thread import Comment, Post, Thread

POST = Post(
    title="Sourdough starter not rising",
    body="If your starter is flat, feed it twice a day with rye flour and keep it near 24C. "
    "Discard half before each feeding so the yeast is not starved.",
)


def test_score_comment_knows_the_post(moderator):
    on_topic = moderator.score_comment(
        "Switching to rye flour and two feedings a day fixed my flat starter, thanks.", post=POST, author="Mia"
    )
    template = moderator.score_comment(
        "Hi! I could have sworn I've been to this web site before but after browsing through many of the "
        "articles I realized it's new to me. I'll be bookmarking it and checking back often!",
        post=POST,
        author="marla fenwick",
        author_url="http://best-seo-deals.example.biz/shop/cheap-links",
    )
    assert template.score > on_topic.score
    assert template.verdict in ("hold", "spam")
    assert on_topic.verdict == "approve"
    assert template.reasons and all(isinstance(r, str) for r in template.reasons)


def test_score_comment_accepts_post_text_or_nothing(moderator):
    with_text = moderator.score_comment("Nice.", post="A post about bread.")
    without = moderator.score_comment("Nice.")
    assert 0.0 <= with_text.score <= 1.0 and 0.0 <= without.score <= 1.0


def test_score_thread_gives_one_decision_per_comment_in_order(moderator, garden_page):
    thread = next(read_threads(garden_page))
    decisions = moderator.score_thread(thread)
    assert [d.position for d in decisions] == [1, 2, 3, 4, 5]
    assert decisions[1].empty and "empty comment (deleted or blank)" in decisions[1].reasons
    spam = decisions[3]
    assert spam.score == max(d.score for d in decisions)


def test_score_threads_batches_without_losing_or_reordering(moderator, small_corpus):
    threads = small_corpus[:4]
    streamed = list(moderator.score_threads(iter(threads), explain=False))
    assert [t.id for t, _ in streamed] == [t.id for t in threads]
    for thread, decisions in streamed:
        assert [d.comment_id for d in decisions] == [c.id for c in thread.comments]
        single = moderator.score_thread(thread, explain=False)
        assert [round(d.score, 9) for d in decisions] == [round(d.score, 9) for d in single]


def test_score_batch_scores_threads_and_lone_comments_as_if_apart(moderator, small_corpus):
    """The service batches checks (lone comments) of many sites with threads: none may see another."""
    from moderation.api import Incoming
    from moderation.model.thread import Comment

    first, second = small_corpus[:2]
    lone = [Incoming(Comment(body=c.body, author=c.author), first.post) for c in second.comments[:3]]
    units = [first, lone[0], second, *lone[1:]]
    together = moderator.score_batch(units)
    apart = [moderator.score_batch([unit])[0] for unit in units]
    assert [[(d.score, d.reasons) for d in ds] for ds in together] == [
        [(d.score, d.reasons) for d in ds] for ds in apart
    ]
    assert [len(ds) for ds in together] == [len(first.comments), 1, len(second.comments), 1, 1]
    alone = moderator.score_comment(lone[0].comment.body, post=first.post, author=lone[0].comment.author)
    assert together[1][0].score == alone.score


def test_load_default_model():
    moderator = Moderator.load()
    assert moderator.version and moderator.thresholds.hold <= moderator.thresholds.spam


@pytest.fixture(scope="module")
def default_moderator():
    return Moderator.load()


def test_shipped_model_on_the_seed_thread(default_moderator, seed_page):
    """Issue 2's acceptance: comment 13 is the highest and spam, all others below hold, 8 reported empty."""
    decisions = default_moderator.score_thread(next(read_threads(seed_page)))
    top = max(decisions, key=lambda d: d.score)
    assert top.position == 13 and top.verdict == "spam"
    others = [d for d in decisions if d.position != 13]
    assert all(d.score < default_moderator.thresholds.hold for d in others), [
        (d.position, round(d.score, 3)) for d in others
    ]
    assert decisions[7].empty and decisions[7].position == 8


def test_shipped_model_on_the_shipped_example(default_moderator):
    import json
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "data" / "example"
    labels = json.loads((example / "labels.json").read_text())
    decisions = default_moderator.score_thread(next(read_threads(example / "thread.txt")))
    flagged = {d.position for d in decisions if d.verdict != "approve"}
    assert flagged == set(labels["spam"])
    assert all(decisions[p - 1].empty for p in labels["empty"])


@pytest.mark.parametrize(
    "body",
    ["Nope.", "Switching to rye flour and two feedings a day fixed my flat starter, thanks.", "@Dana: not what I saw."],
    ids=["short", "on-topic", "reply"],
)
def test_legitimate_comments_scored_without_any_context_are_approved(moderator, body):
    # The HTTP service often sees a permalink it has no post for: no post, no thread.
    assert moderator.score_comment(body, author="Dana Whit").verdict == "approve"


def test_card_reports_figures_without_context(fitted_bundle):
    assert 0.0 <= fitted_bundle.card["metrics_without_context"]["roc_auc"] <= 1.0


BIKE_POST = Post(
    title="City council approves new bike lanes on Main Street",
    body="The council voted 5-2 on Tuesday to add protected bike lanes along Main Street, removing 40 parking "
    "spaces. Business owners objected, saying customers need parking. The project starts in May.",
)


@pytest.mark.parametrize("with_post", [True, False], ids=["post-known", "post-unknown"])
@pytest.mark.parametrize(
    "body",
    [
        "Umm... Mission Accomplished?",
        "@Argon: Leading from behind.",
        "This is the dumbest take I've read all week.",
        "Typical. Another million wasted while the potholes go unfixed.",
        "lol",
    ],
    ids=["joke", "at-reply", "rude", "grumpy", "lol"],
)
def test_shipped_model_leaves_short_rude_and_joking_replies_alone(default_moderator, body, with_post):
    """The mission's hard legitimate cases, scored one at a time as the HTTP service scores them."""
    decision = default_moderator.score_comment(body, post=BIKE_POST if with_post else None, author="Argon")
    assert decision.verdict == "approve", (decision.score, decision.reasons)


# ------------------------------------------------------------ issue 8: false-positive discipline of the shipped model

PANDAS_POST = Post(
    title="Reading a CSV file in pandas without losing leading zeros",
    url="https://pydata-notes.example/2024/03/pandas-leading-zeros/",
    body="When you read a CSV of postcodes or account numbers with pandas.read_csv, the leading zeros vanish "
    "because pandas guesses the column is an integer. Pass dtype=str for those columns, or use the converters "
    "argument. This post walks through dtype, converters and the new pyarrow backend, and shows how to check "
    "a DataFrame's dtypes after loading.",
)


@pytest.mark.parametrize(
    ("body", "worst"),
    [
        ("Thanks, this helped!", "hold"),
        ("Great post, thank you.", "hold"),
        (
            "The pandas docs cover this too: https://pandas.pydata.org/docs/reference/api/pandas.read_csv.html "
            "(see the dtype parameter).",
            "approve",
        ),
        (
            "I hit the same bug with pyarrow, there's an open issue: https://github.com/pandas-dev/pandas/issues/12345",
            "approve",
        ),
        (
            "If you need this a lot, the csvkit package does it from the shell: https://pypi.org/project/csvkit/",
            "approve",
        ),
        (
            "I wrote up how I handle leading zeros in Excel exports before pandas reads them: "
            "https://kestrel-notes.example/2024/excel-zeros-pandas/ - dtype=str saved me too.",
            "approve",
        ),
        # A link to the blog itself must never make it spam (issue 8). Held (0.33) as mostly URL and
        # "follow" by an earlier model; approved (0.06) since links to the blog are counted, not read as
        # text (model/pagelinks.py). A moderator may still see it.
        ("See my follow-up question: https://pydata-notes.example/2024/04/pandas-dates/", "hold"),
        (
            "Danke für den Beitrag! Genau das Problem mit den führenden Nullen hatte ich gestern bei Postleitzahlen.",
            "hold",
        ),
        ("Muy útil, gracias. Yo usaba converters pero dtype=str es más sencillo.", "hold"),
    ],
    ids=[
        "thanks",
        "great-post",
        "docs-link",
        "code-host",
        "package-index",
        "own-post",
        "blog-own-site",
        "german",
        "spanish",
    ],
)
def test_readers_with_links_thanks_or_another_language_are_not_spam(default_moderator, body, worst):
    decision = default_moderator.score_comment(body, post=PANDAS_POST, author="Sam Ortiz")
    allowed = ("approve",) if worst == "approve" else ("approve", "hold")
    assert decision.verdict in allowed, (decision.score, decision.reasons)
    assert not decision.blatant


def test_a_pingback_from_a_page_that_links_the_post_is_not_spam(default_moderator):
    body = (
        "<strong>Loading CSVs without surprises</strong> [...] As pydata-notes explains in <a href="
        "'https://pydata-notes.example/2024/03/pandas-leading-zeros/'>its post on leading zeros</a>, "
        "pass dtype=str [...]"
    )
    decision = default_moderator.score_comment(
        body,
        post=PANDAS_POST,
        author="Weekly Python Roundup",
        author_url="https://roundup.example/2024/03/week-12/",
        comment_type="pingback",
    )
    assert decision.verdict == "approve", (decision.score, decision.reasons)


@pytest.mark.parametrize(
    ("body", "signal"),
    [
        (
            "Very informative. For any issue call QuickBooks support phone number +1-888-555-0199 QuickBooks customer "
            "service number",
            "phone number",
        ),
        ("I withdrew $3,000 in a week thanks to @trader_mike on Telegram, message him now", "@handle"),
    ],
    ids=["support-number", "earnings-handle"],
)
def test_link_less_commercial_spam_is_blatant_and_says_why(default_moderator, body, signal):
    decision = default_moderator.score_comment(body, post=PANDAS_POST, author="Kevin")
    assert decision.verdict == "spam" and decision.blatant, (decision.score, decision.reasons)
    assert any(signal in reason for reason in decision.reasons), decision.reasons


def test_spam_that_answers_another_commenter_is_never_discarded(default_moderator):
    """A reply to someone in the thread is a sign of a real reader: at worst spam, never discarded unseen."""
    thread = Thread(post=PANDAS_POST, comments=[Comment(body="Does dtype=str slow read_csv down?", author="Dana Whit")])
    thread.comments[0].position = 1
    decision = default_moderator.score_comment(
        "@Dana Whit: I withdrew $3,000 in a week thanks to @trader_mike on Telegram, message him now on "
        "WhatsApp +1 555 0199 2211",
        post=PANDAS_POST,
        author="Kevin",
        thread=thread,
    )
    # Past the discard score, so only the reply keeps it from being discarded.
    assert decision.verdict == "spam" and decision.score >= default_moderator.discard_at(), decision.score
    assert not decision.blatant


def test_a_long_thread_is_scored_in_slices_with_identical_decisions(moderator, small_corpus, monkeypatch):
    import moderation.api

    thread = max(small_corpus, key=lambda t: len(t.comments))
    assert len(thread.comments) > 7
    whole = moderator.score_thread(thread)
    monkeypatch.setattr(moderation.api, "BATCH_COMMENTS", 3)
    sliced = moderator.score_thread(thread)
    assert [d.to_dict() for d in sliced] == [d.to_dict() for d in whole]


# --------------------------------------------------------------------------------------------------
# The garbage collector is paused while a batch is scored, and restored as it was.


@pytest.fixture
def collector():
    import gc

    was = gc.isenabled()
    yield gc
    (gc.enable if was else gc.disable)()


def test_a_threads_items_are_made_with_the_collector_paused(collector, moderator, monkeypatch):
    import moderation.api as api

    collector.enable()
    seen = []
    original = api.items_from_thread

    def items_from_thread(thread):
        seen.append(collector.isenabled())
        return original(thread)

    monkeypatch.setattr(api, "items_from_thread", items_from_thread)
    thread = Thread(post=Post(body="A post about bread."), comments=[Comment(body="Rye or wheat?", author="Ann")])
    [(_, decisions)] = list(moderator.score_threads([thread]))
    assert seen == [False] and len(decisions) == 1
    assert collector.isenabled() and api._gc_pauses == 0


@pytest.mark.parametrize("host_enabled", [True, False], ids=["host collects", "host switched it off"])
def test_scoring_pauses_the_collector_and_restores_it(collector, moderator, host_enabled):
    import moderation.api as api

    (collector.enable if host_enabled else collector.disable)()
    seen = []
    original = moderator.model.features

    def features(items):
        seen.append(collector.isenabled())
        return original(items)

    moderator.model.features = features
    try:
        moderator.score_comment("Great post, thanks!", post="A post about bread.")
    finally:
        del moderator.model.features
    assert seen == [False]
    assert collector.isenabled() is host_enabled and api._gc_pauses == 0


def test_nested_and_failing_pauses_restore_the_collector_once(collector):
    import moderation.api as api

    collector.enable()
    with api._gc_paused():
        with pytest.raises(RuntimeError), api._gc_paused():
            raise RuntimeError("a batch failed")
        assert not collector.isenabled()  # the outer batch still runs
    assert collector.isenabled() and api._gc_pauses == 0


def test_concurrent_batches_restore_the_collector_when_the_last_ends(collector):
    import threading

    import moderation.api as api

    collector.enable()
    inside, release = threading.Barrier(3), threading.Event()

    def batch():
        with api._gc_paused():
            inside.wait()
            release.wait()

    workers = [threading.Thread(target=batch) for _ in range(2)]
    for worker in workers:
        worker.start()
    inside.wait()
    assert not collector.isenabled() and api._gc_pauses == 2
    release.set()
    for worker in workers:
        worker.join()
    assert collector.isenabled() and api._gc_pauses == 0


# --------------------------------------------------------------------------------------------------
# A batch of whole threads keeps its texts' analyses for itself (text.analyses_scope).


def _threads(count: int) -> list[Thread]:
    return [
        Thread(
            post=Post(body=f"A post about rye bread, number {number}."),
            comments=[
                Comment(body=f"Rye or wheat for loaf {number}?", author="Ann"),
                Comment(body=f"Rye, and rest loaf {number} a day. http://bread.example/{number}", author="Bo"),
                Comment(body="", author="Cy"),
            ],
        )
        for number in range(count)
    ]


def test_a_batch_of_threads_leaves_its_analyses_out_of_the_shared_cache(moderator):
    from moderation.model import text

    text.clear_cache()
    list(moderator.score_threads(_threads(3)))
    assert text._cached.cache_info().currsize == 0
    assert text._SCOPE.get() is None


def test_a_check_keeps_its_analysis_in_the_shared_cache(moderator):
    # A flood of one text finds it there: checks are not scoped.
    from moderation.model import text

    text.clear_cache()
    body = "Great post, thanks for the rye tips!"
    moderator.score_comment(body, post="A post about bread.")
    assert text._cached.cache_info().currsize >= 1
    moderator.score_comment(body, post="A post about bread.")
    assert text._cached.cache_info().hits >= 1


def test_decisions_are_the_same_with_and_without_the_scope(moderator, monkeypatch):
    import contextlib

    import moderation.api as api
    from moderation.model import text

    threads = _threads(4)
    text.clear_cache()
    scoped = [d for _, decisions in moderator.score_threads(threads) for d in decisions]
    monkeypatch.setattr(api, "analyses_scope", contextlib.nullcontext)
    text.clear_cache()
    shared = [d for _, decisions in moderator.score_threads(threads) for d in decisions]
    assert scoped == shared
    assert text._cached.cache_info().currsize > 0  # the second run did use the shared cache


def test_missing_fields_given_as_none_read_as_empty(moderator):
    """A blog's database gives NULL for a reader's missing URL or e-mail: None is "", never a traceback."""
    post = Post(title="Pruning roses", body=None, url=None, author=None)
    comment = Comment(body="When do you prune climbers?", author=None, id=None, author_url=None, author_email=None)
    assert (comment.author, comment.author_url, comment.author_email, comment.type) == ("", "", "", "comment")
    [decision] = moderator.score_thread(Thread(post=post, comments=[comment]))
    expected = moderator.score_thread(
        Thread(post=Post(title="Pruning roses"), comments=[Comment(body="When do you prune climbers?")])
    )[0]
    assert decision.score == expected.score and decision.verdict == expected.verdict


@pytest.mark.parametrize(
    ("body", "verdict"),
    [
        ("Nice site! [url=http://payday-loans-fast.com]payday loans[/url]", "spam"),
        ("great post [url]http://replica-watches-sale.com[/url]", "spam"),
        (
            "Pass dtype=str, see the docs: [read_csv](https://pandas.pydata.org/docs/reference/api/pandas.read_csv.html)",
            "approve",
        ),
    ],
    ids=["bbcode-link-drop", "bbcode-wrapped-link", "reader-markdown-docs-link"],
)
def test_links_in_forum_markup_are_read_as_links(default_moderator, body, verdict):
    """A bot's BBCode link was no link at all before: "great post [url]...[/url]" was approved at 0.10."""
    decision = default_moderator.score_comment(body, post=PANDAS_POST, author="Kim")
    assert decision.verdict == verdict, (decision.score, decision.reasons)


def test_integer_ids_are_text_and_other_values_are_refused_by_name():
    reply = Comment(body="Agreed.", id=7, parent=0, author=None, type="")
    thread = Thread(post=None, comments=[Comment(body="First!", id=0), reply])
    assert (reply.id, reply.parent, reply.type, thread.comments[0].id) == ("7", "0", "comment", "0")
    assert thread.by_id()[reply.parent] is thread.comments[0]
    with pytest.raises(TypeError, match=r"Comment\.body must be text, not bytes"):
        Comment(body=b"spam")
    with pytest.raises(TypeError, match=r"Post\.url must be text, not float"):
        Post(url=1.5)
