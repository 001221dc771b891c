"""Load test of `moderation serve` on loopback: concurrent comment-checks, corrections, a promotion.

    .venv/bin/python benchmarks/bench_service_load.py [--clients 16] [--seconds 20] [--max-requests 20000]

Starts a real server (waitress, in a subprocess) on 127.0.0.1 with a fresh database, then for at most
``--seconds`` (and at most ``--max-requests`` checks) runs ``--clients`` threads sending Akismet
comment-checks, one thread submitting corrections, and, halfway, a `retrain --force` in another process
whose model the server must pick up without a failed request. It prints requests per second, p50/p99
latency, errors (must be 0), corrections stored versus sent (must be equal) and the model versions the
replies named, then stops the server. Exit status 1 if errors or lost corrections.

    .venv/bin/python benchmarks/bench_service_load.py --slowloris 150 [--seconds 20] [--serve-args "..."]

With ``--slowloris N`` it instead opens N connections that trickle one header line every 2 s and never
finish their request (the slowloris attack of issue 9 item 9), and meanwhile sends a health check every
0.5 s with a 5 s timeout; it prints how many health checks were answered and their latency, and exits 1
if any was not. ``--serve-args`` passes options to `serve` (e.g. "--connection-limit 100" to see the
attack work against waitress's default).

Only 127.0.0.1 is ever contacted. The model is trained on the small test corpus unless --model is given,
so that the figures measure the service, not a minute of training.

The clients share the machine with the server, so their cost counts: the script prints the CPU seconds
of the server process, of the clients (this process) and of the retrain over the run. ``--client http``
(the default) sends each thread's requests on one keep-alive ``http.client`` connection; ``--client
httpx`` uses one ``httpx.Client`` per thread, as the figures before 2026-11-29 11:00 did, and costs the
clients about twice the CPU per request (benchmarks/README.md, "Service checks per second").
``--processes N`` passes ``--processes N`` to `serve`.
"""

from __future__ import annotations

import argparse
import http.client
import os
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "service"
BLOG = "https://bench.example/"
THANKS = "Thanks for making the web a better place."
COMMENTS = [
    ("Grete", "", "I rested the loaf a full day and the crumb was finally right. Thank you!"),
    (
        "cheap watches",
        "http://watches.example",
        "Buy replica watches cheap, free shipping, visit our store now",
    ),
    ("Lena", "", "Does the chain wax survive a wet week of commuting? Mine squeaks after rain."),
    ("casino", "http://slots.example", "Win the jackpot with free spins and the best casino bonus today"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=32, help="server worker threads")
    parser.add_argument("--model", type=Path, default=None, help="model to serve [default: trained on tests corpus]")
    parser.add_argument("--slowloris", type=int, default=0, help="run the slowloris test with this many connections")
    parser.add_argument("--serve-args", default="", help="extra options for `serve`, split on spaces")
    parser.add_argument("--client", choices=("http", "httpx"), default="http", help="the checkers' HTTP client")
    parser.add_argument("--processes", type=int, default=1, help="server processes (`serve --processes`)")
    args = parser.parse_args()
    if not 0 <= args.slowloris <= 2000:
        parser.error("--slowloris: at most 2000 connections")
    python = sys.executable

    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        tmp = Path(tmp)
        db = tmp / "bench.db"
        model = args.model
        if model is None:
            from moderation.learning.dataset import load_labeled_threads
            from moderation.learning.training import train_model
            from moderation.model.pipeline import save_model

            model = tmp / "base.joblib"
            save_model(train_model(load_labeled_threads([CORPUS]), seed=0), model)
        from moderation.service.keys import new_key
        from moderation.service.store import Store

        key = new_key(Store(db), BLOG)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        service = [python, "-m", "moderation.service"]
        server = subprocess.Popen(
            [
                *service,
                "serve",
                "--db",
                str(db),
                "--model",
                str(model),
                "--port",
                str(port),
                "--rate",
                "0",
                "--threads",
                str(args.threads),
                *(["--processes", str(args.processes)] if args.processes != 1 else []),
                *args.serve_args.split(),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            if args.slowloris:
                return slowloris(args, server, base, port)
            return run(args, server, base, key, db, model, service)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


def wait_for_health(server, base) -> bool:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            print("server did not start", file=sys.stderr)
            return False
        time.sleep(0.1)


def slowloris(args, server, base, port) -> int:
    """N connections that each send a request line and then one header line every 2 s, never the end."""
    if not wait_for_health(server, base):
        return 1
    stop = threading.Event()
    opened = {"count": 0, "refused": 0}
    sockets: list[socket.socket] = []

    def trickle() -> None:
        for _ in range(args.slowloris):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                sockets.append(sock)
                opened["count"] += 1
            except OSError:
                opened["refused"] += 1
        n = 0
        while not stop.wait(2.0):
            n += 1
            for sock in list(sockets):
                try:
                    sock.sendall(b"X-a-%d: b\r\n" % n)
                except OSError:
                    sockets.remove(sock)

    attacker = threading.Thread(target=trickle, daemon=True)
    attacker.start()
    time.sleep(3)  # let every connection open and start trickling
    latencies: list[float] = []
    failures: list[str] = []
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        start = time.perf_counter()
        try:
            reply = httpx.get(f"{base}/api/v1/health", timeout=5)
            if reply.status_code == 200:
                latencies.append(time.perf_counter() - start)
            else:
                failures.append(str(reply.status_code))
        except httpx.TransportError as exc:
            failures.append(type(exc).__name__)
        time.sleep(0.5)
    still_open = len(sockets)
    stop.set()
    attacker.join(timeout=10)
    for sock in sockets:
        sock.close()
    total = len(latencies) + len(failures)
    print(f"slowloris: {opened['count']} connections opened ({opened['refused']} refused), {still_open} still open")
    print(f"health checks during the attack: {len(latencies)} of {total} answered within 5 s")
    if latencies:
        print(f"latency p50 {percentile(latencies, 0.5) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
    if failures:
        print(f"failures: {failures[:5]}")
    ok = total > 0 and not failures
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` and its live descendants; nan off Linux."""
    try:
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", "rb") as f:
                        fields = f.read().rsplit(b")", 1)[1].split()
                except OSError:
                    continue
                stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    except OSError:
        return float("nan")
    tree, total, grew = {pid}, 0, True
    while grew:
        grew = False
        for child, (parent, _) in stats.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    total = sum(stats[p][1] for p in tree if p in stats)
    return total / os.sysconf("SC_CLK_TCK")


def own_cpu(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class FormClient:
    """One keep-alive connection with the stdlib's http.client: far less CPU per request than httpx, so
    that the clients, which share the server's cores, take less from it."""

    def __init__(self, base: str, timeout: float):
        host, port = urllib.parse.urlsplit(base).netloc.split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)

    def post(self, path: str, data: dict) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        try:
            self.conn.request("POST", path, body, headers)
            reply = self.conn.getresponse()
            text = reply.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            self.conn.close()
            raise
        return reply.status, text, reply.getheader("X-moderation-model", "?")

    def close(self) -> None:
        self.conn.close()


def run(args, server, base, key, db, model, service) -> int:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            print("server did not start", file=sys.stderr)
            return 1
        time.sleep(0.1)

    latencies: list[float] = []
    finished: list[float] = []
    errors: list[str] = []
    versions: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()
    sent = {"count": 0}
    issued = {"count": 0}

    def checker(worker: int) -> None:
        if args.client == "http":
            client = FormClient(base, timeout=10)
            transport_errors: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)
        else:
            client = httpx.Client(base_url=base, timeout=10)
            transport_errors = (httpx.TransportError,)
        try:
            n = 0
            while not stop.is_set():
                with lock:
                    if issued["count"] >= args.max_requests:
                        return
                    issued["count"] += 1
                author, url, text = COMMENTS[(worker + n) % len(COMMENTS)]
                n += 1
                data = {
                    "api_key": key,
                    "blog": BLOG,
                    "user_ip": f"127.0.0.{worker % 250 + 1}",
                    "comment_author": author,
                    "comment_author_url": url,
                    "comment_content": f"{text} #{n}",
                    # As WordPress's Akismet plugin sends it: each check looks its post up (none is stored).
                    "permalink": f"{BLOG}post/{n % 50}",
                }
                start = time.perf_counter()
                try:
                    if args.client == "http":
                        status, text, version = client.post("/1.1/comment-check", data)
                    else:
                        reply = client.post("/1.1/comment-check", data=data)
                        status, text = reply.status_code, reply.text
                        version = reply.headers.get("X-moderation-model", "?")
                except transport_errors as exc:
                    with lock:
                        errors.append(f"transport: {exc}")
                    continue
                elapsed = time.perf_counter() - start
                with lock:
                    if status != 200 or text not in ("true", "false"):
                        errors.append(f"{status} {text[:60]}")
                    else:
                        latencies.append(elapsed)
                        finished.append(time.perf_counter())
                        versions[version] = versions.get(version, 0) + 1
        finally:
            client.close()

    def corrector() -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            n = 0
            while not stop.is_set():
                author, url, text = COMMENTS[n % len(COMMENTS)]
                endpoint = "submit-spam" if url else "submit-ham"
                data = {
                    "api_key": key,
                    "blog": BLOG,
                    "user_ip": "127.0.0.9",
                    "comment_author": author,
                    "comment_author_url": url,
                    "comment_content": f"{text} (correction {n})",
                }
                n += 1
                with lock:
                    sent["count"] += 1
                try:
                    reply = client.post(f"/1.1/{endpoint}", data=data)
                except httpx.TransportError as exc:
                    with lock:
                        errors.append(f"correction transport: {exc}")
                    continue
                if reply.text != THANKS:
                    with lock:
                        errors.append(f"correction {reply.status_code} {reply.text[:60]}")
                time.sleep(0.02)

    threads = [threading.Thread(target=checker, args=(w,)) for w in range(args.clients)]
    threads.append(threading.Thread(target=corrector))
    load_before = os.getloadavg()
    cpu_before = (tree_cpu(server.pid), own_cpu(), own_cpu(resource.RUSAGE_CHILDREN))
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(min(args.seconds / 3, 5))
    retrain_started = time.perf_counter() - started
    retrain = subprocess.run(
        # `python -m moderation.service` runs only the server (it does not import the CLI).
        [
            service[0],
            "-m",
            "moderation.cli",
            "retrain",
            "--db",
            str(db),
            "--data",
            str(CORPUS),
            "--model",
            str(model),
            "--force",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=max(args.seconds, 120),
    )
    retrain_done = time.perf_counter() - started
    during = sum(1 for t in finished if started + retrain_started <= t <= started + retrain_done)
    remaining = args.seconds - (time.perf_counter() - started)
    end = time.monotonic() + max(remaining, 0)
    while time.monotonic() < end and any(t.is_alive() for t in threads[:-1]):
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    wall = time.perf_counter() - started
    server_cpu = tree_cpu(server.pid) - cpu_before[0]
    client_cpu = own_cpu() - cpu_before[1]
    retrain_cpu = own_cpu(resource.RUSAGE_CHILDREN) - cpu_before[2]
    load_after = os.getloadavg()

    with sqlite3.connect(db) as check:
        stored = check.execute("SELECT COUNT(*) FROM corrections").fetchone()[0]
    print(
        f"server: waitress, {args.processes} process(es) of {args.threads} threads; clients: {args.clients} "
        f"({args.client}); wall time {wall:.1f} s; load average {load_before[0]:.1f} -> {load_after[0]:.1f}"
    )
    print(f"comment-checks answered: {len(latencies)}  ({len(latencies) / wall:.0f} requests/s)")
    if latencies:
        print(
            f"latency p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, mean {statistics.fmean(latencies) * 1000:.1f} ms"
        )
    before = sum(1 for t in finished if t < started + retrain_started)
    print(
        f"throughput before the retrain {before / retrain_started:.0f} requests/s, "
        f"while it ran (sharing the CPUs) {during / max(retrain_done - retrain_started, 1e-9):.0f} requests/s"
    )
    answered = max(len(latencies), 1)
    print(
        f"CPU seconds: server {server_cpu:.1f} ({server_cpu / answered * 1e3:.2f} ms per check), clients "
        f"{client_cpu:.1f} ({client_cpu / answered * 1e3:.2f} ms per check), retrain {retrain_cpu:.1f}; "
        f"{(server_cpu + client_cpu + retrain_cpu) / wall:.2f} of {os.cpu_count()} cores busy"
    )
    windows = [0] * (int(wall / 2) + 1)
    for t in finished:
        windows[min(int((t - started) / 2), len(windows) - 1)] += 1
    print("checks/s per 2 s: " + " ".join(str(n // 2) for n in windows[: int(wall / 2)]))
    print(f"errors: {len(errors)}" + (f"  first: {errors[:3]}" if errors else ""))
    print(f"corrections sent {sent['count']}, stored {stored}")
    out = retrain.stdout.strip() or retrain.stderr.strip()
    last_line = out.splitlines()[-1] if out else ""
    print(
        f"retrain (in another process) from {retrain_started:.1f} s to {retrain_done:.1f} s, "
        f"exit {retrain.returncode}: {last_line}"
    )
    print("replies by model version: " + ", ".join(f"{v} {n}" for v, n in versions.items()))
    ok = not errors and stored == sent["count"] and retrain.returncode == 0 and len(versions) >= 2
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
