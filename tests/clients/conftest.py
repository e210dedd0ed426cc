"""One PostgreSQL 15 cluster shared by every comparison in tests/clients (None when absent)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.support.pg import pg_available, postgres_server


@dataclass(frozen=True)
class Pg15:
    host: str
    port: int
    dsn: str  # user postgres, database postgres

    def fresh_database(self, name: str) -> str:
        """(Re)create database `name` so a test module compares against its own objects only."""
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as con:
            con.execute(f"drop database if exists {name}")
            con.execute(f"create database {name}")
        return name


@pytest.fixture(scope="session")
def pg15():
    """The shared cluster, or None (tests then check sqlvec alone and skip the comparison)."""
    if not pg_available():
        yield None
        return
    with postgres_server() as dsn:
        parts = dict(p.split("=", 1) for p in dsn.split())
        yield Pg15(parts.get("host", "127.0.0.1"), int(parts["port"]), dsn)


def need(pg15: Pg15 | None) -> Pg15:
    """pg15, or skip: the comparison needs PostgreSQL 15."""
    if pg15 is None:
        pytest.skip("PostgreSQL 15 is not available to compare with")
    return pg15
