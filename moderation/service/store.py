"""The service's database: sites and their keys, posts, the scored-request log, corrections, models.

Everything goes through ``Store`` so that a different database (a URL, later) replaces one class.
SQLite is opened in WAL mode with ``synchronous=FULL``: in WAL mode FULL makes every commit fsync the
log before it returns, so a correction acknowledged to a client survives a kill -9 or a power cut
(NORMAL would only survive the former). Readers never block the writer in WAL mode, which is what
lets many scoring threads log requests while a retrain reads the corrections.

The file holds comment text, e-mail and IP addresses, so it is created owner-only (0600); SQLite gives
its -wal and -shm files the database file's mode, so they are 0600 too.

Schema history (``meta.schema_version``), migrated in place when an older database is opened:
  1. posts keyed by permalink alone, one active model for every site.
  2. posts keyed by (site, permalink), so one site can neither replace nor read another's posts;
     models carry the site they were trained for ('' is the shared base), each site has its own active
     model and a flag that shares its corrections with other sites' retraining (table ``sites``).
  3. the moderation queue (issue 11): a password per site (``site_auth``) and login ``sessions``; the
     queue's actions on logged requests (``queue_actions``, each tied to the correction it stored, so it
     can be undone); ``rechecks`` keeping a request's earlier verdict when ``moderation recheck`` changes
     it; shadow mode (``sites.shadow``, ``requests.shadow``); each request's reason families
     (``request_families``) and indexes so that a page of the queue is an index range, not a scan.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

SCHEMA_VERSION = 3

# What ``lookups.Lookups`` caches (keys, posts, a site's shadow flag, the model pointers) is only ever
# changed by a transaction that also writes a new random token under this ``meta`` key, so a process
# tells that another one changed them by reading one row; and, in this process, by ``last_change()``.
LOOKUPS_VERSION = "lookups_version"
_CHANGES = itertools.count(1)
_last_change = 0


def last_change() -> int:
    """A number that every committed change to what ``Lookups`` caches, by any ``Store`` in this process,
    replaces with one never used before."""
    return _last_change


# Schema 3 (issue 11). Every queue query names the site first, so each index leads with it.
_QUEUE_SCHEMA = """
CREATE TABLE IF NOT EXISTS site_auth (site TEXT PRIMARY KEY, password_hash TEXT NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS queue_actions (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    site TEXT NOT NULL,
    request_id INTEGER NOT NULL,
    label TEXT NOT NULL CHECK (label IN ('spam', 'ham')),
    correction_id INTEGER,
    undone REAL
);
CREATE TABLE IF NOT EXISTS rechecks (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    site TEXT NOT NULL,
    request_id INTEGER NOT NULL,
    old_score REAL,
    old_verdict TEXT,
    old_reasons TEXT NOT NULL DEFAULT '[]',
    old_model TEXT NOT NULL DEFAULT '',
    new_score REAL,
    new_verdict TEXT,
    new_model TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS request_families (
    site TEXT NOT NULL,
    family TEXT NOT NULL,
    request_id INTEGER NOT NULL,
    PRIMARY KEY (site, family, request_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);
CREATE INDEX IF NOT EXISTS queue_actions_request ON queue_actions (site, request_id);
CREATE INDEX IF NOT EXISTS rechecks_request ON rechecks (site, request_id);
CREATE INDEX IF NOT EXISTS requests_site_id ON requests (site, id);
CREATE INDEX IF NOT EXISTS requests_site_verdict ON requests (site, verdict, id);
CREATE INDEX IF NOT EXISTS requests_site_post ON requests (site, permalink, id);
CREATE INDEX IF NOT EXISTS requests_site_shadow ON requests (site, shadow, verdict);
"""


_SCHEMA = (
    """
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
    site TEXT NOT NULL,
    permalink TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL,
    PRIMARY KEY (site, permalink)
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
    post_known INTEGER NOT NULL DEFAULT 0,
    shadow INTEGER NOT NULL DEFAULT 0
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
    note TEXT NOT NULL DEFAULT '',
    site TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS sites (
    site TEXT PRIMARY KEY,
    active_model TEXT,
    share_corrections INTEGER NOT NULL DEFAULT 0,
    shadow INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS requests_site_ts ON requests (site, ts);
CREATE INDEX IF NOT EXISTS corrections_site ON corrections (site, id);
"""
    + _QUEUE_SCHEMA
)


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
    site: str = ""


class Store:
    """One SQLite file, one connection per thread (sqlite3 connections must not be shared)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if str(path) != ":memory:" and not self.path.parent.is_dir():
            raise InputError(f"{self.path}: directory {self.path.parent} does not exist")
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        if str(path) != ":memory:":
            _create_private(self.path)
        db = self._connection()
        self._migrate(db)
        # executescript commits on its own, so it runs outside transaction(); every statement is idempotent.
        db.executescript(_SCHEMA)
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        if str(path) != ":memory:":
            _tighten(self.path)

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Bring an older database up to SCHEMA_VERSION in place, one committed step per version."""
        has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
        if not has_meta:
            return  # a new database: the schema below is already the latest
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row and str(row[0]).isdigit() else SCHEMA_VERSION
        if version > SCHEMA_VERSION:
            raise InputError(
                f"{self.path}: database schema {version} is newer than this moderation understands "
                f"({SCHEMA_VERSION}); upgrade moderation"
            )
        while version < SCHEMA_VERSION:
            with self.transaction() as tx:
                # Re-read inside the write lock: another process may have migrated meanwhile.
                current = int(tx.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
                if current == version:
                    _MIGRATIONS[version](tx)
                    tx.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version + 1),))
                version = int(tx.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])

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

    @contextmanager
    def _changing_lookups(self) -> Iterator[sqlite3.Connection]:
        """``transaction()`` for a change to keys, posts, a site's shadow flag or a model pointer."""
        global _last_change
        with self.transaction() as db:
            yield db
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (LOOKUPS_VERSION, secrets.token_hex(8))
            )
        _last_change = next(_CHANGES)

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
        with self._changing_lookups() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- keys -------------------------------------------------------------------------------------

    def add_key(self, site: str, key_hash: str, hint: str) -> int:
        with self._changing_lookups() as db:
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

    def key_sites(self) -> list[str]:
        """Sites with at least one active key."""
        rows = self._connection().execute("SELECT DISTINCT site FROM keys WHERE revoked IS NULL ORDER BY site")
        return [row["site"] for row in rows.fetchall()]

    def list_keys(self, *, include_revoked: bool = False) -> list[KeyRecord]:
        sql = "SELECT id, site, hint, created, revoked FROM keys"
        if not include_revoked:
            sql += " WHERE revoked IS NULL"
        rows = self._connection().execute(sql + " ORDER BY id").fetchall()
        return [KeyRecord(**dict(row)) for row in rows]

    def revoke_keys(self, *, site: str | None = None, key_hash: str | None = None, key_id: int | None = None) -> int:
        """Revoke (not delete) so that logged requests and corrections keep a meaningful site."""
        if site is None and key_hash is None and key_id is None:
            raise ValueError("revoke_keys needs a site, a key hash or a key id")
        with self._changing_lookups() as db:
            if key_id is not None:
                cur = db.execute(
                    "UPDATE keys SET revoked = ? WHERE id = ? AND revoked IS NULL",
                    (time.time(), key_id),
                )
            elif key_hash is not None:
                cur = db.execute(
                    "UPDATE keys SET revoked = ? WHERE key_hash = ? AND revoked IS NULL",
                    (time.time(), key_hash),
                )
            else:
                cur = db.execute("UPDATE keys SET revoked = ? WHERE site = ? AND revoked IS NULL", (time.time(), site))
            return cur.rowcount

    # -- posts ------------------------------------------------------------------------------------

    def put_post(self, permalink: str, *, site: str, title: str = "", body: str = "") -> None:
        self.put_posts([(permalink, site, title, body)])

    def put_posts(self, posts: list[tuple[str, str, str, str]]) -> int:
        """Bulk insert of (permalink, site, title, body), in one transaction: an import is all or nothing.

        Keyed by (site, permalink): a post stored by one site replaces only that site's own row."""
        now = time.time()
        with self._changing_lookups() as db:
            db.executemany(
                "INSERT OR REPLACE INTO posts (site, permalink, title, body, updated) VALUES (?, ?, ?, ?, ?)",
                [(s, p, t, b, now) for p, s, t, b in posts],
            )
        return len(posts)

    def get_post(self, permalink: str, *, site: str) -> tuple[str, str] | None:
        row = (
            self._connection()
            .execute("SELECT title, body FROM posts WHERE site = ? AND permalink = ?", (site, permalink))
            .fetchone()
        )
        return (row["title"], row["body"]) if row else None

    def list_posts(self, *, site: str | None = None) -> list[tuple[str, str, str, float]]:
        """(site, permalink, title, updated) of every stored post, or of one site's."""
        sql = "SELECT site, permalink, title, updated FROM posts"
        args: tuple = ()
        if site is not None:
            sql += " WHERE site = ?"
            args = (site,)
        rows = self._connection().execute(sql + " ORDER BY site, permalink", args).fetchall()
        return [(r["site"], r["permalink"], r["title"], r["updated"]) for r in rows]

    def count_posts(self, *, site: str | None = None) -> int:
        if site is None:
            return int(self._connection().execute("SELECT COUNT(*) FROM posts").fetchone()[0])
        return int(self._connection().execute("SELECT COUNT(*) FROM posts WHERE site = ?", (site,)).fetchone()[0])

    # -- request log ------------------------------------------------------------------------------

    def log_requests(self, rows: list[dict]) -> list[int]:
        """Rows of site, endpoint, answer, model_version and optionally permalink, author, content,
        score, verdict, reasons, post_known; in one transaction, so one fsync for a whole scoring batch."""
        from .families import families_of

        ids = []
        families = []
        with self.transaction() as db:
            for row in rows:
                cur = db.execute(
                    "INSERT INTO requests (ts, site, endpoint, permalink, author, content, score, verdict,"
                    " answer, model_version, reasons, post_known, shadow)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                        int(bool(row.get("shadow"))),
                    ),
                )
                ids.append(int(cur.lastrowid))
                families.extend((row["site"], f, ids[-1]) for f in families_of(row.get("reasons") or []))
            db.executemany(
                "INSERT OR IGNORE INTO request_families (site, family, request_id) VALUES (?, ?, ?)", families
            )
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

    def corrections(self, *, include_tests: bool = False, sites: list[str] | None = None) -> list[Correction]:
        """Every correction, or those of ``sites`` only (a retrain learns from its own site's)."""
        sql = (
            "SELECT id, ts, site, label, permalink, author, author_email, author_url, author_ip,"
            " comment_type, content, is_test FROM corrections WHERE 1 = 1"
        )
        args: list = []
        if not include_tests:
            sql += " AND is_test = 0"
        if sites is not None:
            sql += f" AND site IN ({', '.join('?' * len(sites))})" if sites else " AND 0"
            args.extend(sites)
        rows = self._connection().execute(sql + " ORDER BY id", args).fetchall()
        return [Correction(**{**dict(row), "is_test": bool(row["is_test"])}) for row in rows]

    def count_corrections(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM corrections").fetchone()[0])

    # -- sites ------------------------------------------------------------------------------------

    def sharing_sites(self) -> list[str]:
        """Sites whose owners opted in to sharing their corrections with every other site's retraining."""
        rows = self._connection().execute("SELECT site FROM sites WHERE share_corrections = 1 ORDER BY site")
        return [row["site"] for row in rows.fetchall()]

    def set_sharing(self, site: str, share: bool) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO sites (site) VALUES (?)", (site,))
            db.execute("UPDATE sites SET share_corrections = ? WHERE site = ?", (int(share), site))

    # -- models -----------------------------------------------------------------------------------

    def add_model(self, version: str, path: str, *, status: str, metrics: dict, note: str = "", site: str = "") -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO models (version, path, created, status, metrics, note, site)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (version, path, time.time(), status, json.dumps(metrics, sort_keys=True), note, site),
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

    def list_models(self, *, site: str | None = None) -> list[ModelRecord]:
        sql, args = "SELECT * FROM models", ()
        if site is not None:
            sql, args = sql + " WHERE site = ?", (site,)
        rows = self._connection().execute(sql + " ORDER BY created, version", args).fetchall()
        return [_model_record(row) for row in rows]

    def active_model(self, site: str | None = None) -> str | None:
        """The promoted version for ``site`` (None: the shared base pointer), read on every scoring
        request: one indexed read of a tiny table. A site without its own model has None here."""
        if not site:
            return self.get_setting("active_model")
        row = self._connection().execute("SELECT active_model FROM sites WHERE site = ?", (site,)).fetchone()
        return row["active_model"] if row else None

    def active_models(self) -> dict[str, str]:
        """Every site's own active model (sites without one are left out)."""
        rows = self._connection().execute("SELECT site, active_model FROM sites WHERE active_model IS NOT NULL")
        return {row["site"]: row["active_model"] for row in rows.fetchall()}

    def activate_model(self, version: str, *, site: str | None = None) -> None:
        """The pointer swap: one committed row. Running services see it on their next request.

        ``site`` None activates for the site the model was trained for (its own registry row), so a
        site's model can never become another site's or the shared one by accident."""
        with self._changing_lookups() as db:
            row = db.execute("SELECT version, site FROM models WHERE version = ?", (version,)).fetchone()
            if row is None:
                raise InputError(f"no model version {version!r}; see `moderation models`")
            target = row["site"] if site is None else site
            if target:
                old = db.execute("SELECT active_model FROM sites WHERE site = ?", (target,)).fetchone()
                db.execute("INSERT OR IGNORE INTO sites (site) VALUES (?)", (target,))
                db.execute("UPDATE sites SET active_model = ? WHERE site = ?", (version, target))
            else:
                old = db.execute("SELECT value AS active_model FROM meta WHERE key = 'active_model'").fetchone()
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('active_model', ?)", (version,))
            if old is not None and old["active_model"] and old["active_model"] != version:
                db.execute(
                    "UPDATE models SET status = 'retired' WHERE version = ? AND status = 'active'",
                    (old["active_model"],),
                )
            db.execute("UPDATE models SET status = 'active' WHERE version = ?", (version,))

    # -- the moderation queue (schema 3) ------------------------------------------------------------

    def set_password_hash(self, site: str, password_hash: str) -> None:
        """A new password also ends the site's sessions: whoever knew the old one is logged out."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO site_auth (site, password_hash, updated) VALUES (?, ?, ?)",
                (site, password_hash, time.time()),
            )
            db.execute("DELETE FROM sessions WHERE site = ?", (site,))

    def password_hash(self, site: str) -> str | None:
        row = self._connection().execute("SELECT password_hash FROM site_auth WHERE site = ?", (site,)).fetchone()
        return row["password_hash"] if row else None

    def add_session(self, token_hash: str, site: str, csrf: str, expires: float) -> None:
        now = time.time()
        with self.transaction() as db:
            db.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            db.execute(
                "INSERT INTO sessions (token_hash, site, csrf, created, expires) VALUES (?, ?, ?, ?, ?)",
                (token_hash, site, csrf, now, expires),
            )

    def get_session(self, token_hash: str) -> tuple[str, str] | None:
        """(site, csrf token) of a live session whose key has not been revoked since, else None."""
        row = (
            self._connection()
            .execute(
                "SELECT site, csrf FROM sessions WHERE token_hash = ? AND expires > ?"
                " AND EXISTS (SELECT 1 FROM keys WHERE keys.site = sessions.site AND revoked IS NULL)",
                (token_hash, time.time()),
            )
            .fetchone()
        )
        return (row["site"], row["csrf"]) if row else None

    def delete_session(self, token_hash: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def set_shadow(self, site: str, shadow: bool) -> None:
        with self._changing_lookups() as db:
            db.execute("INSERT OR IGNORE INTO sites (site) VALUES (?)", (site,))
            db.execute("UPDATE sites SET shadow = ? WHERE site = ?", (int(shadow), site))

    def is_shadow(self, site: str) -> bool:
        row = self._connection().execute("SELECT shadow FROM sites WHERE site = ?", (site,)).fetchone()
        return bool(row and row["shadow"])

    def shadow_counts(self, site: str) -> dict[str, int]:
        """How many of ``site``'s checks answered in shadow mode would have been blocked (spam) or held."""
        rows = self._connection().execute(
            "SELECT verdict, COUNT(*) AS n FROM requests WHERE site = ? AND shadow = 1 AND verdict IN ('spam', 'hold')"
            " GROUP BY verdict",
            (site,),
        )
        counts = {"spam": 0, "hold": 0}
        counts.update({row["verdict"]: int(row["n"]) for row in rows.fetchall()})
        return counts

    def request_page(
        self,
        site: str,
        *,
        verdict: str | None = None,
        family: str | None = None,
        permalink: str | None = None,
        since: float | None = None,
        until: float | None = None,
        text: str | None = None,
        shadow: bool | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[dict]:
        """One page of ``site``'s logged requests, newest first, with the latest queue action on each.

        Keyset paging: ``before`` is the last id of the previous page, so every page is an index range
        read from where the last one stopped (OFFSET would read and discard every earlier row: page 2000
        of 100k rows would cost as much as reading them all). A date range becomes an id range through the
        (site, ts) index, for the same reason. Text search is a substring match (case-insensitive for
        ASCII) that reads the site's rows the other filters leave, newest first, until a page is full: a
        word that matches nothing reads them all (``benchmarks/bench_queue.py`` measures it)."""
        db = self._connection()
        where = ["r.site = ?"]
        args: list = [site]
        if since is not None or until is not None:
            bounds = db.execute(
                "SELECT MIN(id), MAX(id) FROM requests WHERE site = ? AND ts >= ? AND ts < ?",
                (site, since if since is not None else float("-inf"), until if until is not None else float("inf")),
            ).fetchone()
            if bounds[0] is None:
                return []
            where.append("r.id BETWEEN ? AND ?")
            args += [bounds[0], bounds[1]]
        if verdict:
            where.append("r.verdict = ?")
            args.append(verdict)
        if permalink:
            where.append("r.permalink = ?")
            args.append(permalink)
        if shadow is not None:
            where.append("r.shadow = ?")
            args.append(int(shadow))
        if family:
            where.append(
                "EXISTS (SELECT 1 FROM request_families f"
                " WHERE f.site = r.site AND f.family = ? AND f.request_id = r.id)"
            )
            args.append(family)
        if text:
            # LIKE, not instr(lower(...)): half the time on 100k rows (69 vs 146 ms), since it folds case
            # (ASCII only) without copying each row. The text's own % and _ are escaped: literal, not wildcards.
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append("(r.content LIKE ? ESCAPE '\\' OR r.author LIKE ? ESCAPE '\\')")
            args += [pattern, pattern]
        if before is not None:
            where.append("r.id < ?")
            args.append(before)
        sql = (
            "SELECT r.id, r.ts, r.permalink, r.author, r.content, r.score, r.verdict, r.answer, r.model_version,"
            " r.reasons, r.shadow, r.endpoint,"
            " (SELECT label FROM queue_actions a WHERE a.site = r.site AND a.request_id = r.id AND a.undone IS NULL"
            "  ORDER BY a.id DESC LIMIT 1) AS moderator_label,"
            " (SELECT id FROM queue_actions a WHERE a.site = r.site AND a.request_id = r.id AND a.undone IS NULL"
            "  ORDER BY a.id DESC LIMIT 1) AS action_id,"
            " (SELECT COUNT(*) FROM rechecks k WHERE k.site = r.site AND k.request_id = r.id) AS rechecked"
            f" FROM requests r WHERE {' AND '.join(where)} ORDER BY r.id DESC LIMIT ?"
        )
        rows = db.execute(sql, [*args, limit]).fetchall()
        result = []
        for row in rows:
            data = dict(row)
            data["reasons"] = _reasons(data["reasons"])
            result.append(data)
        return result

    def site_posts_seen(self, site: str, limit: int = 200) -> list[str]:
        """The permalinks of ``site``'s stored posts, for the page's post filter."""
        rows = self._connection().execute(
            "SELECT permalink FROM posts WHERE site = ? ORDER BY updated DESC LIMIT ?", (site, limit)
        )
        return [row["permalink"] for row in rows.fetchall()]

    def record_action(self, site: str, request_id: int, label: str) -> int | None:
        """A moderator's "spam"/"not spam" on one of ``site``'s requests: stores the correction through
        ``add_correction`` (what submit-spam/submit-ham store) and an undoable action tied to it.
        None when the request is not ``site``'s (or does not exist); a request with no text gets the
        action (it is the moderator's verdict) but no correction, as submit-ham skips an empty comment."""
        record = self.get_request(request_id)
        if record is None or record["site"] != site:
            return None
        correction_id = None
        if record["content"].strip():
            correction_id = self.add_correction(
                site=site,
                label=label,
                content=record["content"],
                permalink=record["permalink"],
                author=record["author"],
                fields={"queue_request_id": request_id},
            )
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO queue_actions (ts, site, request_id, label, correction_id) VALUES (?, ?, ?, ?, ?)",
                (time.time(), site, request_id, label, correction_id),
            )
            return int(cur.lastrowid)

    def undo_action(self, site: str, action_id: int) -> bool:
        """Undo one of ``site``'s actions: its correction is deleted, so no retrain learns from it."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT correction_id FROM queue_actions WHERE id = ? AND site = ? AND undone IS NULL",
                (action_id, site),
            ).fetchone()
            if row is None:
                return False
            if row["correction_id"] is not None:
                db.execute("DELETE FROM corrections WHERE id = ? AND site = ?", (row["correction_id"], site))
            db.execute("UPDATE queue_actions SET undone = ? WHERE id = ?", (time.time(), action_id))
            return True

    def last_actions(self, site: str, limit: int = 20) -> list[dict]:
        rows = self._connection().execute(
            "SELECT id, ts, request_id, label, undone FROM queue_actions WHERE site = ? ORDER BY id DESC LIMIT ?",
            (site, limit),
        )
        return [dict(row) for row in rows.fetchall()]

    def recheck_candidates(
        self,
        site: str | None,
        *,
        held: bool,
        since: float | None,
        until: float | None,
        after: int = 0,
        limit: int = 500,
    ) -> list[dict]:
        """Stored checks to re-score, by id from ``after`` on (a batch at a time, so memory stays flat)."""
        where, args = _recheck_filter(site, held, since, until)
        where.append("id > ?")
        args.append(after)
        rows = self._connection().execute(
            "SELECT id, ts, site, permalink, author, content, score, verdict, reasons, model_version FROM requests"
            f" WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
            [*args, limit],
        )
        return [{**dict(row), "reasons": _reasons(row["reasons"])} for row in rows.fetchall()]

    def count_recheck_candidates(
        self, site: str | None, *, held: bool, since: float | None, until: float | None
    ) -> int:
        where, args = _recheck_filter(site, held, since, until)
        where.append("1 = 1")
        return int(
            self._connection().execute(f"SELECT COUNT(*) FROM requests WHERE {' AND '.join(where)}", args).fetchone()[0]
        )

    def apply_rechecks(self, changes: list[dict]) -> None:
        """Store new verdicts of re-scored requests, keeping each earlier one in ``rechecks``."""
        from .families import families_of

        now = time.time()
        with self.transaction() as db:
            for c in changes:
                db.execute(
                    "INSERT INTO rechecks (ts, site, request_id, old_score, old_verdict, old_reasons, old_model,"
                    " new_score, new_verdict, new_model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        now,
                        c["site"],
                        c["id"],
                        c["old_score"],
                        c["old_verdict"],
                        json.dumps(c["old_reasons"], ensure_ascii=False),
                        c["old_model"],
                        c["score"],
                        c["verdict"],
                        c["model_version"],
                    ),
                )
                db.execute(
                    "UPDATE requests SET score = ?, verdict = ?, reasons = ?, model_version = ? WHERE id = ?",
                    (
                        c["score"],
                        c["verdict"],
                        json.dumps(c["reasons"], ensure_ascii=False),
                        c["model_version"],
                        c["id"],
                    ),
                )
                db.execute("DELETE FROM request_families WHERE site = ? AND request_id = ?", (c["site"], c["id"]))
                db.executemany(
                    "INSERT OR IGNORE INTO request_families (site, family, request_id) VALUES (?, ?, ?)",
                    [(c["site"], f, c["id"]) for f in families_of(c["reasons"])],
                )


def _migrate_1_to_2(db: sqlite3.Connection) -> None:
    """Posts re-keyed by (site, permalink); models get a site; per-site pointers and sharing.

    Version 1 stored the site beside each post (or '' from `posts import` without --site). A '' post
    is given to the one site with keys whose host is the post's host, when exactly one matches;
    otherwise it stays under '' where no key reads it (`moderation posts list` shows it)."""
    from .sites import same_site

    db.execute(
        "CREATE TABLE posts_v2 (site TEXT NOT NULL, permalink TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',"
        " body TEXT NOT NULL DEFAULT '', updated REAL NOT NULL, PRIMARY KEY (site, permalink))"
    )
    sites = [r[0] for r in db.execute("SELECT DISTINCT site FROM keys WHERE revoked IS NULL").fetchall()]
    for permalink, site, title, body, updated in db.execute(
        "SELECT permalink, site, title, body, updated FROM posts"
    ).fetchall():
        if not site:
            owners = [s for s in sites if same_site(s, permalink)]
            site = owners[0] if len(owners) == 1 else ""
        db.execute(
            "INSERT OR REPLACE INTO posts_v2 (site, permalink, title, body, updated) VALUES (?, ?, ?, ?, ?)",
            (site, permalink, title, body, updated),
        )
    db.execute("DROP TABLE posts")
    db.execute("ALTER TABLE posts_v2 RENAME TO posts")
    db.execute("ALTER TABLE models ADD COLUMN site TEXT NOT NULL DEFAULT ''")
    db.execute(
        "CREATE TABLE IF NOT EXISTS sites (site TEXT PRIMARY KEY, active_model TEXT,"
        " share_corrections INTEGER NOT NULL DEFAULT 0)"
    )


def _migrate_2_to_3(db: sqlite3.Connection) -> None:
    """Shadow flags on sites and requests; the queue's tables; each logged request's reason families."""
    from .families import families_of

    db.execute("ALTER TABLE sites ADD COLUMN shadow INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE requests ADD COLUMN shadow INTEGER NOT NULL DEFAULT 0")
    for statement in _QUEUE_SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
    rows = db.execute("SELECT id, site, reasons FROM requests")
    while batch := rows.fetchmany(5000):
        db.executemany(
            "INSERT OR IGNORE INTO request_families (site, family, request_id) VALUES (?, ?, ?)",
            [(site, f, rid) for rid, site, reasons in batch for f in families_of(_reasons(reasons))],
        )


def _reasons(text: str) -> list:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []


_MIGRATIONS = {1: _migrate_1_to_2, 2: _migrate_2_to_3}


def _create_private(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would use the umask, usually 0644)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise InputError(f"{path}: cannot create the database ({exc.strerror})") from None
    os.close(fd)


def _tighten(path: Path) -> None:
    """An existing database made 0644 by an older version is made owner-only, with its -wal and -shm."""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if file.stat().st_mode & 0o077 and file.stat().st_uid == os.getuid():
                file.chmod(0o600)
        except OSError:
            continue


def _model_record(row: sqlite3.Row) -> ModelRecord:
    data = dict(row)
    data["metrics"] = json.loads(data["metrics"])
    return ModelRecord(**data)


def _recheck_filter(site: str | None, held: bool, since: float | None, until: float | None) -> tuple[list[str], list]:
    """The WHERE terms and arguments shared by recheck_candidates and count_recheck_candidates."""
    where, args = [], []
    if site is not None:
        where.append("site = ?")
        args.append(site)
    if held:
        where.append("verdict = 'hold'")
    if since is not None:
        where.append("ts >= ?")
        args.append(since)
    if until is not None:
        where.append("ts < ?")
        args.append(until)
    return where, args
