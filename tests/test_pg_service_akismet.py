"""tests/test_service_akismet.py again, every test, with the service on PostgreSQL (issue 12: same behaviour)."""

from __future__ import annotations

import pytest
from fixtures.service.service_support import make_app
from test_service_akismet import *  # noqa: F403 - its tests and fixtures, collected again here with the app below
from test_store_pg import pg_server, pg_url  # noqa: F401 - the throwaway server's fixtures


@pytest.fixture
def app(pg_url, model_path):  # noqa: F811
    app = make_app(pg_url, model_path)
    yield app
    app.store.close()
