"""The HTTP service: Akismet's protocol under /1.1/, a JSON API under /api/v1/, as one WSGI app.

WSGI because the work per request is synchronous (a SQLite write and a scikit-learn prediction), the
Akismet client's tests drive it in-process through ``httpx.WSGITransport``, and waitress serves it in
production: pure Python (no compiler needed on a blog's server), thread-pooled, and it refuses
oversized bodies and malformed HTTP itself before they reach us.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError, ModerationError
from ..model.decisions import Decision, Incoming
from ..model.thread import Comment, Post, Thread, comment_type
from . import akismet
from .lookups import Lookups
from .scoring import BatchScorer, Job
from .sites import same_site
from .store import Store

log = logging.getLogger("moderation.service")

# Akismet bodies carry one comment plus the form's and server's variables: 256 KB is far above a real
# one and small enough that a flood of maximal bodies cannot exhaust memory. A JSON batch carries many.
MAX_FORM_BYTES = 256 * 1024
MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_BATCH = 1000

ModelLoader = Callable[[str | None], Any]


def default_loader(path: str | None) -> Any:
    from ..api import Moderator

    return Moderator.load(path)


def default_data_dir() -> Path:
    """$MODERATION_HOME, else the XDG data directory, where the database and retrained models live."""
    if os.environ.get("MODERATION_HOME"):
        return Path(os.environ["MODERATION_HOME"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "moderation"


def default_db_path() -> Path:
    return default_data_dir() / "moderation.db"


class ModelHolder:
    """The models in use: the shared base model, and each site's own retrained one, swapped atomically.

    Every request reads its site's pointer and the shared one through ``Lookups`` (cached; a promotion by
    another process is seen within ``lookups.MAX_AGE`` seconds). A site
    without a model of its own is served the shared base model (the promoted shared version, else the
    ``--model``/shipped file). When a pointer names a model that is not loaded, a background thread loads
    it completely (and scores a warm-up comment with it); requests keep the model they had (for a site
    seen for the first time: the base model) until it is ready, then one reference assignment swaps them.
    So a promotion never fails a request and never makes one wait for a load, which matters because one
    scoring thread serves every site. A version that fails to load is remembered and not retried on every
    request; the site keeps the model it has.

    Site models are cached, least recently used first out, at most ``cache_size`` of them: each holds a
    fitted pipeline of tens of MB. A site whose model was evicted is served the base model for the few
    seconds its model takes to load again; the base model is never evicted.
    """

    def __init__(
        self,
        store: Store,
        loader: ModelLoader = default_loader,
        base_path: str | None = None,
        cache_size: int = 8,
        lookups: Lookups | None = None,
    ):
        self.store = store
        self.lookups = lookups or Lookups(store)
        self.loader = loader
        self.base_path = base_path
        self.cache_size = max(1, cache_size)
        self._lock = threading.Lock()
        self._loading: set[str] = set()
        self._failed: set[str] = set()
        self._cache: OrderedDict[str, Any] = OrderedDict()
        # What each site was last served ("" is the site-less base), to keep it until a swap is ready.
        self._serving: dict[str, str] = {}
        wanted = self._wanted(None)
        self._base = (wanted, self._load(wanted))

    def _wanted(self, site: str | None) -> str:
        """The version a site should be served ("" for the base file), from the store's pointers."""
        own = self.lookups.active_model(site) if site else None
        return own or self.lookups.active_model(None) or ""

    def _path_for(self, version: str) -> str | None:
        if not version:
            return self.base_path
        record = self.store.get_model(version)
        if record is None:
            raise ModelError(f"active model {version!r} is not in the model registry")
        return record.path

    def _load(self, version: str) -> Any:
        """Load and score one comment: a model that unpickles but no longer fits the feature code
        (seen when features change under a saved model) fails here, not on a customer's request."""
        path = self._path_for(version)
        model = self.loader(path)
        try:
            model.score_comment("Warm-up comment.", post="Warm-up post.", author="warm-up")
        except Exception as exc:  # noqa: BLE001 - any failure means this model cannot serve
            raise ModelError(f"{path or 'default model'}: loads but cannot score ({exc})") from None
        return model

    def _loaded(self, version: str) -> Any | None:
        if version == self._base[0]:
            return self._base[1]
        model = self._cache.get(version)
        if model is not None:
            self._cache.move_to_end(version)
        return model

    def current(self, site: str | None = None) -> Any:
        """The model to score ``site``'s request with now (None: the shared base model)."""
        wanted = self._wanted(site)
        with self._lock:
            model = self._loaded(wanted)
            if model is None:
                if wanted not in self._failed:
                    self._start_load(wanted)
                # Until it is ready: what this site had, else the base model.
                model = self._loaded(self._serving.get(site or "", self._base[0])) or self._base[1]
                return model
            previous = self._serving.get(site or "")
            self._serving[site or ""] = wanted
        if site and previous is not None and previous != wanted:
            log.info("site %s: now served by model %s (was %s)", site, wanted or "base", previous or "base")
        return model

    @property
    def pointer(self) -> str | None:
        return self._base[0] or None

    def _start_load(self, version: str) -> None:
        # Called with self._lock held.
        if version in self._loading:
            return
        self._loading.add(version)
        threading.Thread(target=self._load_and_swap, args=(version,), daemon=True, name="model-load").start()

    def _load_and_swap(self, version: str) -> None:
        try:
            model = self._load(version)
        except Exception as exc:  # noqa: BLE001 - any failure leaves the old model serving
            log.error("could not load model %s, keeping the models serving: %s", version or "base", exc)
            with self._lock:
                self._failed.add(version)
                self._loading.discard(version)
            return
        with self._lock:
            if version == self.store.active_model(None) or (not version and not self.store.active_model(None)):
                old = self._base[0]
                self._base = (version, model)
                log.info("shared base model is now %s (was %s)", getattr(model, "version", version), old or "base")
            else:
                self._cache[version] = model
                self._cache.move_to_end(version)
                while len(self._cache) > self.cache_size:
                    evicted, _ = self._cache.popitem(last=False)
                    log.info("model %s evicted from the cache of %d", evicted, self.cache_size)
                log.info("model %s loaded", getattr(model, "version", version))
            self._loading.discard(version)

    def refresh(self, timeout: float = 30.0, site: str | None = None) -> Any:
        """Wait until ``site``'s model matches the store's pointers (for tests and the CLI), then return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.current(site)
            wanted = self._wanted(site)
            with self._lock:
                if wanted in self._failed or self._loaded(wanted) is model:
                    return model
            time.sleep(0.01)
        return self.current(site)


class RateLimiter:
    """A token bucket per key: ``rate`` requests a second on average, bursts of up to ``burst``.

    At most ``max_keys`` buckets are kept, the most recently seen: past that the least recently seen
    tenth is dropped (a dropped bucket starts full again, as a new key does). Before, a full table was
    pruned on every refused request, keeping buckets not yet full: with 100,000 client addresses each
    refused request rescanned them all (11.2 ms a call, measured), and the unknown-key limiter, keyed
    by address, slowed every site's requests behind its lock.
    """

    max_keys = 100_000

    def __init__(self, rate: float, burst: int):
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # in order of last use, oldest first
        self._lock = threading.Lock()

    def allow(self, key: str) -> float:
        """0.0 if allowed now, else the seconds until a token is free (for Retry-After)."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(key, None) or (float(self.burst), now)
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > self.max_keys:
                for old in list(itertools.islice(self._buckets, max(self.max_keys // 10, 1))):
                    del self._buckets[old]
            return 0.0 if allowed else (1.0 - tokens) / self.rate


def bad_key_limiter(config: ServiceConfig) -> RateLimiter:
    """Unknown keys are limited per client address, so guessing keys is as slow as a flood."""
    return RateLimiter(max(config.rate / 10, 1.0), 20)


@dataclass
class ServiceConfig:
    hold_as: str = "spam"
    rate: float = 50.0
    burst: int = 200
    max_form_bytes: int = MAX_FORM_BYTES
    max_json_bytes: int = MAX_JSON_BYTES


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: Iterable[tuple[str, str]] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)


_REASONS = {
    200: "OK",
    303: "See Other",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


# Akismet's answer to a bad key: HTTP 200 "invalid" with a debug header (see comment_check).
_INVALID_KEY = (200, b"invalid", [("X-akismet-debug-help", "The API key is unknown, malformed or revoked.")])


class ServiceApp:
    """The WSGI callable. Stateless apart from the store, the model holder and the rate limiter."""

    def __init__(self, store: Store, models: ModelHolder, config: ServiceConfig | None = None):
        self.store = store
        self.models = models
        self.lookups = models.lookups
        self.config = config or ServiceConfig()
        self.limiter = RateLimiter(self.config.rate, self.config.burst)
        if hasattr(store, "take_token"):  # PostgreSQL: N processes share one limit per key (issue 12)
            from .store_pg import SharedRateLimiter

            self.limiter = SharedRateLimiter(store, self.config.rate, self.config.burst)
        self.scorer = BatchScorer(models, store)
        self.bad_key_limiter = bad_key_limiter(self.config)
        self._routes: dict[str, tuple[str, Callable]] = {
            "/1.1/verify-key": ("POST", self.verify_key),
            "/1.1/comment-check": ("POST", self.comment_check),
            "/1.1/submit-spam": ("POST", self.submit_spam),
            "/1.1/submit-ham": ("POST", self.submit_ham),
            "/api/v1/health": ("GET", self.api_health),
            "/api/v1/score": ("POST", self.api_score),
            "/api/v1/score-batch": ("POST", self.api_score_batch),
            "/api/v1/posts": ("POST", self.api_posts),
            "/api/v1/corrections": ("POST", self.api_corrections),
        }
        from .queue import QueuePages  # the moderation queue's pages (issue 11)

        self.queue = QueuePages(self)

    # -- WSGI -------------------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        is_api = path.startswith("/api/")
        started = time.perf_counter()
        try:
            status, body, headers = self.dispatch(environ, path)
        except HTTPError as exc:
            status, headers = exc.status, exc.headers
            body = _json({"error": exc.message}) if is_api else exc.message.encode("utf-8")
            if not is_api:
                headers = [*headers, ("X-akismet-debug-help", _header_safe(exc.message))]
        except sqlite3.OperationalError as exc:
            # The database stayed locked past the busy timeout or the disk is full: the client may retry.
            log.error("database unavailable for %s: %s", path, exc)
            status, headers = 503, [("Retry-After", "5")]
            body = _json({"error": "database busy, retry"}) if is_api else b"database busy, retry"
        except Exception:  # noqa: BLE001 - a bug must still produce an HTTP answer, and be logged
            log.exception("unhandled error for %s", path)
            status, headers = 500, []
            body = _json({"error": "internal error"}) if is_api else b"internal error"
        # One line per request (issue 9 item 20: nothing was logged after start-up): enough to follow a
        # site's traffic and spot slow or failing requests, without the comment's text or the key.
        log.info(
            "%s %s site=%s status=%d verdict=%s %.1f ms",
            _header_safe(environ.get("REQUEST_METHOD", "-"))[:10],
            _header_safe(path)[:120],
            _header_safe(environ.get("moderation.site") or "-"),
            status,
            environ.get("moderation.verdict") or "-",
            (time.perf_counter() - started) * 1000,
        )
        content_type = "application/json" if is_api else "text/plain; charset=utf-8"
        if any(name == "Content-Type" for name, _ in headers):  # the queue's HTML pages set their own
            all_headers = [("Content-Length", str(len(body))), *headers]
        else:
            all_headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers]
        start_response(f"{status} {_REASONS.get(status, 'Error')}", all_headers)
        return [body]

    def dispatch(self, environ: dict, path: str) -> tuple[int, bytes, list[tuple[str, str]]]:
        explain = path.startswith("/api/v1/requests/")
        route = ("GET", self.api_request) if explain else self._routes.get(path)
        if route is None and self.queue.handles(path):
            return self.queue.dispatch(environ, path)
        if route is None:
            raise HTTPError(404, f"No such endpoint: {path[:100]}")
        method, handler = route
        if environ.get("REQUEST_METHOD", "GET").upper() != method:
            raise HTTPError(405, f"{path} takes {method}", [("Allow", method)])
        return handler(environ)

    def read_body(self, environ: dict, limit: int) -> bytes:
        raw_length = environ.get("CONTENT_LENGTH") or ""
        stream = environ.get("wsgi.input")
        if raw_length:
            try:
                length = int(raw_length)
            except ValueError:
                raise HTTPError(400, "Content-Length is not a number") from None
            if length < 0:
                raise HTTPError(400, "Content-Length is negative")
            if length > limit:
                raise HTTPError(413, f"Request body over {limit} bytes")
            data = stream.read(length) if stream is not None and length else b""
        else:
            # Chunked bodies have no length up front: read one byte past the limit to detect excess.
            data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise HTTPError(413, f"Request body over {limit} bytes")
        return data

    def read_form(self, environ: dict) -> dict[str, str]:
        content_type = environ.get("CONTENT_TYPE", "")
        if content_type and not content_type.lower().startswith("application/x-www-form-urlencoded"):
            raise HTTPError(415, "Akismet requests are application/x-www-form-urlencoded")
        body = self.read_body(environ, self.config.max_form_bytes)
        try:
            form = akismet.parse_form(body, content_type)
        except akismet.ProtocolError as exc:
            raise HTTPError(exc.status, exc.message) from None
        for name, value in form.items():
            # Some charsets (utf-7, utf-16 pairs split by %-escapes) decode to lone surrogates.
            _valid_text(name, "a field name")
            _valid_text(value, name[:40])
        return form

    def limit(self, key: str, environ: dict, limiter: RateLimiter | None = None) -> None:
        wait = (limiter or self.limiter).allow(key)
        if wait:
            raise HTTPError(429, "Too many requests; slow down", [("Retry-After", str(max(1, round(wait + 0.5))))])

    # -- Akismet protocol -------------------------------------------------------------------------

    def akismet_site(self, environ: dict, form: dict[str, str], field: str = "api_key") -> str | None:
        """The key's site, or None for a bad key or a key used for another blog.

        A key answers only for its own site (see ``sites``): a key for A with ``blog=B`` is ``invalid``,
        as Akismet answers it, so one site's key can neither check nor teach for another. A missing
        ``blog`` is left to the required-field check (400) rather than called a bad key."""
        key = form.get(field) or akismet.key_from_host(environ.get("HTTP_HOST", ""))
        site = self.lookups.site_for_key(key)
        blog = form.get("blog", "").strip()
        if site is not None and (blog or field == "key") and not same_site(site, blog):
            site = None
        if site is None:
            self.limit(f"ip:{environ.get('REMOTE_ADDR', '')}", environ, self.bad_key_limiter)
        else:
            environ["moderation.site"] = site
            self.limit(f"site:{site}", environ)
        return site

    def verify_key(self, environ: dict) -> tuple[int, bytes, list]:
        form = self.read_form(environ)
        site = self.akismet_site(environ, form, field="key")
        if site is None:
            return 200, b"invalid", [("X-akismet-debug-help", "The key is unknown, malformed or revoked.")]
        return 200, b"valid", []

    def _akismet_request(self, environ: dict) -> tuple[str | None, akismet.CheckRequest]:
        form = self.read_form(environ)
        site = self.akismet_site(environ, form)
        request = akismet.CheckRequest(form)
        if site is not None and (missing := request.missing()):
            raise HTTPError(400, f"Missing required field: {missing[0]}.")
        return site, request

    def comment_check(self, environ: dict) -> tuple[int, bytes, list]:
        site, request = self._akismet_request(environ)
        if site is None:
            # Akismet answers a bad key with 200 "invalid": clients (the Python akismet library, the
            # WordPress plugin) look for that body to report a bad key, and treat other statuses as
            # a network failure.
            return _INVALID_KEY
        post, post_known = self.post_for(site, request.permalink)
        # Akismet's test values are answered as Akismet defines them; everything else goes through the
        # site's shadow mode (issue 11: answered as fine, the verdict only logged).
        fixed = request.test_value_decision()
        shadow = fixed is None and self.lookups.is_shadow(site)

        def answer(decision: Decision) -> akismet.Answer:
            return akismet.check_answer(decision, hold_as=self.config.hold_as, shadow=shadow)

        job = self.scorer.score(
            Job(
                site,
                "comment-check",
                Incoming(request.comment, post),
                request.permalink,
                post_known,
                answer=lambda decision: answer(decision).body,
                fixed=fixed or request.honeypot_decision(),
                shadow=shadow,
            )
        )
        result = answer(job.decision)
        environ["moderation.verdict"] = job.decision.verdict
        return 200, result.body.encode("ascii"), [*result.headers, *self._provenance(job.request_id, job.model)]

    @staticmethod
    def _provenance(request_id: int | None, model) -> list[tuple[str, str]]:
        return [("X-moderation-request-id", str(request_id)), ("X-moderation-model", str(model.version))]

    def _submit(self, environ: dict, label: str) -> tuple[int, bytes, list]:
        site, request = self._akismet_request(environ)
        if site is None:
            return _INVALID_KEY
        c = request.comment
        if not c.body.strip():
            # Nothing to learn from: an empty comment has no words, and stored as spam it would teach the
            # model that an empty comment (a pingback without excerpt, a deleted one) is spam. Akismet
            # answers every accepted submission with its thanks, and clients treat any other answer as a
            # failure and retry, so the same thanks is sent; the skip is logged.
            log.info("site %s: %s with an empty comment_content not stored", site, label)
            environ["moderation.verdict"] = "correction:empty-not-stored"
            return 200, akismet.SUBMIT_THANKS.encode("ascii"), []
        environ["moderation.verdict"] = f"correction:{label}"
        known = {k: v for k, v in request.form.items() if k in akismet.FIELDS and k != "api_key"}
        self.store.add_correction(
            site=site,
            label=label,
            content=c.body,
            permalink=request.permalink,
            author=c.author,
            author_email=c.author_email,
            author_url=c.author_url,
            author_ip=c.author_ip,
            comment_type=c.type,
            is_test=request.is_test,
            fields=known,
        )
        return 200, akismet.SUBMIT_THANKS.encode("ascii"), []

    def submit_spam(self, environ: dict) -> tuple[int, bytes, list]:
        return self._submit(environ, "spam")

    def submit_ham(self, environ: dict) -> tuple[int, bytes, list]:
        return self._submit(environ, "ham")

    def post_for(self, site: str, permalink: str) -> tuple[Post | None, bool]:
        """The post stored by ``site`` itself for this permalink: another site's post is never seen."""
        if not permalink:
            return None, False
        found = self.lookups.post(site, permalink)
        if found is None:
            return None, False
        title, body = found
        return Post(title=title, body=body, url=permalink), True

    # -- JSON API ---------------------------------------------------------------------------------

    def api_site(self, environ: dict) -> str:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else environ.get("HTTP_X_API_KEY", "")
        site = self.lookups.site_for_key(key)
        if site is None:
            self.limit(f"ip:{environ.get('REMOTE_ADDR', '')}", environ, self.bad_key_limiter)
            raise HTTPError(401, "missing or invalid API key (send Authorization: Bearer KEY)")
        environ["moderation.site"] = site
        self.limit(f"site:{site}", environ)
        return site

    def read_json(self, environ: dict) -> dict:
        content_type = environ.get("CONTENT_TYPE", "").lower()
        if content_type and not content_type.startswith("application/json"):
            raise HTTPError(415, "send application/json")
        body = self.read_body(environ, self.config.max_json_bytes)
        try:
            data = json.loads(body.decode("utf-8"), parse_int=_bounded_int, parse_constant=_no_constant)
        except UnicodeDecodeError:
            raise HTTPError(400, "request body is not valid UTF-8") from None
        except json.JSONDecodeError as exc:
            raise HTTPError(400, f"request body is not valid JSON ({exc.msg} at {exc.pos})") from None
        except RecursionError:
            # "[" * 100000: the decoder recurses once per level and stops at the interpreter's limit.
            raise HTTPError(400, "request body is nested too deeply") from None
        except ValueError as exc:
            raise HTTPError(400, f"request body is not valid JSON ({str(exc).splitlines()[0][:100]})") from None
        if not isinstance(data, dict):
            raise HTTPError(400, "request body must be a JSON object")
        return data

    def api_health(self, environ: dict) -> tuple[int, bytes, list]:
        model = self.models.current()
        return 200, _json({"status": "ok", "model_version": str(model.version)}), []

    def _post_from_json(self, site: str, data: dict) -> tuple[Post | None, str, bool]:
        """A post given inline wins; else the stored one for ``permalink``; else none."""
        raw = data.get("post")
        permalink = akismet.normalize_permalink(_text(data, "permalink"))
        if raw is not None:
            if isinstance(raw, str):
                return Post(body=_valid_text(raw, "post"), url=permalink), permalink, True
            if not isinstance(raw, dict):
                raise HTTPError(400, "post must be a string or an object with title, body, url")
            permalink = akismet.normalize_permalink(_text(raw, "url", "post")) or permalink
            post = Post(title=_text(raw, "title", "post"), body=_text(raw, "body", "post"), url=permalink)
            return post, permalink, True
        post, known = self.post_for(site, permalink)
        return post, permalink, known

    def api_score(self, environ: dict) -> tuple[int, bytes, list]:
        site = self.api_site(environ)
        data = self.read_json(environ)
        comment = _comment_from_json(data.get("comment", data))
        post, permalink, known = self._post_from_json(site, data)
        shadow = self.lookups.is_shadow(site)
        job = self.scorer.score(Job(site, "api-score", Incoming(comment, post), permalink, known, shadow=shadow))
        environ["moderation.verdict"] = job.decision.verdict
        return 200, _json(_shadowed(_result(comment, job.model, job.decision, job.request_id, known), shadow)), []

    def api_score_batch(self, environ: dict) -> tuple[int, bytes, list]:
        site = self.api_site(environ)
        data = self.read_json(environ)
        raw_comments = data.get("comments")
        if not isinstance(raw_comments, list) or not raw_comments:
            raise HTTPError(400, "comments must be a non-empty list")
        if len(raw_comments) > MAX_BATCH:
            raise HTTPError(413, f"at most {MAX_BATCH} comments per batch")
        comments = [_comment_from_json(raw, index) for index, raw in enumerate(raw_comments)]
        post, permalink, known = self._post_from_json(site, data)
        # One thread, so that replies are scored against the comments they answer.
        thread = Thread(post=post or Post(url=permalink), comments=comments)
        shadow = self.lookups.is_shadow(site)
        job = self.scorer.score_now(Job(site, "api-score-batch", thread, permalink, known, shadow=shadow))
        counts = {v: sum(d.verdict == v for d in job.decisions) for v in ("approve", "hold", "spam")}
        environ["moderation.verdict"] = "/".join(f"{v}:{n}" for v, n in counts.items() if n)
        results = [
            _shadowed(_result(c, job.model, d, i, known), shadow)
            for c, d, i in zip(comments, job.decisions, job.request_ids, strict=True)
        ]
        return 200, _json({"model_version": str(job.model.version), "post_known": known, "results": results}), []

    def api_posts(self, environ: dict) -> tuple[int, bytes, list]:
        site = self.api_site(environ)
        data = self.read_json(environ)
        raw_posts = data.get("posts", [data])
        if not isinstance(raw_posts, list):
            raise HTTPError(400, "posts must be a list")
        rows = []
        for raw in raw_posts:
            if not isinstance(raw, dict):
                raise HTTPError(400, "each post must be an object with url, title, body")
            url = akismet.normalize_permalink(_text(raw, "url", "post"))
            if not url:
                raise HTTPError(400, "each post needs a url (its permalink)")
            rows.append((url, site, _text(raw, "title", "post"), _text(raw, "body", "post")))
        stored = self.store.put_posts(rows)
        return 200, _json({"stored": stored}), []

    def api_corrections(self, environ: dict) -> tuple[int, bytes, list]:
        site = self.api_site(environ)
        data = self.read_json(environ)
        label = data.get("label")
        if label not in ("spam", "ham"):
            raise HTTPError(400, 'label must be "spam" or "ham"')
        comment = _comment_from_json(data.get("comment", data))
        if not comment.body.strip():
            raise HTTPError(400, "comment body is empty: there is nothing to learn from")
        permalink = akismet.normalize_permalink(_text(data, "permalink"))
        environ["moderation.verdict"] = f"correction:{label}"
        correction_id = self.store.add_correction(
            site=site,
            label=label,
            content=comment.body,
            permalink=permalink,
            author=comment.author,
            author_email=comment.author_email,
            author_url=comment.author_url,
            author_ip=comment.author_ip,
            comment_type=comment.type,
        )
        return 200, _json({"stored": True, "id": correction_id}), []

    def api_request(self, environ: dict) -> tuple[int, bytes, list]:
        site = self.api_site(environ)
        tail = environ.get("PATH_INFO", "").rsplit("/", 1)[-1]
        # isascii: str.isdigit() accepts "²" (what "%B2" decodes to), which int() then refuses; and ids are
        # SQLite integers, at most 2**63 - 1 (19 digits), so a longer number cannot name one.
        if not (tail.isascii() and tail.isdigit()) or len(tail) > 18:
            raise HTTPError(404, f"no request {tail[:30]!r}: request ids are numbers of at most 18 digits")
        record = self.store.get_request(int(tail))
        # Another site's log is not yours to read; say "not found" rather than confirm it exists.
        if record is None or record["site"] != site:
            raise HTTPError(404, f"no request {tail}")
        return 200, _json(record), []


# No field of ours is a number longer than this; Python refuses to convert over 4,300 digits anyway, and
# converting long digit strings costs time quadratic in their length.
_MAX_INT_DIGITS = 30


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise HTTPError(400, f"request body has a number of {len(text.lstrip('-'))} digits (at most {_MAX_INT_DIGITS})")
    return int(text)


def _no_constant(name: str) -> None:
    raise HTTPError(400, f"request body is not valid JSON ({name} is not a JSON number)")


def _result(comment: Comment, model, decision, request_id: int | None, known: bool) -> dict:
    return {
        "id": comment.id,
        "score": round(float(decision.score), 4),
        "verdict": decision.verdict,
        "reasons": list(decision.reasons),
        "model_version": str(model.version),
        "post_known": known,
        "request_id": request_id,
    }


def _shadowed(result: dict, shadow: bool) -> dict:
    """In shadow mode a result says "approve"; the model's verdict is in ``shadow_verdict``."""
    if not shadow:
        return result
    return {**result, "verdict": "approve", "shadow": True, "shadow_verdict": result["verdict"]}


def _header_safe(text: str) -> str:
    """Printable ASCII only: messages quote the request (a path may decode to CR LF or to non-Latin-1),
    and the server refuses such header values, which would turn a 4xx into a 500."""
    if len(text) <= 300 and text.isascii() and text.isprintable():  # all of " " to "~": the usual case
        return text
    return "".join(c if " " <= c <= "~" else "?" for c in text[:300])


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _text(data: dict, name: str, where: str = "") -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    label = f"{where}.{name}" if where else name
    if not isinstance(value, str):
        raise HTTPError(400, f"{label} must be a string")
    return _valid_text(value, label)


def _valid_text(value: str, label: str) -> str:
    """Refuse here, at parsing, what would fail later: JSON may carry lone surrogates ("\\ud800"), which
    are no text at all and cannot be stored or scored; caught later they failed the request's whole
    scoring batch, other sites' requests included (issue 9 item 3)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise HTTPError(400, f"{label} has a lone surrogate (\\u{ord(value[exc.start]):04x}) at {exc.start}") from None
    return value


def _identifier(raw: dict, name: str, where: str) -> str | None:
    value = raw.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise HTTPError(400, f"{where}.{name} must be a string or an integer")
    if isinstance(value, int) and abs(value) >= 10**30:
        raise HTTPError(400, f"{where}.{name} is too long a number")
    return _valid_text(str(value), f"{where}.{name}")


def _comment_from_json(raw: Any, index: int | None = None) -> Comment:
    where = f"comments[{index}]" if index is not None else "comment"
    if not isinstance(raw, dict):
        raise HTTPError(400, f"{where} must be an object")
    body = raw.get("body", raw.get("content"))
    if not isinstance(body, str):
        raise HTTPError(400, f"{where} needs a body (the comment text)")
    body = _valid_text(body, f"{where}.body")
    kind = _text(raw, "type", where) or "comment"
    return Comment(
        body=body,
        author=_text(raw, "author", where),
        id=_identifier(raw, "id", where) or "",
        author_url=_text(raw, "author_url", where),
        author_email=_text(raw, "author_email", where),
        author_ip=_text(raw, "author_ip", where),
        parent=_identifier(raw, "parent", where),
        type=comment_type(kind),
    )


def create_app(
    db_path: str | Path,
    *,
    model_path: str | None = None,
    loader: ModelLoader = default_loader,
    config: ServiceConfig | None = None,
    cache_size: int = 8,
) -> ServiceApp:
    """Open the store, register the base model (so `models use` can roll back to it), load the active
    model (failing fast with ModelError) and build the app: what `serve` runs and what the tests drive."""
    from .registry import register_base_model
    from .store_pg import open_store

    store = open_store(db_path)  # a postgresql:// URL, or the SQLite file
    register_base_model(store, model_path)
    holder = ModelHolder(store, loader, base_path=model_path, cache_size=cache_size)
    return ServiceApp(store, holder, config)


def run(
    db_path: str | Path | None = None,
    *,
    model_path: str | None = None,
    config: ServiceConfig | None = None,
    cache_size: int = 8,
    host: str = "127.0.0.1",
    port: int = 8000,
    threads: int = 32,
    connection_limit: int | None = None,
    channel_timeout: int | None = None,
    processes: int = 1,
    announce: Callable[[str], None] = lambda line: None,
) -> None:
    """`moderation serve` and `python -m moderation.service serve`: build the app with ``create_app`` on
    ``db_path`` (default: ``default_db_path()``, its directory created owner-only) and serve it; with
    ``processes`` over 1, in that many processes on one listening socket (``processes.serve_processes``)."""
    if db_path is None:
        db_path = default_db_path()
        db_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Request lines, model swaps and failures, to stderr where a service manager (systemd) collects them.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if processes > 1:
        from .processes import serve_processes

        serve_processes(
            processes,
            db_path,
            model_path=model_path,
            config=config or ServiceConfig(),
            cache_size=cache_size,
            host=host,
            port=port,
            threads=threads,
            connection_limit=connection_limit or CONNECTION_LIMIT,
            channel_timeout=channel_timeout or CHANNEL_TIMEOUT,
            announce=announce,
        )
        return
    app = create_app(db_path, model_path=model_path, config=config, cache_size=cache_size)
    announce(
        f"moderation serve: model {app.models.current().version}, database {app.store.path}, listening on "
        f"http://{host}:{port}/ (moderation queue at /, Akismet API under /1.1/, JSON under /api/v1/)"
    )
    serve(
        app,
        host=host,
        port=port,
        threads=threads,
        connection_limit=connection_limit or CONNECTION_LIMIT,
        channel_timeout=channel_timeout or CHANNEL_TIMEOUT,
    )


# Slowloris (issue 9 item 9): 150 connections trickling header lines filled waitress's default limit of 100
# open connections, and health checks hung until they closed (measured with
# `benchmarks/bench_service_load.py --slowloris 150`). waitress reads requests asynchronously and gives a
# worker thread only a complete request, so an idle or trickling connection costs a socket and a buffer,
# not a thread: a far higher limit is cheap. channel_timeout closes connections silent for that long.
# Neither bounds the time to send a whole header, so a determined attacker with more connections than the
# limit still wins: on a network, put a reverse proxy in front (nginx's client_header_timeout, default 60 s).
CONNECTION_LIMIT = 1000
CHANNEL_TIMEOUT = 30


def serve(
    app: ServiceApp,
    host: str = "127.0.0.1",
    port: int = 8000,
    threads: int = 32,
    *,
    connection_limit: int = CONNECTION_LIMIT,
    channel_timeout: int = CHANNEL_TIMEOUT,
    sockets: list | None = None,
) -> None:
    """Run under waitress until interrupted. ``max_request_body_size`` is a second line behind ours.
    ``sockets``: listen on these (bound by the parent of `serve --processes`) instead of host and port."""
    try:
        import waitress
    except ImportError:  # pragma: no cover - depends on the installation
        raise ModerationError("the service needs waitress: pip install waitress") from None
    _raise_open_files_limit(connection_limit + threads + 64)
    where = {"sockets": sockets} if sockets else {"host": host, "port": port}
    waitress.serve(
        app,
        **where,
        threads=threads,
        connection_limit=connection_limit,
        channel_timeout=channel_timeout,
        max_request_body_size=max(app.config.max_json_bytes, app.config.max_form_bytes) + 1024,
        ident="moderation",
    )


def _raise_open_files_limit(wanted: int) -> None:
    """Each connection is a file descriptor; a soft limit of 1024 (common) would refuse them first."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-files limit to %d: %s", target, exc)
