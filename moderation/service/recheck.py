"""Re-check stored checks with the model serving now (issue 11): after a flood, after a retrain.

Each stored check is scored again as the service scores a check (``Moderator.score_batch`` of
``Incoming`` comments, each alone): with the site's active model, else the shared one, and the site's
stored post text for its permalink. Checks are read ``BATCH`` at a time by id,
so memory stays flat however many there are. A check whose verdict
changes keeps its earlier score, verdict, reasons and model in ``rechecks``; with ``dry_run`` nothing is
written.

What it cannot do: the request log keeps the comment's author name, text and permalink but not the
author's e-mail, website or IP address, so a recheck scores without them; a check that was spam for its
author's website alone may come back "approve". The report counts such changes like any other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, ModelError
from ..model.decisions import Incoming
from ..model.thread import Comment, Post
from .store import Store

BATCH = 256


@dataclass
class RecheckReport:
    checked: int = 0
    changed: int = 0
    transitions: Counter = field(default_factory=Counter)  # (old verdict, new verdict) -> count
    examples: list[dict] = field(default_factory=list)  # the first changes, for the report
    dry_run: bool = False
    models: dict[str, str] = field(default_factory=dict)  # site -> model version used


def recheck(
    store: Store,
    *,
    site: str | None = None,
    held: bool = False,
    since: float | None = None,
    until: float | None = None,
    dry_run: bool = False,
    base_model: str | None = None,
    loader: Callable[[str | None], Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    keep_examples: int = 20,
) -> RecheckReport:
    """Re-score the held checks (``held``) or those in [since, until), of one site or every site."""
    from .keys import resolve_site

    if not held and since is None and until is None:
        raise InputError("say which checks to re-check: the held ones, or a date range (since and/or until)")
    if since is not None and until is not None and since >= until:
        raise InputError("the date range is empty: since must be before until")
    site = resolve_site(store, site) if site else None
    if loader is None:
        from ..api import Moderator

        loader = Moderator.load
    total = store.count_recheck_candidates(site, held=held, since=since, until=until)
    report = RecheckReport(dry_run=dry_run)
    models: dict[str, Any] = {}  # version -> loaded model, shared across sites using it
    if progress is not None:
        progress(0, total)
    after = 0
    while True:
        rows = store.recheck_candidates(site, held=held, since=since, until=until, after=after, limit=BATCH)
        if not rows:
            break
        after = rows[-1]["id"]
        changes = []
        # One model pass per model in the batch, each check scored alone as it arrived (Incoming), as the
        # service scores checks: 1,000 held checks took 1.2 s, against 44.5 s one score_comment at a time
        # (`bench_queue.py --checks 20000 --other 0 --recheck 1000`, machine loaded by other work).
        groups: dict[int, tuple[Any, list[dict]]] = {}
        for row in rows:
            model = _model_for(store, row["site"], base_model, loader, models, report)
            groups.setdefault(id(model), (model, []))[1].append(row)
        for model, group in groups.values():
            units = [Incoming(Comment(body=r["content"], author=r["author"]), _post(store, r)) for r in group]
            for row, (decision,) in zip(group, model.score_batch(units), strict=True):
                report.checked += 1
                if decision.verdict == row["verdict"]:
                    continue
                report.changed += 1
                report.transitions[(row["verdict"], decision.verdict)] += 1
                change = {
                    "id": row["id"],
                    "site": row["site"],
                    "old_score": row["score"],
                    "old_verdict": row["verdict"],
                    "old_reasons": row["reasons"],
                    "old_model": row["model_version"],
                    "score": float(decision.score),
                    "verdict": decision.verdict,
                    "reasons": list(decision.reasons),
                    "model_version": str(model.version),
                    "author": row["author"],
                    "excerpt": row["content"][:80],
                }
                changes.append(change)
                if len(report.examples) < keep_examples:
                    report.examples.append(change)
        if changes and not dry_run:
            store.apply_rechecks(changes)
        if progress is not None:
            progress(report.checked, total)
    return report


def _post(store: Store, row: dict) -> Post | None:
    known = store.get_post(row["permalink"], site=row["site"]) if row["permalink"] else None
    return Post(title=known[0], body=known[1], url=row["permalink"]) if known else None


def _model_for(store: Store, site: str, base_model, loader, models: dict, report: RecheckReport):
    version = store.active_model(site) or store.active_model(None) or ""
    if version not in models:
        record = store.get_model(version) if version else None
        if version and record is None:
            raise ModelError(f"active model {version!r} is not in the model registry")
        models[version] = loader(record.path if record else base_model)
    report.models[site] = str(models[version].version)
    return models[version]
