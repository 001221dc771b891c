"""Shared fixtures: a small labeled corpus, a model fitted on it, and the pages we test parsing with."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PAGES = FIXTURES / "pages"
SEED_PAGE = ROOT.parent / "shared" / "seeds" / "001_1dad6b0814fd599e.txt"

# A fixed slice of the shipped data, one thread per subject family, so the fitted-model fixture takes
# seconds rather than the minutes of a full `moderation train`.
SMALL_CORPUS = [
    "pol-budget-impasse-day-41",
    "pol-cutler-street-bridge-closed",
    "dev-python-packaging-cli",
    "dev-norvik-fjell-laptop-review",
    "food-cast-iron-care",
    "food-tomato-blight-plot23",
    "money-household-budget",
    "money-crypto-skepticism",
    "go-colorado-trail-report",
    "go-budget-camping",
    "sci-dune-part-two-review",
    "sci-amoc-collapse-paper",
]


@pytest.fixture(scope="session")
def small_corpus_paths() -> list[Path]:
    return [ROOT / "data" / "threads" / f"{name}.json" for name in SMALL_CORPUS]


@pytest.fixture(scope="session")
def small_corpus(small_corpus_paths):
    from moderation.learning.dataset import load_labeled_threads

    return load_labeled_threads(small_corpus_paths)


@pytest.fixture(scope="session")
def fitted_bundle(small_corpus):
    from moderation.learning.training import train_model

    return train_model(small_corpus, seed=0, cv=3)


@pytest.fixture(scope="session")
def model_path(fitted_bundle, tmp_path_factory) -> Path:
    from moderation.model.pipeline import save_model

    return save_model(fitted_bundle, tmp_path_factory.mktemp("model") / "small.joblib")


@pytest.fixture(scope="session")
def moderator(fitted_bundle):
    from moderation.api import Moderator

    return Moderator(fitted_bundle)


@pytest.fixture
def garden_page() -> Path:
    return PAGES / "garden_thread.txt"


@pytest.fixture
def seed_page() -> Path:
    if not SEED_PAGE.exists():
        pytest.skip("../shared/seeds is not present on this machine")
    return SEED_PAGE
