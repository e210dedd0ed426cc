"""A Bind followed byte for byte by a driver's usual rest of the cycle (libpq: Describe
portal, Execute, Sync; asyncpg: Execute, Sync) is answered on the loop without decoding the
rest (Decoder.take_tail): the answers are byte for byte those of the message-by-message
path, errors and pipelines included, and a cycle whose Execute is not known cheap still goes
to a worker."""

from __future__ import annotations

import struct

import pytest

from sqlvec.server.cli import open_database, session_factory
from sqlvec.wire import messages as m
from sqlvec.wire.protocol import RUN_ON_WORKER, ServerConfig, ServerConnection
from tests.wire import pgclient as c

LIBPQ = c.describe("P") + c.execute() + c.SYNC
ASYNCPG = c.execute() + c.SYNC


pytestmark = pytest.mark.usefixtures("lifted_inline_limits")  # (tests/wire/conftest.py)


@pytest.fixture(scope="module")
def db():
    d = open_database(":memory:", None)
    s = session_factory(d)("postgres", "postgres", {})
    for sql in ("CREATE TABLE t (id int PRIMARY KEY, x float8, b bool)",
                "INSERT INTO t SELECT g, g * 0.5, g % 2 = 0 FROM generate_series(1, 50) g"):
        list(s.execute(sql))
    s.close()
    yield d
    d.close()


class Client:
    def __init__(self, db):
        self.conn = ServerConnection(ServerConfig(), session_factory(db), process_id=1,
                                     secret_key=2)
        self.run(c.startup(user="postgres", database="postgres"))

    def run(self, data: bytes, inline_first: bool = False) -> tuple[bytes, list]:
        """Feed data; process inline, then on a 'worker' whenever the loop hands over."""
        out: list[bytes] = []
        actions = []
        self.conn.receive(data)
        if inline_first:
            while (action := self.conn.process(out.append, inline=True)) is RUN_ON_WORKER:
                actions.append(action)
                self.conn.process(out.append)
        else:
            self.conn.process(out.append)
        return b"".join(out), actions


def _i4(v):
    return struct.pack("!i", v)


STATEMENTS = {
    "rows": "SELECT id, x, b FROM t WHERE id <= $1 ORDER BY id",
    "one": "SELECT x FROM t WHERE id = $1",
    "div": "SELECT 10 / ($1 - 3)",
}


def _cycles(tail: bytes) -> list[bytes]:
    return [
        c.bind([_i4(5)], stmt="rows", formats=(1,), result_formats=(1,)) + tail,
        c.bind([_i4(20)], stmt="rows", formats=(1,)) + tail,  # text results
        c.bind([b"7"], stmt="one") + tail,
        c.bind([_i4(3)], stmt="div", formats=(1,)) + tail,  # 22012 in Execute
        c.bind([b"x"], stmt="one") + tail,  # 22P02 in Bind: the rest skipped to Sync
        c.bind([_i4(1), _i4(2)], stmt="one", formats=(1,)) + tail,  # 08P01 parameter count
        c.bind([b"1"], stmt="missing") + tail,  # 26000
        c.bind([_i4(2)], stmt="rows", formats=(1,), result_formats=(1,)) + c.describe("P")
        + c.execute(max_rows=1) + c.execute() + c.SYNC,  # not the usual tail: decoded
    ]


def _prepared(db):
    cl = Client(db)
    for name, sql in STATEMENTS.items():
        cl.run(c.parse(sql, name) + c.SYNC)
        cl.run(c.bind([b"4"], stmt=name) + c.execute() + c.SYNC)  # measured on a "worker"
    return cl


@pytest.mark.parametrize("tail", [LIBPQ, ASYNCPG], ids=["libpq", "asyncpg"])
def test_tail_answers_equal_the_decoded_path(db, monkeypatch, tail):
    fast, slow = _prepared(db), _prepared(db)
    cycles = _cycles(tail)
    taken = []
    take = m.Decoder.take_tail
    monkeypatch.setattr(m.Decoder, "take_tail", lambda self: taken.append(take(self)) or taken[-1])
    got = [fast.run(cy, inline_first=True) for cy in cycles] + \
        [fast.run(b"".join(cycles), inline_first=True)]  # one pipelined buffer
    assert sum(t is not None for t in taken) == 2 * 7  # every usual cycle, alone and pipelined
    monkeypatch.setattr(m.Decoder, "take_tail", lambda self: None)
    want = [slow.run(cy, inline_first=True) for cy in cycles] + \
        [slow.run(b"".join(cycles), inline_first=True)]
    assert [g[0] for g in got] == [w[0] for w in want]
    assert all(not g[1] for g in got)  # all ran on the loop
    kinds = [c.kinds(g[0]) for g in got]
    assert kinds[0] == ("2TDDDDDCZ" if tail == LIBPQ else "2DDDDDCZ")
    assert kinds[3].endswith("EZ") and kinds[4] == "EZ" and kinds[5] == "EZ" and kinds[6] == "EZ"


def test_tail_is_taken_only_when_it_is_next_whole(db):
    cl = _prepared(db)
    bind = c.bind([_i4(2)], stmt="rows", formats=(1,))
    for cut in range(1, len(LIBPQ)):  # the rest arrives later: decoded as it comes
        first, _ = cl.run(bind + LIBPQ[:cut], inline_first=True)
        rest, _ = cl.run(LIBPQ[cut:], inline_first=True)
        assert c.kinds(first + rest) == "2TDDCZ"
    d = m.Decoder()
    d.start_regular()
    d.feed(LIBPQ[:-1])
    assert d.take_tail() is None and d.buffered == len(LIBPQ) - 1
    d.feed(LIBPQ[-1:] + c.SYNC)
    assert d.take_tail() == (m.DESCRIBE_UNNAMED_PORTAL, m.EXECUTE_UNNAMED_ALL, m.SYNC)
    assert d.next() is m.SYNC and d.next() is m.NEED_DATA


def test_an_execute_not_known_cheap_still_goes_to_a_worker(db):
    cl = _prepared(db)
    cl.run(c.parse("SELECT count(*) FROM t WHERE id > $1", "new") + c.SYNC)
    out, actions = cl.run(c.bind([b"1"], stmt="new") + LIBPQ, inline_first=True)
    assert actions == [RUN_ON_WORKER] and c.kinds(out) == "2TDCZ"
    # a statement prepared by SQL PREPARE: the Bind adopts it, its Execute is not yet known
    cl.run(c.query("PREPARE sqlp(int) AS SELECT id FROM t WHERE id < $1"))
    out, actions = cl.run(c.bind([b"3"], stmt="sqlp") + LIBPQ, inline_first=True)
    assert actions == [RUN_ON_WORKER] and c.kinds(out) == "2TDDCZ"
