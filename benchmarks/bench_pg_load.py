"""Load on `moderation serve` with PostgreSQL: 1 and 3 processes on one database, and SQLite beside them.

    .venv/bin/pip install -e '.[postgres]'       # and Debian's postgresql (initdb, pg_ctl)
    .venv/bin/python benchmarks/bench_pg_load.py [--processes 1 3] [--clients 16] [--seconds 15]
    .venv/bin/python benchmarks/bench_pg_load.py --db postgresql://user@host/db   # an existing server

Without --db a throwaway PostgreSQL server is started in a temporary directory (initdb, a free port on
127.0.0.1; as root it runs as the postgres user) and deleted afterwards; each setup gets a fresh
database. For each setup, N `moderation serve` processes are started on it, and --clients threads send
Akismet comment-checks for --sites sites, spread round-robin over the processes as a load balancer
would, for --seconds. The rate limit is on but high (every check takes a token from the database's
bucket, as in production, and none is refused). Prints checks/s, p50 and p99 latency and errors.
Only 127.0.0.1 is contacted. The model is the small one the tests train, so the figures measure the
service and its database, not the model.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "service"
COMMENTS = [
    "I rested the loaf a full day and the crumb was finally right. Thank you!",
    "Buy replica watches cheap, free shipping, visit our store now",
    "Does the chain wax survive a wet week of commuting? Mine squeaks after rain.",
    "Great post! I'll be bookmarking it and coming back for more.",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        sys.exit(f"{name} not found: apt-get install postgresql")
    return found


@contextlib.contextmanager
def throwaway_server():
    home = tempfile.mkdtemp(prefix="moderation-pg-bench-")
    run_as: dict = {}
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(home, user.pw_uid, user.pw_gid)
        run_as = {"user": user.pw_uid, "group": user.pw_gid}
    data, port = str(Path(home) / "data"), free_port()
    try:
        subprocess.run(
            [binary("initdb"), "-D", data, "-U", "moderation", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            cwd=home,
            **run_as,
        )
        options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c max_connections=300"
        subprocess.run(
            [binary("pg_ctl"), "-D", data, "-o", options, "-l", f"{home}/log", "-w", "start"],
            check=True,
            capture_output=True,
            cwd=home,
            **run_as,
        )
        yield f"postgresql://moderation@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([binary("pg_ctl"), "-D", data, "-m", "fast", "stop"], capture_output=True, cwd=home, **run_as)
        shutil.rmtree(home, ignore_errors=True)


def fresh_database(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def small_model(directory: Path) -> Path:
    from moderation.learning.dataset import load_labeled_threads
    from moderation.learning.training import train_model
    from moderation.model.pipeline import save_model

    return save_model(train_model(load_labeled_threads([CORPUS]), seed=0), directory / "small.joblib")


def measure(db: str, processes: int, args, model: Path, home: Path) -> dict:
    from moderation.service.keys import new_key
    from moderation.service.store_pg import open_store

    store = open_store(db)
    sites = [f"https://site{n}.example/" for n in range(args.sites)]
    keys = {site: new_key(store, site) for site in sites}
    store.close()
    ports = [free_port() for _ in range(processes)]
    command = [Path(sys.executable).parent / "moderation", "serve", "--db", db, "--model", str(model)]
    command += ["--rate", str(args.rate), "--burst", "1000000"]
    environment = {**os.environ, "MODERATION_HOME": str(home)}
    servers = [
        subprocess.Popen(
            [*command, "--port", str(port)], env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for port in ports
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    try:
        for base in bases:
            deadline = time.monotonic() + 120
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    sys.exit(f"{base} did not start")
                time.sleep(0.1)
        end = time.monotonic() + args.seconds

        def client(number: int) -> None:
            sessions = [httpx.Client(base_url=base, timeout=30) for base in bases]
            sent = 0
            while time.monotonic() < end:
                site = sites[(number + sent) % len(sites)]
                data = {
                    "api_key": keys[site],
                    "blog": site,
                    "user_ip": f"10.0.{number}.{sent % 250}",
                    "comment_content": COMMENTS[sent % len(COMMENTS)] + f" ({number}-{sent})",
                }
                start = time.perf_counter()
                try:
                    reply = sessions[(number + sent) % len(sessions)].post("/1.1/comment-check", data=data)
                    ok = reply.status_code == 200
                except httpx.TransportError:
                    ok = False
                took = time.perf_counter() - start
                with lock:
                    if ok:
                        latencies.append(took)
                    else:
                        errors[0] += 1
                sent += 1
            for session in sessions:
                session.close()

        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        # SIGINT: `serve` stops on Ctrl-C; on SIGTERM it printed "terminated" and kept serving (2026-11-29).
        for server in servers:
            server.send_signal(signal.SIGINT)
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    latencies.sort()
    return {
        "checks_per_s": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan"),
        "checks": len(latencies),
        "errors": errors[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=None, help="an existing server's admin URL (default: start a throwaway one)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--sites", type=int, default=8)
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite, 1-process baseline")
    parser.add_argument(
        "--rate",
        type=float,
        default=1e6,
        help="serve --rate: high by default (every check takes a token); 0 turns it off",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = small_model(tmp)
        print(f"{args.clients} clients, {args.seconds:.0f} s per setup, {args.sites} sites, comment-check only")
        print(f"{'setup':<28} {'checks/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")

        def show(label: str, figures: dict) -> None:
            print(
                f"{label:<28} {figures['checks_per_s']:>9.1f} {figures['p50_ms']:>8.1f} "
                f"{figures['p99_ms']:>8.1f} {figures['errors']:>7}",
                flush=True,
            )

        if not args.no_sqlite:
            show("SQLite, 1 process", measure(str(tmp / "bench.db"), 1, args, model, tmp))
        with contextlib.nullcontext(args.db) if args.db else throwaway_server() as admin:
            for count in args.processes:
                db = fresh_database(admin, f"bench_{count}")
                show(f"PostgreSQL, {count} process{'es' if count > 1 else ''}", measure(db, count, args, model, tmp))


if __name__ == "__main__":
    main()
