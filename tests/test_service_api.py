"""The JSON API, hostile requests (always 4xx, never 5xx), rate limits and the hot model swap."""

from __future__ import annotations

import json

import pytest
from fixtures.service.service_support import BLOG, http, make_app, model_path  # noqa: F401

from moderation.service.keys import new_key


@pytest.fixture
def app(tmp_path, model_path):  # noqa: F811
    return make_app(tmp_path / "service.db", model_path, rate=1000, burst=1000)


@pytest.fixture
def key(app):
    return new_key(app.store, BLOG)


@pytest.fixture
def api(app, key):
    client = http(app)
    client.headers["Authorization"] = f"Bearer {key}"
    return client


def test_health_names_the_model(api, app):
    reply = api.get("/api/v1/health")
    assert reply.json() == {"status": "ok", "model_version": app.models.current().version}


def test_score_one_comment_with_post_text(api):
    reply = api.post(
        "/api/v1/score",
        json={
            "post": {
                "title": "Rye",
                "body": "A dense rye loaf, rested a day.",
                "url": "https://b.example/rye",
            },
            "comment": {
                "body": "Cheap replica watches, casino bonus, visit now",
                "author_url": "http://x.example",
            },
        },
    )
    assert reply.status_code == 200
    result = reply.json()
    assert set(result) >= {"score", "verdict", "reasons", "model_version", "request_id"}
    assert result["verdict"] in ("approve", "hold", "spam")
    assert 0.0 <= result["score"] <= 1.0


def test_batch_scores_a_thread_in_order(api):
    comments = [
        {"id": "a", "author": "Lena", "body": "Does the wax survive rain?"},
        {"id": "b", "author": "Ruben", "parent": "a", "body": "@Lena: yes, mostly; re-wax sooner."},
        {"id": "c", "author": "loans", "body": "Payday loans approved in minutes, apply online today"},
    ]
    reply = api.post("/api/v1/score-batch", json={"post": "Waxing a bicycle chain", "comments": comments})
    assert reply.status_code == 200
    assert [r["id"] for r in reply.json()["results"]] == ["a", "b", "c"]


def test_stored_post_is_used_by_permalink(api, app):
    assert api.post("/api/v1/posts", json={"url": "https://b.example/rye/", "title": "Rye", "body": "x"}).json() == {
        "stored": 1
    }
    reply = api.post("/api/v1/score", json={"permalink": "https://b.example/rye", "comment": {"body": "Nice loaf"}})
    assert reply.json()["post_known"] is True


def test_posts_are_per_site_so_one_site_cannot_replace_or_read_anothers(api, app):
    """Issue 9 item 2: site B stored a post under A's URL and A's spam then scored as on-topic."""
    url = "https://crumbnotes.example/rye"
    assert api.post("/api/v1/posts", json={"url": url, "title": "Rye", "body": "A dense rye loaf."}).status_code == 200
    attacker = http(app)
    attacker.headers["Authorization"] = f"Bearer {new_key(app.store, 'https://attacker.example/')}"
    replaced = attacker.post("/api/v1/posts", json={"url": url, "title": "Casino", "body": "casino bonus spins"})
    assert replaced.status_code == 200
    assert app.store.get_post(url, site=BLOG) == ("Rye", "A dense rye loaf.")
    assert app.store.get_post(url, site="https://attacker.example/") == ("Casino", "casino bonus spins")
    # Each site's lookup sees its own row only; a site with no row for the URL sees none.
    bystander = http(app)
    bystander.headers["Authorization"] = f"Bearer {new_key(app.store, 'https://third.example/')}"
    assert (
        bystander.post("/api/v1/score", json={"permalink": url, "comment": {"body": "hi"}}).json()["post_known"]
        is False
    )


def test_logged_request_can_be_explained_later_by_its_site_only(api, app):
    request_id = api.post("/api/v1/score", json={"comment": {"body": "hello there"}}).json()["request_id"]
    logged = api.get(f"/api/v1/requests/{request_id}").json()
    assert logged["model_version"] == app.models.current().version
    other = http(app)
    other.headers["Authorization"] = f"Bearer {new_key(app.store, 'https://other.example/')}"
    assert other.get(f"/api/v1/requests/{request_id}").status_code == 404


def test_json_correction_is_stored(api, app):
    reply = api.post("/api/v1/corrections", json={"label": "spam", "comment": {"body": "buy pills"}})
    assert reply.status_code == 200
    assert [c.label for c in app.store.corrections()] == ["spam"]


HOSTILE = [
    ("post", "/1.1/comment-check", {"content": b"a=" + b"x" * 300_000}, 413),
    (
        "post",
        "/1.1/comment-check",
        {"content": b"blog=\xff\xfe", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        400,
    ),
    ("post", "/1.1/comment-check", {"content": b"blog=%ff%fe&user_ip=1"}, 400),
    ("post", "/1.1/comment-check", {"content": b"blog=x&blog_charset=klingon"}, 400),
    ("post", "/1.1/comment-check", {"content": b"a=1", "headers": {"Content-Type": "text/xml"}}, 415),
    ("post", "/1.1/comment-check", {"content": b"&".join(b"f%d=1" % i for i in range(600))}, 400),
    ("get", "/1.1/comment-check", {}, 405),
    ("post", "/1.1/nope", {}, 404),
    (
        "post",
        "/api/v1/score",
        {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
        401,
    ),
    ("post", "/api/v1/score", {"content": b"x" * (5 * 1024 * 1024)}, 401),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    HOSTILE,
    ids=[
        "oversized-form",
        "raw-non-ascii",
        "bad-utf8-escapes",
        "unknown-charset",
        "wrong-content-type",
        "too-many-fields",
        "wrong-method",
        "unknown-endpoint",
        "json-without-key",
        "oversized-json-without-key",
    ],
)
def test_hostile_requests_get_4xx(app, method, path, kwargs, status):
    reply = getattr(http(app), method)(path, **kwargs)
    assert reply.status_code == status


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{not json", {}, 400),
        (b'"a string"', {}, 400),
        (b"\xff\xfe{}", {}, 400),
        (b'{"comment": {"body": 12}}', {}, 400),
        (b'{"comment": "text"}', {}, 400),
        (b'{"comment": {"body": "x", "author": ["a"]}}', {}, 400),
        (b'{"comment": {"body": "x"}, "post": 5}', {}, 400),
        (b"x" * (5 * 1024 * 1024), {}, 413),
        (b"{}", {"Content-Type": "text/plain"}, 415),
        (b"{}", {"Content-Length": "abc"}, 400),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "bad-utf8",
        "body-not-string",
        "comment-not-object",
        "author-not-string",
        "post-wrong-type",
        "oversized",
        "wrong-type",
        "bad-length",
    ],
)
def test_hostile_json_with_a_good_key_gets_4xx(api, body, headers, status):
    reply = api.post("/api/v1/score", content=body, headers={"Content-Type": "application/json", **headers})
    assert reply.status_code == status
    assert "error" in reply.json()


def test_hostile_batch_gets_4xx(api):
    assert api.post("/api/v1/score-batch", json={"comments": []}).status_code == 400
    assert api.post("/api/v1/score-batch", json={"comments": [{"body": "x"}] * 1001}).status_code == 413


@pytest.mark.parametrize("field", ["blog", "user_ip"], ids=["no-blog", "no-user-ip"])
def test_missing_required_field_is_400_with_debug_help(app, key, field):
    data = {"api_key": key, "blog": BLOG, "user_ip": "1.2.3.4", "comment_content": "hi"}
    del data[field]
    reply = http(app).post("/1.1/comment-check", data=data)
    assert reply.status_code == 400
    assert field in reply.headers["X-akismet-debug-help"]


def test_flood_from_one_key_is_rate_limited(tmp_path, model_path):  # noqa: F811
    app = make_app(tmp_path / "flood.db", model_path, rate=1, burst=5)
    key = new_key(app.store, BLOG)
    client = http(app)
    data = {"api_key": key, "blog": BLOG, "user_ip": "1.2.3.4", "comment_content": "hello"}
    statuses = [client.post("/1.1/comment-check", data=data).status_code for _ in range(8)]
    assert statuses[:5] == [200] * 5
    assert 429 in statuses[5:]
    limited = client.post("/1.1/comment-check", data=data)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    # Another site's key has its own bucket.
    other = {**data, "api_key": new_key(app.store, "https://other.example/"), "blog": "https://other.example/"}
    assert client.post("/1.1/comment-check", data=other).status_code == 200


def test_key_guessing_is_rate_limited_per_address(tmp_path, model_path):  # noqa: F811
    app = make_app(tmp_path / "guess.db", model_path, rate=10, burst=10)
    client = http(app)
    statuses = [client.post("/1.1/verify-key", data={"key": f"{i:032x}", "blog": BLOG}).status_code for i in range(40)]
    assert statuses[0] == 200 and statuses[-1] == 429


def test_revoked_key_is_invalid(app, key):
    from moderation.service.keys import remove_keys

    remove_keys(app.store, key)
    reply = http(app).post("/1.1/verify-key", data={"key": key, "blog": BLOG})
    assert reply.text == "invalid"


def test_promoted_model_is_picked_up_without_restart(app, api, model_path, tmp_path):  # noqa: F811
    from moderation.model.pipeline import load_model, save_model

    bundle = load_model(model_path)
    bundle.card["version"] = "swapped-in"
    save_model(bundle, tmp_path / "other.joblib")
    app.store.add_model("swapped-in", str(tmp_path / "other.joblib"), status="candidate", metrics={})
    before = api.get("/api/v1/health").json()["model_version"]
    app.store.activate_model("swapped-in")
    # The request that notices the new pointer is answered at once, by the model already loaded.
    assert api.get("/api/v1/health").status_code == 200
    app.models.refresh()
    assert before != "swapped-in"
    assert api.get("/api/v1/health").json()["model_version"] == "swapped-in"


def test_unloadable_promoted_model_keeps_the_old_one_serving(app, api, tmp_path):
    broken = tmp_path / "broken.joblib"
    broken.write_bytes(b"not a model")
    app.store.add_model("broken", str(broken), status="candidate", metrics={})
    before = api.get("/api/v1/health").json()["model_version"]
    app.store.activate_model("broken")
    app.models.refresh()
    assert api.get("/api/v1/health").json()["model_version"] == before


def test_no_request_fails_while_a_model_is_swapped_in(app, key, model_path, tmp_path):  # noqa: F811
    import threading

    from moderation.model.pipeline import load_model, save_model

    bundle = load_model(model_path)
    bundle.card["version"] = "under-load"
    save_model(bundle, tmp_path / "under-load.joblib")
    app.store.add_model("under-load", str(tmp_path / "under-load.joblib"), status="candidate", metrics={})
    data = {"api_key": key, "blog": BLOG, "user_ip": "1.2.3.4", "comment_content": "Nice write-up, thanks"}
    seen: list[tuple[int, str]] = []
    lock = threading.Lock()

    def client() -> None:
        with http(app) as c:
            for _ in range(25):
                reply = c.post("/1.1/comment-check", data=data)
                with lock:
                    seen.append((reply.status_code, reply.headers.get("X-moderation-model", "")))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    app.store.activate_model("under-load")
    for t in threads:
        t.join()
    app.models.refresh()
    assert {status for status, _ in seen} == {200}
    assert http(app).post("/1.1/comment-check", data=data).headers["X-moderation-model"] == "under-load"


SURROGATE = '"x\\ud800y"'


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/score", '{"comment": {"body": %s}}'),
        ("/api/v1/score", '{"comment": {"body": "ok", "author": %s}}'),
        ("/api/v1/score", '{"comment": {"body": "ok", "id": %s}}'),
        ("/api/v1/score", '{"comment": {"body": "ok"}, "post": %s}'),
        ("/api/v1/score", '{"comment": {"body": "ok"}, "post": {"title": %s}}'),
        ("/api/v1/score-batch", '{"comments": [{"body": "fine"}, {"body": %s}]}'),
        ("/api/v1/posts", '{"url": "https://crumbnotes.example/a", "body": %s}'),
        ("/api/v1/corrections", '{"label": "spam", "comment": {"body": %s}}'),
    ],
    ids=["body", "author", "id", "post-string", "post-title", "batch", "posts", "corrections"],
)
def test_lone_surrogate_is_400_at_parse_time(api, app, path, body):
    reply = api.post(path, content=(body % SURROGATE).encode(), headers={"Content-Type": "application/json"})
    assert reply.status_code == 400
    assert "surrogate" in reply.json()["error"] and "\n" not in reply.json()["error"]
    assert app.store.count_requests() == 0 and app.store.count_corrections() == 0


def test_akismet_value_decoding_to_a_surrogate_is_400(app, key):
    # UTF-7 decodes "+2AA-" to a lone U+D800: a charset the codec registry knows, a value that is no text.
    form = f"api_key={key}&blog={BLOG}&user_ip=1.2.3.4&blog_charset=utf-7&comment_content=%2B2AA-".encode()
    reply = http(app).post("/1.1/comment-check", content=form)
    assert reply.status_code == 400 and "surrogate" in reply.headers["X-akismet-debug-help"]


class _GatedModel:
    """Fails any call that includes a poisoned comment; the first call waits so the next jobs queue up."""

    version = "gated"

    def __init__(self):
        import threading

        self.gate = threading.Event()
        self.calls: list[int] = []

    def current(self, site=None):
        return self

    def score_batch(self, units):
        from moderation.model.decisions import Thresholds, decision_for

        self.gate.wait(10)
        for unit in units:
            if "\ud800" in unit.comment.body:
                raise UnicodeEncodeError("utf-8", unit.comment.body, 0, 1, "surrogates not allowed")
        return [[decision_for(unit.comment, 0.1, Thresholds())] for unit in units]


def test_a_failing_job_fails_alone_and_is_logged(tmp_path, caplog):
    import threading

    from moderation.model.decisions import Incoming
    from moderation.model.thread import Comment
    from moderation.service.scoring import BatchScorer, Job
    from moderation.service.store import Store

    model = _GatedModel()
    scorer = BatchScorer(model, Store(tmp_path / "batch.db"))
    outcomes: dict[str, object] = {}

    def submit(name: str, body: str) -> None:
        try:
            outcomes[name] = scorer.score(Job(name, "api-score", Incoming(Comment(body=body)), "", False)).request_id
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[name] = exc

    first = threading.Thread(target=submit, args=("site-0", "first, holds the worker"))
    first.start()
    while scorer._queue.qsize():  # the worker has taken the first job and waits at the gate
        pass
    others = [threading.Thread(target=submit, args=(f"site-{i}", f"comment {i}")) for i in range(1, 6)]
    others.append(threading.Thread(target=submit, args=("attacker", "bad \ud800 text")))
    for t in others:
        t.start()
    while scorer._queue.qsize() < len(others):
        pass
    with caplog.at_level("ERROR", logger="moderation.service"):
        model.gate.set()
        for t in [first, *others]:
            t.join(10)
    assert isinstance(outcomes.pop("attacker"), UnicodeEncodeError)
    assert all(isinstance(v, int) for v in outcomes.values()), outcomes
    assert len(outcomes) == 6
    assert any("site=attacker" in r.getMessage() for r in caplog.records)


def test_concurrent_mix_of_surrogates_and_good_checks(app, key, api):
    import threading

    statuses: dict[str, list[int]] = {"good": [], "bad": []}
    lock = threading.Lock()
    good = {"api_key": key, "blog": BLOG, "user_ip": "1.2.3.4", "comment_content": "Nice loaf, thanks"}

    def run(kind: str) -> None:
        with http(app) as client:
            for _ in range(15):
                if kind == "good":
                    status = client.post("/1.1/comment-check", data=good).status_code
                else:
                    status = client.post(
                        "/api/v1/score",
                        content=b'{"comment": {"body": "\\ud800"}}',
                        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                    ).status_code
                with lock:
                    statuses[kind].append(status)

    threads = [threading.Thread(target=run, args=(k,)) for k in ("good", "bad", "good", "bad", "good")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses["good"]) == {200} and len(statuses["good"]) == 45
    assert set(statuses["bad"]) == {400}


FORM = "blog=https%3A%2F%2Fcrumbnotes.example%2F&user_ip=1.2.3.4&comment_content=hi"


@pytest.mark.parametrize(
    ("content_type", "extra"),
    [
        ("application/x-www-form-urlencoded; charset=klingon", ""),
        ("application/x-www-form-urlencoded; charset=base64", ""),
        ("application/x-www-form-urlencoded", "&blog_charset=rot13"),
        ("application/x-www-form-urlencoded", "&blog_charset=%00"),
        ("application/x-www-form-urlencoded", "&blog_charset=undefined"),
    ],
    ids=["unknown-content-type-charset", "bytes-codec", "bytes-codec-blog-charset", "nul-charset", "undefined-codec"],
)
def test_unusable_charset_is_400_with_one_line(app, key, content_type, extra):
    body = f"api_key={key}&{FORM}{extra}".encode()
    reply = http(app).post("/1.1/comment-check", content=body, headers={"Content-Type": content_type})
    assert reply.status_code == 400
    assert "charset" in reply.headers["X-akismet-debug-help"].lower() or "valid" in reply.text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 100_000, "nested too deeply"),
        (b'{"comment": {"body": "x", "id": ' + b"9" * 5000 + b"}}", "5000 digits"),
        (b'{"x": -' + b"1" * 5000 + b', "comment": {"body": "x"}}', "5000 digits"),
        (b'{"comment": {"body": "x"}, "n": NaN}', "NaN"),
    ],
    ids=["deep-nesting", "5000-digit-integer", "negative-long-integer", "nan"],
)
def test_hostile_json_values_are_400(api, body, message):
    reply = api.post("/api/v1/score", content=body, headers={"Content-Type": "application/json"})
    assert reply.status_code == 400 and message in reply.json()["error"]


def _raw_get(app, path_info: str, key: str) -> tuple[str, dict]:
    """Call the WSGI app as waitress does: PATH_INFO is the percent-decoded path read as Latin-1."""
    import io

    seen: dict = {}
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path_info,
        "HTTP_AUTHORIZATION": f"Bearer {key}",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
    }
    body = b"".join(app(environ, lambda status, headers: seen.update(status=status, headers=headers)))
    return seen["status"], json.loads(body)


@pytest.mark.parametrize(
    "tail",
    ["9" * 50, "9223372036854775808", "\u00b2", "\u0661", "12\r\nX: y"],
    ids=["huge-number", "over-int64", "superscript-two-from-%B2", "arabic-indic-digit", "crlf"],
)
def test_request_ids_that_are_no_sqlite_integer_are_404(app, key, tail):
    status, body = _raw_get(app, f"/api/v1/requests/{tail}", key)
    assert status.startswith("404") and "request ids are numbers" in body["error"]


def test_debug_help_header_is_printable_ascii(app):
    reply = http(app).post("/1.1/nope%0d%0aX-Injected:%20yes%c3%a9")
    assert reply.status_code == 404
    assert "X-Injected" not in reply.headers and reply.headers["X-akismet-debug-help"].isascii()


def test_serve_accepts_far_more_connections_than_a_slowloris_holds(app, monkeypatch):
    """Issue 9 item 9: 150 trickling connections filled waitress's default 100 and health checks hung.
    The effect is measured by `benchmarks/bench_service_load.py --slowloris 150`; this pins the setting."""
    import waitress

    from moderation.service.app import serve

    seen: dict = {}
    monkeypatch.setattr(waitress, "serve", lambda app, **kwargs: seen.update(kwargs))
    serve(app, port=1)
    assert seen["connection_limit"] >= 150 * 5
    assert seen["channel_timeout"] <= 60


def test_each_request_is_logged_in_one_line_with_site_verdict_and_ms(app, key, caplog):
    data = {"api_key": key, "blog": BLOG, "user_ip": "1.2.3.4", "comment_content": "Lovely crumb, thanks"}
    with caplog.at_level("INFO", logger="moderation.service"):
        reply = http(app).post("/1.1/comment-check", data=data)
        http(app).get("/api/v1/nope")
    lines = [r.getMessage() for r in caplog.records if r.name == "moderation.service"]
    verdict = reply.headers["X-moderation-verdict"]
    assert any(
        line.startswith("POST /1.1/comment-check")
        and f"site={BLOG}" in line
        and f"verdict={verdict}" in line
        and line.endswith(" ms")
        for line in lines
    ), lines
    assert any(line.startswith("GET /api/v1/nope site=- status=404") for line in lines), lines
    assert not any(key in line or "Lovely crumb" in line for line in lines)


def test_model_swap_is_logged(app, api, model_path, tmp_path, caplog):  # noqa: F811
    from moderation.model.pipeline import load_model, save_model

    bundle = load_model(model_path)
    bundle.card["version"] = "logged-swap"
    save_model(bundle, tmp_path / "logged.joblib")
    app.store.add_model("logged-swap", str(tmp_path / "logged.joblib"), status="candidate", metrics={})
    app.store.activate_model("logged-swap")
    with caplog.at_level("INFO", logger="moderation.service"):
        app.models.refresh()
    assert any("is now logged-swap" in r.getMessage() for r in caplog.records)


def test_models_model_option_has_help_text():
    from click.testing import CliRunner

    from moderation.cli.service import models

    help_text = CliRunner().invoke(models, ["--help"]).output
    assert "The base model file" in help_text


def test_site_models_are_loaded_lazily_and_the_cache_is_bounded(tmp_path, model_path):  # noqa: F811
    from moderation.model.pipeline import load_model, save_model
    from moderation.service.app import ModelHolder
    from moderation.service.store import Store

    store = Store(tmp_path / "cache.db")
    loads: list[str | None] = []

    def loader(path):
        from moderation.api import Moderator

        loads.append(path)
        return Moderator.load(path)

    sites = ["https://one.example/", "https://two.example/"]
    for n, site in enumerate(sites):
        bundle = load_model(model_path)
        bundle.card["version"] = f"site-model-{n}"
        save_model(bundle, tmp_path / f"site-{n}.joblib")
        store.add_model(
            f"site-model-{n}", str(tmp_path / f"site-{n}.joblib"), status="candidate", metrics={}, site=site
        )
        store.activate_model(f"site-model-{n}")
    holder = ModelHolder(store, loader, base_path=str(model_path), cache_size=1)
    assert loads == [str(model_path)]  # only the base model at start: site models load when first asked for
    base_version = holder.current().version
    assert holder.current(sites[0]).version == base_version  # served the base model while its own loads
    assert holder.refresh(site=sites[0]).version == "site-model-0"
    assert holder.refresh(site=sites[1]).version == "site-model-1"
    assert len(holder._cache) == 1 and "site-model-1" in holder._cache  # the least recently used went
    assert holder.current().version == base_version  # the base model is never evicted


@pytest.mark.parametrize("entry", ["cli", "module"], ids=["moderation-serve", "python-m-moderation-service"])
def test_serve_assembles_the_app_with_create_app(tmp_path, model_path, monkeypatch, entry):  # noqa: F811
    """Issue 10: `serve` built its app by hand while the tests used create_app; now both use create_app."""
    import waitress
    from click.testing import CliRunner

    from moderation.cli.service import serve
    from moderation.service import __main__ as module
    from moderation.service import app as service_app

    built, served = [], []
    real = service_app.create_app
    monkeypatch.setattr(service_app, "create_app", lambda *a, **k: built.append(real(*a, **k)) or built[-1])
    monkeypatch.setattr(waitress, "serve", lambda app, **kwargs: served.append((app, kwargs)))
    args = ["serve", "--db", str(tmp_path / "s.db"), "--model", str(model_path), "--hold-as", "ham", "--port", "1"]
    if entry == "cli":
        result = CliRunner().invoke(serve, args[1:])
        assert result.exit_code == 0, result.output
    else:
        assert module.main(args) == 0
    assert [app for app, _ in served] == built and built[0].config.hold_as == "ham"
    assert served[0][1]["port"] == 1
    assert built[0].store.get_model(built[0].models.current().version) is not None  # registered for rollback


def test_the_service_module_does_not_import_the_cli():
    import subprocess
    import sys

    code = (
        "import sys, moderation.service.__main__\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'click' or m.startswith('moderation.cli')))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert found.strip() == "[]"


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("POST /1.1/comment-check", "POST /1.1/comment-check"),
        ("", ""),
        ("a\r\nSet-Cookie: x", "a??Set-Cookie: x"),
        ("tab\there", "tab?here"),
        ("del\x7f", "del?"),
        ("café ☕", "caf? ?"),
        ("~" * 301, "~" * 300),
    ],
    ids=["ascii", "empty", "crlf", "tab", "del", "non-ascii", "long"],
)
def test_header_safe_keeps_printable_ascii_only(text, safe):
    from moderation.service.app import _header_safe

    assert _header_safe(text) == safe
