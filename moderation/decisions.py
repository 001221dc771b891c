"""From a spam probability to what a moderator sees: a verdict and the reasons behind it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

VERDICTS = ("approve", "hold", "spam")


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

    def to_dict(self, *, with_contributions: bool = False) -> dict:
        data = asdict(self)
        data["score"] = round(self.score, 4)
        if with_contributions:
            data["contributions"] = [[name, round(value, 4)] for name, value in self.contributions]
        else:
            del data["contributions"]
        return data
