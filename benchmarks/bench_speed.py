"""How fast is scoring? Batch, one long thread, one comment at a time, and cold start, beside a peer.

    .venv/bin/python benchmarks/bench_speed.py                 # 100k comments in 5k threads, 1k..16k curve
    .venv/bin/python benchmarks/bench_speed.py --quick         # 10k comments in 500 threads, 1k..4k curve
    .venv/bin/python benchmarks/bench_speed.py --ngrams numpy  # only the current n-gram counting
    .venv/bin/python benchmarks/bench_speed.py --bogofilter    # bogofilter too (Debian package)

Comments are resampled from data/threads: each synthetic thread takes the post of a random thread
there and comments drawn from that thread, each made unique (a counter appended), so the analysis
cache never sees the same comment twice. Each thread's post is made unique the same way, as each
thread of an archive has a post of its own (until 2026-11-29 23:30 the 94 posts of data/threads were
shared by all threads, and each was analysed once per run: batch figures before then are about a
quarter higher than this way would have given). The shipped model models/default.joblib scores them.

Printed first: the three n-gram blocks alone, CPU per text, scikit-learn's transform against
moderation/model/ngrams.py. Then, each beside the peer (TF-IDF words + LogisticRegression trained on
every labeled comment of data/threads, as in bench_peers.py) and, with ``--ngrams both`` (the
default), for the two ways of counting n-grams: ``numpy`` (moderation/model/ngrams.py) and
``sklearn`` (n-grams counted one by one in Python as scikit-learn's analyzers do, what scoring did
before; same scores to the bit):

- batch: comments/s through ``Moderator.score_threads`` without and with reasons, by CPU time of this
  process (per core: scoring is single-threaded) and by wall time;
- thread curve: one thread of 1k, 2k, 4k, 8k, 16k comments scored with reasons, each in its own process
  so that peak RSS is that run's (model and imports included; the RSS after loading is printed too,
  and the high-water mark is reset after loading, since unpickling peaks above scoring);
- single comment: ``Moderator.score_comment`` with its post, p50 and p99 over --single comments;
- cold start: ``moderation --help`` and ``moderation score data/example/thread.txt``, wall time, median
  of 5 runs each, and the peer loading its pickle and scoring the same page;
- service: ``benchmarks/bench_service_load.py`` with the shipped model (``--service-processes``, default
  2 server processes, ``--service-seconds``): checks/s, p50/p99, CPU per check, errors.

Timings depend on the machine's load (2 shared cores here): compare rows of one run only. Nothing
here asserts a timing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_peers import Corpus, bogofilter_peer, sklearn_peer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from moderation.api import Moderator  # noqa: E402
from moderation.learning.dataset import load_labeled_threads  # noqa: E402
from moderation.model import ngrams  # noqa: E402
from moderation.model.text import clear_cache  # noqa: E402
from moderation.model.thread import Comment, Post, Thread  # noqa: E402

EXAMPLE = ROOT / "data" / "example" / "thread.txt"
MODERATION = Path(sys.executable).with_name("moderation")
CURVE = (1000, 2000, 4000, 8000, 16000)
QUICK_CURVE = (1000, 2000, 4000)
BOGOFILTER_MAX = 10_000  # bogofilter takes its files on one command line


# ----------------------------------------------------------------------------------------------- data


def synthetic_threads(comments: int, threads: int, seed: int = 0) -> list[Thread]:
    """``comments`` comments in ``threads`` threads resampled from data/threads, every comment and post
    unique."""
    sources = [t for t in load_labeled_threads() if any(c.body.strip() for c in t.comments)]
    rng = random.Random(seed)
    out = []
    number = 0
    for index in range(threads):
        source = rng.choice(sources)
        pool = [c for c in source.comments if c.body.strip()]
        size = comments // threads + (1 if index < comments % threads else 0)
        made = []
        for _ in range(size):
            c = rng.choice(pool)
            made.append(
                Comment(
                    body=f"{c.body} ({number})",
                    author=c.author,
                    id=str(number),
                    author_url=c.author_url,
                    author_email=c.author_email,
                    type=c.type,
                )
            )
            number += 1
        body = f"{source.post.body} ({index})" if source.post.body.strip() else source.post.body
        post = Post(title=source.post.title, body=body, author=source.post.author)
        out.append(Thread(post=post, comments=made))
    return out


def peer_model():
    """TF-IDF words + LogisticRegression fitted on every labeled comment of data/threads."""
    labeled = [c for t in load_labeled_threads() for c in t.comments if c.label is not None]
    texts = [c.body for c in labeled]
    y = np.asarray([c.label == "spam" for c in labeled], dtype=int)
    corpus = Corpus("data/threads", texts, [], y, np.zeros(len(y)))
    peer = sklearn_peer("TF-IDF words + LR", lambda: LogisticRegression(max_iter=2000))
    return peer.fit(corpus, np.arange(len(y))), corpus


@contextlib.contextmanager
def ngram_mode(mode: str):
    """``numpy``: moderation/model/ngrams.py counts; ``sklearn``: every vectorizer's own transform, and
    scoring's ngrams.Tfidf forms counting n-gram by n-gram in Python (scikit-learn's algorithm)."""
    if mode == "numpy":
        yield
        return
    original, original_counter = ngrams.counter_for, ngrams.Tfidf.counter
    ngrams.counter_for = lambda vectorizer: None
    ngrams.Tfidf.counter = lambda self: None
    try:
        yield
    finally:
        ngrams.counter_for, ngrams.Tfidf.counter = original, original_counter


def timed(function) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) of one call."""
    clear_cache()
    cpu, wall = time.process_time(), time.perf_counter()
    function()
    return time.process_time() - cpu, time.perf_counter() - wall


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>10,.0f}/s" if seconds > 0 else "         -"


# --------------------------------------------------------------------------------------- n-gram blocks


def bench_blocks(moderator: Moderator, threads: list[Thread], limit: int = 10_000, runs: int = 5) -> None:
    """The n-gram blocks alone (texts already analysed): CPU per text, best of ``runs``."""
    from moderation.model.features import TextNgrams, _field_text, items_from_thread

    items = [item for thread in threads for item in items_from_thread(thread)][:limit]
    print(f"\n## N-gram blocks alone, {len(items):,} comments, CPU per text, best of {runs}")
    print(f"{'block':<32} {'sklearn':>10} {'numpy':>10} {'ratio':>7}")
    from moderation.model.pipeline import load_model

    # A moderator loaded from the parameter file has no pipeline: the blocks are compared on the joblib's.
    pipeline = moderator.bundle.pipeline or load_model().pipeline
    for name, block in pipeline.named_steps["features"].transformer_list:
        if not isinstance(block, TextNgrams):
            continue
        texts = [_field_text(item, block.field) for item in items]
        best = {}
        for mode in ("sklearn", "numpy"):
            with ngram_mode(mode):
                ngrams.transform(block.vectorizer_, texts[:10])  # builds the tables
                times = []
                for _ in range(runs):
                    start = time.process_time()
                    ngrams.transform(block.vectorizer_, texts)
                    times.append(time.process_time() - start)
            best[mode] = min(times) * 1e6 / len(texts)
        label = f"{name} ({block.analyzer} {tuple(block.ngram_range)})"
        ratio = best["sklearn"] / best["numpy"]
        print(f"{label:<32} {best['sklearn']:>7.1f} us {best['numpy']:>7.1f} us {ratio:>6.1f}x")


# ---------------------------------------------------------------------------------------------- batch


def bench_batch(moderator: Moderator, threads: list[Thread], modes: list[str], peer, bogofilter: bool) -> dict:
    count = sum(len(t.comments) for t in threads)
    texts = [c.body for t in threads for c in t.comments]
    print(f"\n## Batch: {count:,} comments in {len(threads):,} threads (CPU: this process; wall: elapsed)")
    print(f"{'scorer':<44} {'CPU':>12} {'wall':>12}")
    figures = {}
    for mode in modes:
        with ngram_mode(mode):
            for explain in (False, True):
                cpu, wall = timed(
                    lambda explain=explain: [d for _, d in moderator.score_threads(threads, explain=explain)]
                )
                label = f"ours, n-grams {mode}, {'with' if explain else 'without'} reasons"
                figures[label] = count / cpu
                print(f"{label:<44} {rate(count, cpu)} {rate(count, wall)}", flush=True)
    cpu, wall = timed(lambda: peer.predict_proba(texts))
    figures["peer"] = count / cpu
    print(f"{'peer: TF-IDF words + LR':<44} {rate(count, cpu)} {rate(count, wall)}")
    if bogofilter:
        bench_bogofilter(texts[:BOGOFILTER_MAX])
    return figures


def bench_bogofilter(texts: list[str]) -> None:
    peer = bogofilter_peer()
    if peer is None:
        return
    _, corpus = peer_model()
    state = peer.fit(corpus, np.arange(len(corpus.y)))
    try:
        test = Corpus("batch", texts, [], np.zeros(len(texts)), np.zeros(len(texts)))
        peer.score(state, test, range(len(texts)))  # writes the files (setup, untimed)
        start = time.perf_counter()
        peer.score(state, test, range(len(texts)))
        wall = time.perf_counter() - start
        label = f"peer: bogofilter ({len(texts):,} comments, one process)"
        print(f"{label:<44} {'-':>12} {rate(len(texts), wall)}")
    finally:
        peer.cleanup(state)


# ---------------------------------------------------------------------------------------- thread curve


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def thread_point(size: int, mode: str) -> dict:
    """Run in a child process: score one thread of ``size`` comments with reasons; time and peak RSS."""
    moderator = Moderator.load()
    thread = synthetic_threads(size, 1, seed=size)[0]
    loaded = _status_mb("VmRSS")
    # Unpickling the model peaks above what scoring needs: reset the high-water mark (Linux) so that
    # the peak printed is the scoring's, on top of the loaded model.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    with ngram_mode(mode):
        cpu, wall = timed(lambda: moderator.score_thread(thread, explain=True))
    return {"size": size, "cpu": cpu, "wall": wall, "loaded_mb": loaded, "peak_mb": _status_mb("VmHWM")}


def bench_curve(sizes, modes: list[str]) -> None:
    print("\n## One thread of N comments, with reasons (each point in its own process)")
    print(f"{'n-grams':<8} {'comments':>9} {'CPU s':>8} {'wall s':>8} {'RSS loaded':>11} {'peak RSS':>9} {'x time':>7}")
    for mode in modes:
        first = None
        for size in sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--point", str(size), "--ngrams", mode],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                print(f"{mode:<8} {size:>9,} failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            point = json.loads(out.stdout.strip().splitlines()[-1])
            first = first or point["cpu"]
            print(
                f"{mode:<8} {size:>9,} {point['cpu']:>8.2f} {point['wall']:>8.2f} {point['loaded_mb']:>8.0f} MB "
                f"{point['peak_mb']:>6.0f} MB {point['cpu'] / first:>6.1f}x",
                flush=True,
            )


# ------------------------------------------------------------------------------------------- single


def bench_single(moderator: Moderator, threads: list[Thread], count: int, modes: list[str], peer) -> None:
    pairs = [(t.post, c) for t in threads for c in t.comments][: count + 50]
    print(f"\n## One comment at a time, with its post and reasons ({count:,} comments, in-process)")
    print(f"{'scorer':<30} {'p50 ms':>8} {'p99 ms':>8}")
    for mode in modes:
        with ngram_mode(mode):
            clear_cache()
            times = []
            for post, comment in pairs:
                start = time.perf_counter()
                moderator.score_comment(comment.body, post=post, author=comment.author, author_url=comment.author_url)
                times.append(time.perf_counter() - start)
        report_latency(f"ours, n-grams {mode}", times[50:])
    times = []
    for _, comment in pairs:
        start = time.perf_counter()
        peer.predict_proba([comment.body])
        times.append(time.perf_counter() - start)
    report_latency("peer: TF-IDF words + LR", times[50:])


def report_latency(label: str, times: list[float]) -> None:
    p50, p99 = np.percentile(np.asarray(times) * 1000, [50, 99])
    print(f"{label:<30} {p50:>8.2f} {p99:>8.2f}", flush=True)


# --------------------------------------------------------------------------------------------- cold


def bench_cold(peer, runs: int = 5) -> None:
    print(f"\n## Cold start, wall time, median of {runs} runs")
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as work:
        import joblib

        peer_file = Path(work) / "peer.joblib"
        joblib.dump(peer, peer_file)
        commands = {
            "moderation --help": [str(MODERATION), "--help"],
            f"moderation score {EXAMPLE.relative_to(ROOT)}": [str(MODERATION), "score", str(EXAMPLE)],
            "peer: load pickle, score the same page": [
                sys.executable,
                "-c",
                "import joblib, sys; from moderation.formats import read_threads; "
                f"m = joblib.load({str(peer_file)!r}); "
                f"t = list(read_threads({str(EXAMPLE)!r})); "
                "m.predict_proba([c.body for th in t for c in th.comments])",
            ],
        }
        for label, command in commands.items():
            if not shutil.which(command[0]):
                print(f"{label:<44} skipped: {command[0]} not found")
                continue
            times, failed = [], None
            for _ in range(runs):
                start = time.perf_counter()
                out = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
                times.append(time.perf_counter() - start)
                if out.returncode != 0:
                    failed = (out.stderr.strip().splitlines() or ["no message"])[-1][:100]
                    break
            if failed:
                print(f"{label:<44} failed (exit {out.returncode}): {failed}")
            else:
                print(f"{label:<44} {statistics.median(times):>6.2f} s", flush=True)


def bench_service(processes: int, seconds: float) -> None:
    """The HTTP service under load: benchmarks/bench_service_load.py in a child process (a real waitress
    server on loopback, keep-alive Akismet clients, corrections and a retrain halfway), its summary lines.

    The shipped model serves, so that the figure is the product's; the load test alone trains a small one.
    """
    print(f"\n## Service: comment-checks on loopback, {processes} server process(es), {seconds:.0f} s")
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "bench_service_load.py"),
        "--seconds",
        str(seconds),
        "--processes",
        str(processes),
        "--model",
        str(ROOT / "models" / "default.joblib"),
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    keep = ("server:", "comment-checks", "latency", "CPU seconds", "errors", "corrections", "OK", "FAILED")
    for line in out.stdout.splitlines():
        if line.startswith(keep):
            print(line)
    if out.returncode != 0:
        print(f"load test exit {out.returncode}: {(out.stderr.strip().splitlines() or ['no message'])[-1][:200]}")
    print("(no peer here: the TF-IDF + LR peer has no HTTP service; its per-comment cost is in the batch rows)")


# ---------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k comments in 500 threads, curve to 4k")
    parser.add_argument("--comments", type=int, help="batch size (default 100,000; 10,000 with --quick)")
    parser.add_argument("--threads", type=int, help="threads in the batch (default comments / 20)")
    parser.add_argument("--single", type=int, default=1000, help="comments scored one at a time")
    parser.add_argument("--ngrams", choices=("numpy", "sklearn", "both"), default="both")
    parser.add_argument(
        "--skip", action="append", default=[], choices=("blocks", "batch", "curve", "single", "cold", "service")
    )
    parser.add_argument("--bogofilter", action="store_true", help=f"bogofilter on the first {BOGOFILTER_MAX:,}")
    parser.add_argument("--service-processes", type=int, default=2, help="`serve --processes` for the service run")
    parser.add_argument("--service-seconds", type=float, default=20.0, help="how long the service load runs")
    parser.add_argument("--point", type=int, help=argparse.SUPPRESS)  # child process of the curve
    args = parser.parse_args(argv)
    modes = ["numpy", "sklearn"] if args.ngrams == "both" else [args.ngrams]
    if args.point:
        print(json.dumps(thread_point(args.point, modes[0])))
        return 0

    comments = args.comments or (10_000 if args.quick else 100_000)
    thread_count = args.threads or max(1, comments // 20)
    print(f"moderation scoring speed; n-gram counting: {', '.join(modes)}; model models/default.joblib")
    moderator = Moderator.load()
    peer, _ = peer_model()
    threads = synthetic_threads(comments, thread_count)
    list(moderator.score_threads(threads[:2]))
    if "blocks" not in args.skip:
        bench_blocks(moderator, threads)
    if "batch" not in args.skip:
        bench_batch(moderator, threads, modes, peer, args.bogofilter)
    if "curve" not in args.skip:
        bench_curve(QUICK_CURVE if args.quick else CURVE, modes)
    if "single" not in args.skip:
        bench_single(moderator, threads, args.single, modes, peer)
    if "cold" not in args.skip:
        bench_cold(peer)
    if "service" not in args.skip:
        bench_service(args.service_processes, args.service_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
