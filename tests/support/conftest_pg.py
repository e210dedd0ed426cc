"""A pytest plugin with a session-wide PostgreSQL 15 fixture `pg15_dsn`.

Use it from any conftest.py with `pytest_plugins = ["tests.support.conftest_pg"]`, or
import `postgres_server` from tests.support.pg directly.
"""

from __future__ import annotations

import pytest

from tests.support.pg import pg_available, postgres_server


@pytest.fixture(scope="session")
def pg15_dsn():
    """DSN of a throw-away PostgreSQL 15 cluster; the test is skipped when PG is absent."""
    if not pg_available():
        pytest.skip("PostgreSQL 15 is not installed (pg_config not found)")
    with postgres_server() as dsn:
        yield dsn
