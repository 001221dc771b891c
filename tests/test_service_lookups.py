"""The per-process cache of what checks read (keys, posts, shadow flags, model pointers): changes are seen
at once in this process, within ``max_age`` from another, and the cache stays bounded."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fixtures.service.service_support import BLOG, akismet_client, make_app, model_path  # noqa: F401

from moderation.service import lookups as lookups_module
from moderation.service.keys import hash_key, new_key
from moderation.service.lookups import Lookups
from moderation.service.store import LOOKUPS_VERSION, Store

OTHER = "https://other.example/"


@pytest.fixture
def db(tmp_path):
    return tmp_path / "s.db"


@pytest.fixture
def store(db):
    return Store(db)


@pytest.fixture
def key(store):
    return new_key(store, BLOG)


class Clock:
    """``time.monotonic`` for the lookups module, moved by hand."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(lookups_module, "time", clock)
    return clock


def _revoke(store: Store, key: str) -> None:
    store.revoke_keys(key_hash=hash_key(key))


def _shadow_on(store: Store, key: str) -> None:
    store.set_shadow(BLOG, True)


def _post(store: Store, key: str) -> None:
    store.put_post(f"{BLOG}p", site=BLOG, title="T", body="B")


def _promote(store: Store, key: str) -> None:
    store.add_model("v2", "/models/v2.joblib", status="candidate", metrics={}, site=BLOG)
    store.activate_model("v2")


def _read(lookups: Lookups, key: str) -> tuple:
    return (
        lookups.site_for_key(key),
        lookups.is_shadow(BLOG),
        lookups.post(BLOG, f"{BLOG}p"),
        lookups.active_model(BLOG),
    )


CHANGES = [
    pytest.param(_revoke, (None, False, None, None), id="revoke"),
    pytest.param(_shadow_on, (BLOG, True, None, None), id="shadow"),
    pytest.param(_post, (BLOG, False, ("T", "B"), None), id="post"),
    pytest.param(_promote, (BLOG, False, None, "v2"), id="promote"),
]


@pytest.mark.parametrize(("change", "after"), CHANGES)
def test_a_change_through_any_store_of_this_process_is_seen_at_once(db, store, key, clock, change, after):
    lookups = Lookups(store, max_age=3600)
    assert _read(lookups, key) == (BLOG, False, None, None)
    change(Store(db), key)  # another Store object on the same file, as the CLI or a test opens one
    assert _read(lookups, key) == after


@pytest.mark.parametrize(("change", "after"), CHANGES)
def test_a_change_writes_a_new_version_token(store, key, change, after):
    before = store.get_setting(LOOKUPS_VERSION)
    change(store, key)
    assert store.get_setting(LOOKUPS_VERSION) not in (None, before)


def test_another_process_change_is_seen_after_max_age_not_before(db, store, key, clock):
    lookups = Lookups(store, max_age=0.5)
    assert lookups.site_for_key(key) == BLOG
    code = (
        "import sys; from moderation.service.store import Store; from moderation.service.keys import hash_key;"
        "Store(sys.argv[1]).revoke_keys(key_hash=hash_key(sys.argv[2]))"
    )
    subprocess.run([sys.executable, "-c", code, str(db), key], check=True, timeout=60)
    assert store.site_for_key_hash(hash_key(key)) is None
    clock.now += 0.4
    assert lookups.site_for_key(key) == BLOG  # cached: the token is read at most every max_age
    clock.now += 0.2
    assert lookups.site_for_key(key) is None


def test_a_value_read_while_a_change_commits_is_not_kept(db, store, key, clock, monkeypatch):
    lookups = Lookups(store, max_age=3600)
    read = store.site_for_key_hash

    def read_then_revoke(key_hash):
        site = read(key_hash)  # the old value, read before the change below commits
        _revoke(Store(db), key)
        return site

    monkeypatch.setattr(store, "site_for_key_hash", read_then_revoke)
    assert lookups.site_for_key(key) == BLOG
    monkeypatch.setattr(store, "site_for_key_hash", read)
    assert lookups.site_for_key(key) is None


def test_unknown_and_malformed_keys_are_not_kept(store, key, clock):
    lookups = Lookups(store, max_age=3600)
    for n in range(1000):
        assert lookups.site_for_key(f"{n:032x}") is None
    assert lookups.site_for_key("not a key") is None
    assert lookups.site_for_key(None) is None
    assert lookups.site_for_key(key) == BLOG
    assert len(lookups._current()[0]) == 1


def test_posts_kept_are_bounded_and_long_posts_are_read_each_time(store, key, clock, monkeypatch):
    monkeypatch.setattr(lookups_module, "MAX_POSTS", 8)
    long_body = "x" * (lookups_module.MAX_POST_CHARS + 1)
    store.put_posts([(f"{BLOG}long", BLOG, "Long", long_body), (f"{BLOG}short", BLOG, "Short", "body")])
    lookups = Lookups(store, max_age=3600)
    for n in range(50):
        assert lookups.post(BLOG, f"{BLOG}missing/{n}") is None
    assert lookups.post(BLOG, f"{BLOG}long") == ("Long", long_body)
    assert lookups.post(BLOG, f"{BLOG}short") == ("Short", "body")
    posts = lookups._current()[1]
    assert len(posts) == 8
    assert (BLOG, f"{BLOG}long") not in posts
    assert posts[(BLOG, f"{BLOG}short")] == ("Short", "body")


def test_a_post_is_seen_only_by_the_site_that_stored_it(store, key, clock):
    lookups = Lookups(store, max_age=3600)
    store.put_post(f"{BLOG}p", site=BLOG, title="Mine", body="my body")
    assert lookups.post(BLOG, f"{BLOG}p") == ("Mine", "my body")
    assert lookups.post(OTHER, f"{BLOG}p") is None
    store.put_post(f"{BLOG}p", site=OTHER, title="Theirs", body="their body")
    assert lookups.post(BLOG, f"{BLOG}p") == ("Mine", "my body")
    assert lookups.post(OTHER, f"{BLOG}p") == ("Theirs", "their body")


def test_a_revoked_key_is_refused_by_the_running_app_on_its_next_check(tmp_path, model_path):  # noqa: F811
    app = make_app(tmp_path / "service.db", model_path, rate=1000, burst=1000)
    key = new_key(app.store, BLOG)
    with akismet_client(app, key) as client:
        assert client.verify_key()
        _revoke(Store(tmp_path / "service.db"), key)
        assert not client.verify_key()
