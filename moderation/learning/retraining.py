"""Learning from corrections: train a candidate and judge it against the serving model.

This module knows corrections as data. Which corrections a site has, which model it is served and the
registry of versions are the service's (moderation/service/registry.py, over its store); learning
never imports the service (issue 10: this module once imported service.store).

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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..model.thread import Comment, Post, Thread, comment_type

if TYPE_CHECKING:
    from ..model.bundle import ModelBundle

HOLDOUT_EVERY = 5


class LabeledCorrection(Protocol):
    """What retraining reads of a correction (the service's store keeps them: service.store.Correction)."""

    id: int
    site: str
    permalink: str
    label: str
    content: str
    author: str
    author_url: str
    author_email: str
    author_ip: str
    comment_type: str


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


def split_corrections(corrections: Sequence[LabeledCorrection], every: int = HOLDOUT_EVERY) -> tuple[list, list]:
    """(train, held out): every ``every``-th correction of each label, by id, is held out.

    Per label, so both kinds are judged; at least one of a label is held out once it has two, so that a
    young site's first corrections already count. Ids order it, so the split is the same on every run.
    """
    train: list[LabeledCorrection] = []
    held: list[LabeledCorrection] = []
    for label in ("spam", "ham"):
        group = sorted((c for c in corrections if c.label == label), key=lambda c: c.id)
        picked = {i for i in range(len(group)) if i % every == every - 1}
        if not picked and len(group) >= 2:
            picked = {len(group) - 1}
        for i, correction in enumerate(group):
            (held if i in picked else train).append(correction)
    return train, held


def corrections_to_threads(
    corrections: Iterable[LabeledCorrection], post_of: Callable[[str, str], tuple[str, str] | None]
) -> list[Thread]:
    """One thread per (site, permalink), carrying the post's (title, body) when ``post_of(site,
    permalink)`` knows it."""
    grouped: dict[tuple[str, str], list[LabeledCorrection]] = {}
    for correction in corrections:
        grouped.setdefault((correction.site, correction.permalink), []).append(correction)
    threads = []
    for (site, permalink), group in grouped.items():
        known = post_of(site, permalink) if permalink else None
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


def usable(corrections: Iterable[LabeledCorrection]) -> list[LabeledCorrection]:
    """Corrections with text: an empty one teaches no words, only that emptiness is spam (or ham)."""
    return [c for c in corrections if c.content.strip()]


def train_candidate(
    corrections: Sequence[LabeledCorrection],
    post_of: Callable[[str, str], tuple[str, str] | None],
    *,
    sources: Sequence[str] | None = None,
    data: Sequence[str | Path] = (),
    mapping=None,
    seed: int = 0,
    say: Callable[[str], None] = lambda message: None,
    whom: str = "the shared base model",
    held_out: int = 0,
) -> tuple[ModelBundle, int]:
    """A model trained on the same data as `train` with the same options, plus ``corrections``, and
    how many comments it learned from.

    By default the shipped model's own sources: a candidate trained on data/threads alone lost what the
    public corpora taught (link-less commercial spam), and could still be promoted on a handful of
    held-out corrections. The bundle's card names the sources."""
    from .sources import training_set
    from .training import train_model

    threads, provenance, missing = training_set(sources, data, mapping)
    if missing:
        say(f"sources absent, training without them: {', '.join(missing)}")
    threads += corrections_to_threads(corrections, post_of)
    say(
        f"training {whom} on {sum(len(t.comments) for t in threads)} comments ({len(corrections)} from "
        f"corrections); {held_out} corrections held out"
    )
    return train_model(threads, seed=seed, provenance=provenance), sum(len(t.comments) for t in threads)
