"""The store: keys hashed, settings durable, and no acknowledged correction lost to a kill -9."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fixtures.service.service_support import BLOG, model_path  # noqa: F401

from moderation.errors import InputError
from moderation.service.keys import hash_key, new_key, remove_keys
from moderation.service.lookups import Lookups
from moderation.service.store import Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "s.db")


def test_keys_are_stored_hashed(store, tmp_path):
    key = new_key(store, BLOG)
    assert Lookups(store).site_for_key(key) == BLOG
    raw = (tmp_path / "s.db").read_bytes() + (tmp_path / "s.db-wal").read_bytes()
    assert key.encode() not in raw
    assert hash_key(key).encode() in raw


@pytest.mark.parametrize("bad", ["", "   ", "two words"], ids=["empty", "blank", "spaces"])
def test_bad_site_name_is_refused(store, bad):
    with pytest.raises(InputError):
        new_key(store, bad)


def test_remove_unknown_key_is_one_line_error(store):
    with pytest.raises(InputError, match="no active key"):
        remove_keys(store, "https://nobody.example/")


def test_database_is_in_wal_mode_with_full_sync(store):
    db = store._connection()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_not_a_database_is_an_input_error(tmp_path):
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputError):
        Store(bogus)


def test_missing_directory_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        Store(tmp_path / "nope" / "s.db")


_V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE keys (id INTEGER PRIMARY KEY, site TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE, hint TEXT NOT NULL,
    created REAL NOT NULL, revoked REAL);
CREATE TABLE posts (permalink TEXT PRIMARY KEY, site TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '', updated REAL NOT NULL);
CREATE TABLE requests (id INTEGER PRIMARY KEY, ts REAL NOT NULL, site TEXT NOT NULL, endpoint TEXT NOT NULL,
    permalink TEXT NOT NULL DEFAULT '', author TEXT NOT NULL DEFAULT '', content TEXT NOT NULL DEFAULT '', score REAL,
    verdict TEXT, answer TEXT NOT NULL, model_version TEXT NOT NULL, reasons TEXT NOT NULL DEFAULT '[]',
    post_known INTEGER NOT NULL DEFAULT 0);
CREATE TABLE corrections (id INTEGER PRIMARY KEY, ts REAL NOT NULL, site TEXT NOT NULL,
    label TEXT NOT NULL CHECK (label IN ('spam', 'ham')), permalink TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL DEFAULT '', author_email TEXT NOT NULL DEFAULT '', author_url TEXT NOT NULL DEFAULT '',
    author_ip TEXT NOT NULL DEFAULT '', comment_type TEXT NOT NULL DEFAULT 'comment', content TEXT NOT NULL DEFAULT '',
    is_test INTEGER NOT NULL DEFAULT 0, fields TEXT NOT NULL DEFAULT '{}');
CREATE TABLE models (version TEXT PRIMARY KEY, path TEXT NOT NULL, created REAL NOT NULL, status TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}', note TEXT NOT NULL DEFAULT '');
INSERT INTO meta VALUES ('schema_version', '1'), ('active_model', 'm1');
INSERT INTO keys VALUES (1, 'https://crumbnotes.example/', 'h1', 'abcd', 0, NULL);
INSERT INTO keys VALUES (2, 'https://other.example/', 'h2', 'ef01', 0, NULL);
INSERT INTO posts VALUES ('https://other.example/a', 'https://other.example/', 'A', 'a body', 1);
INSERT INTO posts VALUES ('https://crumbnotes.example/rye', '', 'Rye', 'rye body', 2);
INSERT INTO posts VALUES ('https://nobody.example/x', '', 'X', 'x body', 3);
INSERT INTO models VALUES ('m1', '/m1.joblib', 0, 'active', '{}', '');
INSERT INTO corrections (ts, site, label, content) VALUES (0, 'https://other.example/', 'spam', 'kept');
"""


def test_version_1_database_is_migrated_in_place(tmp_path):
    db = tmp_path / "v1.db"
    with sqlite3.connect(db) as old:
        old.executescript(_V1_SCHEMA)
    store = Store(db)
    assert store.get_setting("schema_version") == "3"
    assert store.get_post("https://other.example/a", site="https://other.example/") == ("A", "a body")
    # A v1 post stored without a site goes to the one site with a key on its host...
    assert store.get_post("https://crumbnotes.example/rye", site=BLOG) == ("Rye", "rye body")
    # ...and one on no key's host stays where no key reads it.
    assert store.get_post("https://nobody.example/x", site="") == ("X", "x body")
    # The same permalink can now be stored by two sites without replacing each other.
    store.put_post("https://other.example/a", site=BLOG, title="B")
    assert store.get_post("https://other.example/a", site="https://other.example/") == ("A", "a body")
    assert store.active_model() == "m1" and store.get_model("m1").site == ""
    assert [c.content for c in store.corrections()] == ["kept"]
    Store(db)  # opening a migrated database again is a no-op
    assert Store(db).count_posts() == 4


def test_newer_schema_is_refused_in_one_line(tmp_path):
    db = tmp_path / "future.db"
    Store(db).set_setting("schema_version", "99")
    with pytest.raises(InputError, match="newer than this moderation understands"):
        Store(db)


def test_activate_unknown_model_is_refused(store):
    with pytest.raises(InputError):
        store.activate_model("nope")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_acknowledged_corrections_survive_kill_9(tmp_path, model_path):  # noqa: F811
    """A real waitress server in a subprocess, killed with SIGKILL while corrections pour in."""
    db = tmp_path / "durable.db"
    key = new_key(Store(db), BLOG)
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "moderation.service",
            "serve",
            "--db",
            str(db),
            "--model",
            str(model_path),
            "--port",
            str(port),
            "--rate",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read().decode()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)

        def submit(worker: int) -> None:
            with httpx.Client(base_url=base, timeout=5) as client:
                for n in range(1000):
                    if stop.is_set():
                        return
                    text = f"correction {worker}-{n}"
                    data = {"api_key": key, "blog": BLOG, "user_ip": "10.0.0.1", "comment_content": text}
                    try:
                        reply = client.post("/1.1/submit-spam", data=data)
                    except httpx.TransportError:
                        return
                    if reply.text == "Thanks for making the web a better place.":
                        with lock:
                            acknowledged.append(text)

        workers = [threading.Thread(target=submit, args=(w,)) for w in range(4)]
        for w in workers:
            w.start()
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        stop.set()
        for w in workers:
            w.join(timeout=10)
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
        server.stderr.close()

    assert len(acknowledged) >= 40
    with sqlite3.connect(db) as check:
        stored = {row[0] for row in check.execute("SELECT content FROM corrections")}
    assert set(acknowledged) <= stored


def test_database_and_its_wal_and_shm_are_owner_only(tmp_path):
    """Issue 9 item 13: the database holds comment text, e-mail and IP addresses; it was created 0644."""
    old_umask = os.umask(0o022)
    try:
        store = Store(tmp_path / "private.db")
        new_key(store, BLOG)  # a write, so the -wal and -shm files exist
    finally:
        os.umask(old_umask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {"private.db": 0o600, "private.db-wal": 0o600, "private.db-shm": 0o600}


def test_existing_world_readable_database_is_tightened(tmp_path):
    db = tmp_path / "old.db"
    Store(db).close()
    db.chmod(0o644)
    Store(db)
    assert db.stat().st_mode & 0o777 == 0o600
