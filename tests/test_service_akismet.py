"""The Akismet protocol, driven by the real `akismet` client from PyPI against the app in-process."""

from __future__ import annotations

import akismet
import pytest
from fixtures.service.service_support import BLOG, akismet_client, http, make_app, model_path  # noqa: F401

from moderation.service.keys import new_key

SPAM = {
    "comment_content": "Buy replica watches online cheap price, free shipping, best casino bonus, "
    "visit our store now!!!",
    "comment_author": "cheap watches",
    "comment_author_url": "http://cheap-watches-outlet.example",
    "comment_type": "comment",
}
HAM = {
    "comment_content": "I rested the rye loaf a full day like you said and the crumb was finally not gummy. "
    "Next time I will try medium rye at a lower hydration.",
    "comment_author": "Grete",
    "comment_type": "comment",
}


@pytest.fixture
def app(tmp_path, model_path):  # noqa: F811
    return make_app(tmp_path / "service.db", model_path)


@pytest.fixture
def key(app):
    return new_key(app.store, BLOG)


@pytest.fixture
def client(app, key):
    with akismet_client(app, key) as c:
        yield c


def test_verify_key_valid_and_invalid(app, key):
    with akismet_client(app, key) as client:
        assert client.verify_key() is True
        assert client.verify_key("0" * 32, BLOG) is False
        assert client.verify_key("not-a-key", BLOG) is False


def test_comment_check_spam_and_legitimate(client, app):
    spam = client.comment_check(user_ip="203.0.113.9", **SPAM)
    ham = client.comment_check(user_ip="198.51.100.4", **HAM)
    assert spam in (akismet.CheckResponse.SPAM, akismet.CheckResponse.DISCARD)
    assert ham == akismet.CheckResponse.HAM
    assert app.store.count_requests() == 2


def test_submit_spam_and_ham_store_corrections(client, app):
    assert client.submit_spam(user_ip="203.0.113.9", **SPAM) is True
    assert client.submit_ham(user_ip="198.51.100.4", **HAM) is True
    stored = app.store.corrections()
    assert [(c.label, c.author) for c in stored] == [("spam", "cheap watches"), ("ham", "Grete")]
    assert stored[0].author_ip == "203.0.113.9"


def test_bad_key_raises_the_clients_key_error(app):
    client = akismet_client(app, "f" * 32)
    with pytest.raises(akismet.APIKeyError):
        client.comment_check(user_ip="203.0.113.9", **HAM)
    with pytest.raises(akismet.APIKeyError), akismet_client(app, "f" * 32):
        pass  # the context manager verifies the key on entry


def test_bad_key_answers_invalid_with_debug_help(app):
    reply = http(app).post("/1.1/comment-check", data={"api_key": "nope", "blog": BLOG, "user_ip": "1.2.3.4"})
    assert (reply.status_code, reply.text) == (200, "invalid")
    assert reply.headers["X-akismet-debug-help"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {
                "comment_author": "akismet-guaranteed-spam",
                **{k: v for k, v in HAM.items() if k != "comment_author"},
            },
            "true",
        ),
        ({"comment_author_email": "akismet-guaranteed-spam@example.com", **HAM}, "true"),
        ({"user_role": "administrator", **SPAM}, "false"),
        ({"honeypot_field_name": "hp_url", "hp_url": "http://bot.example", **HAM}, "true"),
        ({"honeypot_field_name": "hp_url", "hp_url": "", **HAM}, "false"),
    ],
    ids=[
        "guaranteed-spam-author",
        "guaranteed-spam-email",
        "administrator-is-ham",
        "honeypot-filled",
        "honeypot-empty",
    ],
)
def test_documented_test_values(app, key, fields, expected):
    reply = http(app).post("/1.1/comment-check", data={"api_key": key, "blog": BLOG, "user_ip": "1.2.3.4", **fields})
    assert (reply.status_code, reply.text) == (200, expected)


def test_honeypot_spam_is_discardable(app, key):
    data = {"api_key": key, "blog": BLOG, "user_ip": "1.2.3.4", "honeypot_field_name": "hp", "hp": "x", **HAM}
    reply = http(app).post("/1.1/comment-check", data=data)
    assert reply.headers["X-akismet-pro-tip"] == "discard"


def test_key_in_host_prefix_as_wordpress_sends_it(app, key):
    data = {"blog": BLOG, "user_ip": "1.2.3.4", **HAM}
    reply = http(app, host=f"{key}.rest.akismet.com").post("/1.1/comment-check", data=data)
    assert (reply.status_code, reply.text) == (200, "false")


def test_unknown_fields_are_ignored(app, key):
    data = {
        "api_key": key,
        "blog": BLOG,
        "user_ip": "1.2.3.4",
        "POST_akismet_nonce": "x",
        "SERVER_NAME": "b",
        **HAM,
    }
    assert http(app).post("/1.1/comment-check", data=data).text == "false"


def test_every_check_is_logged_with_model_version(app, key):
    data = {"api_key": key, "blog": BLOG, "user_ip": "1.2.3.4", **SPAM}
    reply = http(app).post("/1.1/comment-check", data=data)
    logged = app.store.get_request(int(reply.headers["X-moderation-request-id"]))
    assert logged["model_version"] == app.models.current().version == reply.headers["X-moderation-model"]
    assert logged["content"] == SPAM["comment_content"]
    assert logged["verdict"] == reply.headers["X-moderation-verdict"]


def test_known_post_is_used_for_its_permalink(app, key):
    app.store.put_post("https://crumbnotes.example/rye", site=BLOG, title="Rye", body="Rye loaf hydration and resting.")
    data = {
        "api_key": key,
        "blog": BLOG,
        "user_ip": "1.2.3.4",
        "permalink": "https://CRUMBNOTES.example/rye/#c",
        **HAM,
    }
    reply = http(app).post("/1.1/comment-check", data=data)
    assert app.store.get_request(int(reply.headers["X-moderation-request-id"]))["post_known"] is True


def _decision(verdict: str, score: float, *, blatant: bool = False):
    from moderation.model.decisions import Decision

    return Decision(position=1, comment_id="1", author="", score=score, verdict=verdict, blatant=blatant)


@pytest.mark.parametrize(("hold_as", "expected"), [("spam", "true"), ("ham", "false")], ids=["as-spam", "as-ham"])
def test_held_comment_answer_follows_hold_as(hold_as, expected):
    from moderation.service import akismet as protocol

    answer = protocol.check_answer(_decision("hold", 0.6), hold_as=hold_as)
    assert answer.body == expected
    assert "X-akismet-pro-tip" not in dict(answer.headers)


@pytest.mark.parametrize(
    ("verdict", "score", "blatant", "discard"),
    [
        ("spam", 0.99, True, True),
        ("spam", 0.99, False, False),
        ("spam", 0.81, False, False),
        ("approve", 0.1, False, False),
    ],
    ids=["blatant", "sure-but-a-real-reader", "just-spam", "approve"],
)
def test_discard_only_for_blatant_decisions(verdict, score, blatant, discard):
    from moderation.service import akismet as protocol

    answer = protocol.check_answer(_decision(verdict, score, blatant=blatant), hold_as="spam")
    assert (dict(answer.headers).get("X-akismet-pro-tip") == "discard") is discard


@pytest.mark.parametrize(
    ("site", "blog", "answer"),
    [
        (BLOG, BLOG, "valid"),
        (BLOG, "http://www.CRUMBNOTES.example:8080/blog/", "valid"),
        (BLOG, "https://other.example/", "invalid"),
        (BLOG, "https://crumbnotes.example.evil.example/", "invalid"),
        (BLOG, "", "invalid"),
        ("crumbnotes.example", "https://crumbnotes.example", "valid"),
        ("staging", "http://staging/", "valid"),
        ("staging", "https://crumbnotes.example/", "invalid"),
    ],
    ids=["same", "variants", "other-blog", "suffix-trick", "no-blog", "host-name", "label", "label-other"],
)
def test_verify_key_is_valid_only_for_the_keys_site(app, site, blog, answer):
    key = new_key(app.store, site)
    assert http(app).post("/1.1/verify-key", data={"key": key, "blog": blog}).text == answer


@pytest.mark.parametrize("endpoint", ["comment-check", "submit-spam", "submit-ham"])
def test_key_used_for_another_blog_is_invalid_and_stores_nothing(app, key, endpoint):
    data = {"api_key": key, "blog": "https://other.example/", "user_ip": "1.2.3.4", **HAM}
    reply = http(app).post(f"/1.1/{endpoint}", data=data)
    assert (reply.status_code, reply.text) == (200, "invalid")
    assert app.store.count_requests() == 0 and app.store.count_corrections() == 0


def test_keys_remove_accepts_the_hint_keys_list_prints(tmp_path):
    from click.testing import CliRunner

    from moderation.cli.service import keys
    from moderation.service.store import Store

    db = str(tmp_path / "hint.db")
    runner = CliRunner()
    key = runner.invoke(keys, ["add", BLOG, "--db", db]).output.strip()
    hint = runner.invoke(keys, ["list", "--db", db]).output.split("\t")[1]
    assert hint == key[:4] + "…"
    removed = runner.invoke(keys, ["remove", hint, "--db", db])
    assert removed.exit_code == 0 and "revoked 1 key" in removed.output
    assert Store(db).list_keys() == []


def test_keys_remove_refuses_a_hint_shared_by_two_keys(tmp_path):
    from moderation.errors import InputError
    from moderation.service.keys import hash_key, remove_keys
    from moderation.service.store import Store

    store = Store(tmp_path / "twins.db")
    store.add_key(BLOG, hash_key("abcd" + "0" * 28), "abcd")
    store.add_key("https://other.example/", hash_key("abcd" + "1" * 28), "abcd")
    with pytest.raises(InputError, match="2 keys start with 'abcd'"):
        remove_keys(store, "abcd...")
    assert len(store.list_keys()) == 2


@pytest.mark.parametrize("endpoint", ["submit-spam", "submit-ham"])
@pytest.mark.parametrize("content", ["", "  \n "], ids=["empty", "blank"])
def test_submission_without_text_is_thanked_but_not_stored(app, key, endpoint, content):
    data = {"api_key": key, "blog": BLOG, "user_ip": "1.2.3.4", "comment_content": content}
    reply = http(app).post(f"/1.1/{endpoint}", data=data)
    assert (reply.status_code, reply.text) == (200, "Thanks for making the web a better place.")
    assert app.store.count_corrections() == 0


def test_json_correction_without_text_is_400(app, key):
    reply = http(app).post(
        "/api/v1/corrections",
        json={"label": "spam", "comment": {"body": " "}},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert reply.status_code == 400 and "nothing to learn" in reply.json()["error"]
    assert app.store.count_corrections() == 0


def _parse_form_reading_every_name(body: bytes, content_type: str = "") -> dict[str, str]:
    """parse_form as it was before it skipped the first parse: the body always parsed for blog_charset."""
    import urllib.parse

    from moderation.service.akismet import _content_type_charset, _text_charset

    text = body.decode("ascii")
    charset = _content_type_charset(content_type)
    if charset is None:
        first = urllib.parse.parse_qsl(text, keep_blank_values=True, encoding="latin-1")
        charset = next((v for k, v in first if k == "blog_charset" and v.strip()), "utf-8").strip()
    pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, encoding=_text_charset(charset), errors="strict")
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"blog=x&comment_content=caf%C3%A9+au+lait", ""),
        (b"blog=x&blog_charset=ISO-8859-1&comment_content=caf%E9", ""),
        (b"blog=x&blog%5Fcharset=ISO-8859-1&comment_content=caf%E9", ""),
        (b"blog=x&%62log_charset=ISO-8859-1&comment_content=caf%E9", ""),
        (b"blog=x&blog_charset+=ISO-8859-1&comment_content=caf%C3%A9", ""),
        (b"blog=x&comment_content=about+blog_charset%3DISO-8859-1", ""),
        (b"blog=x&blog_charset=&comment_content=caf%C3%A9", ""),
        (b"blog=x&blog_charset=ISO-8859-1&comment_content=caf%E9", "application/x-www-form-urlencoded; charset=cp1252"),
        (b"", ""),
        (b"&&=&a", ""),
    ],
    ids=[
        "utf-8",
        "blog-charset",
        "name-escaped-underscore",
        "name-escaped-letter",
        "name-with-plus",
        "charset-in-a-value",
        "blank-charset",
        "content-type-charset",
        "empty",
        "empty-fields",
    ],
)
def test_parse_form_reads_blog_charset_as_when_every_name_was_parsed(body, content_type):
    from moderation.service.akismet import parse_form

    assert parse_form(body, content_type) == _parse_form_reading_every_name(body, content_type)


@pytest.mark.parametrize(
    "body", [b"&" * 262_000, b"a%41=1&" * 600, b"a=1&" * 501], ids=["ampersands", "escaped", "plain"]
)
def test_parse_form_refuses_over_500_fields(body):
    from moderation.service.akismet import ProtocolError, parse_form

    with pytest.raises(ProtocolError, match="Too many fields"):
        parse_form(body)
    assert len(parse_form(b"a=1&" * 499 + b"b=2")) == 2
