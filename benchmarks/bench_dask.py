"""Archive scoring throughput: in this process, and on a Dask LocalCluster of 1 and 2 worker processes.

    .venv/bin/pip install -e '.[dask]'
    .venv/bin/python benchmarks/bench_dask.py                       # 20,000 comments, 3 runs each
    .venv/bin/python benchmarks/bench_dask.py --comments 5000 --runs 1
    .venv/bin/python benchmarks/bench_dask.py --scheduler tcp://host:8786   # a real cluster as well

A WordPress export is generated into a temporary directory (deleted afterwards) with the generator of
bench_wxr_stream.py. Each run scores it end to end as `moderation score` does (read here, batches sent
out, reasons included), with every text cache cleared first, here and on the workers, so that no run
reuses another's analyses. Cluster start-up is timed apart from throughput: it is paid once per
command. Prints the median comments/s of each setup and its ratio to local scoring.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_wxr_stream import generate  # noqa: E402

from moderation.distributed import open_moderator, score_paths  # noqa: E402
from moderation.model.text import clear_cache  # noqa: E402


def run(moderator, path: Path) -> tuple[int, float]:
    clear_cache()
    backend = getattr(moderator, "backend", None)
    if backend is not None:
        backend.client.run(clear_cache)
    start = time.perf_counter()
    comments = sum(len(decisions) for _, decisions in score_paths([path], moderator))
    return comments, time.perf_counter() - start


def measure(label: str, path: Path, runs: int, **cluster) -> float:
    start = time.perf_counter()
    with open_moderator(**cluster) as moderator:
        ready = time.perf_counter() - start
        rates = []
        for _ in range(runs):
            comments, seconds = run(moderator, path)
            rates.append(comments / seconds)
    median = statistics.median(rates)
    runs_text = ", ".join(f"{rate:,.0f}" for rate in rates)
    print(f"{label:<22} {median:>9,.0f} comments/s   (runs: {runs_text}; ready in {ready:.1f} s)", flush=True)
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comments", type=int, default=20000, help="comments in the generated export")
    parser.add_argument("--runs", type=int, default=3, help="runs per setup; the median is printed")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="LocalCluster sizes to measure")
    parser.add_argument("--scheduler", default=None, help="also measure a running cluster at this address")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.xml"
        generate(path, args.comments, per_post=50)
        print(f"WordPress export of {args.comments:,} comments in threads of 50; {args.runs} runs per setup")
        local = measure("local (no Dask)", path, args.runs)
        for workers in args.workers:
            label = f"LocalCluster {workers} worker{'s' if workers > 1 else ''}"
            rate = measure(label, path, args.runs, workers=workers)
            print(f"{'':<22} {rate / local:>9.2f} x local")
        if args.scheduler:
            rate = measure(f"scheduler {args.scheduler}", path, args.runs, scheduler=args.scheduler)
            print(f"{'':<22} {rate / local:>9.2f} x local")


if __name__ == "__main__":
    main()
