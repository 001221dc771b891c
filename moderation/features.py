"""The feature pipeline: what the classifier knows about a comment, each feature with a readable name.

The pipeline's input is a list of ``CommentItem``: one comment together with the post it sits under
and the rest of its thread. ``items_from_thread`` builds them; every transformer here reads the fields
it needs and returns a numeric matrix whose columns ``get_feature_names_out`` names (``link:count``,
``post:similarity``, ``word:bookmarking``) so that ``explain`` can turn a score into reasons.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from .thread import Comment, Post, Thread, mentioned_name


@dataclass(frozen=True)
class CommentItem:
    """One comment with the context the features need; the unit the pipeline scores.

    ``thread_bodies`` and ``thread_authors`` are shared, not copied, by all items of a thread, and
    ``index`` is this comment's place in them (-1 for a comment scored beside a thread it is not in
    yet): a 10,000-comment thread costs one tuple, not 10,000.
    """

    body: str
    author: str = ""
    author_url: str = ""
    author_email: str = ""
    type: str = "comment"
    post_text: str = ""
    post_author: str = ""
    thread_bodies: tuple[str, ...] = ()
    thread_authors: tuple[str, ...] = ()
    index: int = -1
    parent_body: str | None = None

    @property
    def others(self) -> tuple[str, ...]:
        """The bodies of the thread's other comments, before and after this one."""
        if self.index < 0:
            return self.thread_bodies
        return self.thread_bodies[: self.index] + self.thread_bodies[self.index + 1 :]

    @property
    def earlier_authors(self) -> tuple[str, ...]:
        return self.thread_authors if self.index < 0 else self.thread_authors[: self.index]


def items_from_thread(thread: Thread) -> list[CommentItem]:
    post_text = thread.post.text
    bodies = tuple(c.body for c in thread.comments)
    authors = tuple(c.author for c in thread.comments)
    by_id = thread.by_id()
    items = []
    for index, comment in enumerate(thread.comments):
        parent = by_id.get(comment.parent) if comment.parent is not None else None
        items.append(
            CommentItem(
                body=comment.body,
                author=comment.author,
                author_url=comment.author_url,
                author_email=comment.author_email,
                type=comment.type,
                post_text=post_text,
                post_author=thread.post.author,
                thread_bodies=bodies,
                thread_authors=authors,
                index=index,
                parent_body=parent.body if parent is not None else None,
            )
        )
    return items


def item_for_comment(comment: Comment, post: Post | None = None, thread: Thread | None = None) -> CommentItem:
    """The item for one comment scored on its own (API, HTTP service), with whatever context is known."""
    post = post if post is not None else (thread.post if thread is not None else Post())
    comments = [c for c in thread.comments if c is not comment] if thread is not None else []
    parent = next((c for c in comments if comment.parent is not None and c.id == comment.parent), None)
    return CommentItem(
        body=comment.body,
        author=comment.author,
        author_url=comment.author_url,
        author_email=comment.author_email,
        type=comment.type,
        post_text=post.text,
        post_author=post.author,
        thread_bodies=tuple(c.body for c in comments),
        thread_authors=tuple(c.author for c in comments),
        index=-1,
        parent_body=parent.body if parent is not None else None,
    )


# --------------------------------------------------------------------------------------------------
# Text normalisation shared by the n-gram and relatedness features.

URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"')\]]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|info|biz|ru|in|co|io|xyz|top|us|uk|de|br|cn|pl|online|site|shop|store)\b(?:/[^\s<>\"')\]]*)?",
    re.IGNORECASE,
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# Phone numbers: digit groups split by spaces, dashes or parentheses. Dots alone do not count:
# "2.126.521.750 views" under a music video is a view count, not a number to call.
PHONE = re.compile(r"\+?\(?\d{2,4}\)?(?:[\s-]{1,2}\(?\d{2,5}\)?){2,4}\b|\+\d{9,13}\b|\b\d{10,11}\b")
ANCHOR = re.compile(r"<a\s[^>]*href", re.IGNORECASE)
TAG = re.compile(r"<[^>]+>")
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_STOP = frozenset(ENGLISH_STOP_WORDS) | {"http", "https", "www", "com", "just", "like", "really", "don", "ll", "ve"}


def normalise(text: str) -> str:
    """Lower-case, with URLs, e-mail addresses and numbers replaced by placeholder tokens.

    Placeholders let ``word:_url_`` generalise across the endless supply of spam domains instead of
    learning each one; the domain's words still reach the ``site:`` block through ``author_url``.
    """
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    # The regexes are the costly part of scoring; most comments have no "@", "." or "<" to match.
    if "@" in text:
        text = EMAIL.sub(" _email_ ", text)
    if "." in text:
        text = URL.sub(" _url_ ", text)
    if "<" in text:
        text = TAG.sub(" ", text)
    text = re.sub(r"\d+", "0", text)
    return text.lower()


def content_words(text: str) -> list[str]:
    """Words that carry the subject: no stop words, folded to a 6-letter stem.

    The crude stem (a prefix) is enough to match "withdrawal" with "withdraw" and "Russians" with
    "Russian" without a stemming dependency.
    """
    words = WORD.findall(_PLACEHOLDER.sub(" ", normalise(text)))
    return [w[:6] for w in words if len(w) > 2 and w not in _STOP]


_PLACEHOLDER = re.compile(r"_(?:url|email)_")


@functools.lru_cache(maxsize=65536)
def _analysis(text: str, shingle_size: int) -> tuple[frozenset, str, frozenset]:
    """A text's stems, its stems joined for the IDF vectoriser, and its word n-grams, cached.

    A thread's comments are analysed again each time a new comment of it is scored (the service, the
    benchmarks' repeated runs); the cache makes that a lookup.
    """
    words = content_words(text)
    return frozenset(words), " ".join(words), frozenset(_shingles(text, shingle_size))


def _field_text(item: CommentItem, field: str) -> str:
    if field == "body":
        return normalise(item.body)
    if field == "author":
        site = re.sub(r"^https?://(www\.)?", "", item.author_url.lower())
        site = re.sub(r"[./_-]+", " ", site)
        return f"{item.author.lower()} {' '.join('site_' + w for w in site.split() if w)}"
    raise ValueError(f"unknown field {field!r}")


# --------------------------------------------------------------------------------------------------
# Transformers.


class _ItemTransformer(TransformerMixin, BaseEstimator):
    """Shared validation: the input is a sequence of ``CommentItem``."""

    def _check_items(self, X) -> Sequence[CommentItem]:
        if isinstance(X, CommentItem) or not isinstance(X, Sequence | np.ndarray):
            raise TypeError(f"{type(self).__name__} expects a sequence of CommentItem, got {type(X).__name__}")
        for item in X[:1]:
            if not isinstance(item, CommentItem):
                raise TypeError(f"{type(self).__name__} expects CommentItem elements, got {type(item).__name__}")
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags


class _RowFeatures(_ItemTransformer):
    """A stateless block of named signals computed one comment at a time by ``_row``."""

    _NAMES: tuple[str, ...] = ()

    def fit(self, X, y=None):
        self._check_items(X)
        return self

    def transform(self, X):
        items = self._check_items(X)
        out = np.zeros((len(items), len(self._NAMES)))
        for row, item in enumerate(items):
            out[row] = self._row(item)
        return out

    def _row(self, item: CommentItem) -> tuple[float, ...]:
        raise NotImplementedError

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self._NAMES, dtype=object)


class TextNgrams(_ItemTransformer):
    """TF-IDF n-grams of one field of the comment, namespaced (``word:``, ``char:``, ``name:``).

    Word n-grams learn the wording of template spam ("bookmarking", "this web site"); character
    n-grams catch the same in spun or misspelt variants and in languages we have few words for.
    """

    def __init__(
        self,
        *,
        field="body",
        namespace="word",
        analyzer="word",
        ngram_range=(1, 2),
        min_df=2,
        max_features=None,
        sublinear_tf=True,
    ):
        self.field = field
        self.namespace = namespace
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    def _vectorizer(self) -> TfidfVectorizer:
        token_pattern = r"(?u)\b\w+\b" if self.analyzer == "word" else None
        return TfidfVectorizer(
            analyzer=self.analyzer,
            ngram_range=tuple(self.ngram_range),
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=self.sublinear_tf,
            lowercase=False,
            token_pattern=token_pattern,
            dtype=np.float64,
        )

    def fit(self, X, y=None):
        items = self._check_items(X)
        texts = [_field_text(item, self.field) for item in items]
        self.vectorizer_ = self._vectorizer()
        try:
            self.vectorizer_.fit(texts)
        except ValueError:
            # Too little text for min_df (a tiny corpus): keep every term rather than fail.
            self.vectorizer_ = self._vectorizer().set_params(min_df=1)
            self.vectorizer_.fit(texts + ["_"])
        self.n_features_out_ = len(self.vectorizer_.vocabulary_)
        return self

    def transform(self, X):
        check_is_fitted(self, "vectorizer_")
        items = self._check_items(X)
        return self.vectorizer_.transform([_field_text(item, self.field) for item in items])

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "vectorizer_")
        return np.asarray(
            [f"{self.namespace}:{name}" for name in self.vectorizer_.get_feature_names_out()], dtype=object
        )


class PostRelatedness(_ItemTransformer):
    """How much a comment is about the post and the thread it sits under.

    The bookmarking comment on the seed thread shares no subject word with a post about Russia and
    Syria, while even "Thanks, Putin." shares one. Similarity is measured on content-word stems with
    IDF learned from the training posts and comments, so that words every blog uses count for little.
    """

    def __init__(self, *, shingle_size=5):
        self.shingle_size = shingle_size

    _NAMES = (
        "post:available",
        "post:similarity",
        "post:shared_words",
        "post:unshared_words",
        "post:copied",
        "thread:similarity",
        "thread:shared_words",
        "thread:copied",
        "post:off_topic",
    )

    def fit(self, X, y=None):
        items = self._check_items(X)
        if int(self.shingle_size) < 2:
            raise ValueError(f"shingle_size must be at least 2, got {self.shingle_size}")
        docs = {item.post_text for item in items} | {item.body for item in items}
        self.idf_ = TfidfVectorizer(analyzer=str.split, sublinear_tf=True).fit(
            sorted(" ".join(content_words(doc)) for doc in docs)
        )
        return self

    def transform(self, X):
        check_is_fitted(self, "idf_")
        items = self._check_items(X)
        out = np.zeros((len(items), len(self._NAMES)))
        # Every distinct text (posts, comments) is analysed once per call, and each thread's counts
        # once per thread: items of a thread share their post and neighbours.
        texts: dict[str, int] = {}
        for item in items:
            texts.setdefault(item.post_text, len(texts))
            texts.setdefault(item.body, len(texts))
            for other in item.thread_bodies:
                texts.setdefault(other, len(texts))
        ordered = list(texts)
        analysed = [_analysis(text, self.shingle_size) for text in ordered]
        stems = [a[0] for a in analysed]
        shingles = [a[2] for a in analysed]
        vectors = self.idf_.transform([a[1] for a in analysed])
        threads: dict[int, _ThreadCounts] = {}
        nearest = self._nearest_neighbour_similarity(items, texts, vectors)
        for row, item in enumerate(items):
            has_post = bool(item.post_text.strip())
            out[row, 0] = float(has_post)
            me = texts[item.body]
            unique = stems[me]
            if not unique:
                # An empty or link-only comment: nothing to relate. Leave it at 0, "not about anything".
                continue
            post = texts[item.post_text]
            key = id(item.thread_bodies)
            if key not in threads:
                threads[key] = _ThreadCounts([texts[b] for b in item.thread_bodies], stems, shingles)
            counts = threads[key]
            own = 1 if item.index >= 0 else 0
            context_words = {w for w in unique if counts.words[w] > own}
            if has_post:
                out[row, 1] = float(vectors[me].multiply(vectors[post]).sum())
                out[row, 2] = len(unique & stems[post]) / len(unique)
                out[row, 4] = _copied(shingles[me], shingles[post])
            if has_post or len(item.thread_bodies) > own:
                # Only with something to compare against: a comment scored alone (no post, no thread)
                # is not "off topic", its topic is unknown.
                foreign = unique - stems[post] - context_words
                out[row, 3] = math.log1p(len(foreign))
                # The share of its subject words that neither the post nor the thread uses: 1.0 for the
                # bookmarking comment, which talks about "web site" and "articles" under a post on Syria.
                out[row, 8] = len(foreign) / len(unique)
            if len(item.thread_bodies) > own:
                out[row, 5] = nearest[row]
                out[row, 6] = len(context_words | (unique & stems[post])) / len(unique)
                out[row, 7] = counts.copied_from_other(shingles[me], item.index)
        return out

    @staticmethod
    def _nearest_neighbour_similarity(items, texts, vectors, chunk: int = 512) -> np.ndarray:
        """For each item, its highest similarity to another comment of its thread.

        Computed thread by thread in row chunks of dense products, so a 10,000-comment thread costs
        a few 512 x 10,000 blocks rather than 10,000 sparse slices.
        """
        best = np.zeros(len(items))
        by_thread: dict[int, list[int]] = {}
        for row, item in enumerate(items):
            by_thread.setdefault(id(item.thread_bodies), []).append(row)
        for rows in by_thread.values():
            bodies = items[rows[0]].thread_bodies
            if not bodies:
                continue
            columns = np.fromiter((texts[b] for b in bodies), dtype=np.int64, count=len(bodies))
            others = vectors[columns]
            for start in range(0, len(rows), chunk):
                block = rows[start : start + chunk]
                mine = vectors[[texts[items[r].body] for r in block]]
                sims = (mine @ others.T).toarray()
                for offset, r in enumerate(block):
                    if items[r].index >= 0:
                        sims[offset, items[r].index] = -1.0
                best[block] = np.maximum(sims.max(axis=1), 0.0) if sims.shape[1] else 0.0
        return best

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self._NAMES, dtype=object)


class _ThreadCounts:
    """How many of a thread's comments use each stem and each 5-gram (duplicates counted twice)."""

    def __init__(self, members: list[int], stems: list[set[str]], shingles: list[set]):
        self.words = Counter(w for i in members for w in stems[i])
        # Which comments (by position) use each 5-gram: a comment's best-matching neighbour is found
        # by counting shared grams along these lists, not by intersecting it with every neighbour.
        self.postings: dict[tuple, list[int]] = {}
        for position, member in enumerate(members):
            for gram in shingles[member]:
                self.postings.setdefault(gram, []).append(position)

    def copied_from_other(self, grams: set, own_position: int) -> float:
        """The largest share of ``grams`` found in any one other comment of the thread."""
        if not grams:
            return 0.0
        shared: Counter = Counter()
        for gram in grams:
            for position in self.postings.get(gram, ()):
                if position != own_position:
                    shared[position] += 1
        return max(shared.values(), default=0) / len(grams)


def _shingles(text: str, size: int) -> set[tuple[str, ...]]:
    # URLs are dropped first: "copy of the post plus a link" must still read as a full copy.
    words = WORD.findall(URL.sub(" ", TAG.sub(" ", text)).lower())
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def _copied(shingles: set, other: set) -> float:
    """Share of the comment's word 5-grams found verbatim in the other text: 1.0 for a pasted copy."""
    if not shingles:
        return 0.0
    return len(shingles & other) / len(shingles)


class LinkFeatures(_RowFeatures):
    """Links and contact details: what link drops and scams exist to deliver."""

    _NAMES = (
        "link:count",
        "link:html_anchor",
        "link:url_share",
        "link:author_url",
        "link:author_url_deep",
        "contact:email",
        "contact:phone",
    )

    def _row(self, item: CommentItem) -> tuple[float, ...]:
        body = item.body
        urls = URL.findall(body)
        url = item.author_url.strip()
        return (
            math.log1p(len(urls)),
            math.log1p(len(ANCHOR.findall(body))),
            sum(len(u) for u in urls) / max(len(body), 1),
            float(bool(url)),
            # A link to a page deep inside a shop (/product/cheap-...) rather than a home page.
            float(bool(_DEEP_URL.search(url))),
            float(bool(EMAIL.search(body))),
            float(bool(PHONE.search(URL.sub(" ", body)))),
        )


_DEEP_URL = re.compile(r"https?://[^/]+/[^\s]{12,}")


class AuthorFeatures(_RowFeatures):
    """The commenter's name: keyword names ("best payday loans") rather than people's names."""

    _NAMES = (
        "author:words",
        "author:digits",
        "author:url_like",
        "author:anonymous",
        "author:is_post_author",
    )

    def _row(self, item: CommentItem) -> tuple[float, ...]:
        name = item.author.strip()
        words = name.split()
        return (
            math.log1p(len(words)),
            float(any(ch.isdigit() for ch in name)),
            float(bool(URL.search(name))),
            float(not name or name.casefold() in {"anonymous", "guest", "anon"}),
            float(bool(name) and name.casefold() == item.post_author.strip().casefold()),
        )


class ShapeFeatures(_RowFeatures):
    """Length, case, punctuation, repetition and script of the text."""

    _NAMES = (
        "shape:empty",
        "shape:length",
        "shape:sentences",
        "shape:uppercase",
        "shape:exclamations",
        "shape:questions",
        "shape:repeats",
        "shape:non_latin",
        "shape:line_breaks",
        "shape:pingback",
    )

    def _row(self, item: CommentItem) -> tuple[float, ...]:
        text = TAG.sub(" ", item.body).strip()
        letters = [ch for ch in text if ch.isalpha()]
        return (
            float(not text),
            math.log1p(len(text)),
            math.log1p(len(_SENTENCE_END.findall(text))),
            sum(ch.isupper() for ch in letters) / max(len(letters), 1),
            # Counts of "!", "?" and repeats are capped at 3: "shuffle!!!!..." (191 of them) under a music
            # video is enthusiasm, and uncapped the count alone marked 16% of YouTube's legitimate
            # comments as spam (benchmarks/bench_peers.py, transfer of the shipped model).
            min(text.count("!"), 3) / 3,
            min(text.count("?"), 3) / 3,
            min(len(_REPEAT.findall(text)), 3) / 3,
            sum(not _latin(ch) for ch in letters) / max(len(letters), 1),
            math.log1p(text.count("\n")),
            float(item.type in ("pingback", "trackback")),
        )


_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
_REPEAT = re.compile(r"(.)\1{3,}")


def _latin(ch: str) -> bool:
    return ch.isascii() or "LATIN" in unicodedata.name(ch, "")


_QUOTE = re.compile(r"^\s*>|[\"“][^\"”]{12,}[\"”]", re.MULTILINE)


class ThreadContext(_RowFeatures):
    """Conversation: replies to earlier commenters, quotes, and the post's author answering.

    Real readers answer each other ("@Argon: Leading from behind."); spam bots post into a thread
    without reading it, so a reply is strong evidence of a human even when it is short and off topic.
    """

    _NAMES = ("context:reply", "context:names_commenter", "context:quotes", "context:regular")

    def transform(self, X):
        items = self._check_items(X)
        out = np.zeros((len(items), len(self._NAMES)))
        # Per thread, where each commenter first appears: "earlier commenters" of comment i are those
        # first seen before i, found without rescanning the thread for every comment.
        first_seen: dict[int, dict[str, int]] = {}
        for row, item in enumerate(items):
            key = id(item.thread_authors)
            if key not in first_seen:
                seen: dict[str, int] = {}
                for position, author in enumerate(item.thread_authors):
                    seen.setdefault(author, position)
                first_seen[key] = seen
            limit = item.index if item.index >= 0 else len(item.thread_authors)
            earlier = {a: f for a, f in first_seen[key].items() if f < limit}
            body = item.body
            out[row, 0] = float(item.parent_body is not None or bool(mentioned_name(body)))
            lowered = body.casefold()
            out[row, 1] = float(any(len(a) >= 3 and a.casefold() in lowered for a in earlier))
            out[row, 2] = float(bool(_QUOTE.search(body)))
            out[row, 3] = float(bool(item.author) and item.author in earlier)
        return out
