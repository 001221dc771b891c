"""The model registry over the service's store: which model each site is served, and retraining on its
corrections.

Moved here from learning/retraining.py (issue 10), which imported the store: learning/ knows
corrections as data (the split, the comparison and the promotion rule, training a candidate), and
this module chooses a site's corrections, registers and promotes versions, and rolls back.

Per site (issue 9 item 5). Each site's corrections teach that site's model only. ``retrain(site=SITE)``
trains on the shipped data, SITE's corrections and those of sites that opted in to sharing
(``moderation keys share``), is judged on SITE's own held-out corrections, and is promoted for SITE only;
other sites keep their model. ``retrain()`` without a site trains the shared base model that every site
without its own is served, from the shared corrections only: one key holder's submit-spam can no longer
teach every other site's model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, ModelError
from ..learning.retraining import (
    HOLDOUT_EVERY,
    Comparison,
    compare,
    corrections_to_threads,
    decide,
    split_corrections,
    train_candidate,
    usable,
)
from .keys import resolve_site
from .store import Correction, ModelRecord, Store


@dataclass
class RetrainResult:
    candidate: str
    current: str | None
    promoted: bool
    reason: str
    candidate_figures: Comparison | None
    current_figures: Comparison | None
    trained_on: dict
    path: Path
    site: str | None = None


def register_base_model(store: Store, path: str | Path | None = None) -> str | None:
    """Put the shipped (or --model) model in the registry so that `models use` can roll back to it."""
    from ..model.pipeline import DEFAULT_MODEL_PATH, card_path

    path = Path(path) if path is not None else DEFAULT_MODEL_PATH
    card_file = card_path(path)
    if not path.exists() or not card_file.exists():
        return None
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = str(card.get("version", "unversioned"))
    if store.get_model(version) is None:
        store.add_model(version, str(path), status="base", metrics={"cv": _card_figures(card)}, note="shipped")
    return version


def current_model(
    store: Store, base_path: str | Path | None, loader: Callable, site: str | None = None
) -> object | None:
    """The model the service would serve ``site`` right now (its own, else the shared base), or None if
    there is none that loads."""
    active = (store.active_model(site) if site else None) or store.active_model(None)
    record = store.get_model(active) if active else None
    try:
        return loader(record.path if record else (str(base_path) if base_path else None))
    except ModelError:
        return None


def corrections_for(store: Store, site: str | None) -> tuple[list[Correction], list[Correction]]:
    """(judged, shared): the corrections split into train and held-out for ``site`` (its own; for the
    base model, the sharing sites'), and the other sharing sites' ones, which are only trained on."""
    sharing = store.sharing_sites()
    if site:
        return usable(store.corrections(sites=[site])), usable(
            store.corrections(sites=[s for s in sharing if s != site])
        )
    return usable(store.corrections(sites=sharing)), []


def _post_lookup(store: Store) -> Callable[[str, str], tuple[str, str] | None]:
    """The stored post of (site, permalink), for corrections_to_threads."""
    return lambda site, permalink: store.get_post(permalink, site=site)


def retrain(
    store: Store,
    models_dir: str | Path,
    *,
    site: str | None = None,
    sources: Sequence[str] | None = None,
    data: Sequence[str | Path] = (),
    mapping=None,
    base_model: str | Path | None = None,
    seed: int = 0,
    promote: bool = True,
    force: bool = False,
    holdout_every: int = HOLDOUT_EVERY,
    progress: Callable[[str], None] | None = None,
) -> RetrainResult:
    from ..api import Moderator
    from ..model.pipeline import save_model

    say = progress or (lambda message: None)
    site = resolve_site(store, site) if site else None
    register_base_model(store, base_model)
    judged, shared = corrections_for(store, site)
    post_of = _post_lookup(store)
    train_part, held_part = split_corrections(judged, holdout_every)
    train_part += shared
    current = current_model(store, base_model, lambda p: Moderator.load(p), site)
    if not held_part and current is not None and not force:
        # Said before training: training on the shipped data takes minutes, for a candidate nothing
        # could judge and that would not be promoted.
        whose = f"{site}'s" if site else "shared (keys share)"
        raise DataError(
            f"no held-out corrections to judge a candidate on: {len(judged)} usable {whose} corrections, "
            "and at least two of a label are needed; send more, or give --force to train and promote anyway"
        )
    bundle, trained_comments = train_candidate(
        train_part,
        post_of,
        sources=sources,
        data=data,
        mapping=mapping,
        seed=seed,
        say=say,
        whom=f"for {site}" if site else "the shared base model",
        held_out=len(held_part),
    )
    version = _unique_version(store, bundle.version)
    bundle.card["version"] = version
    bundle.card["retraining"] = {
        "site": site or "",
        "corrections_trained_on": len(train_part),
        "corrections_held_out": len(held_part),
        "holdout_every": holdout_every,
    }
    path = Path(models_dir) / f"{version}.joblib"
    save_model(bundle, path)
    candidate = Moderator(bundle)

    held_threads = corrections_to_threads(held_part, post_of)
    cand_figures = compare(candidate, held_threads) if held_part else None
    curr_figures = compare(current, held_threads) if (held_part and current is not None) else None
    if current is None:
        promoted, reason = True, "no model is serving, or it cannot be loaded: the candidate is all there is"
    else:
        promoted, reason = decide(cand_figures, curr_figures, force=force)
    if not promote and promoted:
        promoted, reason = False, reason + "; not promoted because --no-promote was given"

    metrics = {"cv": _card_figures(bundle.card)}
    if cand_figures is not None:
        metrics["held_out"] = cand_figures.to_dict()
    if curr_figures is not None:
        metrics["held_out_current"] = curr_figures.to_dict()
    store.add_model(
        version,
        str(path),
        status="candidate" if promoted else "rejected",
        metrics=metrics,
        note=reason,
        site=site or "",
    )
    if promoted:
        # The model file is complete on disk (save_model writes atomically) before the pointer moves,
        # and the pointer is this site's own (or, without a site, the shared base one).
        store.activate_model(version, site=site or "")
    return RetrainResult(
        candidate=version,
        current=str(current.version) if current is not None else None,
        promoted=promoted,
        reason=reason,
        candidate_figures=cand_figures,
        current_figures=curr_figures,
        trained_on={"comments": trained_comments, "corrections": len(train_part)},
        path=path,
        site=site,
    )


def list_models(store: Store, base_model: str | Path | None = None) -> tuple[list[ModelRecord], str | None]:
    """Every registered version and the shared one serving (None means the base file); each site's own
    pointer is in ``store.active_models()``."""
    base = register_base_model(store, base_model)
    return store.list_models(), store.active_model() or base


def use_model(store: Store, version: str, site: str | None = None) -> ModelRecord:
    """Roll back (or forward) to a registered version, after checking its file still loads.

    Without ``site`` it is activated for the site it was trained for (the shared pointer for the base
    and shared models). With ``site``, a shared version can be made that site's model (a site's rollback
    to the base); a version trained for another site cannot, since it learned that site's corrections."""
    from ..model.pipeline import load_model

    record = store.get_model(version)
    if record is None:
        known = ", ".join(m.version for m in store.list_models()) or "none"
        raise ModelError(f"no model version {version!r} (known: {known})")
    target = resolve_site(store, site) if site else None
    if target and record.site and record.site != target:
        raise ModelError(f"model {version} was trained for {record.site}, not {target}")
    load_model(record.path)
    store.activate_model(version, site=target)
    return store.get_model(version)


def _unique_version(store: Store, version: str) -> str:
    """Same data and seed give the same version; a retrain on them is still a distinct registry entry."""
    if store.get_model(version) is None:
        return version
    n = 2
    while store.get_model(f"{version}-{n}") is not None:
        n += 1
    return f"{version}-{n}"


def _card_figures(card: dict) -> dict:
    figures = card.get("metrics") or {}
    keep = ("n", "n_spam", "precision", "recall", "roc_auc", "blocked_legit", "held_legit", "spam_caught")
    return {k: figures[k] for k in keep if k in figures and not _is_nan(figures[k])}


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and bool(np.isnan(value))
