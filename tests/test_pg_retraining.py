"""tests/test_retraining.py again, every test, with its store on PostgreSQL (issue 12: same behaviour)."""

from __future__ import annotations

import pytest
from test_retraining import *  # noqa: F403 - its tests and fixtures, collected again here with the store below
from test_store_pg import pg_server, pg_url  # noqa: F401 - the throwaway server's fixtures

from moderation.service.store_pg import PgStore


@pytest.fixture
def store(pg_url):  # noqa: F811
    store = PgStore(pg_url)
    yield store
    store.close()
