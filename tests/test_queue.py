"""The moderation queue's pages, in-process: login, sessions, CSRF, filters, paging, actions, undo,
retrain, models and rollback, and one site never seeing another's."""

from __future__ import annotations

import re
import time

import pytest
from click.testing import CliRunner
from fixtures.service.service_support import BLOG, HERE, http, make_app, model_path  # noqa: F401

from moderation.cli import main
from moderation.service.auth import hash_password, set_password, verify_password
from moderation.service.keys import new_key

OTHER = "https://other.example/"
PASSWORD = "a long queue password"
OTHER_PASSWORD = "the other site's password"


@pytest.fixture
def app(tmp_path, model_path):  # noqa: F811
    app = make_app(tmp_path / "service.db", model_path, rate=1000, burst=1000)
    app.queue.options.data = [HERE]
    app.queue.options.models_dir = tmp_path / "models"
    return app


@pytest.fixture
def sites(app):
    keys = {BLOG: new_key(app.store, BLOG), OTHER: new_key(app.store, OTHER)}
    set_password(app.store, BLOG, PASSWORD)
    set_password(app.store, OTHER, OTHER_PASSWORD)
    return keys


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def login(app, site: str = BLOG, password: str = PASSWORD):
    client = http(app, host="127.0.0.1:8000")
    form = client.get("/login")
    reply = client.post("/login", data={"csrf": csrf_of(form.text), "site": site, "password": password})
    return client, reply


@pytest.fixture
def owner(app, sites):
    client, reply = login(app)
    assert reply.status_code == 303
    return client


def log(app, site=BLOG, n=1, **fields):
    row = {
        "site": site,
        "endpoint": "comment-check",
        "answer": "true",
        "model_version": "m1",
        "permalink": "https://crumbnotes.example/rye",
        "author": "Lena",
        "content": "A comment",
        "score": 0.5,
        "verdict": "hold",
        "reasons": ["contains 2 link(s)"],
    }
    row.update(fields)
    return app.store.log_requests([dict(row) for _ in range(n)])


def rows_of(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="r(\d+)"', page)]


# -- passwords and login ---------------------------------------------------------------------------


def test_password_is_stored_as_scrypt_with_its_parameters(app, sites):
    stored = app.store.password_hash(BLOG)
    assert stored.startswith("scrypt$16384$8$1$")
    assert PASSWORD not in stored
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + "x", stored)
    assert hash_password(PASSWORD) != hash_password(PASSWORD)  # salted


def test_keys_passwd_from_stdin(tmp_path):
    db = tmp_path / "m.db"
    runner = CliRunner()
    assert runner.invoke(main, ["keys", "add", BLOG, "--db", str(db)]).exit_code == 0
    result = runner.invoke(main, ["keys", "passwd", BLOG, "--password-stdin", "--db", str(db)], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    from moderation.service.store import Store

    assert verify_password(PASSWORD, Store(db).password_hash(BLOG))


def test_keys_passwd_prompts_twice(tmp_path):
    db = tmp_path / "m.db"
    runner = CliRunner()
    runner.invoke(main, ["keys", "add", BLOG, "--db", str(db)])
    result = runner.invoke(main, ["keys", "passwd", BLOG, "--db", str(db)], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("site", "password", "message"),
    [
        (BLOG, "short", "at least"),
        ("https://nobody.example/", PASSWORD, "no site"),
    ],
    ids=["too-short", "unknown-site"],
)
def test_keys_passwd_refusals_are_one_line(tmp_path, site, password, message):
    db = tmp_path / "m.db"
    runner = CliRunner()
    runner.invoke(main, ["keys", "add", BLOG, "--db", str(db)])
    result = runner.invoke(main, ["keys", "passwd", site, "--password-stdin", "--db", str(db)], input=password)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_login_sets_a_strict_httponly_session_cookie(app, sites):
    client, reply = login(app)
    assert reply.status_code == 303 and reply.headers["location"] == "/"
    cookie = next(c for c in reply.headers.get_list("set-cookie") if c.startswith("moderation_session="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    # Only a hash of the token is stored.
    stored = app.store._connection().execute("SELECT token_hash FROM sessions").fetchall()
    assert token not in [row[0] for row in stored]
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("site", "password"),
    [(BLOG, "wrong password!"), (BLOG, OTHER_PASSWORD), ("https://nobody.example/", PASSWORD)],
    ids=["wrong", "another-sites-password", "unknown-site"],
)
def test_wrong_login_is_refused(app, sites, site, password):
    client, reply = login(app, site, password)
    assert reply.status_code == 403
    assert "Wrong site or password" in reply.text
    assert client.get("/").status_code == 303


def test_login_without_its_csrf_token_is_refused(app, sites):
    client = http(app, host="127.0.0.1:8000")
    client.get("/login")
    reply = client.post("/login", data={"site": BLOG, "password": PASSWORD})
    assert reply.status_code == 403
    assert "moderation_session" not in reply.headers.get("set-cookie", "")


def test_the_page_needs_a_session_and_an_api_key_is_not_one(app, sites):
    client = http(app, host="127.0.0.1:8000")
    assert client.get("/").headers["location"] == "/login"
    client.headers["Authorization"] = f"Bearer {sites[BLOG]}"
    assert client.get("/").status_code == 303


def test_logout_ends_the_session(owner):
    page = owner.get("/")
    assert owner.post("/logout", data={"csrf": csrf_of(page.text)}).status_code == 303
    assert owner.get("/").status_code == 303


def test_a_new_password_ends_open_sessions(app, owner):
    set_password(app.store, BLOG, "a brand new password")
    assert owner.get("/").status_code == 303


def test_revoking_the_sites_keys_ends_its_sessions(app, owner):
    from moderation.service.keys import remove_keys

    remove_keys(app.store, BLOG)
    assert owner.get("/").status_code == 303


def test_pages_forbid_framing_and_inline_script(owner):
    reply = owner.get("/")
    policy = reply.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert reply.headers["content-type"].startswith("text/html")


# -- the list ----------------------------------------------------------------------------------------


def test_newest_first_with_every_column(app, owner):
    first = log(app, author="Older", content="first one")[0]
    second = log(app, author="Newer", content="second one", verdict="spam", score=0.97)[0]
    page = owner.get("/").text
    assert rows_of(page) == [second, first]
    for text in (
        "Newer",
        "second one",
        "https://crumbnotes.example/rye",
        "0.97",
        "spam",
        "contains 2 link(s)",
        "model",
    ):
        assert text in page


def test_comment_html_is_shown_as_text(app, owner):
    log(app, author="<b>bold</b>", content='<script>alert("x")</script><img src=x onerror=alert(1)>')
    page = owner.get("/").text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("verdict=spam", ["spam-links"]),
        ("family=contact", ["held-contact"]),
        ("family=links", ["spam-links", "approved-other-post"]),
        ("post=https://crumbnotes.example/other/", ["approved-other-post"]),
        ("q=WHATSAPP", ["held-contact"]),
        ("verdict=approve&family=links", ["approved-other-post"]),
    ],
    ids=["verdict", "family", "family-two", "post-normalised", "text-any-case", "combined"],
)
def test_filters(app, owner, query, expected):
    log(app, content="spam-links", verdict="spam", reasons=["contains 3 link(s)"])
    log(app, content="held-contact write me on whatsapp", verdict="hold", reasons=["contains a phone number"])
    log(
        app,
        content="approved-other-post",
        verdict="approve",
        permalink="https://crumbnotes.example/other",
        reasons=["contains 1 link(s)"],
    )
    page = owner.get(f"/?{query}").text
    shown = re.findall(r'<td class="comment">([a-z-]+)', page)
    assert sorted(shown) == sorted(expected)


def test_date_range_filter(app, owner):
    old = log(app, content="old")[0]
    new = log(app, content="new")[0]
    app.store._connection().execute(
        "UPDATE requests SET ts = ? WHERE id = ?", (time.mktime((2024, 3, 5, 12, 0, 0, 0, 0, 0)), old)
    )
    assert rows_of(owner.get("/?since=2024-03-05&until=2024-03-05").text) == [old]
    assert rows_of(owner.get("/?since=2024-03-06").text) == [new]


def test_keyset_paging_walks_every_row_once(app, owner):
    ids = log(app, n=120)
    seen, url = [], "/"
    while url:
        page = owner.get(url).text
        seen += rows_of(page)
        older = re.search(r'<a href="(/\?[^"]*)" rel="next">', page)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert seen == sorted(ids, reverse=True)


@pytest.mark.parametrize(
    "query",
    [
        "verdict=<x>&family=nope&before=abc&since=2024-13-45&q=" + "x" * 5000,
        "&".join(f"f{i}=1" for i in range(50)),
        "before=99999999999999999999999&until=0000-00-00",
        "q=%ff%fe&post=%00",
    ],
    ids=["junk-values", "too-many-fields", "huge-numbers", "bad-bytes"],
)
def test_junk_filters_are_ignored_not_errors(owner, app, query):
    log(app)
    reply = owner.get("/?" + query)
    assert reply.status_code == 200


def test_an_action_with_a_junk_back_field_still_redirects_home(app, owner):
    rid = log(app)[0]
    back = "&".join(f"f{i}=1" for i in range(50))
    reply = owner.post("/queue/action", data={"csrf": csrf_of(owner.get("/").text), "row": f"ham:{rid}", "back": back})
    assert reply.status_code == 303 and reply.headers["location"].startswith("/?n=ham")


# -- actions -----------------------------------------------------------------------------------------


def test_not_spam_stores_a_correction_and_undo_removes_it(app, owner):
    rid = log(app, content="I am a real reader", author="Mia")[0]
    page = owner.get("/").text
    reply = owner.post("/queue/action", data={"csrf": csrf_of(page), "row": f"ham:{rid}", "back": ""})
    assert reply.status_code == 303
    (correction,) = app.store.corrections(sites=[BLOG])
    assert (correction.label, correction.content, correction.author) == ("ham", "I am a real reader", "Mia")
    page = owner.get(reply.headers["location"]).text
    assert "moderator: not spam" in page and "Marked 1 as not spam" in page
    undo = re.search(r'name="undo" value="(\d+)"', page).group(1)
    owner.post("/queue/action", data={"csrf": csrf_of(page), "undo": undo})
    assert app.store.corrections(sites=[BLOG]) == []
    assert "moderator:" not in owner.get("/").text


def test_a_selection_is_marked_at_once(app, owner):
    ids = log(app, n=3, content="spammy")
    page = owner.get("/").text
    owner.post("/queue/action", data={"csrf": csrf_of(page), "label": "spam", "id": [str(i) for i in ids[:2]]})
    assert [c.label for c in app.store.corrections(sites=[BLOG])] == ["spam", "spam"]


def test_an_action_keeps_the_filters(app, owner):
    rid = log(app, verdict="hold")[0]
    page = owner.get("/?verdict=hold").text
    reply = owner.post("/queue/action", data={"csrf": csrf_of(page), "row": f"ham:{rid}", "back": "verdict=hold"})
    assert reply.headers["location"].startswith("/?verdict=hold&n=ham")


@pytest.mark.parametrize("back", ["https://evil.example/", "//evil.example", "verdict=hold&next=https://evil"], ids=str)
def test_back_cannot_redirect_elsewhere(app, owner, back):
    rid = log(app)[0]
    page = owner.get("/").text
    reply = owner.post("/queue/action", data={"csrf": csrf_of(page), "row": f"ham:{rid}", "back": back})
    assert reply.headers["location"].startswith("/?")
    assert "evil" not in reply.headers["location"]


@pytest.mark.parametrize("token", [None, "", "forged"], ids=["missing", "empty", "forged"])
def test_forms_without_the_csrf_token_are_refused(app, owner, token):
    rid = log(app)[0]
    data = {"row": f"spam:{rid}"}
    if token is not None:
        data["csrf"] = token
    reply = owner.post("/queue/action", data=data)
    assert reply.status_code == 403
    assert app.store.corrections() == []


# -- one site never sees another ---------------------------------------------------------------------


def test_another_sites_session_sees_and_touches_nothing(app, sites, owner):
    mine = log(app, content="crumbnotes private comment")[0]
    intruder, reply = login(app, OTHER, OTHER_PASSWORD)
    assert reply.status_code == 303
    page = intruder.get("/").text
    assert "crumbnotes private comment" not in page and rows_of(page) == []
    assert rows_of(intruder.get(f"/?before={mine + 1}").text) == []
    intruder.post("/queue/action", data={"csrf": csrf_of(page), "row": f"spam:{mine}"})
    intruder.post("/queue/action", data={"csrf": csrf_of(page), "label": "spam", "id": str(mine)})
    assert app.store.corrections() == []
    # Nor undo this site's action.
    owner_page = owner.get("/").text
    owner.post("/queue/action", data={"csrf": csrf_of(owner_page), "row": f"ham:{mine}"})
    action = app.store.last_actions(BLOG)[0]["id"]
    intruder.post("/queue/action", data={"csrf": csrf_of(page), "undo": str(action)})
    assert len(app.store.corrections(sites=[BLOG])) == 1


def test_one_sites_csrf_token_does_not_work_in_anothers_session(app, sites, owner):
    rid = log(app, site=OTHER)[0]
    intruder, _ = login(app, OTHER, OTHER_PASSWORD)
    reply = intruder.post("/queue/action", data={"csrf": csrf_of(owner.get("/").text), "row": f"spam:{rid}"})
    assert reply.status_code == 403


# -- retrain and models ------------------------------------------------------------------------------


def wait_for_report(client, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page = client.get("/queue/retrain").text
        if 'id="retrain-report"' in page:
            return page
        time.sleep(0.2)
    raise AssertionError("retrain did not finish")


def test_retrain_without_enough_corrections_says_why(app, owner):
    page = owner.get("/queue/retrain").text
    owner.post("/queue/retrain", data={"csrf": csrf_of(page)})
    report = wait_for_report(owner)
    assert "Not retrained" in report and "held-out corrections" in report


def test_retrain_shows_the_promotion_report_and_rollback_restores(app, owner):
    spam = log(app, n=3, content="Cheap replica watches, casino bonus, visit http://x.example now")
    ham = log(app, n=3, content="The rye loaf rested a day and sliced cleanly, thanks for the tip")
    page = owner.get("/").text
    owner.post("/queue/action", data={"csrf": csrf_of(page), "label": "spam", "id": [str(i) for i in spam]})
    owner.post("/queue/action", data={"csrf": csrf_of(page), "label": "ham", "id": [str(i) for i in ham]})
    owner.post("/queue/retrain", data={"csrf": csrf_of(page)})
    report = wait_for_report(owner)
    assert "Held-out corrections" in report and ("Promoted" in report or "Not promoted" in report)
    versions = [m for m in app.store.list_models(site=BLOG)]
    assert len(versions) == 1
    models = owner.get("/queue/models").text
    assert versions[0].version in models
    base = [m.version for m in app.store.list_models(site="")]
    reply = owner.post("/queue/models", data={"csrf": csrf_of(models), "version": base[0]})
    assert reply.status_code == 303
    assert app.store.active_model(BLOG) == base[0]
    assert app.store.active_model(OTHER) is None


def test_rollback_to_another_sites_model_is_refused(app, sites, owner):
    app.store.add_model("other-v1", "/nonexistent", status="active", metrics={}, site=OTHER)
    page = owner.get("/queue/models").text
    assert "other-v1" not in page
    reply = owner.post("/queue/models", data={"csrf": csrf_of(page), "version": "other-v1"})
    assert reply.status_code == 404
    assert app.store.active_model(BLOG) is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [("%", ["100% sure"]), ("_", ["a_b"]), ("\\", ["back\\slash"]), ("PLAIN", ["plain"])],
    ids=["percent", "underscore", "backslash", "case"],
)
def test_text_search_is_literal_not_a_pattern(app, query, expected):
    for content in ("100% sure", "a_b", "plain", "back\\slash"):
        log(app, content=content)
    assert [r["content"] for r in app.store.request_page(BLOG, text=query)] == expected


def test_an_older_database_is_migrated_with_families_and_shadow_flags(tmp_path):
    import sqlite3

    from test_service_store import _V1_SCHEMA

    from moderation.service.store import Store

    db = tmp_path / "v1.db"
    with sqlite3.connect(db) as old:
        old.executescript(_V1_SCHEMA)
        old.execute(
            "INSERT INTO requests (ts, site, endpoint, content, verdict, answer, model_version, reasons)"
            " VALUES (1, ?, 'comment-check', 'call me', 'hold', 'true', 'm1', ?)",
            (BLOG, '["contains a phone number"]'),
        )
    store = Store(db)
    assert store.get_setting("schema_version") == "3"
    (row,) = store.request_page(BLOG, family="contact")
    assert (row["content"], row["shadow"]) == ("call me", 0)
    assert not store.is_shadow(BLOG)


def test_rollback_to_a_model_whose_file_is_gone_is_refused_and_nothing_changes(app, owner, tmp_path):
    app.store.add_model("gone-v1", str(tmp_path / "gone.joblib"), status="retired", metrics={}, site=BLOG)
    page = owner.get("/queue/models").text
    reply = owner.post("/queue/models", data={"csrf": csrf_of(page), "version": "gone-v1"})
    assert reply.status_code == 409 and "Not switched" in reply.text
    assert app.store.active_model(BLOG) is None


def test_an_expired_session_is_refused(app, owner):
    app.store._connection().execute("UPDATE sessions SET expires = 0")
    assert owner.get("/").headers["location"] == "/login"


def test_guessing_passwords_is_slowed_per_client(app, sites):
    from moderation.service.app import RateLimiter

    # A burst of 3 and a refill too slow to matter in this test (the service allows 10, then 1 a second).
    app.queue.login_limiter = RateLimiter(0.001, 3)
    client = http(app, host="127.0.0.1:8000")
    page = client.get("/login").text
    codes = []
    for i in range(5):
        reply = client.post("/login", data={"csrf": csrf_of(page), "site": BLOG, "password": f"guess {i}"})
        codes.append((reply.status_code, "Wrong site or password" in reply.text))
        if reply.status_code == 403:
            page = reply.text  # a refused login answers with a fresh form and token
    assert codes == [(403, True)] * 3 + [(429, False)] * 2
    # Even the right password waits: the limit is per client, before the password is checked.
    reply = client.post("/login", data={"csrf": csrf_of(page), "site": BLOG, "password": PASSWORD})
    assert reply.status_code == 429
