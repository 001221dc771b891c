import pytest

from moderation.api import Moderator
from moderation.formats import read_threads
from moderation.thread import Post

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
