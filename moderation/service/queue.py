"""The moderation queue in the browser (issue 11): login, the list of checks, actions, retrain, models.

Server-rendered HTML from ``string.Template`` skeletons; every value from the database or the request
goes through ``html.escape`` (``_e``), so a comment's HTML or script is shown as text. The pages also send
a Content-Security-Policy that allows only this server's own stylesheet and script and no inline script,
so an escaping mistake still would not run a comment's script.

One site per session: every query names the session's site, and an id of another site's request or
action is answered as if it did not exist. API keys do not open the page: only a session from the site's
password does (``moderation keys passwd SITE``).
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from ..errors import ModerationError
from . import auth
from .families import FAMILIES

if TYPE_CHECKING:  # pragma: no cover
    from .app import ServiceApp

log = logging.getLogger("moderation.service")

STATIC = Path(__file__).resolve().parent / "static"
PAGE_SIZE = 50
MAX_FORM = 64 * 1024
MAX_QUERY = 300
_VERDICTS = ("approve", "hold", "spam")
_NOTICE = re.compile(r"(ham|spam|undo|none|rollback):(\d{1,5})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SECURITY_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
    ("X-Frame-Options", "DENY"),
]


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


_LAYOUT = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>$title</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/queue/static/queue.css">$head
</head><body>
<header><strong>moderation</strong> $nav</header>
<main>$body</main>
<script src="/queue/static/queue.js"></script>
</body></html>
""")

_LOGIN = Template("""<h1>Moderation queue: log in</h1>
$error
<form method="post" action="/login" class="login">
<input type="hidden" name="csrf" value="$csrf">
<label>Site <input name="site" autocomplete="username" required value="$site"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form>
<p class="hint">Set the password with <code>moderation keys passwd SITE</code>.</p>
""")


@dataclass
class RetrainState:
    state: str = "idle"  # idle, running, done, failed
    started: float = 0.0
    finished: float = 0.0
    message: str = ""
    result: Any = None


class RetrainBoard:
    """Each site's retrain from the queue: running, or how the last one ended. One retrain at a time:
    each uses both cores for minutes. Under `serve --processes N` the board is the parent process's, so
    the N processes show the same state and still run one retrain at a time between them."""

    def __init__(self):
        self._states: dict[str, RetrainState] = {}
        self._lock = threading.Lock()
        self._training = threading.Semaphore(1)

    def state(self, site: str) -> RetrainState:
        with self._lock:
            return self._states.get(site, RetrainState())

    def start(self, site: str) -> RetrainState | None:
        """Mark ``site``'s retrain running and return its state; None if one is running already."""
        with self._lock:
            if self._states.get(site, RetrainState()).state == "running":
                return None
            state = RetrainState(state="running", started=time.time())
            self._states[site] = state
            return state

    def finish(self, site: str, state: RetrainState) -> None:
        with self._lock:
            self._states[site] = state

    def acquire_training(self) -> None:
        self._training.acquire()

    def release_training(self) -> None:
        self._training.release()


def login_limiter():
    """Each login attempt costs an scrypt (~50 ms, 16 MB): a client gets a burst of 10, then one a second."""
    from .app import RateLimiter

    return RateLimiter(1.0, 10)


@dataclass
class Session:
    site: str
    csrf: str
    token: str


@dataclass
class QueueOptions:
    """How "Retrain now" trains: the service's models directory and base model, the training data."""

    models_dir: Path | None = None
    sources: list | None = None
    data: list = field(default_factory=list)


class QueuePages:
    def __init__(self, app: ServiceApp, options: QueueOptions | None = None):
        self.app = app
        self.store = app.store
        self.options = options or QueueOptions()
        # `serve --processes N` replaces both with the parent's, shared by the N processes.
        self.retrains = RetrainBoard()
        self.login_limiter = login_limiter()
        self._routes = {
            "/": ("GET", self.queue_page),
            "/login": (None, self.login),
            "/logout": ("POST", self.logout),
            "/queue/action": ("POST", self.action),
            "/queue/retrain": (None, self.retrain),
            "/queue/models": (None, self.models),
        }

    @staticmethod
    def handles(path: str) -> bool:
        return path in ("/", "/login", "/logout") or path.startswith("/queue/")

    def dispatch(self, environ: dict, path: str) -> tuple[int, bytes, list]:
        from .app import HTTPError

        method = environ.get("REQUEST_METHOD", "GET").upper()
        if path.startswith("/queue/static/"):
            return self.static(path)
        route = self._routes.get(path)
        if route is None:
            raise HTTPError(404, f"No such page: {path[:100]}")
        wanted, handler = route
        allowed = (wanted,) if wanted else ("GET", "POST")
        if method not in allowed:
            raise HTTPError(405, f"{path} takes {' or '.join(allowed)}", [("Allow", ", ".join(allowed))])
        return handler(environ, method)

    # -- plumbing ---------------------------------------------------------------------------------

    def static(self, path: str) -> tuple[int, bytes, list]:
        from .app import HTTPError

        name = path.rsplit("/", 1)[-1]
        kinds = {"queue.css": "text/css; charset=utf-8", "queue.js": "text/javascript; charset=utf-8"}
        if name not in kinds:
            raise HTTPError(404, "No such file")
        body = (STATIC / name).read_bytes()
        return 200, body, [("Content-Type", kinds[name]), ("Cache-Control", "max-age=3600")]

    def page(self, title: str, body: str, session: Session | None = None, head: str = "", status: int = 200):
        nav = ""
        if session is not None:
            nav = (
                f'<nav><span class="site">{_e(session.site)}</span> <a href="/">Queue</a> '
                '<a href="/queue/retrain">Retrain</a> <a href="/queue/models">Models</a> '
                f'<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" '
                f'value="{_e(session.csrf)}"><button type="submit">Log out</button></form></nav>'
            )
        text = _LAYOUT.substitute(title=_e(title), nav=nav, body=body, head=head)
        return status, text.encode("utf-8"), [("Content-Type", "text/html; charset=utf-8"), *_SECURITY_HEADERS]

    @staticmethod
    def redirect(location: str, headers: list | None = None) -> tuple[int, bytes, list]:
        return 303, b"", [("Location", location), *_SECURITY_HEADERS, *(headers or [])]

    @staticmethod
    def cookies(environ: dict) -> dict[str, str]:
        """The request's cookies; a hand-written split, linear in the header's length."""
        jar: dict[str, str] = {}
        for part in environ.get("HTTP_COOKIE", "")[:8192].split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name and name not in jar:
                jar[name] = value.strip().strip('"')
        return jar

    def session(self, environ: dict) -> Session | None:
        token = self.cookies(environ).get(auth.COOKIE)
        found = auth.session_for(self.store, token)
        if found is None:
            return None
        environ["moderation.site"] = found[0]
        return Session(site=found[0], csrf=found[1], token=token or "")

    def require(self, environ: dict) -> Session | None:
        return self.session(environ)

    def form(self, environ: dict) -> dict[str, list[str]]:
        from .app import HTTPError

        content_type = environ.get("CONTENT_TYPE", "").lower()
        if not content_type.startswith("application/x-www-form-urlencoded"):
            raise HTTPError(415, "send a form (application/x-www-form-urlencoded)")
        body = self.app.read_body(environ, MAX_FORM)
        try:
            return urllib.parse.parse_qs(
                body.decode("utf-8"), keep_blank_values=True, max_num_fields=500, errors="strict"
            )
        except (UnicodeDecodeError, ValueError):
            raise HTTPError(400, "the form is not valid UTF-8 or has too many fields") from None

    def checked_form(self, environ: dict, session: Session) -> dict[str, list[str]]:
        """The form of a POST whose CSRF token is the session's; refused with 403 otherwise."""
        from .app import HTTPError

        form = self.form(environ)
        if not auth.same_token(session.csrf, _one(form, "csrf")):
            raise HTTPError(403, "This form is missing its security token (CSRF) or it is stale; reload the page.")
        return form

    # -- login ------------------------------------------------------------------------------------

    def login(self, environ: dict, method: str) -> tuple[int, bytes, list]:
        from .app import HTTPError

        if method == "GET":
            if self.session(environ) is not None:
                return self.redirect("/")
            return self.login_form()
        jar = self.cookies(environ)
        form = self.form(environ)
        expected = jar.get(auth.LOGIN_COOKIE, "")
        if not auth.same_token(expected, _one(form, "csrf")):
            raise HTTPError(403, "This form is missing its security token (CSRF) or it is stale; reload the page.")
        address = environ.get("REMOTE_ADDR", "")
        self.app.limit(f"login:{address}", environ, self.login_limiter)
        name = _one(form, "site")[:300]
        site = auth.check_login(self.store, name, _one(form, "password"))
        if site is None:
            log.info("queue login refused for site %.100r from %s", name, address)
            return self.login_form("Wrong site or password.", name, status=403)
        token, _csrf = auth.new_session(self.store, site)
        environ["moderation.site"] = site
        cookie = f"{auth.COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={auth.SESSION_SECONDS}"
        if environ.get("wsgi.url_scheme") == "https":
            cookie += "; Secure"
        clear = f"{auth.LOGIN_COOKIE}=; HttpOnly; SameSite=Strict; Path=/login; Max-Age=0"
        return self.redirect("/", [("Set-Cookie", cookie), ("Set-Cookie", clear)])

    def login_form(self, error: str = "", site: str = "", status: int = 200) -> tuple[int, bytes, list]:
        import secrets

        token = secrets.token_urlsafe(24)
        body = _LOGIN.substitute(
            csrf=_e(token), site=_e(site), error=f'<p class="error">{_e(error)}</p>' if error else ""
        )
        code, text, headers = self.page("Log in", body, status=status)
        cookie = f"{auth.LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login; Max-Age=3600"
        return code, text, [*headers, ("Set-Cookie", cookie)]

    def logout(self, environ: dict, method: str) -> tuple[int, bytes, list]:
        session = self.session(environ)
        if session is not None:
            self.checked_form(environ, session)
            auth.end_session(self.store, session.token)
        clear = f"{auth.COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"
        return self.redirect("/login", [("Set-Cookie", clear)])

    # -- the queue --------------------------------------------------------------------------------

    def filters(self, environ: dict) -> dict[str, str]:
        """The page's filters from the query string: known names only, each bounded in length."""
        query = _parse_query(environ.get("QUERY_STRING", ""))
        wanted = ("verdict", "family", "post", "since", "until", "q", "shadow", "before", "n")
        return {name: query[name][0][:MAX_QUERY] for name in wanted if query.get(name) and query[name][0].strip()}

    def queue_page(self, environ: dict, method: str) -> tuple[int, bytes, list]:
        session = self.require(environ)
        if session is None:
            return self.redirect("/login")
        f = self.filters(environ)
        verdict = f.get("verdict") if f.get("verdict") in _VERDICTS else None
        family = f.get("family") if f.get("family") in FAMILIES else None
        before = int(f["before"]) if f.get("before", "").isdigit() and len(f["before"]) <= 18 else None
        since = _day(f.get("since"))
        until = _day(f.get("until"), end=True)
        from .akismet import normalize_permalink

        post = normalize_permalink(f["post"]) if f.get("post") else None
        shadow = True if f.get("shadow") == "1" else None
        rows = self.store.request_page(
            session.site,
            verdict=verdict,
            family=family,
            permalink=post,
            since=since,
            until=until,
            text=f.get("q"),
            shadow=shadow,
            before=before,
            limit=PAGE_SIZE + 1,
        )
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        body = [self.shadow_banner(session.site), _notice(f.get("n")), self.filter_form(f, verdict, family)]
        back = urllib.parse.urlencode({k: v for k, v in f.items() if k not in ("n",)})
        body.append(
            '<form method="post" action="/queue/action" id="queue">'
            f'<input type="hidden" name="csrf" value="{_e(session.csrf)}">'
            f'<input type="hidden" name="back" value="{_e(back)}">'
            '<div class="bulk"><label><input type="checkbox" id="select-all"> all on this page</label> '
            '<button type="submit" name="label" value="ham">Not spam (selected)</button> '
            '<button type="submit" name="label" value="spam">Spam (selected)</button></div>'
        )
        if rows:
            body.append(
                '<table class="queue"><thead><tr><th></th><th>When (UTC)</th><th>Author</th><th>Comment</th>'
                "<th>Post</th><th>Score</th><th>Verdict</th><th>Reasons</th><th>Decided by</th><th></th>"
                "</tr></thead><tbody>"
            )
            body.extend(_row(row) for row in rows)
            body.append("</tbody></table>")
        else:
            body.append('<p class="empty">No checks match.</p>')
        body.append("</form>")
        pager = []
        if before is not None:
            pager.append(f'<a href="/?{_e(_query(f, before=None))}">Newest</a>')
        if more:
            pager.append(f'<a href="/?{_e(_query(f, before=rows[-1]["id"]))}" rel="next">Older</a>')
        body.append(f'<p class="pager">{" ".join(pager)}</p>')
        return self.page(f"Queue: {session.site}", "".join(body), session)

    def shadow_banner(self, site: str) -> str:
        counts = self.store.shadow_counts(site)
        on = self.store.is_shadow(site)
        if not on and not (counts["spam"] or counts["hold"]):
            return ""
        state = "Shadow mode is on: every check is answered as fine." if on else "Shadow mode is off."
        return (
            f'<p class="shadow">{state} In shadow mode the filter <strong>would have blocked '
            f"{counts['spam']}</strong>, <strong>held {counts['hold']}</strong>. "
            '<a href="/?shadow=1">Show them</a></p>'
        )

    def filter_form(self, f: dict, verdict: str | None, family: str | None) -> str:
        def options(values, chosen, labels=None):
            out = ['<option value="">any</option>']
            for value in values:
                label = (labels or {}).get(value, value)
                selected = " selected" if value == chosen else ""
                out.append(f'<option value="{_e(value)}"{selected}>{_e(label)}</option>')
            return "".join(out)

        labels = {"approve": "approved", "hold": "held", "spam": "spam"}
        shadow = '<input type="hidden" name="shadow" value="1">' if f.get("shadow") == "1" else ""
        return (
            '<form method="get" action="/" class="filters">'
            f'<label>Verdict <select name="verdict">{options(_VERDICTS, verdict, labels)}</select></label> '
            f'<label>Reason <select name="family">{options(FAMILIES, family)}</select></label> '
            f'<label>Post <input name="post" value="{_e(f.get("post", ""))}" placeholder="permalink"></label> '
            f'<label>From <input name="since" type="date" value="{_e(f.get("since", ""))}"></label> '
            f'<label>To <input name="until" type="date" value="{_e(f.get("until", ""))}"></label> '
            f'<label>Text <input name="q" type="search" value="{_e(f.get("q", ""))}"></label>{shadow} '
            '<button type="submit">Filter</button> <a href="/">Clear</a></form>'
        )

    def action(self, environ: dict, method: str) -> tuple[int, bytes, list]:
        from .app import HTTPError

        session = self.require(environ)
        if session is None:
            raise HTTPError(403, "Log in first.")
        form = self.checked_form(environ, session)
        back = _back(_one(form, "back"))
        if _one(form, "undo"):
            action_id = _number(_one(form, "undo"))
            done = action_id is not None and self.store.undo_action(session.site, action_id)
            return self.redirect(_with_notice(back, f"undo:{int(done)}"))
        row = _one(form, "row")
        if row:
            label, _, raw_id = row.partition(":")
            ids = [_number(raw_id)]
        else:
            label = _one(form, "label")
            ids = [_number(v) for v in form.get("id", [])[: PAGE_SIZE * 4]]
        if label not in ("spam", "ham"):
            raise HTTPError(400, 'label must be "spam" or "ham"')
        stored = 0
        for request_id in ids:
            if request_id is not None and self.store.record_action(session.site, request_id, label) is not None:
                stored += 1
        environ["moderation.verdict"] = f"queue:{label}:{stored}"
        return self.redirect(_with_notice(back, f"{label}:{stored}" if stored else "none:0"))

    # -- retrain and models -----------------------------------------------------------------------

    def retrain(self, environ: dict, method: str) -> tuple[int, bytes, list]:
        session = self.require(environ)
        if session is None:
            return self.redirect("/login")
        if method == "POST":
            self.checked_form(environ, session)
            self.start_retrain(session.site)
            return self.redirect("/queue/retrain")
        state = self.retrains.state(session.site)
        head = '<meta http-equiv="refresh" content="3">' if state.state == "running" else ""
        body = ["<h1>Retrain</h1>"]
        body.append(
            "<p>Trains a candidate on the shipped data and this site's corrections, judges it against the model "
            "serving now on corrections it did not train on, and promotes it only if it is not worse.</p>"
        )
        if state.state == "running":
            body.append(f'<p class="running">Training since {_when(state.started)} UTC; this page refreshes.</p>')
        elif state.state == "failed":
            body.append(f'<p class="error" id="retrain-report">Not retrained: {_e(state.message)}</p>')
        elif state.state == "done":
            body.append(_report(state.result))
        if state.state != "running":
            body.append(
                f'<form method="post" action="/queue/retrain"><input type="hidden" name="csrf" '
                f'value="{_e(session.csrf)}"><button type="submit">Retrain now</button></form>'
            )
        return self.page("Retrain", "".join(body), session, head=head)

    def start_retrain(self, site: str) -> None:
        state = self.retrains.start(site)
        if state is None:
            return
        threading.Thread(target=self._run_retrain, args=(site, state), daemon=True, name="queue-retrain").start()

    def _run_retrain(self, site: str, state: RetrainState) -> None:
        from .registry import retrain

        models_dir = self.options.models_dir or self.store.path.resolve().parent / "models"
        try:
            self.retrains.acquire_training()
            try:
                result = retrain(
                    self.store,
                    models_dir,
                    site=site,
                    sources=self.options.sources,
                    data=self.options.data,
                    base_model=self.app.models.base_path,
                )
            finally:
                self.retrains.release_training()
        except ModerationError as exc:
            outcome, message, result = "failed", str(exc), None
        except Exception as exc:  # noqa: BLE001 - the page reports it; the log has the traceback
            log.exception("site %s: retrain from the queue failed", site)
            outcome, message, result = "failed", f"internal error ({type(exc).__name__})", None
        else:
            outcome, message = "done", ""
        finished = RetrainState(
            state=outcome, started=state.started, finished=time.time(), message=message, result=result
        )
        self.retrains.finish(site, finished)

    def models(self, environ: dict, method: str) -> tuple[int, bytes, list]:
        from .registry import list_models, use_model

        session = self.require(environ)
        if session is None:
            return self.redirect("/login")
        if method == "POST":
            form = self.checked_form(environ, session)
            version = _one(form, "version")[:200]
            record = self.store.get_model(version)
            if record is None or record.site not in ("", session.site):
                from .app import HTTPError

                raise HTTPError(404, "No such model for this site.")
            try:
                use_model(self.store, version, session.site)
            except ModerationError as exc:  # its file is gone or no longer loads: the site keeps its model
                from .app import HTTPError

                raise HTTPError(409, f"Not switched: {exc}") from None
            return self.redirect("/queue/models?n=rollback:1")
        records, shared = list_models(self.store, self.app.models.base_path)
        serving = self.store.active_model(session.site) or shared
        rows = []
        for record in reversed(records):
            if record.site not in ("", session.site):
                continue
            held = record.metrics.get("held_out") or {}
            figures = f"{held.get('mistakes')} mistakes of {held.get('n')} held out" if held else "-"
            is_serving = record.version == serving
            button = (
                "<strong>serving</strong>"
                if is_serving
                else f'<button type="submit" name="version" value="{_e(record.version)}">Use this one</button>'
            )
            rows.append(
                f'<tr class="{"serving" if is_serving else ""}"><td>{_e(record.version)}</td>'
                f"<td>{_e(record.site or 'shared')}</td><td>{_e(record.status)}</td><td>{_when(record.created)}</td>"
                f"<td>{_e(figures)}</td><td>{_e(record.note)}</td><td>{button}</td></tr>"
            )
        f = self.filters(environ)
        body = (
            f"{_notice(f.get('n'))}<h1>Models</h1><p>The model serving this site, its earlier ones and the shared "
            "ones. Rolling back makes that model this site's; other sites keep theirs.</p>"
            f'<form method="post" action="/queue/models"><input type="hidden" name="csrf" value="{_e(session.csrf)}">'
            '<table class="models"><thead><tr><th>Version</th><th>Trained for</th><th>Status</th><th>Created (UTC)</th>'
            f"<th>Held-out figures</th><th>Note</th><th></th></tr></thead><tbody>{''.join(rows)}</tbody></table></form>"
        )
        return self.page("Models", body, session)


def _parse_query(raw: str) -> dict[str, list[str]]:
    """A query string's fields; one with more than 20 fields (ours have at most 9) is ignored, not a 500."""
    try:
        return urllib.parse.parse_qs(raw[:4096], max_num_fields=20)
    except ValueError:
        return {}


def _one(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name)
    return values[0] if values else ""


def _number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def _day(text: str | None, *, end: bool = False) -> float | None:
    if not text or not _DATE.fullmatch(text):
        return None
    try:
        day = dt.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    return (day + dt.timedelta(days=1) if end else day).timestamp()


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _query(f: dict, **changes) -> str:
    merged = {k: v for k, v in {**f, **changes}.items() if v is not None and k != "n"}
    return urllib.parse.urlencode(merged)


def _back(raw: str) -> str:
    """Where an action returns: the queue with the filters it came from, rebuilt from known names only,
    so the field cannot redirect anywhere else."""
    query = _parse_query(raw)
    allowed = ("verdict", "family", "post", "since", "until", "q", "shadow", "before")
    return urllib.parse.urlencode({k: query[k][0][:MAX_QUERY] for k in allowed if query.get(k)})


def _with_notice(back: str, notice: str) -> str:
    return "/?" + "&".join(part for part in (back, urllib.parse.urlencode({"n": notice})) if part)


def _notice(raw: str | None) -> str:
    match = _NOTICE.fullmatch(raw or "")
    if not match:
        return ""
    kind, count = match.group(1), int(match.group(2))
    text = {
        "ham": f"Marked {count} as not spam; a correction is stored for each. Undo is on each row.",
        "spam": f"Marked {count} as spam; a correction is stored for each. Undo is on each row.",
        "undo": "Undone: the correction is deleted." if count else "Nothing to undo.",
        "none": "Nothing selected.",
        "rollback": "Switched: this model now serves the site.",
    }[kind]
    return f'<p class="notice" role="status">{_e(text)}</p>'


def _row(row: dict) -> str:
    content = row["content"]
    excerpt = content if len(content) <= 280 else content[:280] + "…"
    full = f"<details><summary>all</summary>{_e(content)}</details>" if len(content) > 280 else ""
    reasons = "".join(f"<li>{_e(r)}</li>" for r in row["reasons"][:6])
    verdict = row["verdict"] or "-"
    if row["moderator_label"]:
        decided = f"moderator: {'not spam' if row['moderator_label'] == 'ham' else 'spam'}"
        undo = f'<button type="submit" name="undo" value="{row["action_id"]}" class="undo">Undo</button>'
    else:
        decided = "model" + (" (rechecked)" if row["rechecked"] else "")
        undo = ""
    if row["shadow"]:
        decided += ", shadow: answered fine"
    score = f"{row['score']:.2f}" if row["score"] is not None else "-"
    rid = int(row["id"])
    return (
        f'<tr id="r{rid}" class="v-{_e(verdict)}"><td><input type="checkbox" name="id" value="{rid}" '
        f'aria-label="select {rid}"></td>'
        f'<td>{_when(row["ts"])}</td><td class="author">{_e(row["author"])}</td>'
        f'<td class="comment">{_e(excerpt)}{full}</td><td class="post">{_e(row["permalink"])}</td>'
        f'<td>{score}</td><td class="verdict">{_e(verdict)}</td><td><ul>{reasons}</ul></td>'
        f'<td class="decided">{_e(decided)}</td><td class="actions">'
        f'<button type="submit" name="row" value="ham:{rid}">Not spam</button> '
        f'<button type="submit" name="row" value="spam:{rid}">Spam</button> {undo}</td></tr>'
    )


def _report(result) -> str:
    """The promotion report: each model's figures on the held-out corrections, the decision and why."""
    rows = []
    for name, figures in (("candidate", result.candidate_figures), ("serving", result.current_figures)):
        if figures is None:
            continue
        rows.append(
            f"<tr><td>{name}</td><td>{_e(figures.version)}</td><td>{figures.n}</td><td>{figures.blocked_legit}</td>"
            f"<td>{figures.missed_spam}</td><td>{figures.held}</td><td>{figures.mistakes}</td></tr>"
        )
    verdict = "Promoted" if result.promoted else "Not promoted"
    return (
        f'<section id="retrain-report"><h2>{verdict}: {_e(result.candidate)}</h2><p>{_e(result.reason)}</p>'
        "<table><thead><tr><th></th><th>Version</th><th>Held-out corrections</th><th>Legitimate marked spam</th>"
        "<th>Spam let through</th><th>Held</th><th>Mistakes</th></tr></thead><tbody>"
        f"{''.join(rows)}</tbody></table><p>Trained on {result.trained_on.get('comments')} comments, "
        f"{result.trained_on.get('corrections')} of them corrections.</p></section>"
    )
