"""Learning from corrections: train a candidate, compare it with the serving model, promote or keep.

Corrections (submit-spam / submit-ham, or the JSON API) are split once, deterministically: most join
the shipped training data, and a held-out share is kept back to judge the candidate against the model
now serving. Those held-out corrections are the only data neither model trained on that reflects this
site's traffic, which is why they, and not the cross-validated figures on the shipped data, decide.

The rule ("not worse"), on the held-out corrections, each model at its own thresholds:
  1. it must not mark more legitimate comments as spam (``blocked_legit`` count), because a blocked
     legitimate comment is, in practice, never seen again; and
  2. it must not make more mistakes overall (legitimate marked spam plus spam let through unheld).
Ties promote, so that a candidate that learned from new corrections replaces an equal model.
  3. it must get at least one held-out correction right. A candidate wrong on every one of them is never
     promoted, even when the current model is as bad: the tie rule once promoted a candidate at
     "mistakes 2 vs 2" (issue 9 item 11), and a model that fails every example it is judged on has shown
     nothing; keeping the current one costs nothing while corrections accumulate.
Ties otherwise promote, so that a candidate that learned from new corrections replaces an equal model.
Without usable held-out corrections there is nothing site-specific to compare on: ``retrain`` says so
before training (minutes of work for a candidate nobody could judge), unless ``force`` is given.
Corrections with no text are neither trained on nor held out.

Per site (issue 9 item 5). Each site's corrections teach that site's model only. ``retrain(site=SITE)``
trains on the shipped data, SITE's corrections and those of sites that opted in to sharing
(``moderation keys share``), is judged on SITE's own held-out corrections, and is promoted for SITE only;
other sites keep their model. ``retrain()`` without a site trains the shared base model that every site
without its own is served, from the shared corrections only: one key holder's submit-spam can no longer
teach every other site's model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError, ModelError
from ..model.thread import Comment, Post, Thread, comment_type
from ..service.store import Correction, ModelRecord, Store

HOLDOUT_EVERY = 5


@dataclass
class Comparison:
    """Figures for one model on the held-out corrections."""

    version: str
    n: int = 0
    blocked_legit: int = 0
    missed_spam: int = 0
    held: int = 0
    scores: list[float] = field(default_factory=list)

    @property
    def mistakes(self) -> int:
        return self.blocked_legit + self.missed_spam

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "n": self.n,
            "blocked_legit": self.blocked_legit,
            "missed_spam": self.missed_spam,
            "held": self.held,
            "mistakes": self.mistakes,
        }


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


def split_corrections(corrections: Sequence[Correction], every: int = HOLDOUT_EVERY) -> tuple[list, list]:
    """(train, held out): every ``every``-th correction of each label, by id, is held out.

    Per label, so both kinds are judged; at least one of a label is held out once it has two, so that a
    young site's first corrections already count. Ids order it, so the split is the same on every run.
    """
    train: list[Correction] = []
    held: list[Correction] = []
    for label in ("spam", "ham"):
        group = sorted((c for c in corrections if c.label == label), key=lambda c: c.id)
        picked = {i for i in range(len(group)) if i % every == every - 1}
        if not picked and len(group) >= 2:
            picked = {len(group) - 1}
        for i, correction in enumerate(group):
            (held if i in picked else train).append(correction)
    return train, held


def corrections_to_threads(store: Store, corrections: Iterable[Correction]) -> list[Thread]:
    """One thread per (site, permalink), carrying the stored post text when the post is known."""
    grouped: dict[tuple[str, str], list[Correction]] = {}
    for correction in corrections:
        grouped.setdefault((correction.site, correction.permalink), []).append(correction)
    threads = []
    for (site, permalink), group in grouped.items():
        known = store.get_post(permalink, site=site) if permalink else None
        title, body = known if known else ("", "")
        comments = [
            Comment(
                body=c.content,
                author=c.author,
                id=f"correction-{c.id}",
                author_url=c.author_url,
                author_email=c.author_email,
                author_ip=c.author_ip,
                type=comment_type(c.comment_type),
                label=c.label,
            )
            for c in group
        ]
        threads.append(
            Thread(post=Post(title=title, body=body, url=permalink), comments=comments, id=f"{site} {permalink}")
        )
    return threads


def compare(moderator, threads: Sequence[Thread]) -> Comparison:
    figures = Comparison(version=str(moderator.version))
    for thread in threads:
        for comment, decision in zip(thread.comments, moderator.score_thread(thread, explain=False), strict=True):
            figures.n += 1
            figures.scores.append(float(decision.score))
            if decision.verdict == "hold":
                figures.held += 1
            if comment.label == "ham" and decision.verdict == "spam":
                figures.blocked_legit += 1
            elif comment.label == "spam" and decision.verdict == "approve":
                figures.missed_spam += 1
    return figures


def decide(candidate: Comparison | None, current: Comparison | None, *, force: bool = False) -> tuple[bool, str]:
    """Apply the module's rule; ``None`` figures mean there were no held-out corrections."""
    if candidate is None or current is None or candidate.n == 0:
        if force:
            return True, "no held-out corrections to compare on; promoted because --force was given"
        return (
            False,
            "no held-out corrections to compare on (need at least two of a label); kept the current model",
        )
    if candidate.mistakes >= candidate.n:
        return False, (
            f"candidate gets every one of the {candidate.n} held-out corrections wrong "
            f"(current model: {current.mistakes} wrong); never promoted"
        )
    if candidate.blocked_legit > current.blocked_legit:
        return False, (
            f"candidate marks more legitimate comments as spam ({candidate.blocked_legit} vs "
            f"{current.blocked_legit} of {candidate.n} held-out corrections)"
        )
    if candidate.mistakes > current.mistakes:
        return False, (
            f"candidate makes more mistakes ({candidate.mistakes} vs {current.mistakes} of {candidate.n} "
            "held-out corrections)"
        )
    return True, (
        f"candidate is not worse on {candidate.n} held-out corrections: legitimate marked spam "
        f"{candidate.blocked_legit} vs {current.blocked_legit}, "
        f"mistakes {candidate.mistakes} vs {current.mistakes}"
    )


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


def usable(corrections: Iterable[Correction]) -> list[Correction]:
    """Corrections with text: an empty one teaches no words, only that emptiness is spam (or ham)."""
    return [c for c in corrections if c.content.strip()]


def corrections_for(store: Store, site: str | None) -> tuple[list[Correction], list[Correction]]:
    """(judged, shared): the corrections split into train and held-out for ``site`` (its own; for the
    base model, the sharing sites'), and the other sharing sites' ones, which are only trained on."""
    sharing = store.sharing_sites()
    if site:
        return usable(store.corrections(sites=[site])), usable(
            store.corrections(sites=[s for s in sharing if s != site])
        )
    return usable(store.corrections(sites=sharing)), []


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
    from ..service.keys import resolve_site
    from .sources import training_set
    from .training import train_model

    say = progress or (lambda message: None)
    site = resolve_site(store, site) if site else None
    register_base_model(store, base_model)
    judged, shared = corrections_for(store, site)
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
    # The same data as `train` with the same options: by default the shipped model's own sources (a
    # candidate trained on data/threads alone lost what the public corpora taught, link-less commercial
    # spam, and could still be promoted on a handful of held-out corrections).
    threads, provenance, missing = training_set(sources, data, mapping)
    if missing:
        say(f"sources absent, training without them: {', '.join(missing)}")
    threads += corrections_to_threads(store, train_part)
    say(
        f"training {'for ' + site if site else 'the shared base model'} on "
        f"{sum(len(t.comments) for t in threads)} comments ({len(train_part)} from corrections); "
        f"{len(held_part)} corrections held out"
    )
    bundle = train_model(threads, seed=seed, provenance=provenance)
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

    held_threads = corrections_to_threads(store, held_part)
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
        trained_on={"comments": sum(len(t.comments) for t in threads), "corrections": len(train_part)},
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
    from ..service.keys import resolve_site

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
