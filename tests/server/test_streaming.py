"""Large results stream: paging through a 2,000,000-row result keeps the server's memory flat.

Each client pages 1,000 rows at a time (asyncpg cursor = extended-protocol Execute with a row
limit; psycopg 3 server-side cursor = DECLARE / FETCH), or reads COPY (query) TO STDOUT whole.
The query computes new columns per row, so a server that materialised the result would grow
by about its size (~85 MB); a streaming one by a few batches. Each memory test has a server
of its own (memory an earlier test freed stays with the allocator and would hide growth). Also: an error in the middle of a stream is a proper ErrorResponse and aborts the
block (25P02), and an autocommit stream leaves the session idle and usable.
"""

from __future__ import annotations

import asyncio

import pytest

ROWS = 2_000_000
SMALL = 400_000
QUERY = "SELECT id, v + 1, 'row ' || id || ' value ' || v FROM t"


def _rss(pid: int) -> int:
    """Anonymous resident memory (heap): pages of memory-mapped segment files that a scan
    touches are file-backed, reclaimable and not what a materialised result would cost."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon")


def _result_bytes() -> int:
    """The Arrow size of QUERY's result (ids, values, strings with their offsets)."""
    text = sum(len(f"row {i} value {2 * i}") for i in range(1, ROWS + 1, 1000)) * 1000
    return ROWS * (8 + 8 + 4) + text


def _load(server, rows: int = ROWS):
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(server.dsn, autocommit=True) as c:
        c.execute("CREATE TABLE t (id bigint, v bigint)")
        c.execute(f"INSERT INTO t SELECT g, g * 2 FROM generate_series(1, {rows}) g")
    return server


@pytest.fixture(scope="module")
def big(server):
    """The module's server with a smaller table (error and portal tests)."""
    return _load(server, SMALL)


@pytest.fixture
def fresh(server_factory):
    """A server of its own with the table: memory freed by earlier tests and kept by the
    allocator would hide a materialised result from the RSS measurement."""
    return _load(server_factory())


def _check_page(rows: list, seen: int) -> None:
    assert rows[0][0] == seen + 1 and rows[-1][0] == seen + len(rows)
    last = rows[-1]
    assert last[1] == 2 * last[0] + 1 and last[2] == f"row {last[0]} value {2 * last[0]}"


def test_copy_of_a_query_to_stdout_streams(fresh) -> None:
    psycopg = pytest.importorskip("psycopg")
    pid = fresh.proc.pid
    with psycopg.connect(fresh.dsn, autocommit=True) as con:
        base = peak = _rss(pid)
        lines = size = 0
        with con.cursor().copy(f"COPY ({QUERY}) TO STDOUT") as copy:
            for i, block in enumerate(copy):
                lines += bytes(block).count(b"\n")
                size += len(block)
                if i % 20 == 0:
                    peak = max(peak, _rss(pid))
        assert lines == ROWS and size > _result_bytes() // 2
        assert peak - base < _result_bytes() // 2, (peak - base, _result_bytes())
        assert con.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_asyncpg_cursor_pages_with_flat_memory(fresh) -> None:
    asyncpg = pytest.importorskip("asyncpg")
    pid = fresh.proc.pid

    async def run() -> tuple[int, int, int]:
        con = await asyncpg.connect(host=fresh.host, port=fresh.port, user=fresh.user,
                                    database=fresh.database, ssl=False)
        try:
            base = peak = _rss(pid)
            n = 0
            async with con.transaction():
                cur = await con.cursor(QUERY)
                while rows := await cur.fetch(1000):
                    _check_page(rows, n)
                    n += len(rows)
                    if n % 50_000 == 0:
                        peak = max(peak, _rss(pid))
            assert await con.fetchval("SELECT count(*) FROM t") == ROWS
            return n, base, peak
        finally:
            await con.close()

    n, base, peak = asyncio.run(run())
    assert n == ROWS
    assert peak - base < _result_bytes() // 2, (peak - base, _result_bytes())


def test_psycopg_server_side_cursor_pages_with_flat_memory(fresh) -> None:
    psycopg = pytest.importorskip("psycopg")
    pid = fresh.proc.pid
    with psycopg.connect(fresh.dsn) as con:
        base = peak = _rss(pid)
        cur = con.cursor(name="big")
        cur.execute(QUERY)
        n = 0
        while rows := cur.fetchmany(1000):
            _check_page(rows, n)
            n += len(rows)
            if n % 50_000 == 0:
                peak = max(peak, _rss(pid))
        cur.close()
        assert n == ROWS
    assert peak - base < _result_bytes() // 2, (peak - base, _result_bytes())


def test_an_error_midway_through_a_stream(big) -> None:
    psycopg = pytest.importorskip("psycopg")
    bad = "SELECT id, 10 / (id - 300000) FROM t"  # fails in the fifth scanned batch
    with psycopg.connect(big.dsn, autocommit=True) as con:
        with pytest.raises(psycopg.errors.DivisionByZero):
            con.execute(bad).fetchall()
        assert con.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert con.execute("SELECT count(*) FROM t WHERE id < 10").fetchone() == (9,)
    with psycopg.connect(big.dsn) as con:  # in a block: aborted until ROLLBACK
        cur = con.cursor(name="c")
        cur.execute(bad)
        assert len(cur.fetchmany(1000)) == 1000
        with pytest.raises(psycopg.errors.DivisionByZero):
            cur.fetchall()
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            con.execute("SELECT 1")
        con.rollback()
        assert con.execute("SELECT 1").fetchone() == (1,)


def test_an_error_midway_through_a_simple_query_stream(big) -> None:
    asyncpg = pytest.importorskip("asyncpg")

    async def run() -> None:
        con = await asyncpg.connect(host=big.host, port=big.port, user=big.user,
                                    database=big.database, ssl=False)
        try:
            with pytest.raises(asyncpg.DivisionByZeroError):
                await con.execute("SELECT id, 10 / (id - 300000) FROM t")  # simple Query protocol
            assert await con.fetchval("SELECT 1") == 1
            await con.execute("BEGIN")
            with pytest.raises(asyncpg.DivisionByZeroError):
                await con.execute("SELECT id, 10 / (id - 300000) FROM t")
            with pytest.raises(asyncpg.InFailedSQLTransactionError):
                await con.execute("SELECT 1")
            await con.execute("ROLLBACK")
            assert await con.fetchval("SELECT count(*) FROM t WHERE id <= 5") == 5
        finally:
            await con.close()

    asyncio.run(run())


def test_an_abandoned_portal_ends_its_transaction(big) -> None:
    asyncpg = pytest.importorskip("asyncpg")

    async def run() -> None:
        con = await asyncpg.connect(host=big.host, port=big.port, user=big.user,
                                    database=big.database, ssl=False)
        try:
            async with con.transaction():
                cur = await con.cursor("SELECT id FROM t")
                assert [r[0] for r in await cur.fetch(3)] == [1, 2, 3]
            await con.execute("INSERT INTO t VALUES (0, 0)")  # writes after the stream still commit
            assert await con.fetchval("SELECT count(*) FROM t") == SMALL + 1
            await con.execute("DELETE FROM t WHERE id = 0")
            assert await con.fetchval("SELECT count(*) FROM t") == SMALL
        finally:
            await con.close()

    asyncio.run(run())

