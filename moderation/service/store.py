"""The service's database: sites and their keys, posts, the scored-request log, corrections, models.

Everything goes through ``Store`` so that a different database (a URL, later) replaces one class.
SQLite is opened in WAL mode with ``synchronous=FULL``: in WAL mode FULL makes every commit fsync the
log before it returns, so a correction acknowledged to a client survives a kill -9 or a power cut
(NORMAL would only survive the former). Readers never block the writer in WAL mode, which is what
lets many scoring threads log requests while a retrain reads the corrections.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created REAL NOT NULL,
    revoked REAL
);
CREATE TABLE IF NOT EXISTS posts (
    permalink TEXT PRIMARY KEY,
    site TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    site TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    permalink TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    score REAL,
    verdict TEXT,
    answer TEXT NOT NULL,
    model_version TEXT NOT NULL,
    reasons TEXT NOT NULL DEFAULT '[]',
    post_known INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS corrections (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    site TEXT NOT NULL,
    label TEXT NOT NULL CHECK (label IN ('spam', 'ham')),
    permalink TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL DEFAULT '',
    author_email TEXT NOT NULL DEFAULT '',
    author_url TEXT NOT NULL DEFAULT '',
    author_ip TEXT NOT NULL DEFAULT '',
    comment_type TEXT NOT NULL DEFAULT 'comment',
    content TEXT NOT NULL DEFAULT '',
    is_test INTEGER NOT NULL DEFAULT 0,
    fields TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS models (
    version TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}',
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS requests_site_ts ON requests (site, ts);
CREATE INDEX IF NOT EXISTS corrections_site ON corrections (site, id);
"""


@dataclass(frozen=True)
class KeyRecord:
    id: int
    site: str
    hint: str
    created: float
    revoked: float | None


@dataclass(frozen=True)
class Correction:
    id: int
    ts: float
    site: str
    label: str
    permalink: str
    author: str
    author_email: str
    author_url: str
    author_ip: str
    comment_type: str
    content: str
    is_test: bool


@dataclass(frozen=True)
class ModelRecord:
    version: str
    path: str
    created: float
    status: str
    metrics: dict
    note: str


class Store:
    """One SQLite file, one connection per thread (sqlite3 connections must not be shared)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if str(path) != ":memory:" and not self.path.parent.is_dir():
            raise InputError(f"{self.path}: directory {self.path.parent} does not exist")
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # executescript commits on its own, so it runs outside transaction(); every statement is idempotent.
        self._connection().executescript(_SCHEMA)
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                db.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as exc:
                raise InputError(f"{self.path}: not a usable database ({exc})") from None
            db.row_factory = sqlite3.Row
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE so concurrent writers queue on the busy timeout instead of failing late."""
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()

    # -- settings ---------------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        row = self._connection().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- keys -------------------------------------------------------------------------------------

    def add_key(self, site: str, key_hash: str, hint: str) -> int:
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO keys (site, key_hash, hint, created) VALUES (?, ?, ?, ?)",
                (site, key_hash, hint, time.time()),
            )
            return int(cur.lastrowid)

    def site_for_key_hash(self, key_hash: str) -> str | None:
        row = (
            self._connection()
            .execute("SELECT site FROM keys WHERE key_hash = ? AND revoked IS NULL", (key_hash,))
            .fetchone()
        )
        return row["site"] if row else None

    def list_keys(self, *, include_revoked: bool = False) -> list[KeyRecord]:
        sql = "SELECT id, site, hint, created, revoked FROM keys"
        if not include_revoked:
            sql += " WHERE revoked IS NULL"
        rows = self._connection().execute(sql + " ORDER BY id").fetchall()
        return [KeyRecord(**dict(row)) for row in rows]

    def revoke_keys(self, *, site: str | None = None, key_hash: str | None = None) -> int:
        """Revoke (not delete) so that logged requests and corrections keep a meaningful site."""
        if site is None and key_hash is None:
            raise ValueError("revoke_keys needs a site or a key hash")
        with self.transaction() as db:
            if key_hash is not None:
                cur = db.execute(
                    "UPDATE keys SET revoked = ? WHERE key_hash = ? AND revoked IS NULL",
                    (time.time(), key_hash),
                )
            else:
                cur = db.execute("UPDATE keys SET revoked = ? WHERE site = ? AND revoked IS NULL", (time.time(), site))
            return cur.rowcount

    # -- posts ------------------------------------------------------------------------------------

    def put_post(self, permalink: str, *, title: str = "", body: str = "", site: str = "") -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO posts (permalink, site, title, body, updated) VALUES (?, ?, ?, ?, ?)",
                (permalink, site, title, body, time.time()),
            )

    def put_posts(self, posts: list[tuple[str, str, str, str]]) -> int:
        """Bulk insert of (permalink, site, title, body), in one transaction: an import is all or nothing."""
        now = time.time()
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO posts (permalink, site, title, body, updated) VALUES (?, ?, ?, ?, ?)",
                [(p, s, t, b, now) for p, s, t, b in posts],
            )
        return len(posts)

    def get_post(self, permalink: str) -> tuple[str, str] | None:
        row = self._connection().execute("SELECT title, body FROM posts WHERE permalink = ?", (permalink,)).fetchone()
        return (row["title"], row["body"]) if row else None

    def count_posts(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM posts").fetchone()[0])

    # -- request log ------------------------------------------------------------------------------

    def log_request(self, **row) -> int:
        """Log one scored request (see ``log_requests`` for the fields); returns its id."""
        return self.log_requests([row])[0]

    def log_requests(self, rows: list[dict]) -> list[int]:
        """Rows of site, endpoint, answer, model_version and optionally permalink, author, content,
        score, verdict, reasons, post_known; in one transaction, so one fsync for a whole scoring batch."""
        ids = []
        with self.transaction() as db:
            for row in rows:
                cur = db.execute(
                    "INSERT INTO requests (ts, site, endpoint, permalink, author, content, score, verdict,"
                    " answer, model_version, reasons, post_known)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        time.time(),
                        row["site"],
                        row["endpoint"],
                        row.get("permalink", ""),
                        row.get("author", ""),
                        row.get("content", ""),
                        row.get("score"),
                        row.get("verdict"),
                        row["answer"],
                        row["model_version"],
                        json.dumps(row.get("reasons") or [], ensure_ascii=False),
                        int(bool(row.get("post_known"))),
                    ),
                )
                ids.append(int(cur.lastrowid))
        return ids

    def get_request(self, request_id: int) -> dict | None:
        row = self._connection().execute("SELECT * FROM requests WHERE id = ?", (request_id,)).fetchone()
        if row is None:
            return None
        data = dict(row)
        data["reasons"] = json.loads(data["reasons"])
        data["post_known"] = bool(data["post_known"])
        return data

    def count_requests(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM requests").fetchone()[0])

    # -- corrections ------------------------------------------------------------------------------

    def add_correction(
        self,
        *,
        site: str,
        label: str,
        content: str,
        permalink: str = "",
        author: str = "",
        author_email: str = "",
        author_url: str = "",
        author_ip: str = "",
        comment_type: str = "comment",
        is_test: bool = False,
        fields: dict | None = None,
    ) -> int:
        """Committed (and, with synchronous=FULL, fsynced) before this returns: the reply comes after."""
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO corrections (ts, site, label, permalink, author, author_email, author_url,"
                " author_ip, comment_type, content, is_test, fields)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time(),
                    site,
                    label,
                    permalink,
                    author,
                    author_email,
                    author_url,
                    author_ip,
                    comment_type,
                    content,
                    int(is_test),
                    json.dumps(fields or {}, ensure_ascii=False),
                ),
            )
            return int(cur.lastrowid)

    def corrections(self, *, include_tests: bool = False) -> list[Correction]:
        sql = (
            "SELECT id, ts, site, label, permalink, author, author_email, author_url, author_ip,"
            " comment_type, content, is_test FROM corrections"
        )
        if not include_tests:
            sql += " WHERE is_test = 0"
        rows = self._connection().execute(sql + " ORDER BY id").fetchall()
        return [Correction(**{**dict(row), "is_test": bool(row["is_test"])}) for row in rows]

    def count_corrections(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM corrections").fetchone()[0])

    # -- models -----------------------------------------------------------------------------------

    def add_model(self, version: str, path: str, *, status: str, metrics: dict, note: str = "") -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO models (version, path, created, status, metrics, note)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (version, path, time.time(), status, json.dumps(metrics, sort_keys=True), note),
            )

    def set_model_status(self, version: str, status: str, note: str | None = None) -> None:
        with self.transaction() as db:
            if note is None:
                db.execute("UPDATE models SET status = ? WHERE version = ?", (status, version))
            else:
                db.execute("UPDATE models SET status = ?, note = ? WHERE version = ?", (status, note, version))

    def get_model(self, version: str) -> ModelRecord | None:
        row = self._connection().execute("SELECT * FROM models WHERE version = ?", (version,)).fetchone()
        return _model_record(row) if row else None

    def list_models(self) -> list[ModelRecord]:
        rows = self._connection().execute("SELECT * FROM models ORDER BY created, version").fetchall()
        return [_model_record(row) for row in rows]

    def active_model(self) -> str | None:
        """The promoted version, read on every scoring request: one indexed read of a tiny table."""
        return self.get_setting("active_model")

    def activate_model(self, version: str) -> None:
        """The pointer swap: one committed row. Running services see it on their next request."""
        with self.transaction() as db:
            row = db.execute("SELECT version FROM models WHERE version = ?", (version,)).fetchone()
            if row is None:
                raise InputError(f"no model version {version!r}; see `moderation models`")
            db.execute("UPDATE models SET status = 'retired' WHERE status = 'active'")
            db.execute("UPDATE models SET status = 'active' WHERE version = ?", (version,))
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('active_model', ?)", (version,))


def _model_record(row: sqlite3.Row) -> ModelRecord:
    data = dict(row)
    data["metrics"] = json.loads(data["metrics"])
    return ModelRecord(**data)
