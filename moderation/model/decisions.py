"""From a spam probability to what a moderator sees: a verdict and the reasons behind it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from .thread import Comment, Post, Thread

VERDICTS = ("approve", "hold", "spam")
EMPTY_REASON = "empty comment (deleted or blank)"


@dataclass(frozen=True)
class Thresholds:
    """Scores at or above ``hold`` are held for a moderator; at or above ``spam``, marked spam.

    Training picks them from cross-validated scores (see ``training.choose_thresholds``) so that
    only a set share of legitimate comments is held, and fewer still are marked spam.
    """

    hold: float = 0.5
    spam: float = 0.8

    def __post_init__(self) -> None:
        # Written so that NaN fails too: every comparison with NaN is False.
        if not (0.0 <= self.hold <= self.spam <= 1.0):
            raise ValueError(f"thresholds must satisfy 0 <= hold <= spam <= 1, got {self}")

    def verdict(self, score: float) -> str:
        if score >= self.spam:
            return "spam"
        if score >= self.hold:
            return "hold"
        return "approve"

    @property
    def discard(self) -> float:
        """The score from which spam with no sign of a real reader is ``blatant``: halfway from the spam
        threshold to certainty, so that only the model's surest spam qualifies."""
        return self.spam + (1.0 - self.spam) / 2


@dataclass(frozen=True)
class Incoming:
    """One comment scored on its own as it arrives (a service check), under its post if known, beside
    its thread if given (the thread's comments are context, not scored). Here rather than in ``api`` so
    that the service can build one without importing scikit-learn."""

    comment: Comment
    post: Post | None = None
    thread: Thread | None = None


@dataclass
class Decision:
    """The outcome for one comment. ``reasons`` are sentences; ``contributions`` the raw evidence."""

    position: int
    comment_id: str
    author: str
    score: float
    verdict: str
    reasons: list[str] = field(default_factory=list)
    empty: bool = False
    contributions: list[tuple[str, float]] = field(default_factory=list)
    # Spam so sure, and with no sign of a real reader, that a client may discard it unseen.
    blatant: bool = False

    @classmethod
    def fixed(cls, comment: Comment, *, spam: bool, reason: str, blatant: bool = False) -> Decision:
        """An answer given without the model (Akismet's test values, a filled honeypot): score 1 or 0."""
        return cls(
            position=comment.position,
            comment_id=comment.id,
            author=comment.author,
            score=1.0 if spam else 0.0,
            verdict="spam" if spam else "approve",
            reasons=[reason],
            empty=comment.is_empty,
            blatant=spam and blatant,
        )

    def to_dict(self, *, with_contributions: bool = False) -> dict:
        data = asdict(self)
        data["score"] = round(self.score, 4)
        if with_contributions:
            data["contributions"] = [[name, round(value, 4)] for name, value in self.contributions]
        else:
            del data["contributions"]
        return data


Explainer = Callable[[str], tuple[Sequence[str], Sequence[tuple[str, float]]]]


def decision_for(
    comment: Comment,
    score: float,
    thresholds: Thresholds,
    *,
    explain: Explainer | None = None,
    real_reader: bool = False,
) -> Decision:
    """The one place a score becomes a decision: verdict, reasons, the empty flag and ``blatant``.

    ``explain`` gets the verdict (reasons point the way it went) and returns reasons and evidence.
    ``real_reader``: the comment shows a sign of a real reader (``api.REAL_READER_SIGNS``), so it is
    never blatant, however high its score: a reader's link to their own build post scored 0.9995 and
    was discarded unseen (issue 8)."""
    verdict = thresholds.verdict(score)
    reasons, evidence = explain(verdict) if explain is not None else ((), ())
    reasons = list(reasons)
    empty = comment.is_empty
    if empty and EMPTY_REASON not in reasons:
        reasons.insert(0, EMPTY_REASON)
    return Decision(
        position=comment.position,
        comment_id=comment.id,
        author=comment.author,
        score=score,
        verdict=verdict,
        reasons=reasons,
        empty=empty,
        contributions=list(evidence),
        blatant=verdict == "spam" and score >= thresholds.discard and not real_reader,
    )
