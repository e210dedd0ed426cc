"""Fixtures for the logic-test suites: a PostgreSQL 15 cluster shared by the session."""

from __future__ import annotations

from tests.support.conftest_pg import pg15_dsn  # noqa: F401 - re-exported fixture
