"""Commands for the Akismet-compatible service: serve, keys, posts, retrain, models.

Each is a plain click command or group; the main group adds them with ``main.add_command``.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..service import MAX_PROCESSES
from .errors import reports_errors
from .evaluation import data_options
from .options import model_path_option, source_names, sources_option

_DB_HELP = (
    "SQLite database, or a postgresql:// URL, of keys, posts, logged requests, corrections and models [default: {}]"
)


def _default_db() -> Path:
    from ..service.app import default_db_path

    return default_db_path()


def _open_store(db: Path | str | None):
    from ..service.store_pg import open_store

    if db is None:
        db = _default_db()
        # Only the default location is created for the user; a --db path must be somewhere that exists.
        db.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return open_store(db)


def _models_dir(db: Path | str | None) -> Path:
    # With a postgresql:// URL, models sit beside the default database: $MODERATION_HOME/models, a
    # directory every process must share (README, "More than one machine").
    return (db if isinstance(db, Path) else _default_db()).resolve().parent / "models"


class DatabaseParam(click.ParamType):
    """A SQLite file (a Path) or a postgresql:// URL (kept a string: a Path would fold its '//')."""

    name = "FILE|URL"

    def convert(self, value, param, ctx):
        from ..service.store_pg import is_url

        if isinstance(value, Path) or not is_url(value):
            return click.Path(dir_okay=False, path_type=Path).convert(value, param, ctx)
        return value


def db_option(func):
    return click.option(
        "--db",
        type=DatabaseParam(),
        default=None,
        help=_DB_HELP.format("$MODERATION_HOME or ~/.local/share/moderation/moderation.db"),
    )(func)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@model_path_option("Model to serve until a retrained one is promoted [default: the shipped models/default.joblib].")
@db_option
@click.option(
    "--threads",
    default=32,
    show_default=True,
    type=click.IntRange(1, 512),
    help="Worker threads; requests waiting for the model are scored together, so more threads, bigger batches.",
)
@click.option(
    "--hold-as",
    type=click.Choice(["spam", "ham"]),
    default="spam",
    show_default=True,
    help='Akismet answer for comments we would hold: "spam" files them in the spam queue for review.',
)
@click.option(
    "--rate",
    default=50.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Requests/second per key (0: none).",
)
@click.option("--burst", default=200, show_default=True, type=click.IntRange(1), help="Burst allowed per key.")
@click.option(
    "--connection-limit",
    default=1000,
    show_default=True,
    type=click.IntRange(10, 100_000),
    help="Open connections accepted at once; slow or idle ones cost a socket, not a thread.",
)
@click.option(
    "--channel-timeout",
    default=30,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds before a connection that sends nothing is closed.",
)
@click.option(
    "--model-cache",
    default=8,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Sites' own retrained models kept loaded (least recently used first out).",
)
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1, MAX_PROCESSES),
    help="Server processes on one port (one per core); they share the database and the rate limits.",
)
@reports_errors
def serve(
    host, port, model_path, db, threads, hold_as, rate, burst, connection_limit, channel_timeout, model_cache, processes
) -> None:
    """Answer Akismet's protocol (and a JSON API) with this project's model."""
    from ..service.app import ServiceConfig, run

    run(
        db,
        model_path=str(model_path) if model_path else None,
        config=ServiceConfig(hold_as=hold_as, rate=rate, burst=burst),
        cache_size=model_cache,
        host=host,
        port=port,
        threads=threads,
        connection_limit=connection_limit,
        channel_timeout=channel_timeout,
        processes=processes,
        announce=lambda line: click.echo(line, err=True),
    )


@click.group()
def keys() -> None:
    """API keys, one or more per site; only their hashes are stored."""


@keys.command("add")
@click.argument("site")
@click.option(
    "--shadow",
    is_flag=True,
    help="Shadow mode: answer every check as fine and only log the verdict (see `keys shadow`).",
)
@db_option
@reports_errors
def keys_add(site: str, shadow: bool, db: Path | None) -> None:
    """Create a key for SITE (its URL or a name) and print it: it is shown only this once."""
    from ..service.keys import new_key, set_shadow

    store = _open_store(db)
    click.echo(new_key(store, site))
    if shadow:
        owner = set_shadow(store, site, True)
        click.echo(f"{owner}: shadow mode on (every check answered as fine, verdicts only logged)", err=True)


@keys.command("passwd")
@click.argument("site")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@db_option
@reports_errors
def keys_passwd(site: str, password_stdin: bool, db: Path | None) -> None:
    """Set the password of SITE's moderation queue (the page at / of `moderation serve`)."""
    import sys

    from ..service.auth import set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    owner = set_password(_open_store(db), site, password)
    click.echo(f"{owner}: queue password set; log in at the server's / page (open sessions were ended)")


@keys.command("shadow")
@click.argument("site")
@click.argument("state", type=click.Choice(["on", "off"]))
@db_option
@reports_errors
def keys_shadow(site: str, state: str, db: Path | None) -> None:
    """Shadow mode for SITE: "on" answers every check as fine and logs the verdict it would have given."""
    from ..service.keys import set_shadow

    owner = set_shadow(_open_store(db), site, state == "on")
    if state == "on":
        click.echo(f"{owner}: shadow mode on; checks are answered as fine, the queue shows what would be blocked")
    else:
        click.echo(f"{owner}: shadow mode off; checks are answered with the model's verdict")


@keys.command("list")
@db_option
@reports_errors
def keys_list(db: Path | None) -> None:
    """Active keys: site, the key's first characters, and when it was made."""
    import datetime as dt

    from ..service.keys import list_keys

    for record in list_keys(_open_store(db)):
        created = dt.datetime.fromtimestamp(record.created, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
        click.echo(f"{record.site}\t{record.hint}…\t{created} UTC")


@keys.command("remove")
@click.argument("key_or_site")
@db_option
@reports_errors
def keys_remove(key_or_site: str, db: Path | None) -> None:
    """Revoke one key, or every key of a site."""
    from ..service.keys import remove_keys

    count = remove_keys(_open_store(db), key_or_site)
    click.echo(f"revoked {count} key{'s' if count != 1 else ''}")


@click.group()
def posts() -> None:
    """The posts whose text comment-check uses when a request's permalink matches."""


@posts.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "format_name", default=None, help="Input format [default: detected].")
@click.option(
    "--site",
    required=True,
    help="The site (as `keys list` names it) these posts belong to; only its keys' requests see them.",
)
@db_option
@reports_errors
def posts_import(files, format_name, site, db) -> None:
    """Store the posts of export FILES (any format `moderation` reads) for SITE, by their permalink."""
    from ..service.posts import import_posts

    result = import_posts(_open_store(db), files, site, format_name)
    skipped = f"; skipped {result.skipped} without a URL" if result.skipped else ""
    click.echo(f"stored {result.stored} posts for {result.site}{skipped}")


@posts.command("list")
@click.option("--site", default=None, help="Only this site's posts [default: every site's].")
@db_option
@reports_errors
def posts_list(site, db) -> None:
    """Stored posts: site, permalink and title, one a line (site "-" for posts no key can read)."""
    from ..service.posts import list_posts

    rows = list_posts(_open_store(db), site)
    for owner, permalink, title, _updated in rows:
        click.echo(f"{owner or '-'}\t{permalink}\t{title}")
    if not rows:
        click.echo("no posts stored" + (f" for {site}" if site else ""), err=True)


@keys.command("share")
@click.argument("site")
@click.option(
    "--on/--off", "share", required=True, help="Share SITE's corrections with other sites' retraining, or stop."
)
@db_option
@reports_errors
def keys_share(site: str, share: bool, db: Path | None) -> None:
    """Opt SITE in to (or out of) sharing its corrections: only shared ones teach other sites' models."""
    from ..service.keys import set_sharing

    owner = set_sharing(_open_store(db), site, share)
    click.echo(f"{owner}: corrections {'shared with' if share else 'kept from'} other sites' retraining")


@click.command()
@db_option
@click.option(
    "--site",
    default=None,
    help="Train, judge and promote a model for this site only, from its own and the shared corrections "
    "[default: the shared base model, from shared corrections only].",
)
@data_options()
@sources_option
@model_path_option("The base model, as given to `serve --model`.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--no-promote", is_flag=True, help="Train and compare, but never promote.")
@click.option("--force", is_flag=True, help="Train and promote even without held-out corrections to compare on.")
@reports_errors
def retrain(db, site, labeled_data, sources, model_path, seed, no_promote, force) -> None:
    """Train on the shipped data plus stored corrections; promote the candidate if it is not worse.

    --data and --sources choose the data as they do for `train`; the stored corrections are always added."""
    from ..service.registry import retrain as run

    store = _open_store(db)
    result = run(
        store,
        _models_dir(db),
        site=site,
        sources=source_names(sources, bool(labeled_data.paths)),
        data=labeled_data.paths,
        mapping=labeled_data.mapping,
        base_model=model_path,
        seed=seed,
        promote=not no_promote,
        force=force,
        progress=lambda message: click.echo(message, err=True),
    )
    for figures, name in ((result.candidate_figures, "candidate"), (result.current_figures, "current")):
        if figures is not None:
            click.echo(
                f"{name} {figures.version}: {figures.n} held-out corrections, legitimate marked spam "
                f"{figures.blocked_legit}, spam let through {figures.missed_spam}, held {figures.held}"
            )
    verdict = "promoted" if result.promoted else "not promoted"
    scope = f" for {result.site}" if result.site else " as the shared base model"
    click.echo(f"{result.candidate} {verdict}{scope}: {result.reason}")


@click.group(invoke_without_command=True)
@db_option
@model_path_option(
    "The base model file, as given to `serve --model`, so it is listed (and can be rolled back to) "
    "[default: the shipped models/default.joblib]."
)
@click.pass_context
@reports_errors
def models(ctx: click.Context, db, model_path) -> None:
    """List model versions with their site and figures; `models use VERSION` switches (or rolls back).

    * marks the shared model serving every site without its own; a site's own model is marked with
    "serving SITE"."""
    ctx.ensure_object(dict)
    ctx.obj["db"] = db
    if ctx.invoked_subcommand is not None:
        return
    from ..service.registry import list_models

    store = _open_store(db)
    records, serving = list_models(store, model_path)
    if not records:
        click.echo("no models registered yet (run `moderation retrain`)")
        return
    by_site = store.active_models()
    for record in records:
        mark = "*" if record.version == serving else " "
        held = record.metrics.get("held_out") or {}
        cv = record.metrics.get("cv") or {}
        figures = []
        if held:
            figures.append(f"held-out mistakes {held.get('mistakes')}/{held.get('n')}")
        if "roc_auc" in cv:
            figures.append(f"cv roc_auc {cv['roc_auc']:.3f}")
        if "blocked_legit" in cv:
            figures.append(f"cv legit blocked {cv['blocked_legit']:.3f}")
        sites = sorted(site for site, version in by_site.items() if version == record.version)
        serving_for = f"\tserving {', '.join(sites)}" if sites else ""
        owner = record.site or "shared"
        click.echo(f"{mark} {record.version}\t{owner}\t{record.status}\t{', '.join(figures) or '-'}{serving_for}")


@models.command("use")
@click.argument("version")
@click.option("--site", default=None, help="Make VERSION this site's model [default: the site it was trained for].")
@db_option
@click.pass_context
@reports_errors
def models_use(ctx: click.Context, version: str, site, db) -> None:
    """Serve VERSION from now on; running services switch on their next request."""
    from ..service.registry import use_model

    record = use_model(_open_store(db or ctx.obj.get("db")), version, site)
    click.echo(
        f"now serving {record.version} ({record.path}) for {site or record.site or 'every site without its own'}"
    )


def _utc_time(value: str | None, *, end: bool = False) -> float | None:
    """YYYY-MM-DD (the whole day, UTC) or an ISO date and time (UTC unless it says otherwise)."""
    import datetime as dt

    if value is None:
        return None
    text = value.strip()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or ISO date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    if end and len(text) == 10:
        moment += dt.timedelta(days=1)
    return moment.timestamp()


@click.command()
@db_option
@click.option("--site", default=None, help="Only this site's checks [default: every site's].")
@click.option("--held", is_flag=True, help="The checks whose verdict is hold.")
@click.option("--since", default=None, help="Checks from this date (YYYY-MM-DD, UTC) or ISO date and time on.")
@click.option("--until", default=None, help="Checks up to this date (inclusive) or before this ISO time.")
@click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
@model_path_option("The base model, as given to `serve --model`.")
@reports_errors
def recheck(db, site, held, since, until, dry_run, model_path) -> None:
    """Re-score stored checks (the held ones, or a date range) with the model serving now; report changes."""
    from ..service.recheck import recheck as run
    from .options import Progress

    if not held and since is None and until is None:
        raise click.UsageError("give --held, or a date range with --since and/or --until")
    start, end = _utc_time(since), _utc_time(until, end=True)
    store = _open_store(db)
    bars: list[Progress] = []

    def advance(done: int, total: int) -> None:
        if not bars:  # the first call, before any scoring, says how many there are
            bars.append(Progress("rechecking", total, unit="checks"))
        bars[0].to(done)

    try:
        report = run(
            store,
            site=site,
            held=held,
            since=start,
            until=end,
            dry_run=dry_run,
            base_model=str(model_path) if model_path else None,
            progress=advance,
        )
    finally:
        for bar in bars:
            bar.close()
    for change in report.examples:
        click.echo(
            f"{change['id']}\t{change['site']}\t{change['old_verdict']} -> {change['verdict']}\t"
            f"{change['old_score'] if change['old_score'] is not None else '-'} -> {change['score']:.4f}\t"
            f"{change['author'][:30]}\t{change['excerpt'][:60]!r}"
        )
    moves = ", ".join(f"{a} -> {b}: {n}" for (a, b), n in sorted(report.transitions.items(), key=str))
    verb = "would change" if dry_run else "changed"
    models = ", ".join(sorted(set(report.models.values()))) or "-"
    click.echo(
        f"rechecked {report.checked} checks with {models}; {verb} {report.changed}" + (f" ({moves})" if moves else "")
    )


@click.group()
def db() -> None:
    """The service's database: schema versions."""


@db.command(name="upgrade")
@db_option
@reports_errors
def db_upgrade(db: Path | str | None) -> None:
    """Bring the database's schema to this version of moderation (before starting new serve processes)."""
    from ..service.store import SCHEMA_VERSION as SQLITE_VERSION
    from ..service.store_pg import PgStore, is_url, upgrade

    # Opening a SQLite file migrates it in place; a PostgreSQL store is opened as it is, then upgraded.
    store = PgStore(db, migrate=False) if is_url(db) else _open_store(db)
    try:
        if isinstance(store, PgStore):
            applied = upgrade(store)
            version = store.schema_version()
        else:
            applied, version = [], int(store.get_setting("schema_version") or SQLITE_VERSION)
        done = f"applied {', '.join(map(str, applied))}; " if applied else ""
        click.echo(f"{store.path}: {done}schema version {version}")
    finally:
        store.close()


COMMANDS = (serve, keys, posts, retrain, models, recheck, db)
