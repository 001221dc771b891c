"""`serve --processes N`: N server processes answering on one listening socket.

One process scores on one core at a time (Python's GIL): under ``benchmarks/bench_service_load.py`` the
single server process used about one core of the machine's two, the other idle (figures in
benchmarks/README.md, "Service checks per second").

What the processes share, and how:
- the port. On Linux each process listens on a socket of its own bound to it with SO_REUSEPORT, and
  the kernel spreads new connections over them evenly. With one shared listening socket, each
  connection went to whichever process accepted first, and a keep-alive client stays where it landed:
  under ``benchmarks/bench_service_load.py`` (16 keep-alive clients connecting at once) one process
  took every connection in some runs, one core busy and the other idle (775 checks/s against
  908-1,040 in runs that split). The parent makes and keeps one such socket per process: the port
  always has a listener (so another server can never join it), and a process that dies leaves the
  connections queued on its socket to its replacement rather than resetting them (a review measured
  12 of 20 queued requests reset when each process made its own); connections the kernel gives a
  dead process's socket meanwhile wait for the replacement, about a second plus its model's loading.
  Elsewhere (no SO_REUSEPORT, or macOS, where it does not balance) the one shared socket is kept. The
  port is bound here first either way, so that a port in use fails once, before any process starts.
- the database (SQLite in WAL mode takes writers from several processes; PostgreSQL anyway): keys,
  posts, the request log, corrections, settings and the model pointers. Each process caches the keys,
  posts, shadow flags and pointers its checks read (``lookups``) and sees another process's change to
  them within ``lookups.MAX_AGE`` seconds, so a promotion reaches each one within half a second, and each
  loads the new model in the background while serving the old, as a single process does.
- the rate limits (per key, per address for unknown keys, per address for queue logins) and the
  queue's retrain state: one set, held by this parent process and asked over local sockets (the limits
  over a Unix socket of their own, answered within ``LIMITS_TIMEOUT`` or refused with 503; the
  retrain board through ``multiprocessing.managers``, authenticated with a random key). So N processes
  allow a key its rate once, not N times, and run one queue retrain at a time between them. On
  PostgreSQL the per-key limit stays the database's (one bucket for every machine).
What each process has of its own: its loaded models, its batch scorer and its request threads; a
batch only ever holds that process's requests, so a site's isolation is what it is in one process.

The parent only supervises: a process killed (by a signal, the OOM killer) is started again while the
others serve, and the retrain it was running is marked failed and its turn to train given back; one that
exits by itself right after starting stops them all, with its error in the log, and so does one killed
right after starting five times in a row; SIGTERM or SIGINT stops them all; a process whose parent is gone
(killed with SIGKILL) exits within a second, and never serves without the shared limits meanwhile: a
request thread already connected to the parent answers 503, one not yet connected waits for that exit
(the parent's listening socket, inherited, takes its connection and never answers).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import secrets
import signal
import socket
import sys
import threading
import time
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ModerationError
from . import MAX_PROCESSES

if TYPE_CHECKING:
    from collections.abc import Callable

    from .app import ServiceApp, ServiceConfig

log = logging.getLogger("moderation.service")

# A process that exits by itself (not killed by a signal) sooner than this after starting is not
# started again: it would fail the same way (a model that no longer loads, a database it cannot open),
# and its error is in the log above.
_MIN_LIFETIME = 10.0
# A process killed (a signal) this many times in a row, each time sooner than _MIN_LIFETIME after starting,
# is not started again either: without a limit, a worker the OOM killer ends while it loads its model was
# forked again once a second for as long as the parent ran.
_QUICK_KILLS = 5


class SharedLimits:
    """The rate limiters every process asks, kept in the parent: the same ``RateLimiter`` objects a
    single process uses, so the limits mean the same."""

    def __init__(self, config: ServiceConfig):
        from .app import RateLimiter, bad_key_limiter
        from .queue import login_limiter

        self._limiters = {
            "site": RateLimiter(config.rate, config.burst),
            "bad-key": bad_key_limiter(config),
            "login": login_limiter(),
        }

    def allow(self, which: str, key: str) -> float:
        return self._limiters[which].allow(key)


class SharedLimiter:
    """A process's stand-in for one of the parent's limiters (``ServiceApp.limit`` calls ``allow``)."""

    def __init__(self, limits: Any, which: str, rate: float):
        self.limits = limits
        self.which = which
        self.rate = rate

    def allow(self, key: str) -> float:
        if self.rate <= 0:  # no limit: no need to ask
            return 0.0
        try:
            return self.limits.allow(self.which, key)
        except (OSError, EOFError) as exc:
            # The parent is gone (this process exits within a second, see _exit_with_parent) or does not
            # answer (LIMITS_TIMEOUT): refuse, in one line, rather than serve unlimited or answer 500
            # with a traceback per request.
            from .app import HTTPError

            log.error("shared rate limits unavailable (%s: %s); refusing", type(exc).__name__, exc)
            raise HTTPError(503, "Service restarting; retry", [("Retry-After", "5")]) from None


# How long a request waits for the parent's rate limits before it is refused (503). Without a limit,
# a parent that stops answering (stopped with SIGSTOP, or starved) held every rate-limited request
# of every process for as long as it did (review, 2026-11-29).
LIMITS_TIMEOUT = 2.0


class LimitsServer:
    """The parent's end of the rate limits: one thread per connection, each answering ``allow`` calls.

    Not the manager's proxies: their calls cannot time out (``_callmethod`` waits on its connection's
    ``recv``, and connecting waits on the authentication handshake). The socket is a Unix socket in a
    directory only this user can open (multiprocessing's private temporary directory, mode 0700), so
    the connection is not authenticated: whoever can open it can already run code as this user.
    """

    def __init__(self, limits: SharedLimits):
        self.limits = limits
        self.listener = multiprocessing.connection.Listener(family="AF_UNIX")
        self.address = self.listener.address

    def start(self) -> None:
        threading.Thread(target=self._accept, daemon=True, name="shared-limits-accept").start()

    def _accept(self) -> None:
        while True:
            try:
                connection = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._answer, args=(connection,), daemon=True, name="shared-limits").start()

    def _answer(self, connection: multiprocessing.connection.Connection) -> None:
        with connection:
            while True:
                try:
                    which, key = connection.recv()
                    connection.send(self.limits.allow(which, key))
                except (OSError, EOFError, ValueError, TypeError, KeyError):
                    return  # the process closed it, gave up waiting, or sent nonsense

    def close(self) -> None:
        self.listener.close()


class LimitsClient:
    """A server process's end: ``allow`` over one connection per request thread, answered within
    ``timeout`` or refused with ``TimeoutError`` (an ``OSError``, which ``SharedLimiter`` turns into 503)."""

    def __init__(self, address: str, timeout: float = LIMITS_TIMEOUT):
        self.address = address
        self.timeout = timeout
        self._local = threading.local()

    def allow(self, which: str, key: str) -> float:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = multiprocessing.connection.Client(self.address, family="AF_UNIX")
        try:
            connection.send((which, key))
            if not connection.poll(self.timeout):
                raise TimeoutError(f"no answer in {self.timeout:g} s")
            return connection.recv()
        except BaseException:
            # Out of step (a late answer would be read as the next call's): a new connection next time.
            self._local.connection = None
            connection.close()
            raise


class SharedBoard:
    """The queue's retrain board, kept in the parent, that also knows which process runs each retrain and
    holds the turn to train. A process killed while training (minutes of both cores and much memory: the
    OOM killer's choice) would otherwise leave its site "running" and the turn taken for good, so that no
    site could retrain until the whole service restarted; ``forget`` gives them back."""

    def __init__(self):
        from .queue import RetrainBoard

        self.board = RetrainBoard()
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}  # site -> the pid running its retrain
        self._trainer: int | None = None

    def state(self, site: str) -> Any:
        return self.board.state(site)

    def start(self, site: str, pid: int) -> Any:
        with self._lock:
            state = self.board.start(site)
            if state is not None:
                self._running[site] = pid
            return state

    def finish(self, site: str, state: Any, pid: int) -> None:
        with self._lock:
            if self._running.get(site) == pid:
                del self._running[site]
            self.board.finish(site, state)

    def try_training(self, pid: int) -> bool:
        """Take the one turn to train if it is free. Asked again by the waiting process rather than
        waited for here, so that a process that dies while it waits leaves no claim behind."""
        with self._lock:
            if self._trainer is not None:
                return False
            self._trainer = pid
            return True

    def release_training(self, pid: int) -> None:
        with self._lock:
            if self._trainer == pid:
                self._trainer = None

    def forget(self, pid: int, status: int | None) -> list[str]:
        """Process ``pid`` ended: its turn to train is free, its sites' retrains failed. Returns the sites."""
        from .queue import RetrainState

        with self._lock:
            if self._trainer == pid:
                self._trainer = None
            sites = [site for site, owner in self._running.items() if owner == pid]
            for site in sites:
                del self._running[site]
                self.board.finish(
                    site,
                    RetrainState(
                        state="failed",
                        started=self.board.state(site).started,
                        finished=time.time(),
                        message=f"the server process running it stopped (status {status}); retrain again",
                    ),
                )
        return sites


class ProcessBoard:
    """A process's side of the parent's ``SharedBoard``, with ``RetrainBoard``'s methods (what the queue calls)."""

    def __init__(self, shared: Any, pid: int):
        self.shared = shared
        self.pid = pid

    def state(self, site: str) -> Any:
        return self.shared.state(site)

    def start(self, site: str) -> Any:
        return self.shared.start(site, self.pid)

    def finish(self, site: str, state: Any) -> None:
        self.shared.finish(site, state, self.pid)

    def acquire_training(self) -> None:
        while not self.shared.try_training(self.pid):
            time.sleep(1.0)  # retrains take minutes: a second's wait for the turn is nothing

    def release_training(self) -> None:
        self.shared.release_training(self.pid)


class _Manager(BaseManager):
    pass


def serve_processes(
    processes: int,
    db_path: str | Path,
    *,
    model_path: str | None,
    config: ServiceConfig,
    cache_size: int,
    host: str,
    port: int,
    threads: int,
    connection_limit: int,
    channel_timeout: int,
    announce: Callable[[str], None],
) -> None:
    """Check the database and model here, bind the socket, start ``processes`` servers and watch them."""
    if not 1 <= processes <= MAX_PROCESSES:
        raise ModerationError(f"--processes must be between 1 and {MAX_PROCESSES}, not {processes}")
    if "fork" not in multiprocessing.get_all_start_methods():
        raise ModerationError("--processes needs fork(), which this platform lacks; run with --processes 1")
    version, store_path = _check(db_path, model_path, cache_size)
    listener, own_sockets = _bind(host, port)
    # On Linux: one listening SO_REUSEPORT socket per process index, made and kept here, so that the
    # group is never without a listener (an unrelated server's probe bind fails at every moment, not
    # only while a process is up) and a process that dies leaves its queued connections to its
    # replacement instead of resetting them.
    try:
        own = [_listening_reuse_port_socket(listener) for _ in range(processes)] if own_sockets else []
    except OSError as exc:
        listener.close()
        raise ModerationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    limits_server, board = LimitsServer(SharedLimits(config)), SharedBoard()
    _Manager.register("board", callable=lambda: board)
    authkey = secrets.token_bytes(32)
    manager_server = _Manager(address=None, authkey=authkey).get_server()
    settings = {
        "db_path": db_path,
        "model_path": model_path,
        "config": config,
        "cache_size": cache_size,
        "threads": threads,
        "connection_limit": connection_limit,
        "channel_timeout": channel_timeout,
        "limits": limits_server.address,
    }
    context = multiprocessing.get_context("fork")
    parent = os.getpid()

    def start(index: int) -> tuple[Any, float]:
        worker = context.Process(
            target=_worker,
            args=(own[index] if own else listener, manager_server.address, authkey, parent, settings, [listener, *own]),
            name=f"moderation-serve-{index}",
        )
        worker.start()
        return worker, time.monotonic()

    workers: dict[int, tuple[Any, float]] = {}
    quick_kills = dict.fromkeys(range(processes), 0)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        # The first processes are forked before this process starts a thread (the manager's and the limits'
        # server's). Those started
        # again later are forked while the manager's threads run: those threads hold only the parent's own
        # locks (the limiters', the board's, the manager's), which a new process never takes; the logging
        # and import locks it does take are re-made at fork by Python itself.
        for index in range(processes):
            workers[index] = start(index)
        _serve_in_thread(manager_server)
        limits_server.start()
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        announce(
            f"moderation serve: {processes} processes, model {version}, database {store_path}, listening on "
            f"http://{host}:{port}/ (moderation queue at /, Akismet API under /1.1/, JSON under /api/v1/)"
        )
        while True:
            ended = multiprocessing.connection.wait([worker.sentinel for worker, _ in workers.values()])
            for index, (worker, started) in list(workers.items()):
                if worker.sentinel not in ended:
                    continue
                worker.join()
                lived = time.monotonic() - started
                for site in board.forget(worker.pid, worker.exitcode):
                    log.error("site %s: its retrain ended with server process %d", site, worker.pid)
                if lived < _MIN_LIFETIME and worker.exitcode >= 0:
                    raise ModerationError(
                        f"server process {index} exited (status {worker.exitcode}) {lived:.1f} s after starting; "
                        "its error is in the log above"
                    )
                quick_kills[index] = quick_kills[index] + 1 if lived < _MIN_LIFETIME else 0
                if quick_kills[index] >= _QUICK_KILLS:
                    raise ModerationError(
                        f"server process {index} was killed (signal {-worker.exitcode}) within {_MIN_LIFETIME:.0f} s "
                        f"of starting {quick_kills[index]} times in a row; stopping (out of memory? see the system log)"
                    )
                log.error(
                    "server process %d (pid %d) exited with status %s; starting another",
                    index,
                    worker.pid,
                    worker.exitcode,
                )
                time.sleep(max(0.0, 1.0 - lived))  # a process killed at once, again and again: one restart a second
                workers[index] = start(index)
    finally:
        signal.signal(signal.SIGTERM, previous)
        # Every process this one started, also one forked just before an interrupt and not yet in
        # ``workers``: multiprocessing joins those left alive at exit, and they would wait for this one.
        alive = multiprocessing.active_children()
        for worker in alive:
            worker.terminate()
        for worker in alive:
            worker.join(10)
            if worker.is_alive():
                worker.kill()
                worker.join(10)
        for sock in own:
            sock.close()
        listener.close()
        limits_server.close()


def _serve_in_thread(server: Any) -> None:
    """The manager's server in a thread of this process (``serve_forever`` would end its thread with
    sys.exit); ``stop_event`` is what ``serve_forever`` would have set and its client threads check."""
    server.stop_event = threading.Event()
    threading.Thread(target=server.accepter, daemon=True, name="shared-limits").start()


def _check(db_path: str | Path, model_path: str | None, cache_size: int) -> tuple[str, Path]:
    """Fail here, once, as one process would: the database opens (and is migrated), the model loads."""
    from .app import ModelHolder
    from .registry import register_base_model
    from .store_pg import open_store

    store = open_store(db_path)
    try:
        register_base_model(store, model_path)
        version = ModelHolder(store, base_path=model_path, cache_size=cache_size).current().version
        return str(version), store.path
    finally:
        store.close()


def _bind(host: str, port: int) -> tuple[socket.socket, bool]:
    """The port, held by this process; and whether each server process listens on a socket of its own.

    With SO_REUSEPORT (Linux) the socket here is bound but never listens (the processes' sockets,
    made by ``serve_processes``, do); without it, it is the one listening socket they all accept from.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        plain = socket.create_server((host, port), family=family, backlog=1024)
        if not _BALANCED_REUSE_PORT:
            return plain, False
        # Bound first without SO_REUSEPORT, so that a port in use fails here as it would for one process;
        # and another server started later on this port fails the same way, rather than joining the group
        # and taking half of this one's connections.
        with plain:
            bound = plain.getsockname()[:2]
        return _reuse_port_socket(family, bound), True
    except OSError as exc:
        raise ModerationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


# Linux spreads connections over the listening sockets of a SO_REUSEPORT group; macOS accepts the
# option but gives every connection to one socket.
_BALANCED_REUSE_PORT = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _reuse_port_socket(family: int, address: tuple) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def _listening_reuse_port_socket(held: socket.socket) -> socket.socket:
    sock = _reuse_port_socket(held.family, held.getsockname())
    try:
        sock.listen(1024)
    except BaseException:
        sock.close()
        raise
    return sock


def _worker(listener: socket.socket, address: Any, authkey: bytes, parent: int, settings: dict, sockets: list) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="parent-watch").start()
    for sock in sockets:  # the parent's probe and the other processes' sockets, inherited at fork
        if sock is not listener:
            sock.close()
    from .app import create_app, serve

    manager = _Manager(address=address, authkey=authkey)
    manager.connect()
    config = settings["config"]
    app = create_app(
        settings["db_path"], model_path=settings["model_path"], config=config, cache_size=settings["cache_size"]
    )
    share(app, LimitsClient(settings["limits"]), ProcessBoard(manager.board(), os.getpid()), config)
    serve(
        app,
        threads=settings["threads"],
        connection_limit=settings["connection_limit"],
        channel_timeout=settings["channel_timeout"],
        sockets=[listener],
    )


def share(app: ServiceApp, limits: Any, board: Any, config: ServiceConfig) -> None:
    """Give ``app`` the parent's limiters and retrain board in place of its own."""
    if not hasattr(app.store, "take_token"):  # PostgreSQL: the key's bucket is already in the database
        app.limiter = SharedLimiter(limits, "site", config.rate)
    app.bad_key_limiter = SharedLimiter(limits, "bad-key", 1.0)
    app.queue.login_limiter = SharedLimiter(limits, "login", 1.0)
    app.queue.retrains = board


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)
