"""Every labeled source the shipped model may learn from or be measured on, each with its provenance.

- ``blog``: our own threads in ``data/threads``, written for this project (posts, threads, replies).
- ``youtube``: the YouTube Spam Collection (Alberto, Lochter & Almeida, ICMLA 2015), five videos of
  real comments labeled by hand; one thread per video, no post text.
- ``sms``: the SMS Spam Collection v.1 (Almeida & Gómez Hidalgo, DocEng 2011), real commercial spam
  and personal messages; one "thread" per message, no post, no thread.
- ``tubespam_pilot``: the TubeSpam authors' pilot set (October 2014, 1,000 comments on five other
  videos); never trained on, kept to measure transfer (comments also in the YouTube collection are
  left out of it).

The public corpora are read where they lie (``../shared/datasets`` beside the project, or
``$MODERATION_DATASETS``); their text is never copied into the project. A source whose files are
absent is skipped, and the caller is told which.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError
from ..model.thread import Comment, Post, Thread
from .dataset import DEFAULT_DATA_DIR, data_hash, load_labeled_threads

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TRAINING_SOURCES = ("blog", "youtube", "sms")
TEST_ONLY_SOURCES = ("tubespam_pilot",)
ALL_SOURCES = TRAINING_SOURCES + TEST_ONLY_SOURCES

CITATIONS = {
    "blog": "Threads written for this project (data/README.md).",
    "youtube": (
        "Alberto, T. C., Lochter, J. V., Almeida, T. A. TubeSpam: Comment Spam Filtering on YouTube. "
        "Proc. 14th IEEE ICMLA, 2015, pp. 138-143, doi:10.1109/ICMLA.2015.37. UCI YouTube Spam Collection."
    ),
    "sms": (
        "Almeida, T. A., Gómez Hidalgo, J. M., Yamakami, A. Contributions to the Study of SMS Spam Filtering: "
        "New Collection and Results. Proc. ACM DocEng 2011. UCI SMS Spam Collection v.1."
    ),
    "tubespam_pilot": (
        "Alberto, T. C. et al., TubeSpam pilot set (Oct 2014), data/*.csv of the authors' youtube-spam-experiment "
        "repository; the precursor of the UCI YouTube Spam Collection."
    ),
}


def datasets_dir() -> Path:
    """Where the public corpora are: $MODERATION_DATASETS, else ../shared/datasets beside the project."""
    configured = os.environ.get("MODERATION_DATASETS")
    return Path(configured) if configured else PROJECT_ROOT.parent / "shared" / "datasets"


@dataclass
class Source:
    """One labeled source: its threads, and what a model card says about it."""

    name: str
    threads: list[Thread]
    files: list[Path] = field(default_factory=list)
    digest: str = ""

    @property
    def counts(self) -> dict[str, int]:
        labeled = [c for t in self.threads for c in t.comments if c.label is not None]
        spam = sum(c.label == "spam" for c in labeled)
        return {"threads": len(self.threads), "comments": len(labeled), "spam": spam, "ham": len(labeled) - spam}

    def card(self) -> dict:
        return {"sha256": self.digest, **self.counts, "citation": CITATIONS.get(self.name, "")}


def _files_digest(files: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for file in sorted(files):
        digest.update(file.name.encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _tag(threads: list[Thread], name: str) -> list[Thread]:
    for thread in threads:
        thread.extra["source"] = name
    return threads


def _csv_rows(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline=""), strict=True))


def load_blog(paths: Iterable[str | Path] | None = None) -> Source:
    threads = _tag(load_labeled_threads(paths or [DEFAULT_DATA_DIR]), "blog")
    return Source("blog", threads, digest=data_hash(threads))


# A video's comments in these sets are a sample of its thousands, with no replies: each is learned
# from and scored without the others as its thread (dataset.training_arrays says why).
SAMPLED = {"conversation": False}

# The videos of the YouTube Spam Collection, by file: the authors' own experiment names its files by
# these IDs (tuliocasagrande/youtube-spam-experiment, "01-9bZkp7q19f0" ... "09-pRpeEdMmmQ0"); the
# TubeSpam pilot's file names carry theirs. Known, a video's own address in a comment is read as a
# link to the page (model/pagelinks.py), as a blog's post URL makes it for its comments.
YOUTUBE_VIDEOS = {
    "Youtube01-Psy": "9bZkp7q19f0",
    "Youtube02-KatyPerry": "CevxZvSJLk8",
    "Youtube03-LMFAO": "KQ6zr6kCPj8",
    "Youtube04-Eminem": "uelHwf8o7_U",
    "Youtube05-Shakira": "pRpeEdMmmQ0",
}


def _video_post(video: str | None) -> Post:
    return Post(url=f"https://www.youtube.com/watch?v={video}") if video else Post()


def load_youtube(root: Path) -> Source | None:
    files = sorted((root / "youtube_spam_collection").glob("Youtube0*.csv"))
    if not files:
        return None
    threads = []
    for file in files:
        comments = [
            Comment(
                body=row["CONTENT"],
                author=row["AUTHOR"].strip(),
                id=row["COMMENT_ID"],
                date=row["DATE"],
                label="spam" if row["CLASS"].strip() == "1" else "ham",
            )
            for row in _csv_rows(file)
        ]
        post = _video_post(YOUTUBE_VIDEOS.get(file.stem))
        threads.append(Thread(post=post, comments=comments, id=f"youtube:{file.stem}", extra=dict(SAMPLED)))
    return Source("youtube", _tag(threads, "youtube"), files, _files_digest(files))


def load_sms(root: Path) -> Source | None:
    file = root / "sms_spam_collection" / "SMSSpamCollection"
    if not file.is_file():
        return None
    threads = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        label, sep, text = line.partition("\t")
        if not sep or label not in ("ham", "spam"):
            raise DataError(f"{file}: line {number}: expected 'ham|spam<TAB>text'")
        threads.append(Thread(post=Post(), comments=[Comment(body=text, label=label)], id=f"sms:{number}"))
    return Source("sms", _tag(threads, "sms"), [file], _files_digest([file]))


def load_tubespam_pilot(root: Path, exclude_ids: set[str] = frozenset()) -> Source | None:
    files = sorted((root / "tubespam_pilot_2014").glob("*.csv"))
    if not files:
        return None
    threads = []
    for file in files:
        comments = [
            # This set's text is HTML-escaped ("&lt;3"); the others are not.
            Comment(
                body=html.unescape(row["CONTENT"]),
                id=row["COMMENT_ID"],
                label="spam" if row["TAG"] == "1" else "ham",
            )
            for row in _csv_rows(file)
            if row["COMMENT_ID"] not in exclude_ids
        ]
        # "Psy_9bZkp7q19f0": the name, then the video's 11-character ID.
        video = file.stem[-11:] if len(file.stem) > 12 and file.stem[-12] == "_" else None
        post = _video_post(video)
        threads.append(Thread(post=post, comments=comments, id=f"tubespam:{file.stem}", extra=dict(SAMPLED)))
    return Source("tubespam_pilot", _tag(threads, "tubespam_pilot"), files, _files_digest(files))


def load_sources(
    names: Iterable[str] = TRAINING_SOURCES,
    *,
    root: Path | None = None,
    blog_paths: Iterable[str | Path] | None = None,
) -> tuple[list[Source], list[str]]:
    """The named sources that are present, and the names of those that are not."""
    root = root or datasets_dir()
    found: list[Source] = []
    missing: list[str] = []
    youtube_ids: set[str] = set()
    for name in names:
        if name not in ALL_SOURCES:
            raise DataError(f"unknown source {name!r}; known: {', '.join(ALL_SOURCES)}")
        if name == "blog":
            source = load_blog(blog_paths)
        elif name == "youtube":
            source = load_youtube(root)
        elif name == "sms":
            source = load_sms(root)
        else:
            if not youtube_ids:
                collection = load_youtube(root)
                youtube_ids = {c.id for t in collection.threads for c in t.comments} if collection else set()
            source = load_tubespam_pilot(root, youtube_ids)
        if source is None:
            missing.append(name)
        else:
            found.append(source)
            if name == "youtube":
                youtube_ids = {c.id for t in source.threads for c in t.comments}
    return found, missing


def source_of(thread: Thread) -> str:
    """The source a thread came from; threads loaded any other way (user data, corrections) are "blog"-like."""
    return str(thread.extra.get("source", "blog"))


def training_data(
    names: Iterable[str] = TRAINING_SOURCES,
    *,
    root: Path | None = None,
    blog_paths: Iterable[str | Path] | None = None,
) -> tuple[list[Thread], dict[str, dict], list[str]]:
    """Threads of every named source that is present, the card entry of each, and the names missing.

    This is what ``moderation train`` learns from by default: the shipped model is rebuilt from it.
    """
    unknown = [name for name in names if name in TEST_ONLY_SOURCES]
    if unknown:
        raise DataError(f"{', '.join(unknown)} is kept for measuring transfer and is never trained on")
    found, missing = load_sources(names, root=root, blog_paths=blog_paths)
    threads = [thread for source in found for thread in source.threads]
    return threads, {source.name: source.card() for source in found}, missing


def training_set(
    sources: Iterable[str] | None = None,
    data: Sequence[str | Path] = (),
    mapping=None,
) -> tuple[list[Thread], dict[str, dict], list[str]]:
    """What ``train`` and ``retrain`` learn from, with the same options: ``data`` (labeled files read with
    ``mapping``, a ``labeled.ColumnMapping``) and the named public ``sources``.

    ``sources=None`` means every training source when no data is given, and none (only the data) when
    it is, so that ``--data mine.csv`` trains on your comments alone unless ``--sources`` adds the
    corpora. Returns the threads, the card's provenance entry per source (and "data"), and the names
    of sources that are absent.
    """
    from .labeled import load_labeled

    names = tuple(sources) if sources is not None else (() if data else TRAINING_SOURCES)
    if not names and not data:
        raise DataError("nothing to train on: give labeled data, or sources other than none")
    threads, provenance, missing = training_data(names)
    if data:
        own = load_labeled(list(data), mapping)
        provenance["data"] = {
            "files": [str(path) for path in data],
            "sha256": data_hash(own),
            "threads": len(own),
            "comments": sum(1 for t in own for c in t.comments if c.label is not None),
        }
        threads = threads + own
    return threads, provenance, missing
