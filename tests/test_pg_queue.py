"""tests/test_queue.py again, every test, with the service on PostgreSQL (issue 12: same behaviour)."""

from __future__ import annotations

import pytest
from fixtures.service.service_support import HERE, make_app
from test_queue import *  # noqa: F403 - its tests and fixtures, collected again here with the app below
from test_store_pg import pg_server, pg_url  # noqa: F401 - the throwaway server's fixtures


@pytest.fixture
def app(pg_url, tmp_path, model_path):  # noqa: F811
    app = make_app(pg_url, model_path, rate=1000, burst=1000)
    app.queue.options.data = [HERE]
    app.queue.options.models_dir = tmp_path / "models"
    yield app
    app.store.close()
