"""One scoring path (issue 10 item 1): every route from a comment to an answer gives the same decision,
and ``discard`` comes from ``Decision.blatant`` alone (issue 8), through the real HTTP app."""

from __future__ import annotations

import pytest
from fixtures.service.service_support import BLOG, http, make_app, model_path  # noqa: F401

from moderation.api import Moderator
from moderation.model.decisions import EMPTY_REASON
from moderation.model.thread import Comment, Post, Thread
from moderation.service.keys import new_key

PERMALINK = "https://crumbnotes.example/2025/rye"
POST = Post(
    title="Rye loaf hydration",
    body="A dense rye loaf needs a long rest: I bake medium rye at 80% hydration, rest it a full day before "
    "slicing, and feed the rye sourdough starter twice the day before.",
    url=PERMALINK,
)


@pytest.fixture
def app(tmp_path, model_path):  # noqa: F811
    return make_app(tmp_path / "service.db", model_path, rate=0)


@pytest.fixture
def key(app):
    return new_key(app.store, BLOG)


@pytest.fixture
def api(app, key):
    client = http(app)
    client.headers["Authorization"] = f"Bearer {key}"
    assert client.post("/api/v1/posts", json={"url": PERMALINK, "title": POST.title, "body": POST.body}).json() == {
        "stored": 1
    }
    return client


@pytest.fixture(scope="module")
def moderator(model_path):  # noqa: F811
    return Moderator.load(model_path)


def _local(moderator: Moderator, comment: dict):
    """The decision ``Moderator.score_threads`` gives the comment as a one-comment thread under POST."""
    fields = {"author": comment.get("author", ""), "author_url": comment.get("author_url", "")}
    [(_, [decision])] = moderator.score_threads([Thread(post=POST, comments=[Comment(body=comment["body"], **fields)])])
    return decision


def _check(app, key, comment: dict, **fields):
    form = {
        "api_key": key,
        "blog": BLOG,
        "user_ip": "203.0.113.9",
        "permalink": PERMALINK,
        "comment_content": comment["body"],
        "comment_author": comment.get("author", ""),
        "comment_author_url": comment.get("author_url", ""),
        **fields,
    }
    return http(app).post("/1.1/comment-check", data=form)


COMMENTS = [
    {
        "body": "Buy replica watches online cheap price, free shipping, best casino bonus, visit our store now!!!",
        "author": "cheap watches",
        "author_url": "http://cheap-watches-outlet.example",
    },
    {
        "body": "I rested the rye loaf a full day like you said and the crumb was finally not gummy.",
        "author": "Grete",
    },
    {"body": "@Lena: medium rye, yes; dark rye needs even more water.", "author": "Ruben"},
    {"body": "   ", "author": "Rita M."},
]


@pytest.mark.parametrize("comment", COMMENTS, ids=["spam", "reader", "reply", "empty"])
def test_check_score_batch_and_moderator_give_one_decision(app, key, api, moderator, comment):
    check = _check(app, key, comment)
    one = api.post("/api/v1/score", json={"permalink": PERMALINK, "comment": comment}).json()
    batch = api.post("/api/v1/score-batch", json={"permalink": PERMALINK, "comments": [comment]}).json()["results"][0]
    local = _local(moderator, comment)
    scores = {
        "comment-check": check.headers["X-moderation-score"],
        "score": f"{one['score']:.4f}",
        "score-batch": f"{batch['score']:.4f}",
        "score_threads": f"{local.score:.4f}",
    }
    assert len(set(scores.values())) == 1, scores
    assert {check.headers["X-moderation-verdict"], one["verdict"], batch["verdict"]} == {local.verdict}
    assert one["reasons"] == batch["reasons"] == local.reasons
    logged = app.store.get_request(int(check.headers["X-moderation-request-id"]))
    assert (logged["verdict"], logged["reasons"]) == (local.verdict, local.reasons)
    assert (EMPTY_REASON in local.reasons) is (not comment["body"].strip())


# Readers who link their own write-up or a page on the post's subject, from a website that looks like a
# shop: the small test model scores several of them past the discard score (issue 8 saw 0.9995 for a
# reader's link to their own build post), but a relevant link is a sign of a real reader.
READERS_WITH_LINKS = [
    ("Best rye loaf recipe! Check my rye loaf build at https://grete-bakes.example/rye-loaf-hydration now!!!", "Grete"),
    (
        "Great rye loaf post!!! Visit my rye bakery blog for the best rye loaf hydration tips "
        "https://grete-bakes.example/rye-loaf",
        "Grete Bakes Shop",
    ),
    (
        "Nice article, cheap rye flour online best price free shipping: https://grete-bakes.example/rye-loaf-hydration",
        "",
    ),
    ("Thanks! My rye loaf: https://grete-bakes.example/rye-loaf-hydration", ""),
]
SHOP_URLS = ["https://grete-bakes.example/shop/rye-flour-buy-online", "http://rye-deals.example"]


def test_reader_with_a_relevant_link_under_a_known_post_is_never_discarded(app, key, api):
    discard_at = app.models.current(BLOG).discard_at()
    scores = []
    for body, author in READERS_WITH_LINKS:
        for author_url in SHOP_URLS:
            reply = _check(
                app, key, {"body": body, "author": author or "best rye flour deals", "author_url": author_url}
            )
            logged = app.store.get_request(int(reply.headers["X-moderation-request-id"]))
            assert logged["post_known"] is True
            assert "X-akismet-pro-tip" not in reply.headers, (body, reply.headers["X-moderation-score"])
            scores.append(float(reply.headers["X-moderation-score"]))
    # The cases bite: some scored where a score cut alone (the old rule) would have discarded them.
    assert max(scores) >= discard_at, scores


def test_blatant_spam_is_discarded(app, key, api, moderator):
    reply = _check(app, key, COMMENTS[0])
    assert reply.text == "true"
    assert (reply.headers.get("X-akismet-pro-tip") == "discard") is _local(moderator, COMMENTS[0]).blatant is True


@pytest.mark.parametrize(
    ("fields", "answer", "verdict", "discard"),
    [
        ({"comment_author": "akismet-guaranteed-spam"}, "true", "spam", False),
        ({"user_role": "administrator"}, "false", "approve", False),
        ({"honeypot_field_name": "hp", "hp": "http://bot.example"}, "true", "spam", True),
    ],
    ids=["guaranteed-spam", "administrator", "honeypot"],
)
def test_fixed_answers_carry_every_moderation_header_and_are_logged(app, key, fields, answer, verdict, discard):
    reply = _check(app, key, {"body": "Nice loaf"}, **fields)
    assert reply.text == answer
    assert reply.headers["X-moderation-verdict"] == verdict
    assert reply.headers["X-moderation-score"] == ("1.0000" if verdict == "spam" else "0.0000")
    assert (reply.headers.get("X-akismet-pro-tip") == "discard") is discard
    logged = app.store.get_request(int(reply.headers["X-moderation-request-id"]))
    assert (logged["answer"], logged["verdict"], logged["model_version"]) == (
        answer,
        verdict,
        reply.headers["X-moderation-model"],
    )


def test_a_batch_is_scored_in_the_request_thread_not_behind_the_checks(app, api, monkeypatch):
    """/score-batch takes up to 1,000 comments; queued on the shared scoring thread it would hold up
    every site's checks. It runs the same job code (model, log rows) in its own thread."""
    queued = []
    monkeypatch.setattr(app.scorer, "score", queued.append)
    reply = api.post("/api/v1/score-batch", json={"permalink": PERMALINK, "comments": [{"body": "Nice loaf"}] * 3})
    assert reply.status_code == 200 and len(reply.json()["results"]) == 3
    assert queued == []
    assert app.store.count_requests() == 3
