"""WordPress WXR streaming: parse throughput and peak memory at growing export sizes.

    .venv/bin/python benchmarks/bench_wxr_stream.py                 # 100k and 1M comments
    .venv/bin/python benchmarks/bench_wxr_stream.py --sizes 10000   # quick look

Each export is generated into a temporary directory (deleted afterwards) and parsed in a fresh
process, so the peak RSS printed is the reader's alone. Flat peak memory across sizes is the point:
read() must hold one <item> at a time. When moderation.api.Moderator exists, the score rate is
printed too (on the first --score-limit comments, since scoring is the slow part).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
\txmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:wfw="http://wellformedweb.org/CommentAPI/"
\txmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
\t<title>Benchmark blog</title>
\t<link>https://bench.example</link>
\t<wp:wxr_version>1.2</wp:wxr_version>
"""
WORDS = tuple(
    " ".join(
        [
            "the a to of and in that it for on with this was but my we they you I at be have just like not",
            "so recipe train pass city skillet soap curry starter flour bus tram ticket price week day year",
            "time great thanks post really good useful tried made added used works cheap buy free click best",
        ]
    ).split()
)


def _body(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 90))]
    text = " ".join(words).capitalize() + "."
    if rng.random() < 0.15:
        text += f' Visit <a href="http://deals{rng.randint(1, 999)}.example/">best deals</a> &amp; more!'
    if rng.random() < 0.3:
        text += "\n\nSecond paragraph with caf\u00e9 and \u2019quotes\u2019."
    return text


def generate(path: Path, comments: int, per_post: int = 100, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEADER)
        cid = 0
        for post in range(1, comments // per_post + 2):
            n = min(per_post, comments - cid)
            if n <= 0:
                break
            out.write(
                f"\t<item>\n\t\t<title>Post {post}</title>\n\t\t<link>https://bench.example/p/{post}/</link>\n"
                f"\t\t<dc:creator><![CDATA[admin]]></dc:creator>\n"
                f"\t\t<content:encoded><![CDATA[<p>{_body(rng)}</p>]]></content:encoded>\n"
                f"\t\t<wp:post_id>{post}</wp:post_id>\n\t\t<wp:post_type><![CDATA[post]]></wp:post_type>\n"
            )
            first = cid + 1
            for _ in range(n):
                cid += 1
                parent = rng.randint(first, cid - 1) if cid > first and rng.random() < 0.3 else 0
                kind = "pingback" if rng.random() < 0.02 else "comment"
                status = rng.choice(["1", "1", "1", "0", "spam"])
                out.write(
                    f"\t\t<wp:comment>\n\t\t\t<wp:comment_id>{cid}</wp:comment_id>\n"
                    f"\t\t\t<wp:comment_author><![CDATA[Reader {rng.randint(1, 50000)}]]>"
                    "</wp:comment_author>\n"
                    f"\t\t\t<wp:comment_author_email><![CDATA[r{cid}@example.com]]></wp:comment_author_email>\n"
                    f"\t\t\t<wp:comment_author_url>https://r{cid}.example/</wp:comment_author_url>\n"
                    f"\t\t\t<wp:comment_author_IP><![CDATA[10.0.{cid % 256}.{cid % 199}]]>"
                    "</wp:comment_author_IP>\n"
                    f"\t\t\t<wp:comment_date><![CDATA[2024-01-01 10:00:00]]></wp:comment_date>\n"
                    f"\t\t\t<wp:comment_date_gmt><![CDATA[2024-01-01 09:00:00]]></wp:comment_date_gmt>\n"
                    f"\t\t\t<wp:comment_content><![CDATA[{_body(rng)}]]></wp:comment_content>\n"
                    f"\t\t\t<wp:comment_approved><![CDATA[{status}]]></wp:comment_approved>\n"
                    f"\t\t\t<wp:comment_type><![CDATA[{kind}]]></wp:comment_type>\n"
                    f"\t\t\t<wp:comment_parent>{parent}</wp:comment_parent>\n"
                    f"\t\t\t<wp:comment_user_id>0</wp:comment_user_id>\n\t\t</wp:comment>\n"
                )
            out.write("\t</item>\n")
        out.write("</channel>\n</rss>\n")


def child(mode: str, path: str, score_limit: int) -> None:
    """Runs in a fresh process: parse (or patch-write) and report its own peak RSS as JSON."""
    from moderation.formats import wxr

    start = time.perf_counter()
    if mode == "write":

        def scored():
            for thread in wxr.read(path):
                for comment in thread.comments:
                    comment.verdict = "spam" if comment.id.endswith("7") else "approve"
                yield thread

        with open(os.devnull, "w", encoding="utf-8") as sink:
            wxr.write(scored(), sink)
        comments = None
    else:
        comments = sum(len(thread.comments) for thread in wxr.read(path))
    elapsed = time.perf_counter() - start
    result = {
        "comments": comments,
        "seconds": elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if mode == "parse" and score_limit:
        result.update(_score(path, score_limit))
    print(json.dumps(result))


def _score(path: str, limit: int) -> dict:
    try:
        from moderation.api import Moderator
    except ImportError:
        return {"score": "moderation.api not available yet"}
    from moderation.formats import wxr

    moderator = Moderator.load()
    done, start = 0, time.perf_counter()
    for thread in wxr.read(path):
        for _decision in moderator.score_thread(thread):
            done += 1
        if done >= limit:
            break
    return {"scored": done, "score_per_s": done / (time.perf_counter() - start)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--score-limit", type=int, default=20_000)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.score_limit)
        return
    baseline = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import json,resource; import moderation.formats.wxr; "
                "print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    print(f"python + moderation.formats.wxr imported: {baseline:.1f} MB peak RSS")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"wxr-{size}.xml"
            start = time.perf_counter()
            generate(path, size)
            mb = path.stat().st_size / 1e6
            print(f"\n{size:,} comments: generated {mb:,.0f} MB in {time.perf_counter() - start:.1f} s")
            for mode in ("parse", "write"):
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        mode,
                        str(path),
                        "--score-limit",
                        str(args.score_limit if mode == "parse" else 0),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                r = json.loads(out)
                rate = size / r["seconds"]
                print(
                    f"  {mode:5}: {r['seconds']:.1f} s, {rate:,.0f} comments/s, "
                    f"{mb / r['seconds']:.1f} MB/s, "
                    f"peak RSS {r['peak_rss_mb']:.1f} MB"
                )
                if "score_per_s" in r:
                    print(f"  score: {r['score_per_s']:,.0f} comments/s (first {r['scored']:,} comments)")
                elif "score" in r:
                    print(f"  score: {r['score']}")
            path.unlink()


if __name__ == "__main__":
    main()
