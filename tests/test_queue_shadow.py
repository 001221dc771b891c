"""Shadow mode: a site's checks are answered as fine while the would-be verdict is logged and shown."""

from __future__ import annotations

import re

import akismet
import pytest
from click.testing import CliRunner
from fixtures.service.service_support import BLOG, akismet_client, http, make_app, model_path  # noqa: F401

from moderation.cli import main
from moderation.service.auth import set_password
from moderation.service.keys import new_key, set_shadow
from moderation.service.store import Store

OTHER = "https://other.example/"
SPAM = {
    "comment_content": "Buy replica watches online cheap price, free shipping, best casino bonus, "
    "visit our store now!!!",
    "comment_author": "cheap watches",
    "comment_author_url": "http://cheap-watches-outlet.example",
}


@pytest.fixture
def app(tmp_path, model_path):  # noqa: F811
    return make_app(tmp_path / "service.db", model_path, rate=1000, burst=1000)


@pytest.fixture
def key(app):
    key = new_key(app.store, BLOG)
    set_shadow(app.store, BLOG, True)
    return key


def test_shadow_site_gets_false_without_discard_and_the_verdict_is_logged(app, key):
    with akismet_client(app, key) as client:
        assert client.comment_check(user_ip="203.0.113.9", **SPAM) == akismet.CheckResponse.HAM
    reply = http(app).post("/1.1/comment-check", data={"api_key": key, "blog": BLOG, "user_ip": "203.0.113.9", **SPAM})
    assert reply.text == "false"
    assert "X-akismet-pro-tip" not in reply.headers
    assert reply.headers["X-moderation-shadow-verdict"] in ("spam", "hold")
    record = app.store.get_request(int(reply.headers["X-moderation-request-id"]))
    assert (record["answer"], record["shadow"]) == ("false", 1)
    assert record["verdict"] == reply.headers["X-moderation-shadow-verdict"]


def test_shadow_honeypot_is_answered_false_and_logged_as_spam(app, key):
    data = {"api_key": key, "blog": BLOG, "user_ip": "1.2.3.4", "honeypot_field_name": "hp", "hp": "x", **SPAM}
    reply = http(app).post("/1.1/comment-check", data=data)
    assert reply.text == "false" and "X-akismet-pro-tip" not in reply.headers
    assert app.store.shadow_counts(BLOG)["spam"] == 1


def test_shadow_json_api_says_approve_and_carries_the_real_verdict(app, key):
    client = http(app)
    client.headers["Authorization"] = f"Bearer {key}"
    one = client.post(
        "/api/v1/score", json={"comment": {"body": SPAM["comment_content"], "author_url": "http://x.example"}}
    )
    assert one.json()["verdict"] == "approve" and one.json()["shadow"] is True
    assert one.json()["shadow_verdict"] in ("approve", "hold", "spam")
    batch = client.post("/api/v1/score-batch", json={"comments": [{"body": SPAM["comment_content"]}, {"body": "Nice"}]})
    assert {r["verdict"] for r in batch.json()["results"]} == {"approve"}
    assert app.store.request_page(BLOG, shadow=True, limit=10)[0]["shadow"] == 1


def test_other_sites_are_not_shadowed(app, key):
    other = new_key(app.store, OTHER)
    reply = http(app).post(
        "/1.1/comment-check", data={"api_key": other, "blog": OTHER, "user_ip": "203.0.113.9", **SPAM}
    )
    assert "X-moderation-shadow-verdict" not in reply.headers
    assert app.store.get_request(int(reply.headers["X-moderation-request-id"]))["shadow"] == 0


def test_switching_shadow_off_answers_with_the_verdict_again(app, key):
    set_shadow(app.store, BLOG, False)
    reply = http(app).post("/1.1/comment-check", data={"api_key": key, "blog": BLOG, "user_ip": "203.0.113.9", **SPAM})
    assert reply.text == "true"


def test_the_page_shows_would_have_blocked_and_held(app, key):
    app.store.log_requests(
        [
            {
                "site": BLOG,
                "endpoint": "comment-check",
                "answer": "false",
                "model_version": "m",
                "verdict": v,
                "content": f"shadow {v}",
                "shadow": True,
            }
            for v in ("spam", "spam", "hold", "approve")
        ]
    )
    set_password(app.store, BLOG, "a long queue password")
    client = http(app, host="127.0.0.1:8000")
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    client.post("/login", data={"csrf": csrf, "site": BLOG, "password": "a long queue password"})
    page = client.get("/").text
    assert "would have blocked 2</strong>, <strong>held 1</strong>" in page
    assert "Shadow mode is on" in page
    listed = client.get("/?shadow=1").text
    assert listed.count("shadow: answered fine") == 4


def test_keys_add_shadow_and_keys_shadow_switch(tmp_path):
    db = tmp_path / "m.db"
    runner = CliRunner()
    added = runner.invoke(main, ["keys", "add", BLOG, "--shadow", "--db", str(db)])
    assert added.exit_code == 0
    assert re.fullmatch(r"[0-9a-f]{32}", added.stdout.strip())
    assert Store(db).is_shadow(BLOG)
    off = runner.invoke(main, ["keys", "shadow", "crumbnotes.example", "off", "--db", str(db)])
    assert off.exit_code == 0 and "shadow mode off" in off.output
    assert not Store(db).is_shadow(BLOG)
    bad = runner.invoke(main, ["keys", "shadow", "nobody.example", "on", "--db", str(db)])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
