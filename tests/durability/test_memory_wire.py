"""A table larger than `--memory-limit` still answers queries after a restart (sealed, mmapped).

The server is started with an 8 MB budget and given a ~20 MB table; after a clean
restart its data is in segment files. Scans, filters, aggregates, a join and point
lookups must answer. A statement that must hold more than the budget at once should fail
with 53200 and leave the server running: that part is a strict xfail while
`--memory-limit` is not passed on to the storage (see the reason).
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


@pytest.mark.xfail(
    strict=True,
    raises=pytest.fail.Exception,  # DID NOT RAISE; any other failure is a real one
    reason="--memory-limit is parsed by the server but Database.open drops it "
    "(sqlvec/session/database.py passes only superuser to Store.open) and no executor "
    "operator reserves from store.memory, so nothing ever fails with 53200",
)
def test_a_statement_over_the_budget_fails_with_53200_and_the_server_survives(
    big_server,
) -> None:
    with psycopg.connect(big_server.dsn, autocommit=True) as c:
        with pytest.raises(psycopg.errors.OutOfMemory):
            c.execute("SELECT string_agg(pad, ',') FROM big").fetchall()
        assert c.execute("SELECT count(*) FROM big").fetchone() == (ROWS,)
