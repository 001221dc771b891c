"""`serve --processes 2`: a real server of two processes on one port, against the same app in-process.

The processes must answer as one would (same bodies, headers and log rows), share one rate limit per key,
all pick up a promoted model without a restart, and survive one of them being killed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path

import httpx
import pytest
from fixtures.service.service_support import http, make_app, model_path, stop_server  # noqa: F401

from moderation.service import processes
from moderation.service.keys import new_key
from moderation.service.store import Store

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the processes in /proc")

ROOT = Path(__file__).resolve().parent.parent
BLOG = "https://crumbnotes.example/"
LIMITED = "https://limited.example/"
BURST = 8
TIMEOUT = 30.0  # the tests assert on answers, never on speed
COMMENTS = [
    ("Grete", "", "I rested the loaf a full day and the crumb was finally right. Thank you!"),
    ("cheap watches", "http://watches.example", "Buy replica watches cheap, free shipping, visit our store now"),
    ("akismet-guaranteed-spam", "", "Akismet's test author: always spam"),
    ("Lena", "", ""),
]


@dataclass
class Server:
    base: str
    db: Path
    process: subprocess.Popen
    keys: dict[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(b")", 1)[1].split()[1]) == pid:
                found.add(int(entry))
    return found


def _wait_for(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_path) -> Server:  # noqa: F811
    tmp = tmp_path_factory.mktemp("processes")
    db = tmp / "processes.db"
    store = Store(db)
    keys = {site: new_key(store, site) for site in (BLOG, LIMITED)}
    store.close()
    port = _free_port()
    command = [sys.executable, "-m", "moderation.service", "serve", "--db", str(db), "--model", str(model_path)]
    options = ["--port", str(port), "--processes", "2", "--threads", "4", "--rate", "0.001", "--burst", str(BURST)]
    process = subprocess.Popen([*command, *options], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctx = Server(f"http://127.0.0.1:{port}", db, process, keys)
    try:
        _wait_for(lambda: _healthy(ctx.base) or process.poll() is not None, "the server to start")
        assert process.poll() is None
        yield ctx
    finally:
        stop_server(process, timeout=20)


def _form(key: str, blog: str, author: str, url: str, text: str) -> dict[str, str]:
    return {
        "api_key": key,
        "blog": blog,
        "user_ip": "203.0.113.7",
        "comment_author": author,
        "comment_author_url": url,
        "comment_content": text,
    }


def test_two_processes_serve_one_port(server):
    _wait_for(lambda: len(_children(server.process.pid)) == 2, "two server processes")


def _sockets(pid: int, port: int, state: str) -> set[str]:
    """The inodes of ``pid``'s TCP sockets on local ``port`` in ``state`` ("01" established, "0A" listening)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == state and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    mine = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            mine.add(target[8:-1])
    return mine


@pytest.mark.skipif(not processes._BALANCED_REUSE_PORT, reason="the kernel spreads connections on Linux only")
def test_each_process_listens_on_a_socket_of_its_own(server):
    port = int(server.base.rsplit(":", 1)[1])
    _wait_for(lambda: len(_children(server.process.pid)) == 2, "two server processes")
    first, second = (_sockets(pid, port, "0A") for pid in _children(server.process.pid))
    assert len(first) == len(second) == 1 and first != second
    # The parent holds each process's socket, so that a restarted process gets it back with its queue.
    assert _sockets(server.process.pid, port, "0A") == first | second


def test_a_second_server_on_the_same_port_fails_rather_than_sharing_it(server, model_path, tmp_path):  # noqa: F811
    port = server.base.rsplit(":", 1)[1]
    command = [sys.executable, "-m", "moderation.service", "serve", "--db", str(tmp_path / "other.db")]
    options = ["--model", str(model_path), "--port", port, "--processes", "2"]
    second = subprocess.run([*command, *options], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert second.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
    assert "Traceback" not in second.stderr


@pytest.mark.skipif(not processes._BALANCED_REUSE_PORT, reason="the kernel spreads connections on Linux only")
def test_keep_alive_connections_are_spread_over_the_processes(server):
    # With one shared listening socket, 16 keep-alive clients connecting at once all went to one process
    # in some runs, and stayed there: one core busy, the other idle.
    port = int(server.base.rsplit(":", 1)[1])
    _wait_for(lambda: len(_children(server.process.pid)) == 2, "two server processes")
    connections = [HTTPConnection("127.0.0.1", port, timeout=TIMEOUT) for _ in range(16)]
    try:
        for connection in connections:
            connection.request("GET", "/api/v1/health")
            assert connection.getresponse().read()
        held = {pid: len(_sockets(pid, port, "01")) for pid in _children(server.process.pid)}
        assert sum(held.values()) == 16, held
        # Spread by a hash of each connection's addresses: one process with none has odds of 1 in 32,768.
        assert min(held.values()) >= 1, held
    finally:
        for connection in connections:
            connection.close()


def test_answers_headers_and_log_rows_are_those_of_one_process(server, model_path, tmp_path):  # noqa: F811
    alone = make_app(tmp_path / "alone.db", model_path, rate=0)
    alone_key = new_key(alone.store, BLOG)
    with httpx.Client(base_url=server.base, timeout=TIMEOUT) as client, http(alone) as local:
        for author, url, text in COMMENTS:
            served = client.post("/1.1/comment-check", data=_form(server.keys[BLOG], BLOG, author, url, text))
            expected = local.post("/1.1/comment-check", data=_form(alone_key, BLOG, author, url, text))
            assert (served.status_code, served.text) == (expected.status_code, expected.text)
            for name in ("X-akismet-pro-tip", "X-akismet-debug-help", "X-moderation-model", "Content-Type"):
                assert served.headers.get(name) == expected.headers.get(name), name
            row = client.get(
                f"/api/v1/requests/{served.headers['X-moderation-request-id']}",
                headers={"Authorization": f"Bearer {server.keys[BLOG]}"},
            ).json()
            logged = alone.store.get_request(int(expected.headers["X-moderation-request-id"]))
            for field in ("site", "endpoint", "author", "content", "score", "verdict", "answer", "reasons"):
                assert row[field] == logged[field], field


def test_a_key_has_one_rate_limit_across_the_processes(server):
    # A new connection for each request, so that both processes take some of them.
    statuses = []
    for n in range(BURST + 6):
        form = _form(server.keys[LIMITED], LIMITED, "Lena", "", f"Hello again #{n}")
        statuses.append(httpx.post(f"{server.base}/1.1/comment-check", data=form, timeout=TIMEOUT).status_code)
    assert statuses.count(200) == BURST, statuses
    assert statuses.count(429) == 6, statuses


def test_a_promoted_model_reaches_every_process(server, model_path, tmp_path):  # noqa: F811
    from moderation.model.pipeline import load_model, save_model

    bundle = load_model(model_path)
    bundle.card["version"] = "promoted-for-all"
    save_model(bundle, tmp_path / "promoted.joblib")
    store = Store(server.db)
    store.add_model("promoted-for-all", str(tmp_path / "promoted.joblib"), status="candidate", metrics={})
    store.activate_model("promoted-for-all")
    store.close()

    def versions() -> set[str]:
        # Twenty new connections: both processes answer some of them.
        return {httpx.get(f"{server.base}/api/v1/health", timeout=TIMEOUT).json()["model_version"] for _ in range(20)}

    _wait_for(lambda: versions() == {"promoted-for-all"}, "every process to serve the promoted model")


def test_a_stopped_parent_costs_a_limited_request_a_503_not_a_hang(server):
    parent = server.process.pid
    os.kill(parent, signal.SIGSTOP)
    try:
        with httpx.Client(base_url=server.base, timeout=TIMEOUT) as client:
            form = _form(server.keys[BLOG], BLOG, "Grete", "", "Stopped parent, still an answer")
            refused = client.post("/1.1/comment-check", data=form)
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
            assert client.get("/api/v1/health").status_code == 200  # no rate limit asked: served as ever
    finally:
        os.kill(parent, signal.SIGCONT)


def test_a_killed_process_is_replaced_while_the_other_serves(server):
    before = _children(server.process.pid)
    assert len(before) == 2
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    assert _healthy(server.base)
    _wait_for(lambda: len(_children(server.process.pid) - {victim}) == 2, "a new server process")
    _wait_for(lambda: all(_healthy(server.base) for _ in range(10)), "both processes to answer")
    assert server.process.poll() is None


def test_the_retrain_board_works_through_the_parents_socket():
    from moderation.service.processes import ProcessBoard, SharedBoard, _Manager, _serve_in_thread
    from moderation.service.queue import RetrainState

    board = SharedBoard()
    _Manager.register("test_board", callable=lambda: board)
    server = _Manager(address=None, authkey=b"test-key").get_server()
    _serve_in_thread(server)
    manager = _Manager(address=server.address, authkey=b"test-key")
    manager.connect()
    shared = ProcessBoard(manager.test_board(), os.getpid())
    started = shared.start("https://a.example/")
    assert started.state == "running"
    assert shared.start("https://a.example/") is None  # one retrain per site at a time
    assert shared.state("https://b.example/").state == "idle"
    shared.acquire_training()
    assert not board.try_training(os.getpid() + 1)  # one training at a time between the processes
    shared.release_training()
    shared.finish("https://a.example/", RetrainState(state="done", started=started.started, message="ok"))
    assert board.board.state("https://a.example/").state == "done"
    assert shared.state("https://a.example/").message == "ok"
    assert board.try_training(os.getpid() + 1)


def test_a_process_killed_while_training_gives_back_its_turn_and_fails_its_retrain():
    import multiprocessing

    from moderation.service.processes import ProcessBoard, SharedBoard, _Manager, _serve_in_thread

    board = SharedBoard()
    _Manager.register("killed_board", callable=lambda: board)
    server = _Manager(address=None, authkey=b"test-key").get_server()
    ready, told = multiprocessing.get_context("fork").Pipe()

    def trainer() -> None:
        manager = _Manager(address=server.address, authkey=b"test-key")
        manager.connect()
        shared = ProcessBoard(manager.killed_board(), os.getpid())
        shared.start("https://a.example/")
        shared.acquire_training()
        told.send("training")
        time.sleep(600)

    # Forked before this process's manager thread starts, as serve_processes does.
    process = multiprocessing.get_context("fork").Process(target=trainer)
    process.start()
    _serve_in_thread(server)
    assert ready.poll(TIMEOUT) and ready.recv() == "training"
    process.kill()
    process.join()
    assert not board.try_training(os.getpid())  # held by the dead process until the parent forgets it
    assert board.forget(process.pid, process.exitcode) == ["https://a.example/"]
    state = board.state("https://a.example/")
    assert state.state == "failed" and "stopped (status -9)" in state.message
    assert board.try_training(os.getpid())
    assert board.start("https://a.example/", os.getpid()).state == "running"


class _Gone:
    def allow(self, which: str, key: str) -> float:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_process_whose_parent_is_gone_refuses_with_503():
    from moderation.service.app import HTTPError
    from moderation.service.processes import SharedLimiter

    with pytest.raises(HTTPError) as refused:
        SharedLimiter(_Gone(), "site", 1.0).allow("site:https://a.example/")
    assert refused.value.status == 503
    assert ("Retry-After", "5") in refused.value.headers


class _Limits:
    """Stands in for SharedLimits: counts calls, and blocks while ``stuck`` is clear."""

    def __init__(self):
        self.calls = 0
        self.stuck = threading.Event()
        self.stuck.set()

    def allow(self, which: str, key: str) -> float:
        self.stuck.wait()
        self.calls += 1
        return 0.0 if self.calls <= 2 else 1.5


def test_the_parents_limits_answer_every_process_and_refuse_when_it_does_not_answer():
    from moderation.service.app import HTTPError
    from moderation.service.processes import LimitsClient, LimitsServer, SharedLimiter

    limits = _Limits()
    server = LimitsServer(limits)
    server.start()
    try:
        one, two = LimitsClient(server.address, timeout=0.5), LimitsClient(server.address, timeout=0.5)
        assert (one.allow("site", "k"), two.allow("site", "k"), one.allow("site", "k")) == (0.0, 0.0, 1.5)
        # A parent that does not answer (stopped, starved) costs a request the timeout, then a 503.
        limits.stuck.clear()
        with pytest.raises(HTTPError) as refused:
            SharedLimiter(one, "site", 1.0).allow("k")
        assert refused.value.status == 503
        limits.stuck.set()
        # The late answer to the refused call is not read as the next one's: that goes on a new connection.
        _wait_for(lambda: limits.calls == 4, "the late call to finish")
        assert one.allow("site", "k") == 1.5 and limits.calls == 5
    finally:
        limits.stuck.set()
        server.close()


# Runs serve_processes in a fresh interpreter: it forks, sets SIGTERM's handler and starts the manager's
# thread, none of which a test should leave in pytest's process.
HARNESS = """
import multiprocessing, os, signal, sys
from moderation.service import processes
from moderation.service.app import ServiceConfig

def interrupt(line):
    raise KeyboardInterrupt

if sys.argv[3] == "killed-at-start":
    processes._worker = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
    processes._QUICK_KILLS = 2
try:
    processes.serve_processes(
        2, sys.argv[1], model_path=sys.argv[2], config=ServiceConfig(), cache_size=1, host="127.0.0.1", port=0,
        threads=1, connection_limit=10, channel_timeout=5,
        announce=interrupt if sys.argv[3] == "interrupted-at-start" else print,
    )
except BaseException as exc:
    print("stopped:", type(exc).__name__, exc)
print("processes left:", len(multiprocessing.active_children()))
"""


@pytest.mark.parametrize(
    ("case", "stopped"),
    [
        ("killed-at-start", "ModerationError server process"),
        ("interrupted-at-start", "KeyboardInterrupt"),
    ],
    ids=["killed-at-start-five-times-is-not-forked-forever", "interrupt-while-starting-stops-the-started"],
)
def test_start_up_failures_stop_every_process(case, stopped, model_path, tmp_path):  # noqa: F811
    db = tmp_path / "harness.db"
    Store(db).close()
    done = subprocess.run(
        [sys.executable, "-c", HARNESS, str(db), str(model_path), case],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert f"stopped: {stopped}" in done.stdout, done.stdout + done.stderr
    if case == "killed-at-start":
        assert "was killed (signal 9) within 10 s of starting 2 times in a row" in done.stdout
    assert "processes left: 0" in done.stdout, done.stdout + done.stderr
    assert done.returncode == 0


def test_processes_needs_fork(monkeypatch, model_path, tmp_path):  # noqa: F811
    import multiprocessing

    from click.testing import CliRunner

    from moderation.cli import main

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    db = tmp_path / "nofork.db"
    result = CliRunner().invoke(main, ["serve", "--db", str(db), "--model", str(model_path), "--processes", "2"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: --processes needs fork(), which this platform lacks; run with --processes 1"
    assert not db.exists()  # refused before the database is opened


@pytest.mark.parametrize("processes", ["0", "-1", "1000", "two"], ids=["zero", "negative", "too-many", "not-a-number"])
def test_processes_out_of_range_is_a_usage_error(processes, tmp_path):
    from click.testing import CliRunner

    from moderation.cli import main

    result = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "x.db"), "--processes", processes])
    assert result.exit_code == 2
    assert "--processes" in result.output.splitlines()[-1]


@pytest.mark.parametrize("processes", ["0", "-1", "1000"], ids=["zero", "negative", "too-many"])
def test_python_m_service_refuses_processes_out_of_range_too(processes, tmp_path):
    # It once clamped them silently to 1 and 64, where `moderation serve` refuses them.
    from moderation.service.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--db", str(tmp_path / "x.db"), "--processes", processes])
    assert exit_info.value.code == 2
    assert not (tmp_path / "x.db").exists()
