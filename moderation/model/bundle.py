"""A saved model's files and the facts needed to trust them, without scikit-learn.

A model is three files side by side: ``name.joblib`` (the fitted pipeline, a pickle), ``name.card.json``
(format, versions, metrics, and the SHA-256 of the other two) and ``name.params.npz`` (the fitted
parameters as plain arrays, read by scoring.py without unpickling or importing scikit-learn). Loading
either model file is refused unless its hash matches the card.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ModelError
from .decisions import Thresholds

# Bump when the bundle's layout or the features' meaning changes: old files are then refused.
# 3: text normalised before every feature (look-alikes, invisible characters); link, contact, money,
# keyword and obfuscation signals; trained on several sources; the model file's hash in its card.
# 4: the pickled classes moved to moderation.model.* (the layout by concern, issue 10).
FORMAT_VERSION = 4
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL_PATH = PROJECT_ROOT / "models" / "default.joblib"


@dataclass
class ModelBundle:
    """The fitted pipeline with its thresholds and card. ``pipeline`` is None for a model loaded from
    its parameter file (``Moderator.load``), which scores without it."""

    pipeline: object
    thresholds: Thresholds
    card: dict = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.card.get("version", "unversioned"))


def card_path(model_path: str | Path) -> Path:
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + ".card.json")


def params_path(model_path: str | Path) -> Path:
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + ".params.npz")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_model_path(path: Path) -> None:
    """Refuse a model path that is missing, a directory, or not a regular file (a FIFO would block)."""
    if not path.exists():
        hint = " (run `moderation train` to build it)" if path == DEFAULT_MODEL_PATH else ""
        raise ModelError(f"{path}: no such model file{hint}")
    if path.is_dir():
        raise ModelError(f"{path}: is a directory, expected a model file")
    if not path.is_file():
        raise ModelError(f"{path}: not a regular file")


def read_card(path: Path) -> dict:
    """The card beside a model file, as a dict; a missing or unreadable card is a ModelError."""
    card_file = card_path(path)
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: no card {card_file.name} beside it to verify the model against") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{card_file}: not a readable model card ({type(exc).__name__})") from None
    if not isinstance(card, dict):
        raise ModelError(f"{card_file}: not a readable model card (not an object)")
    return card


def verify_model_file(path: Path) -> None:
    """Refuse, before anything is unpickled, a model file that is not the one its card describes.

    A joblib file is a pickle: loading a tampered one runs the attacker's code before any check on
    its content could (issue 9). The card beside it records the file's SHA-256 at saving time.
    """
    card = read_card(path)
    expected = card.get("model_sha256")
    if not isinstance(expected, str):
        raise ModelError(f"{card_path(path)}: records no model_sha256; retrain or re-save the model to use it")
    if file_sha256(path) != expected:
        raise ModelError(f"{path}: does not match the SHA-256 in {card_path(path).name}; refusing to load it")
