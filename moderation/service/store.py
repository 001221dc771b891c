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
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

SCHEMA_VERSION = 2

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
    note TEXT NOT NULL DEFAULT '',
    site TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS sites (
    site TEXT PRIMARY KEY,
    active_model TEXT,
    share_corrections INTEGER NOT NULL DEFAULT 0
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
        with self.transaction() as db:
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
        with self.transaction() as db:
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
        with self.transaction() as db:
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


_MIGRATIONS = {1: _migrate_1_to_2}


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
