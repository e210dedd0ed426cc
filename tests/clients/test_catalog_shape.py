"""Every system relation has PostgreSQL 15's column names and type OIDs (RowDescription)."""

from __future__ import annotations

import pytest

from sqlvec.catalog.system.columns import COLUMNS
from tests.clients.conftest import need

psycopg = pytest.importorskip("psycopg")

# column types sqlvec does not have: shown as the nearest type it has
SUBSTITUTED = {("pg_attribute", "attmissingval"): (1009, 2277),  # text[] for anyarray
               ("pg_stat_activity", "client_addr"): (25, 869)}  # text for inet


def _shapes(dsn: str) -> dict:
    out = {}
    with psycopg.connect(dsn, autocommit=True) as con:
        for schema, rel in COLUMNS:
            cur = con.execute(f"select * from {schema}.{rel} limit 0")
            out[(schema, rel)] = [(d.name, d.type_code) for d in cur.description]
    return out


def test_system_relations_have_postgresql_shapes(server, pg15):
    theirs = _shapes(need(pg15).dsn)
    mine = _shapes(server.dsn)
    for (schema, rel), cols in theirs.items():
        expected = [(n, SUBSTITUTED.get((rel, n), (0, t))[0] if (rel, n) in SUBSTITUTED else t)
                    for n, t in cols]
        assert mine[(schema, rel)] == expected, f"{schema}.{rel}"
