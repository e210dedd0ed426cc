"""A table larger than `--memory-limit` still answers queries after a restart (sealed, mmapped).

The server is started with an 8 MB budget and given a ~20 MB table; after a clean
restart its data is in segment files. Scans, filters, aggregates, a join and point
lookups must answer. A statement that must hold more than the budget at once fails
with 53200 and leaves the server running; `SHOW sqlvec.memory_limit` reports the budget
and a superuser may change it with SET.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.durability.harness import start_hooked
from tests.support.engine import ENGINE_MISSING, engine_available

pytestmark = pytest.mark.skipif(not engine_available(), reason=ENGINE_MISSING)

ROWS = 150_000
LIMIT = "8MB"


@pytest.fixture(scope="module")
def big_server(tmp_path_factory):
    """A server with an 8 MB budget whose table `big` (~20 MB) was written by an earlier run."""
    tmp = tmp_path_factory.mktemp("memlimit")
    data, log, events = tmp / "data", tmp / "server.log", tmp / "events"
    srv = start_hooked(data, log, events, "--memory-limit", LIMIT)
    try:
        with psycopg.connect(srv.dsn, autocommit=True) as c:
            c.execute("CREATE TABLE big (id int8 PRIMARY KEY, grp int4, pad text)")
            c.execute(
                "INSERT INTO big SELECT g, g %% 100, repeat(md5(g::text), 4) "
                "FROM generate_series(1::int8, %s) g",
                (ROWS,),
            )
    finally:
        assert srv.stop() == 0
    srv = start_hooked(data, log, events, "--memory-limit", LIMIT)
    yield srv
    srv.stop()


def test_queries_over_a_table_larger_than_the_budget_answer(big_server) -> None:
    with psycopg.connect(big_server.dsn, autocommit=True) as c:
        assert c.execute("SELECT count(*), sum(length(pad)) FROM big").fetchone() == (
            ROWS,
            ROWS * 128,
        )
        assert c.execute("SELECT count(*) FROM big WHERE pad LIKE 'ff%'").fetchone()[0] > 0
        groups = c.execute("SELECT grp, count(*) FROM big GROUP BY grp").fetchall()
        assert len(groups) == 100 and sum(n for _, n in groups) == ROWS
        assert c.execute("SELECT grp FROM big WHERE id = 12345").fetchall() == [(45,)]
        top = c.execute("SELECT id FROM big ORDER BY pad DESC LIMIT 3").fetchall()
        assert len(top) == 3
        (n,) = c.execute(
            "SELECT count(*) FROM big a JOIN big b ON a.id = b.id + 1 WHERE a.grp = 7"
        ).fetchone()
        assert n == ROWS // 100


def test_a_statement_over_the_budget_fails_with_53200_and_the_server_survives(
    big_server,
) -> None:
    with psycopg.connect(big_server.dsn, autocommit=True) as c:
        assert c.execute("SHOW sqlvec.memory_limit").fetchone() == (LIMIT,)
        with pytest.raises(psycopg.errors.OutOfMemory) as e:
            c.execute("SELECT string_agg(pad, ',') FROM big").fetchall()
        assert e.value.diag.message_primary == "out of memory"
        assert "8.0 MB memory limit" in (e.value.diag.message_detail or "")
        with pytest.raises(psycopg.errors.OutOfMemory):  # a nested loop over 150k x 150k rows
            c.execute("SELECT count(*) FROM big a, big b WHERE a.pad < b.pad").fetchall()
        assert c.execute("SELECT count(*) FROM big").fetchone() == (ROWS,)
    with psycopg.connect(big_server.dsn, autocommit=True) as c:  # nothing stayed reserved
        assert c.execute("SELECT grp, count(*) FROM big GROUP BY grp").fetchall()


def test_a_superuser_sets_the_memory_limit_for_the_whole_server(big_server) -> None:
    with psycopg.connect(big_server.dsn, autocommit=True) as c:
        c.execute("SET sqlvec.memory_limit = '64MB'")
        try:
            with psycopg.connect(big_server.dsn, autocommit=True) as other:
                assert other.execute("SHOW sqlvec.memory_limit").fetchone() == ("64MB",)
                (s,) = other.execute("SELECT string_agg(pad, ',') FROM big").fetchone()
                assert len(s) == ROWS * 129 - 1
        finally:
            c.execute("RESET sqlvec.memory_limit")
        assert c.execute("SHOW sqlvec.memory_limit").fetchone() == (LIMIT,)
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            c.execute("SET sqlvec.memory_limit = 'lots'")
        c.execute("CREATE ROLE plain LOGIN")
    with psycopg.connect(big_server.dsn.replace("user=sqlvec", "user=plain")) as p:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            p.execute("SET sqlvec.memory_limit = '1GB'")
        p.rollback()
        assert p.execute("SHOW sqlvec.memory_limit").fetchone() == (LIMIT,)
