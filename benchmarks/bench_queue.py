"""How fast the moderation queue page renders with 100k stored checks, per filter.

    .venv/bin/python benchmarks/bench_queue.py [--checks 100000] [--other 20000] [--repeat 30]

Fills a fresh database (in a temporary directory) with ``--checks`` logged checks of one site spread over
90 days, and ``--other`` of a second site, through ``Store.log_requests`` (the path the service logs
with, reason families included); texts are generated from a small invented vocabulary. Then renders the
queue page (``GET /``, logged in) through the WSGI app in-process, ``--repeat`` times per filter, and
prints the median and p95 in milliseconds: the page's SQL and HTML, without the network. The issue's
target is under 200 ms a page on this machine.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from moderation.service.app import ServiceApp  # noqa: E402
from moderation.service.auth import new_session  # noqa: E402
from moderation.service.keys import new_key  # noqa: E402
from moderation.service.store import Store  # noqa: E402

SITE = "https://crumbnotes.example/"
OTHER = "https://other.example/"
WORDS = [
    "rye",
    "loaf",
    "crumb",
    "starter",
    "caraway",
    "oven",
    "proof",
    "dough",
    "flour",
    "water",
    "salt",
    "knead",
    "rest",
    "slice",
    "crust",
    "bake",
    "recipe",
    "thanks",
    "great",
    "post",
    "question",
    "hydration",
    "temperature",
    "hours",
    "overnight",
    "fridge",
    "tin",
    "steam",
    "lid",
]
SPAM_WORDS = [
    "cheap",
    "casino",
    "bonus",
    "loans",
    "replica",
    "watches",
    "crypto",
    "profit",
    "visit",
    "click",
    "offer",
    "free",
]
REASONS = [
    ["contains 2 link(s)", "wording common in spam: 'casino', 'bonus'"],
    ["contains a phone number", "asks to be contacted"],
    ["related to the post (similarity 0.31)", "wording common in real comments: 'rye'"],
    ["copies text from the post (60% of its phrases)"],
    ["letters disguised as look-alikes (𝐒𝐆𝐈, Cyrillic а)", "names 2 sum(s) of money"],
    ["62% of its words appear nowhere in the post or thread", "52 characters long"],
]


class FakeModels:
    """The queue page never scores: a stand-in keeps the benchmark from loading a model."""

    base_path = None

    def current(self, site=None):  # pragma: no cover - not called by the page
        raise AssertionError


def fill(store: Store, site: str, n: int, rng: random.Random) -> None:
    chunk = 5000
    for start in range(0, n, chunk):
        rows = []
        for _ in range(min(chunk, n - start)):
            spam = rng.random() < 0.4
            words = rng.choices(SPAM_WORDS if spam else WORDS, k=rng.randint(8, 40))
            verdict = "spam" if spam else rng.choices(["approve", "hold"], [0.9, 0.1])[0]
            rows.append(
                {
                    "site": site,
                    "endpoint": "comment-check",
                    "answer": "true" if verdict != "approve" else "false",
                    "model_version": "bench",
                    "permalink": f"https://{site.split('/')[2]}/post-{rng.randint(1, 400)}",
                    "author": rng.choice(["Lena", "Jonas", "Marta", "best loans", "SEO pro", "Tomás"]),
                    "content": " ".join(words),
                    "score": rng.random(),
                    "verdict": verdict,
                    "reasons": rng.choice(REASONS),
                    "shadow": rng.random() < 0.05,
                }
            )
        store.log_requests(rows)
    # Spread the checks over 90 days, oldest first, as a real log is.
    now = time.time()
    db = store._connection()
    top = db.execute("SELECT MAX(id) FROM requests WHERE site = ?", (site,)).fetchone()[0]
    db.execute("UPDATE requests SET ts = ? - (? - id) * ? WHERE site = ?", (now, top, 90 * 86400 / max(n, 1), site))


def render(app: ServiceApp, cookie: str, query: str) -> tuple[int, int]:
    status: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "QUERY_STRING": query,
        "HTTP_COOKIE": cookie,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
    }
    body = b"".join(app(environ, lambda s, h: status.append(s)))
    return int(status[0].split()[0]), body.count(b'<tr id="r')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=100_000)
    parser.add_argument("--other", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--recheck",
        type=int,
        default=0,
        metavar="N",
        help="Also time `recheck --dry-run` of N held checks with the shipped model (checks per second).",
    )
    args = parser.parse_args()
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "queue.db")
        new_key(store, SITE)
        new_key(store, OTHER)
        started = time.perf_counter()
        fill(store, SITE, args.checks, rng)
        fill(store, OTHER, args.other, rng)
        print(
            f"filled {args.checks:,} checks of one site and {args.other:,} of another "
            f"in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        app = ServiceApp(store, FakeModels())
        token, _ = new_session(store, SITE)
        cookie = f"moderation_session={token}"
        db = store._connection()
        low, high = db.execute("SELECT MIN(id), MAX(id) FROM requests WHERE site = ?", (SITE,)).fetchone()
        middle = (low + high) // 2
        day = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 45 * 86400))
        cases = [
            ("newest", ""),
            ("page deep in the log", f"before={middle}"),
            ("verdict=hold", "verdict=hold"),
            ("reason family=contact", "family=contact"),
            ("reason family=copy + verdict=spam", "family=copy&verdict=spam"),
            ("one post", "post=https://crumbnotes.example/post-7"),
            ("one day, 45 days ago", f"since={day}&until={day}"),
            ("text, common word", "q=rye"),
            ("text, rare (no match)", "q=zanzibar"),
            ("shadow list", "shadow=1"),
        ]
        print(f"| filter | rows shown | median ms | p95 ms |  ({args.repeat} renders each)")
        print("|---|---|---|---|")
        for name, query in cases:
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                status, rows = render(app, cookie, query)
                times.append((time.perf_counter() - t) * 1000)
                assert status == 200, (name, status)
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            print(f"| {name} | {rows} | {statistics.median(times):.1f} | {p95:.1f} |")
        if args.recheck:
            recheck_speed(store, args.recheck)


def recheck_speed(store: Store, n: int) -> None:
    """`moderation recheck --held --dry-run` over the first ``n`` held checks, with the shipped model."""
    from moderation.api import Moderator
    from moderation.service.recheck import recheck

    model = Moderator.load()
    db = store._connection()
    cutoff = db.execute("SELECT ts FROM requests WHERE verdict = 'hold' ORDER BY id LIMIT 1 OFFSET ?", (n,)).fetchone()
    started = time.perf_counter()
    report = recheck(store, held=True, until=cutoff[0] if cutoff else None, dry_run=True, loader=lambda path: model)
    seconds = time.perf_counter() - started
    print(
        f"recheck --held --dry-run: {report.checked} checks in {seconds:.1f} s, "
        f"{report.checked / seconds:.0f} checks/s ({report.changed} would change)"
    )


if __name__ == "__main__":
    main()
