"""A Bind of a prepared ANN top-k followed byte for byte by the driver's usual rest of the
cycle is answered whole on the loop (ServerConnection._answer, Session.answer): the bytes are
those of the message-by-message path, for binary and text parameters and results, both
drivers' tails, pipelines and errors; a transaction block, an error or an unusual cycle go
message by message; and the unnamed portal ends at the Sync, as in PostgreSQL."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from sqlvec.server.cli import open_database, session_factory
from sqlvec.session.session import Session
from sqlvec.wire import rows as rows_mod
from sqlvec.wire.protocol import ServerConnection
from tests.wire import pgclient as c
from tests.wire.test_execution_tail import ASYNCPG, LIBPQ, Client

STATEMENTS = {
    "ids": "SELECT id FROM t ORDER BY emb <-> $1 LIMIT 5",
    "rows": "SELECT id, label, emb <-> $1 AS d FROM t ORDER BY emb <-> $1 LIMIT 4 OFFSET 2",
    # (numpy columns only: answered without an Arrow batch where the formats are binary)
    "dist": "SELECT emb <-> $1 AS d, id FROM t ORDER BY emb <-> $1 LIMIT 3",
}


pytestmark = pytest.mark.usefixtures("lifted_inline_limits")  # (tests/wire/conftest.py)


@pytest.fixture(scope="module")
def db():
    d = open_database(":memory:", None)
    s = session_factory(d)("postgres", "postgres", {})
    x = _vectors()
    rows = ", ".join(f"({i}, '{v}', 'row {i}')" for i, v in
                     enumerate("[" + ",".join(map(str, r.tolist())) + "]" for r in x))
    for sql in ("CREATE TABLE t (id int, emb vector(4), label text)",
                f"INSERT INTO t VALUES {rows}",
                "CREATE INDEX ON t USING hnsw (emb vector_l2_ops)"):
        list(s.execute(sql))
    s.close()
    yield d
    d.close()


def _vectors() -> np.ndarray:
    return np.random.default_rng(3).standard_normal((400, 4)).astype(np.float32)


def _binary(v) -> bytes:
    return struct.pack("!hh", len(v), 0) + np.asarray(v, ">f4").tobytes()


def _text(v) -> bytes:
    return ("[" + ",".join(map(str, v)) + "]").encode()


def _prepared(db):
    cl = Client(db)
    cl.run(c.query("SET sqlvec.exact_scan_threshold = 0"))  # (400 rows: searched, not scanned)
    for name, sql in STATEMENTS.items():
        cl.run(c.parse(sql, name) + c.SYNC)
        cl.run(c.bind([_text([0, 0, 0, 0])], stmt=name) + c.execute() + c.SYNC)  # on a "worker"
        cl.run(c.bind([_text([0, 0, 0, 0])], stmt=name) + c.execute() + c.SYNC,
               inline_first=True)  # (the plan its executions share is made)
    return cl


def _cycles(tail: bytes) -> list[bytes]:
    q = [[0.5, -1, 2, 0.25], [1, 1, 1, 1], [-2, 0, 0.5, 3]]
    return [
        c.bind([_binary(q[0])], stmt="ids", formats=(1,), result_formats=(1,)) + tail,
        c.bind([_text(q[1])], stmt="ids") + tail,  # text in, text out
        c.bind([_binary(q[2])], stmt="rows", formats=(1,), result_formats=(1,)) + tail,
        c.bind([_text(q[0])], stmt="rows", result_formats=(0, 1, 0)) + tail,
        c.bind([b"[1,2"], stmt="ids") + tail,  # 22P02 in the Bind: skipped to the Sync
        c.bind([_text([1, 2, 3])], stmt="rows") + tail,  # 22000 (dimensions) in the Execute
        c.bind([_binary(q[1])], stmt="ids", formats=(1,)) + c.describe("P")
        + c.execute(max_rows=2) + c.execute() + c.SYNC,  # not the usual tail
        c.bind([_binary(q[2])], stmt="dist", formats=(1,), result_formats=(1,)) + tail,
        c.bind([_binary(q[0])], stmt="dist", formats=(1,), result_formats=(0, 1)) + tail,
    ]


@pytest.fixture()
def answered(monkeypatch):
    """How many cycles Session.answer answered."""
    n = [0]
    real = Session.answer

    def spy(self, *args):
        got = real(self, *args)
        n[0] += got is not None
        return got
    monkeypatch.setattr(Session, "answer", spy)
    return n


@pytest.mark.parametrize("tail", [LIBPQ, ASYNCPG], ids=["libpq", "asyncpg"])
def test_answers_equal_the_message_by_message_path(db, monkeypatch, answered, tail):
    lane, slow = _prepared(db), _prepared(db)
    cycles = _cycles(tail)
    for cl in (lane, slow):  # (a Bind's first use of its formats is checked one by one)
        cl.run(b"".join(cycles), inline_first=True)
    answered[0] = 0
    numpy_rows = []
    real = rows_mod.fixed_columns
    monkeypatch.setattr(rows_mod, "fixed_columns",
                        lambda *a: numpy_rows.append(real(*a)) or numpy_rows[-1])
    got = [lane.run(cy, inline_first=True) for cy in cycles] + \
        [lane.run(b"".join(cycles), inline_first=True)]  # one pipelined buffer
    assert answered[0] == 2 * 6  # the six good cycles, alone and pipelined
    # ids binary and text, dist binary and mixed: numpy columns; written as they are
    # where every column is binary (ids and dist binary), else as an Arrow batch
    assert [r is not None for r in numpy_rows] == [True, False, True, False] * 2
    monkeypatch.setattr(ServerConnection, "_answer", lambda self, msg: False)
    want = [slow.run(cy, inline_first=True) for cy in cycles] + \
        [slow.run(b"".join(cycles), inline_first=True)]
    assert [g[0] for g in got] == [w[0] for w in want]
    assert all(not g[1] for g in got)  # all on the loop
    kinds = [c.kinds(g[0]) for g in got]
    head = "2T" if tail == LIBPQ else "2"
    assert kinds[:4] == [head + "DDDDDCZ", head + "DDDDDCZ", head + "DDDDCZ", head + "DDDDCZ"]
    assert kinds[4] == "EZ" and kinds[5].endswith("EZ") and kinds[6] == "2TDDsDDDCZ"
    assert kinds[7] == kinds[8] == head + "DDDCZ"
    fields = c.error_fields(dict(c.split(got[4][0]))["E"]), \
        c.error_fields(dict(c.split(got[5][0]))["E"])
    assert [f["C"] for f in fields] == ["22P02", "22000"]


def test_the_rows_are_the_exact_top_k(db, answered):
    cl = _prepared(db)
    answered[0] = 0
    q = np.array([0.5, -1, 2, 0.25], np.float32)
    d = np.sqrt(((_vectors() - q) ** 2).sum(axis=1))
    cycle = c.bind([_binary(q)], stmt="rows", formats=(1,), result_formats=(0, 0, 0)) + ASYNCPG
    first, _ = cl.run(cycle, inline_first=True)  # (these formats' first Bind: one by one)
    out, _ = cl.run(cycle, inline_first=True)
    assert out == first
    rows = [c.data_row_values(b) for k, b in c.split(out) if k == "D"]
    want = np.argsort(d, kind="stable")[2:6]
    assert [int(r[0]) for r in rows] == want.tolist() and answered[0] == 1
    assert [r[1].decode() for r in rows] == [f"row {i}" for i in want]
    assert np.allclose([float(r[2]) for r in rows], d[want], rtol=1e-6)


def test_the_unnamed_portal_ends_at_the_sync(db, answered):
    """As PostgreSQL: outside a block the Sync destroys the unnamed portal, answered or not."""
    cl = _prepared(db)
    answered[0] = 0
    for bind in (c.bind([_text([1, 0, 0, 0])], stmt="ids") + LIBPQ,  # answered whole
                 c.bind([_text([1, 0, 0, 0])], stmt="ids") + c.execute(max_rows=9) + c.SYNC):
        cl.run(bind, inline_first=True)
        out, _ = cl.run(c.execute() + c.SYNC, inline_first=True)
        assert c.kinds(out) == "EZ" and c.error_fields(dict(c.split(out))["E"])["C"] == "34000"
    assert answered[0] == 1


def test_a_transaction_block_goes_message_by_message(db, answered):
    """In a block the statement sees the block's own rows: never answered whole."""
    cl = _prepared(db)
    answered[0] = 0
    cl.run(c.query("BEGIN"))
    cl.run(c.query("INSERT INTO t VALUES (9999, '[7,7,7,7]', 'mine')"))
    out, _ = cl.run(c.bind([_text([7, 7, 7, 7])], stmt="ids") + LIBPQ, inline_first=True)
    rows = [c.data_row_values(b) for k, b in c.split(out) if k == "D"]
    assert rows[0] == [b"9999"] and answered[0] == 0
    out, _ = cl.run(c.execute() + c.SYNC, inline_first=True)  # (in a block: the portal lives)
    assert c.kinds(out) == "CZ"
    cl.run(c.query("ROLLBACK"))
    out, _ = cl.run(c.bind([_text([7, 7, 7, 7])], stmt="ids") + LIBPQ, inline_first=True)
    assert [c.data_row_values(b) for k, b in c.split(out) if k == "D"][0] != [b"9999"]
    assert answered[0] == 1


def test_a_failure_inside_the_answer_goes_message_by_message(db, monkeypatch):
    """Anything Session.answer raises (a bug included) leaves the cycle to the
    message-by-message path, which answers it (or reports its error) as before."""
    lane, slow = _prepared(db), _prepared(db)
    cycle = c.bind([_text([0.5, -1, 2, 0.25])], stmt="rows") + LIBPQ
    want, _ = slow.run(cycle, inline_first=True)

    def broken(self, *args):
        raise RuntimeError("a bug in the answer")
    monkeypatch.setattr(Session, "answer", broken)
    got, _ = lane.run(cycle, inline_first=True)
    assert got == want and c.kinds(got) == "2TDDDDCZ"
