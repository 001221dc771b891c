"""tests/test_queue_recheck.py again, every test, with its store on PostgreSQL (issue 12: same behaviour)."""

from __future__ import annotations

import pytest
from test_queue_recheck import *  # noqa: F403 - its tests and fixtures, collected again here with the store below
from test_store_pg import pg_server, pg_url  # noqa: F401 - the throwaway server's fixtures

from moderation.service.keys import new_key
from moderation.service.store_pg import PgStore


@pytest.fixture
def store(pg_url):  # noqa: F811
    store = PgStore(pg_url)
    new_key(store, BLOG)  # noqa: F405
    new_key(store, OTHER)  # noqa: F405
    yield store
    store.close()
