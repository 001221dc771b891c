"""Is scoring linear in the input? Time and peak memory of `moderation score` as a thread or a comment grows.

    .venv/bin/python benchmarks/bench_scaling.py              # threads of 1k..16k comments, comments of 1 KB..10 MB
    .venv/bin/python benchmarks/bench_scaling.py --quick      # 1k..4k comments, 1 KB..1 MB, one run each

Each point is one `moderation score FILE --format json` in its own process (so peak RSS is that run's
alone), the median of --runs runs, on a JSON thread file written to a temporary directory:

- thread length: N comments in one thread under one post, resampled from data/threads and each made
  unique (a counter appended), about 250 characters each;
- comment size: one comment of S bytes under a short post, made of the hostile patterns of issue 9
  ("a." repeated, one unbroken word, dotted hosts, digits), so a regex that backtracks shows up.

The issue's bar (issue 9, "Done when"): 16x the input costs at most 20x the time, and peak memory
stays under 500 MB. The ratio printed is time(largest) / time(smallest) against input(largest) /
input(smallest). Startup (imports, model load) is part of every run; the smallest point shows it.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from moderation.learning.dataset import load_labeled_threads  # noqa: E402

MOVING = "Linden Park pool will stay closed this summer while the county replaces the filtration system."


def thread_file(path: Path, comments: list[dict]) -> Path:
    path.write_text(
        json.dumps({"post": {"title": "Pool closed", "body": MOVING, "author": "Nora"}, "comments": comments}),
        encoding="utf-8",
    )
    return path


def resampled_comments(count: int, seed: int = 0) -> list[dict]:
    pool = [c for t in load_labeled_threads() for c in t.comments if c.body.strip()]
    rng = random.Random(seed)
    out = []
    for number in range(count):
        c = rng.choice(pool)
        out.append({"id": str(number), "author": f"{c.author} {number}", "body": f"{c.body} ({number})"})
    return out


def hostile_comment(size: int) -> str:
    parts = ["a." * 256, "x" * 512, "www." + "sub." * 100 + "example", " 1 2 3 4 5 6 7 8 9 0" * 20, " great post "]
    unit = " ".join(parts)
    return (unit * (size // len(unit) + 1))[:size]


def measure(path: Path, runs: int) -> tuple[float, float]:
    """Median wall seconds and the largest peak RSS (MB) of `moderation score` on ``path``."""
    code = (
        "import resource, sys, time\n"
        "from moderation.cli import main\n"
        "sys.argv = ['moderation', 'score', sys.argv[1], '--format', 'json']\n"
        "import contextlib, io\n"
        "started = time.perf_counter()\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as exit:\n"
        "        assert not exit.code, exit.code\n"
        "elapsed = time.perf_counter() - started\n"
        "print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    times, peaks = [], []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT, check=False
        )
        if result.returncode != 0:
            raise SystemExit(f"score failed on {path.name}: {result.stderr.strip().splitlines()[-1:]}")
        elapsed, peak = map(float, result.stdout.split())
        times.append(elapsed)
        peaks.append(peak)
    return statistics.median(times), max(peaks)


def curve(title: str, unit: str, points: list[tuple[int, Path]], runs: int) -> None:
    print(f"\n{title}\n")
    print(f"| {unit} | seconds (median of {runs}) | peak RSS MB | time / smallest | input / smallest |")
    print("|---|---|---|---|---|")
    first = None
    for size, path in points:
        seconds, peak = measure(path, runs)
        first = first or (size, seconds)
        print(
            f"| {size:,} | {seconds:.2f} | {peak:.0f} | {seconds / first[1]:.1f}x | {size / first[0]:.0f}x |",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller curves, one run per point")
    parser.add_argument("--runs", type=int, default=None, help="runs per point (default 3; 1 with --quick)")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.quick else 3)
    lengths = [1000, 2000, 4000] if args.quick else [1000, 2000, 4000, 8000, 16000]
    sizes = [1_000, 10_000, 100_000, 1_000_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000, 10_000_000]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        comments = resampled_comments(max(lengths))
        threads = [(n, thread_file(folder / f"thread-{n}.json", comments[:n])) for n in lengths]
        curve("Comments in one thread", "comments", threads, runs)
        pages = [
            (s, thread_file(folder / f"comment-{s}.json", [{"id": "1", "author": "x", "body": hostile_comment(s)}]))
            for s in sizes
        ]
        curve("One comment of growing size (hostile patterns)", "bytes", pages, runs)
    print(f"\n({time.perf_counter() - started:.0f} s in all)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
