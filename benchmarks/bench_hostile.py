"""What crafted comments cost: texts written to make a pattern or a per-thread loop superlinear.

    .venv/bin/python benchmarks/bench_hostile.py            # every kind, 8 to 45 KB
    .venv/bin/python benchmarks/bench_hostile.py --quick    # 8 and 16 KB

Each kind of text is scored with the shipped model (models/default.joblib) at growing sizes, alone (a
check with its post) and beside a thread of 600 ordinary comments by 600 commenters, CPU time of this
process, median of --repeat runs, the analysis caches emptied before each. It prints the milliseconds and
how much the time grew from the size before (2x the size: about 2x the time is linear, about 4x
quadratic). A row is marked "<<" when a doubling cost more than 2.5x and more than 20 ms, or when a text
costs over 150 ms: an ordinary 32 KB comment costs 2-50 ms here. Nothing is asserted: timings on a shared
machine vary (tests/test_signals.py, test_text.py, test_thread.py and test_text_prechecks.py pin the
answers of the rewritten patterns and count the work of the per-thread lookups instead).

Six of these kinds were fixed on 2026-11-30 (benchmarks/README.md, "Hostile texts"): "@ spaces",
"1, before usd", '" and line breaks', "@handles beside 600", a run of "!" in the Python form of the shape
counts (where no C compiler built it) and texts over 256 KB (not here: 2 of them, 10.6 and 40 ms).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from moderation.api import Moderator  # noqa: E402
from moderation.model import signals, text  # noqa: E402
from moderation.model.thread import Comment, Post, Thread  # noqa: E402

POST = Post(title="Rye sourdough", body="Feed the starter twice a day with rye flour and keep it warm.")
AUTHORS = [f"Reader Number{i:04d}" for i in range(600)]
THREAD = Thread(
    post=POST, comments=[Comment(body=f"I fed mine at {i} and it rose.", author=a) for i, a in enumerate(AUTHORS)]
)


def fill(piece: str, size: int) -> str:
    return (piece * (size // len(piece) + 1))[:size]


def numbered(make, size: int) -> str:
    out, length, number = [], 0, 0
    while length < size:
        out.append(make(number))
        length += len(out[-1])
        number += 1
    return "".join(out)[:size]


KINDS = {
    "@ spaces": lambda n: "@" + " " * n + "x",
    "1, before usd": lambda n: fill("1,", n) + " x usd",
    '" and line breaks': lambda n: '"' + "\n" * n + "x",
    "!!! run": lambda n: "!" * n + "x",
    "@handles beside 600": lambda n: "hi " + numbered(lambda i: f"@u{i:05d}x ", n),
    "@handles naming them": lambda n: "hi " + numbered(lambda i: f"@ReaderNumber{100 + i % 500:04d} ", n),
    "urls": lambda n: numbered(lambda i: f"http://a{i}.example/x ", n),
    "bare domains": lambda n: numbered(lambda i: f"foo{i}.com bar{i}.net ", n),
    "e-mails": lambda n: numbered(lambda i: f"name{i}@gmail.com ", n),
    "hidden e-mails": lambda n: numbered(lambda i: f"name{i} (at) site [dot] com ", n),
    "phone numbers": lambda n: fill("1 (800) 555 0199 ", n),
    "spaced digits": lambda n: fill("8 0 0 5 5 5 ", n),
    "spelled numbers": lambda n: fill("one eight hundred five five five ", n),
    "money": lambda n: fill("$100 100 usd ", n),
    "[url] markup": lambda n: numbered(lambda i: f"[url=http://s{i}.com]buy {i}[/url] ", n),
    "<a href> anchors": lambda n: numbered(lambda i: f'<a href="http://s{i}.com">buy</a> ', n),
    "href= without tags": lambda n: numbered(lambda i: f"href=http://s{i}.com ", n),
    "(dot) and dot com": lambda n: numbered(lambda i: f"site{i}(dot)com site{i} dot com ", n),
    "spaced letters": lambda n: fill("W h a t s A p p ", n),
    "look-alike letters": lambda n: fill("b\u0430nk \u0441\u043eupon ch\u0435ap l\u043ean ", n),
    "zero-width inside words": lambda n: fill("wh\u200bats\u200dapp ", n),
    "lone surrogates": lambda n: fill("ab\ud800cd ", n),
    "apostrophes": lambda n: fill("don't it's ''' a'b'c'd ", n),
    "> quoted lines": lambda n: fill("> quoted\n", n),
    "one giant word": lambda n: "a" * n,
    "repeated phrase": lambda n: fill("buy cheap pills online now ", n),
}


def timed(moderator: Moderator, body: str, beside: bool, repeat: int) -> float:
    """Median CPU seconds of one check of ``body``, alone or beside the 600-comment thread."""
    runs = []
    for _ in range(repeat):
        text.clear_cache()
        signals._KEPT_COMMENTER_NAMES[0] = None
        start = time.process_time()
        moderator.score_comment(body, post=POST, author="x", thread=THREAD if beside else None)
        runs.append(time.process_time() - start)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 and 16 KB only")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [8 * 1024, 16 * 1024] if args.quick else [8 * 1024, 16 * 1024, 32 * 1024, 45 * 1024]
    moderator = Moderator.load(ROOT / "models" / "default.joblib")
    moderator.score_comment("warm up", post=POST)
    print(f"{'kind':26s} {'where':7s} " + " ".join(f"{size // 1024:>5d}K" for size in sizes) + "  growth")
    marked = 0
    for name, make in KINDS.items():
        for beside in (False, True):
            times = [timed(moderator, make(size), beside, args.repeat) for size in sizes]
            growth = max(b / a if a > 0 else 1.0 for a, b in zip(times, times[1:], strict=False))
            steep = any(b / max(a, 1e-9) > 2.5 and b > 0.020 for a, b in zip(times, times[1:], strict=False))
            slow = max(times) > 0.150
            marked += steep or slow
            row = " ".join(f"{1e3 * t:6.1f}" for t in times)
            where = "beside" if beside else "alone"
            print(f"{name:26s} {where:7s} {row}  {growth:4.1f}x{'  <<' if steep or slow else ''}", flush=True)
    print(f"{marked} rows marked (milliseconds of CPU; 'beside': next to a thread of {len(AUTHORS)} comments)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
