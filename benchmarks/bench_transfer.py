"""Leave one source out: how well each classifier does on a source it never trained on (issue 8, item 5).

    .venv/bin/python benchmarks/bench_transfer.py                       # every held-out set (about 9 minutes)
    .venv/bin/python benchmarks/bench_transfer.py --cv 3                # the same, 3-fold thresholds (6 minutes)
    .venv/bin/python benchmarks/bench_transfer.py --quick               # cv 2; blog, sms, tubespam_pilot only
    .venv/bin/python benchmarks/bench_transfer.py --sets blog,youtube --json /tmp/transfer.json

Held-out sets, each tested on after training on the others (``moderation.learning.sources``):

    blog                our threads in data/threads; trained on youtube + sms
    youtube:<video>     each YouTube video alone (5 sets); trained on blog + sms + the other 4 videos
                        (``--sets youtube`` means all five; one video by its file stem, e.g. Youtube01-Psy)
    sms                 the SMS collection; trained on blog + youtube
    tubespam_pilot      the TubeSpam pilot set (test only); trained on blog + youtube + sms

Ours is the full model as shipped: ``train_model(train_threads, seed=0, cv=--cv)`` (its grouped CV
chooses the thresholds, with 5 folds as ``moderation train`` does unless --cv says otherwise; the
sources are weighted by ``training.SOURCE_WEIGHTS``), scoring each held-out comment as training sees
it (``training_arrays``: a blog comment with its post and thread; a YouTube or TubeSpam comment alone,
since those sets are samples with no replies; never the labels). The peers of bench_peers.py
(bogofilter, SpamBayes, TF-IDF + LogisticRegression) are trained on exactly the same labeled rows,
comment text only. Each classifier is judged at its own threshold: ours at its spam threshold (and,
held or blocked, at its hold threshold), bogofilter 0.99, SpamBayes 0.90, TF-IDF + LR 0.5.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS.parent))
sys.path.insert(0, str(BENCHMARKS))

import bench_peers  # noqa: E402

from moderation.api import Moderator  # noqa: E402
from moderation.learning.dataset import training_arrays  # noqa: E402
from moderation.learning.sources import ALL_SOURCES, datasets_dir, load_sources  # noqa: E402
from moderation.learning.training import train_model  # noqa: E402
from moderation.model.text import clear_cache  # noqa: E402
from moderation.model.thread import Thread  # noqa: E402

OURS = "ours"
QUICK_SETS = ("blog", "sms", "tubespam_pilot")
QUICK_CV = 2
# The folds `moderation train` uses: the thresholds judged are those the shipped procedure would choose.
# With 3 folds (the default before 2026-11-29 17:15, to save 3 minutes) each CV model saw two thirds of
# the training rows, and the spam threshold came out lower on the TubeSpam pilot (0.794 against 0.839).
DEFAULT_CV = 5
# The bar for our legitimate-blocked rate on every held-out source.
BLOCKED_LEGIT_TARGET = 0.02


@dataclass
class HeldOut:
    name: str
    train: list[Thread]
    test: list[Thread]


def plan(sources: dict[str, list[Thread]]) -> list[HeldOut]:
    """Every held-out set the loaded sources allow, each with the threads it trains on."""
    blog = sources.get("blog", [])
    youtube = sources.get("youtube", [])
    sms = sources.get("sms", [])
    sets = []
    if blog:
        sets.append(HeldOut("blog", youtube + sms, blog))
    for video in youtube:
        others = [t for t in youtube if t is not video]
        sets.append(HeldOut(video.id, blog + sms + others, [video]))
    if sms:
        sets.append(HeldOut("sms", blog + youtube, sms))
    if sources.get("tubespam_pilot"):
        sets.append(HeldOut("tubespam_pilot", blog + youtube + sms, sources["tubespam_pilot"]))
    return sets


def select(sets: list[HeldOut], wanted: list[str] | None) -> list[HeldOut]:
    """The sets named on the command line ("youtube" is all five videos, a video also by its stem)."""
    if wanted is None:
        return sets
    chosen = []
    for name in wanted:
        matches = [
            s
            for s in sets
            if s.name == name or (name == "youtube" and s.name.startswith("youtube:")) or s.name == f"youtube:{name}"
        ]
        if not matches:
            known = ", ".join(["youtube", *(s.name for s in sets)])
            raise SystemExit(f"--sets: no held-out set {name!r} (available: {known})")
        chosen += [s for s in matches if s not in chosen]
    return chosen


def texts_of(threads: list[Thread]) -> list[str]:
    """Comment bodies of the labeled comments, in the order of ``training_arrays``."""
    return [c.body for t in threads for c in t.comments if c.label is not None]


def source_counts(threads: list[Thread]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for thread in threads:
        name = str(thread.extra.get("source", "blog"))
        counts[name] = counts.get(name, 0) + sum(c.label is not None for c in thread.comments)
    return counts


def figures(y: np.ndarray, scores: np.ndarray, block: float, hold: float | None = None) -> dict:
    ham, spam = y == 0, y == 1
    result = {
        "threshold": block,
        "roc_auc": float(roc_auc_score(y, scores)) if ham.any() and spam.any() else math.nan,
        "blocked_legit": float((scores[ham] >= block).mean()) if ham.any() else math.nan,
        "spam_caught": float((scores[spam] >= block).mean()) if spam.any() else math.nan,
    }
    if hold is not None:
        result["hold_threshold"] = hold
        result["held_or_blocked_legit"] = float((scores[ham] >= hold).mean()) if ham.any() else math.nan
        result["spam_held_or_blocked"] = float((scores[spam] >= hold).mean()) if spam.any() else math.nan
    return result


def run_ours(held: HeldOut, cv: int) -> tuple[np.ndarray, dict, dict]:
    def progress(number: int, total: int) -> None:
        print(f"  [{held.name}] ours: CV fold {number}/{total} done", file=sys.stderr, flush=True)

    bundle = train_model(held.train, seed=0, cv=cv, progress=progress)
    # The held-out comments are built as training builds them (a blog comment inside its thread, a
    # sampled YouTube comment alone); training_arrays never passes labels into an item.
    items, _y, _groups = training_arrays(held.test)
    scores = Moderator(bundle).scores(items)
    thresholds = bundle.thresholds
    card = {"version": bundle.card["version"], "cv": bundle.card["evaluation"], "cv_metrics": bundle.card["metrics"]}
    return scores, {"spam": thresholds.spam, "hold": thresholds.hold}, card


def run_peer(peer: bench_peers.Peer, train_texts: list[str], y_train, test_texts: list[str], y_test) -> np.ndarray:
    corpus = bench_peers.Corpus(
        name="transfer",
        texts=train_texts + test_texts,
        items=[],
        y=np.concatenate([y_train, y_test]),
        groups=np.zeros(len(train_texts) + len(test_texts), dtype=int),
    )
    train = np.arange(len(train_texts))
    test = np.arange(len(train_texts), len(corpus.texts))
    state = peer.fit(corpus, train)
    try:
        scores = peer.score(state, corpus, test)
        if scores is None:  # bogofilter writes its files on the first call and scores on the next
            scores = peer.score(state, corpus, test)
        return np.asarray(scores, dtype=float)
    finally:
        if peer.cleanup:
            peer.cleanup(state)


def percent(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{100 * value:.1f}%"


def auc_text(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.4f}"


def print_rows(name: str, result: dict) -> None:
    for classifier, f in result["classifiers"].items():
        threshold = f"{f['threshold']:.4g}"
        held_legit = held_spam = ""
        if "hold_threshold" in f:
            threshold = f"spam {f['threshold']:.4g} / hold {f['hold_threshold']:.4g}"
            held_legit, held_spam = percent(f["held_or_blocked_legit"]), percent(f["spam_held_or_blocked"])
        print(
            f"| {name} | {result['n']:,} | {percent(result['spam_share'])} | {classifier} | {threshold} | "
            f"{auc_text(f['roc_auc'])} | {percent(f['blocked_legit'])} | {percent(f['spam_caught'])} | "
            f"{held_legit} | {held_spam} |",
            flush=True,
        )


def print_summary(results: dict) -> None:
    print("\n| held-out set | ours ROC AUC | best peer (ROC AUC) | ours beats best peer | ours legit blocked <= 2% |")
    print("|---|---|---|---|---|")
    for name, result in results.items():
        ours = result["classifiers"][OURS]
        best = result["best_peer"]
        best_text = f"{best['name']} ({auc_text(best['roc_auc'])})" if best else "none"
        beats = {True: "yes", False: "no", None: "n/a"}[result["ours_beats_best_peer"]]
        met = "yes" if ours["blocked_legit"] <= BLOCKED_LEGIT_TARGET else "no"
        blocked = percent(ours["blocked_legit"])
        print(f"| {name} | {auc_text(ours['roc_auc'])} | {best_text} | {beats} | {met} ({blocked}) |")


def write_json(path: Path | None, protocol: dict, results: dict) -> None:
    if path is None:
        return
    # Rewritten after every set, so a long run that is stopped keeps what it finished.
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps({"protocol": protocol, "sets": results}, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=None, help="Directory of the public corpora.")
    parser.add_argument("--sets", default=None, help="Comma-separated held-out sets (default: all).")
    parser.add_argument("--cv", type=int, default=None, help=f"Folds of our training's CV (default {DEFAULT_CV}).")
    parser.add_argument("--quick", action="store_true", help=f"cv {QUICK_CV}, sets {','.join(QUICK_SETS)}.")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="Also save every figure here.")
    args = parser.parse_args(argv)
    cv = args.cv if args.cv is not None else QUICK_CV if args.quick else DEFAULT_CV
    if cv < 2:
        parser.error("--cv must be at least 2")
    wanted = [s.strip() for s in args.sets.split(",") if s.strip()] if args.sets else None
    if wanted is None and args.quick:
        wanted = list(QUICK_SETS)
    if args.json is not None and not args.json.parent.is_dir():
        parser.error(f"--json: directory {args.json.parent} does not exist")

    root = args.datasets or datasets_dir()
    if not root.is_dir():
        print(f"skipped: {root} not found (pass --datasets DIR)", file=sys.stderr)
        return 0
    loaded, missing = load_sources(ALL_SOURCES, root=root)
    if len(missing) == len(ALL_SOURCES) - 1:
        print(f"skipped: none of the public corpora is in {root} (pass --datasets DIR)", file=sys.stderr)
        return 0
    if missing:
        print(f"note: absent from {root}, left out of training and testing: {', '.join(missing)}", file=sys.stderr)
    sets = select(plan({s.name: s.threads for s in loaded}), wanted)

    peers = [p for p in (bench_peers.bogofilter_peer(), bench_peers.spambayes_peer()) if p is not None]
    peers.append(bench_peers.sklearn_peer("TF-IDF + LogisticRegression", lambda: LogisticRegression(max_iter=2000)))
    protocol = {
        "cv": cv,
        "seed": 0,
        "sources": {s.name: s.card() for s in loaded},
        "missing_sources": missing,
        "peer_thresholds": {p.name: p.cutoff for p in peers},
    }

    print(
        "| held-out set | n | spam share | classifier | threshold | ROC AUC | legit blocked | spam caught | "
        "legit held or blocked | spam held or blocked |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    results: dict[str, dict] = {}
    for held in sets:
        started = time.perf_counter()
        _items, y_train, _groups = training_arrays(held.train)
        _items, y_test, _groups = training_arrays(held.test)
        del _items
        train_texts, test_texts = texts_of(held.train), texts_of(held.test)
        print(
            f"[{held.name}] training on {len(y_train):,} comments {source_counts(held.train)}, "
            f"testing on {len(y_test):,}",
            file=sys.stderr,
            flush=True,
        )
        classifiers: dict[str, dict] = {}
        for peer in peers:
            scores = run_peer(peer, train_texts, y_train, test_texts, y_test)
            classifiers[peer.name] = figures(y_test, scores, peer.cutoff)
        scores, thresholds, card = run_ours(held, cv)
        classifiers[OURS] = figures(y_test, scores, thresholds["spam"], thresholds["hold"])
        # Ours last in the table's order of work, first in the reader's.
        classifiers = {OURS: classifiers.pop(OURS), **classifiers}
        peer_aucs = [(n, f["roc_auc"]) for n, f in classifiers.items() if n != OURS and not math.isnan(f["roc_auc"])]
        best = max(peer_aucs, key=lambda pair: pair[1]) if peer_aucs else None
        ours_auc = classifiers[OURS]["roc_auc"]
        results[held.name] = {
            "n": int(len(y_test)),
            "n_spam": int(y_test.sum()),
            "spam_share": float(y_test.mean()),
            "training": {"n": int(len(y_train)), "by_source": source_counts(held.train)},
            "classifiers": classifiers,
            "ours_model": card,
            "best_peer": {"name": best[0], "roc_auc": best[1]} if best else None,
            "ours_beats_best_peer": bool(ours_auc > best[1]) if best and not math.isnan(ours_auc) else None,
            "seconds": round(time.perf_counter() - started, 1),
        }
        print_rows(held.name, results[held.name])
        print(f"[{held.name}] done in {results[held.name]['seconds']:.0f} s", file=sys.stderr, flush=True)
        write_json(args.json, protocol, results)
        # Each set trains a fresh model on ~10k comments; drop it and the text cache before the next.
        del scores
        clear_cache()
        gc.collect()

    if results:
        print_summary(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
