"""The store on PostgreSQL and SQLite alike, against a real throwaway PostgreSQL server (never a mock).

The server is started once for this module: initdb in a temporary directory, a free port on 127.0.0.1,
stopped and deleted afterwards. Each test gets a database of its own. .ci/run installs Debian's
postgresql and the postgres extra, so in CI these run; elsewhere they skip when either is missing.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from moderation.errors import InputError
from moderation.service import store_pg
from moderation.service.store import Store


def _binary(name: str) -> str | None:
    found = shutil.which(name) or (f"/usr/local/bin/{name}" if os.path.exists(f"/usr/local/bin/{name}") else None)
    return found or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def pg_server():
    """The URL of a fresh PostgreSQL server's admin database; the server is stopped at the end."""
    if store_pg.psycopg is None:
        pytest.skip(f"psycopg is not installed ({store_pg.INSTALL_HINT})")
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed (apt-get install postgresql)")
    # initdb refuses to run as root: as root, the server runs as the postgres user (Debian's package).
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server as")
    home = tempfile.mkdtemp(prefix="moderation-pg-")
    if user:
        os.chown(home, user.pw_uid, user.pw_gid)
    run_as = {"user": user.pw_uid, "group": user.pw_gid} if user else {}
    data, port = Path(home) / "data", _free_port()
    try:
        subprocess.run(
            [initdb, "-D", str(data), "-U", "moderation", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            cwd=home,
            **run_as,
        )
        # The service suites re-run on PostgreSQL (test_pg_*.py) keep a connection per thread of each
        # app until it is collected: more than the default 100 at once.
        options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c max_connections=500"
        subprocess.run(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(Path(home) / "log"), "-w", "start"],
            check=True,
            capture_output=True,
            cwd=home,
            **run_as,
        )
        yield f"postgresql://moderation@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, cwd=home, **run_as)
        shutil.rmtree(home, ignore_errors=True)


_numbers = itertools.count()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A new, empty database on the server, for one test."""
    name = f"t{os.getpid()}_{next(_numbers)}"
    with store_pg.psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return pg_server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """The same store interface on each database."""
    if request.param == "sqlite":
        opened = Store(tmp_path / "moderation.db")
    else:
        opened = store_pg.PgStore(request.getfixturevalue("pg_url"))
    yield opened
    opened.close()


# ------------------------------------------------------------ one interface, two databases


def test_keys(store):
    first = store.add_key("blog-a", "hash-a", "ab12")
    store.add_key("blog-b", "hash-b", "cd34")
    assert isinstance(first, int)
    assert store.site_for_key_hash("hash-a") == "blog-a"
    assert store.key_sites() == ["blog-a", "blog-b"]
    assert store.revoke_keys(site="blog-a") == 1
    assert store.site_for_key_hash("hash-a") is None
    assert [k.site for k in store.list_keys()] == ["blog-b"]
    assert [k.id for k in store.list_keys(include_revoked=True)][0] == first


def test_posts_are_per_site_and_replaced_in_place(store):
    store.put_post("https://a/p", site="a", title="One", body="first body")
    store.put_post("https://a/p", site="b", title="Other site", body="not a's")
    store.put_post("https://a/p", site="a", title="One, edited", body="second body")
    assert store.get_post("https://a/p", site="a") == ("One, edited", "second body")
    assert store.get_post("https://a/p", site="b") == ("Other site", "not a's")
    assert store.get_post("https://a/p", site="c") is None
    assert store.count_posts() == 2
    assert [row[:3] for row in store.list_posts(site="a")] == [("a", "https://a/p", "One, edited")]


def test_request_log(store):
    row = {
        "site": "a",
        "endpoint": "comment-check",
        "answer": "true",
        "model_version": "m1",
        "content": "100% free, ?click? 'here'",  # placeholders and quotes in the data, not the SQL
        "score": 0.97,
        "verdict": "spam",
        "reasons": ["wording common in spam: 'free'"],
        "post_known": True,
    }
    ids = store.log_requests([row, {**row, "verdict": "approve", "score": 0.01, "reasons": []}])
    assert len(ids) == 2 and ids[0] < ids[1]
    logged = store.get_request(ids[0])
    assert logged["content"] == row["content"]
    assert logged["reasons"] == row["reasons"]
    assert logged["post_known"] is True
    assert logged["score"] == pytest.approx(0.97, abs=0)  # a double, not PostgreSQL's 4-byte REAL
    assert store.count_requests() == 2
    assert store.get_request(10**9) is None


def test_corrections_by_site_and_tests(store):
    store.add_correction(site="a", label="spam", content="buy now")
    store.add_correction(site="b", label="ham", content="nice post", is_test=True)
    store.add_correction(site="b", label="ham", content="thanks", author="Kim")
    assert [c.content for c in store.corrections()] == ["buy now", "thanks"]
    assert [c.content for c in store.corrections(include_tests=True, sites=["b"])] == ["nice post", "thanks"]
    assert store.corrections(sites=[]) == []
    assert store.count_corrections() == 3
    store.set_sharing("b", True)
    assert store.sharing_sites() == ["b"]


def test_models_and_the_active_pointer(store):
    store.add_model("base-1", "/models/base-1.joblib", status="candidate", metrics={"mcc": 0.8})
    store.add_model("base-2", "/models/base-2.joblib", status="candidate", metrics={"mcc": 0.85})
    store.add_model("a-1", "/models/a-1.joblib", status="candidate", metrics={}, site="a")
    store.activate_model("base-1")
    store.activate_model("base-2")
    store.activate_model("a-1")
    assert store.active_model() == "base-2"
    assert store.active_model("a") == "a-1"
    assert store.active_model("b") is None
    assert store.active_models() == {"a": "a-1"}
    assert store.get_model("base-1").status == "retired"
    assert store.get_model("base-2").metrics == {"mcc": 0.85}
    assert [m.version for m in store.list_models(site="a")] == ["a-1"]
    with pytest.raises(InputError, match="no model version"):
        store.activate_model("missing")


def test_settings(store):
    assert store.get_setting("x") is None
    store.set_setting("x", "1")
    store.set_setting("x", "2")
    assert store.get_setting("x") == "2"


# ------------------------------------------------------------ PostgreSQL only: versions, sharing


def test_a_new_database_gets_every_version_once(pg_url):
    store = store_pg.PgStore(pg_url)
    assert store.schema_version() == store_pg.SCHEMA_VERSION
    assert store_pg.upgrade(store) == []
    store.close()


@pytest.mark.parametrize("start", range(store_pg.SCHEMA_VERSION), ids=lambda v: f"from-{v}")
def test_upgrade_from_every_earlier_version_keeps_the_data(pg_url, start):
    store = store_pg.PgStore(pg_url, migrate=False)
    assert store_pg.upgrade(store, target=start) == list(range(1, start + 1))
    if start >= 1:
        store.add_key("a", "hash-a", "ab12")
        store.put_post("https://a/p", site="a", title="T", body="B")
    assert store_pg.upgrade(store) == list(range(start + 1, store_pg.SCHEMA_VERSION + 1))
    assert store.schema_version() == store_pg.SCHEMA_VERSION
    if start >= 1:
        assert store.site_for_key_hash("hash-a") == "a"
        assert store.get_post("https://a/p", site="a") == ("T", "B")
    assert store.take_token("x", 1.0, 1) == 0.0  # the newest version's table is there
    store.close()


def test_processes_starting_at_once_migrate_once(pg_url):
    errors: list[BaseException] = []

    def start():
        try:
            store_pg.PgStore(pg_url).close()
        except BaseException as error:  # collected: an assertion in a thread would be lost
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with store_pg.psycopg.connect(pg_url) as db:
        rows = db.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [row[0] for row in rows] == list(range(1, store_pg.SCHEMA_VERSION + 1))


def test_a_newer_schema_is_refused(pg_url):
    store_pg.PgStore(pg_url).close()
    with store_pg.psycopg.connect(pg_url, autocommit=True) as db:
        db.execute("INSERT INTO schema_migrations VALUES (99, 0)")
    with pytest.raises(InputError, match="schema 99 is newer"):
        store_pg.PgStore(pg_url)


def test_a_rate_limit_holds_across_processes(pg_url):
    """Two stores stand for two serve processes: together they allow the burst once, not twice."""
    one, two = store_pg.PgStore(pg_url), store_pg.PgStore(pg_url)
    limits = [store_pg.SharedRateLimiter(s, rate=0.001, burst=5) for s in (one, two)]
    allowed = sum(limits[i % 2].allow("site-a") == 0.0 for i in range(12))
    assert allowed == 5
    assert limits[0].allow("site-a") > 0  # seconds until a token, for Retry-After
    assert limits[1].allow("site-b") == 0.0  # another site's bucket is its own
    one.close()
    two.close()


def test_concurrent_requests_never_take_more_than_the_burst(pg_url):
    stores = [store_pg.PgStore(pg_url) for _ in range(4)]
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer(store):
        limiter = store_pg.SharedRateLimiter(store, rate=0.001, burst=20)
        for _ in range(15):
            ok = limiter.allow("site-a") == 0.0
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=hammer, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 60
    assert sum(allowed) == 20
    for store in stores:
        store.close()


def test_a_promotion_is_seen_by_every_process_at_once(pg_url):
    serving, promoting = store_pg.PgStore(pg_url), store_pg.PgStore(pg_url)
    promoting.add_model("a-2", "/shared/models/a-2.joblib", status="candidate", metrics={}, site="a")
    assert serving.active_model("a") is None
    promoting.activate_model("a-2")
    assert serving.active_model("a") == "a-2"  # the next read, no restart and no cache to expire
    serving.close()
    promoting.close()


def test_open_store_picks_the_database_by_its_name(pg_url, tmp_path):
    pg = store_pg.open_store(pg_url)
    lite = store_pg.open_store(tmp_path / "m.db")
    assert isinstance(pg, store_pg.PgStore)
    assert type(lite) is Store
    pg.close()
    lite.close()


@pytest.mark.parametrize(
    "url, shown",
    [
        ("postgresql://u:secret@127.0.0.1:1/x", "postgresql://u:***@127.0.0.1:1/x"),
        ("postgres://127.0.0.1:1/x", "postgres://127.0.0.1:1/x"),
    ],
    ids=["password", "no-password"],
)
def test_an_unreachable_server_is_one_line_without_the_password(url, shown):
    if store_pg.psycopg is None:
        pytest.skip("psycopg is not installed")
    with pytest.raises(InputError) as error:
        store_pg.PgStore(url)
    message = str(error.value)
    assert message.startswith(f"{shown}: cannot connect")
    assert "secret" not in message and "\n" not in message


def test_without_psycopg_a_url_says_what_to_install(monkeypatch):
    monkeypatch.setattr(store_pg, "psycopg", None)
    with pytest.raises(InputError, match=r"pip install 'moderation\[postgres\]'"):
        store_pg.open_store("postgresql://u:secret@db/x")


@pytest.mark.parametrize(
    "sqlite, postgres",
    [
        ("SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = %s AND c = %s"),
        (
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            "INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        ),
        (
            "INSERT OR IGNORE INTO sites (site) VALUES (?)",
            "INSERT INTO sites (site) VALUES (%s) ON CONFLICT DO NOTHING",
        ),
        ("INSERT INTO keys (site) VALUES (?)", "INSERT INTO keys (site) VALUES (%s) RETURNING id"),
        ("SELECT 1 WHERE x LIKE ? ESCAPE '\\'", "SELECT 1 WHERE x ILIKE %s ESCAPE '\\'"),
        ("SELECT value FROM meta WHERE key = 'a?b' AND v = ?", "SELECT value FROM meta WHERE key = 'a?b' AND v = %s"),
        ("SELECT 1 WHERE x = 1 AND 0", "SELECT 1 WHERE x = 1 AND FALSE"),
    ],
    ids=["placeholders", "replace", "ignore", "returning", "like", "literal", "and-0"],
)
def test_translation(sqlite, postgres):
    assert store_pg.translate(sqlite) == postgres


# ------------------------------------------------------------ the service and commands on PostgreSQL


def test_db_upgrade_command(pg_url, tmp_path):
    from click.testing import CliRunner

    from moderation.cli import main

    runner = CliRunner()
    first = runner.invoke(main, ["db", "upgrade", "--db", pg_url])
    assert first.exit_code == 0, first.output
    assert first.stdout.strip().endswith(f"applied 1, 2; schema version {store_pg.SCHEMA_VERSION}")
    again = runner.invoke(main, ["db", "upgrade", "--db", pg_url])
    assert again.stdout.strip().endswith(f": schema version {store_pg.SCHEMA_VERSION}")
    lite = runner.invoke(main, ["db", "upgrade", "--db", str(tmp_path / "m.db")])
    assert lite.exit_code == 0, lite.output
    assert lite.stdout.strip() == f"{tmp_path / 'm.db'}: schema version 3"


def test_keys_commands_on_a_url(pg_url):
    from click.testing import CliRunner

    from moderation.cli import main

    runner = CliRunner()
    added = runner.invoke(main, ["keys", "add", "https://blog.example/", "--db", pg_url])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(main, ["keys", "list", "--db", pg_url])
    assert listed.exit_code == 0, listed.output
    assert "https://blog.example/" in listed.stdout
    wrong = runner.invoke(main, ["keys", "list", "--db", "postgresql://nobody@127.0.0.1:1/x"])
    assert wrong.exit_code == 1
    assert wrong.stderr.startswith("Error: postgresql://nobody@127.0.0.1:1/x: cannot connect")


def test_two_service_processes_share_one_sites_rate_limit(pg_url, service_model):
    """Two apps on one database stand for two serve processes behind a load balancer."""
    from fixtures.service.service_support import BLOG, http, make_app

    from moderation.service.keys import new_key

    pytest.importorskip("httpx")
    model = service_model
    apps = [make_app(pg_url, model, rate=0.01, burst=4) for _ in range(2)]
    key = new_key(apps[0].store, BLOG)
    data = {"api_key": key, "blog": BLOG, "user_ip": "1.2.3.4", "comment_content": "hello"}
    clients = [http(app) for app in apps]
    statuses = [clients[i % 2].post("/1.1/comment-check", data=data).status_code for i in range(8)]
    assert statuses[:4] == [200] * 4
    assert set(statuses[4:]) == {429}  # one limit for the site, not one per process
    for app in apps:
        app.store.close()


@pytest.fixture(scope="module")
def service_model(tmp_path_factory) -> Path:
    """The service tests' small model (trained on tests/fixtures/service), once for this module."""
    from moderation.learning.dataset import load_labeled_threads
    from moderation.learning.training import train_model
    from moderation.model.pipeline import save_model

    here = Path(__file__).resolve().parent / "fixtures" / "service"
    return save_model(train_model(load_labeled_threads([here]), seed=0), tmp_path_factory.mktemp("model") / "s.joblib")


# ------------------------------------------------------------ 3 serve processes on one database


THANKS = "Thanks for making the web a better place."


def _serve(pg_url: str, model: Path, port: int, home: Path):
    command = [Path(sys.executable).parent / "moderation", "serve", "--db", pg_url, "--model", str(model)]
    command += ["--port", str(port), "--rate", "1", "--burst", "50"]
    environment = {**os.environ, "MODERATION_HOME": str(home)}
    return subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_healthy(base: str, server, deadline: float) -> dict:
    import httpx

    while True:
        try:
            reply = httpx.get(f"{base}/api/v1/health", timeout=2)
            if reply.status_code == 200:
                return reply.json()
        except httpx.TransportError:
            pass
        assert server.poll() is None, server.stderr.read().decode()
        assert time.monotonic() < deadline, f"{base} did not start"
        time.sleep(0.1)


def test_three_serve_processes_share_one_database_through_a_kill_9(pg_url, tmp_path, service_model):
    """Three `moderation serve` processes on one PostgreSQL database, as behind a load balancer:
    corrections pour into all three and one is killed with SIGKILL; then a flood against one site
    across the two left; then a promotion. No acknowledged correction is lost, the site's limit is
    one limit, and both processes serve the promoted model without a restart."""
    import httpx

    from moderation.model.pipeline import DEFAULT_MODEL_PATH, load_model
    from moderation.service.keys import new_key

    model = service_model
    setup = store_pg.PgStore(pg_url)
    sites = [f"https://blog{n}.example/" for n in range(12)]
    keys = {site: new_key(setup, site) for site in sites}
    ports = [_free_port() for _ in range(3)]
    servers = [_serve(pg_url, model, port, tmp_path) for port in ports]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    acknowledged: list[str] = []
    after_kill: list[str] = []
    lock = threading.Lock()
    stop, killed = threading.Event(), threading.Event()
    try:
        deadline = time.monotonic() + 120
        for base, server in zip(bases, servers, strict=True):
            _wait_healthy(base, server, deadline)

        def submit(worker: int) -> None:
            site = sites[worker]  # a site each, so that no worker meets the rate limit here
            clients = [httpx.Client(base_url=base, timeout=5) for base in bases]
            for n in range(40):
                if stop.is_set():
                    break
                text = f"correction {worker}-{n}"
                data = {"api_key": keys[site], "blog": site, "user_ip": "10.0.0.1", "comment_content": text}
                try:
                    reply = clients[(worker + n) % 3].post("/1.1/submit-spam", data=data)
                except httpx.TransportError:
                    continue  # the killed process: a load balancer would retry elsewhere
                if reply.text == THANKS:
                    with lock:
                        acknowledged.append(text)
                        if killed.is_set():
                            after_kill.append(text)
            for client in clients:
                client.close()

        workers = [threading.Thread(target=submit, args=(w,)) for w in range(len(sites))]
        for worker in workers:
            worker.start()
        while len(acknowledged) < 60 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(servers[0].pid, signal.SIGKILL)
        killed.set()
        servers[0].wait(timeout=10)
        for worker in workers:
            worker.join(timeout=60)
        stop.set()

        # No acknowledged correction is lost, and the two left went on acknowledging.
        stored = {row["content"] for row in setup._connection().execute("SELECT content FROM corrections")}
        assert len(acknowledged) >= 60
        assert set(acknowledged) <= stored
        assert after_kill

        # One site's limit (burst 50, 1 a second) holds across the two processes left.
        flood_site = "https://flood.example/"
        data = {"api_key": new_key(setup, flood_site), "blog": flood_site, "user_ip": "10.0.0.2"}
        start = time.monotonic()
        with httpx.Client(timeout=10) as client:
            statuses = [
                client.post(f"{bases[1 + n % 2]}/1.1/comment-check", data={**data, "comment_content": f"hi {n}"})
                for n in range(90)
            ]
        elapsed = time.monotonic() - start
        allowed = sum(reply.status_code == 200 for reply in statuses)
        assert {reply.status_code for reply in statuses} == {200, 429}
        assert allowed <= 50 + int(elapsed) + 1  # per process it would have been all 90

        # A promotion reaches both processes within seconds, without a restart.
        newer = load_model(DEFAULT_MODEL_PATH).version
        setup.add_model(newer, str(DEFAULT_MODEL_PATH), status="candidate", metrics={})
        setup.activate_model(newer, site="")
        seen = {}
        promoted_by = time.monotonic() + 60
        while len(seen) < 2 and time.monotonic() < promoted_by:
            for base in bases[1:]:
                if httpx.get(f"{base}/api/v1/health", timeout=5).json()["model_version"] == newer:
                    seen[base] = True
            time.sleep(0.2)
        assert len(seen) == 2
    finally:
        stop.set()
        for server in servers:
            if server.poll() is None:
                server.send_signal(signal.SIGINT)  # serve stops on Ctrl-C (SIGTERM left it serving)
        for server in servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            server.stderr.close()
        setup.close()
