"""Prepared statements from SQL (PREPARE/DEALLOCATE/DISCARD ALL) and from the protocol
(Parse/Bind/Describe/Close) share one namespace, as in PostgreSQL: after DEALLOCATE or
DISCARD ALL (a pooler's reset) a Bind is 26000 and a Parse may reuse the name; a SQL
PREPAREd statement can be bound by the protocol. Checked against PostgreSQL 15."""

from __future__ import annotations

from tests.server.test_robustness import raw, read_until
from tests.wire import pgclient as c

READY = b"Z\x00\x00\x00\x05"


def _exchange(s, payload: bytes, keep: str = "123CntT") -> list[tuple[str, str]]:
    """The answer's messages: errors by SQLSTATE, DataRows by text, the `keep` kinds bare,
    and ReadyForQuery's transaction status when "Z" is kept."""
    s.sendall(payload)
    out = []
    for kind, body in c.split(read_until(s, READY)):
        if kind == "E":
            out.append((kind, c.error_fields(body)["C"]))
        elif kind == "D":
            out.append((kind, body[6:].decode()))
        elif kind == "Z" and kind in keep:
            out.append((kind, body.decode()))
        elif kind in keep:
            out.append((kind, ""))
    return out


def test_sql_and_protocol_prepared_statements_share_one_namespace(server):
    s = raw(server)
    try:
        run = [
            (c.parse("SELECT 1", "sp_1") + c.SYNC, [("1", "")]),
            (c.query("DEALLOCATE sp_1"), [("C", "")]),
            (c.bind(stmt="sp_1") + c.execute() + c.SYNC, [("E", "26000")]),
            (c.parse("SELECT 2", "sp_1") + c.bind(stmt="sp_1") + c.execute() + c.SYNC,
             [("1", ""), ("2", ""), ("D", "2"), ("C", "")]),
            (c.parse("SELECT 3", "sp_2") + c.SYNC, [("1", "")]),
            (c.query("DISCARD ALL"), [("C", "")]),
            (c.parse("SELECT 4", "sp_2") + c.bind(stmt="sp_2") + c.execute() + c.SYNC,
             [("1", ""), ("2", ""), ("D", "4"), ("C", "")]),
            (c.query("PREPARE sp_3 (int) AS SELECT $1 + 1"), [("C", "")]),
            (c.describe("S", "sp_3") + c.SYNC, [("t", ""), ("T", "")]),
            (c.bind([b"5"], stmt="sp_3") + c.execute() + c.SYNC, [("2", ""), ("D", "6"), ("C", "")]),
            (c.parse("SELECT 0", "sp_3") + c.SYNC, [("E", "42P05")]),
            (c.close("S", "sp_3") + c.SYNC, [("3", "")]),
            (c.query("EXECUTE sp_3 (1)"), [("E", "26000")]),
            (c.query("DEALLOCATE ALL"), [("C", "")]),
            (c.bind(stmt="sp_2") + c.execute() + c.SYNC, [("E", "26000")]),
        ]
        got = [_exchange(s, payload) for payload, _ in run]
        assert got == [want for _, want in run]
    finally:
        s.close()


def test_per_column_formats_flush_and_skip_until_sync_on_the_engine(server):
    import struct

    s = raw(server)
    try:
        # parameter formats (binary, text), result formats (text, binary)
        s.sendall(c.parse("SELECT $1::int4 + 1 AS a, $2::text AS b, $1::int4 * 2 AS c", oids=(23, 25))
                  + c.bind([struct.pack("!i", 20), b"hi"], formats=(1, 0), result_formats=(0, 1, 0))
                  + c.execute() + c.SYNC)
        out = c.split(read_until(s, READY))
        assert [k for k, _ in out] == list("12DCZ")
        assert c.data_row_values(out[2][1]) == [b"21", b"hi", b"40"]
        s.sendall(c.parse("SELECT 7", "sp_f") + c.FLUSH)  # Flush: ParseComplete now, no ReadyForQuery
        assert c.kinds(read_until(s, b"1\x00\x00\x00\x04")) == "1"
        # an error: everything up to Sync is skipped, then the connection serves again
        s.sendall(c.bind(stmt="sp_f") + c.parse("SELECT 1 / (g - 1) FROM generate_series(1, 1) g", "sp_z") + c.bind(stmt="sp_z")
                  + c.execute() + c.bind(stmt="sp_f") + c.execute() + c.SYNC)
        out = c.split(read_until(s, READY))
        assert [k for k, _ in out] == list("212EZ")
        assert c.error_fields(out[3][1])["C"] == "22012"
        s.sendall(c.bind(stmt="sp_f") + c.execute() + c.SYNC)
        out = c.split(read_until(s, READY))
        assert [k for k, _ in out] == list("2DCZ") and c.data_row_values(out[1][1]) == [b"7"]
    finally:
        s.close()


def test_portals_end_with_their_transaction_and_protocol_errors_abort_the_block(server):
    s = raw(server)
    try:
        run = [
            # outside a block a named portal lives until Sync (its implicit transaction)
            (c.parse("SELECT 1", "sp_q") + c.bind(stmt="sp_q", portal="pp") + c.execute("pp")
             + c.SYNC, [("1", ""), ("2", ""), ("D", "1"), ("C", ""), ("Z", "I")]),
            (c.execute("pp") + c.SYNC, [("E", "34000"), ("Z", "I")]),
            (c.query("BEGIN"), [("C", ""), ("Z", "T")]),
            (c.bind(stmt="sp_q", portal="pp") + c.SYNC, [("2", ""), ("Z", "T")]),  # kept in a block
            (c.execute("pp") + c.SYNC, [("D", "1"), ("C", ""), ("Z", "T")]),
            # an error the protocol layer finds (a duplicate portal) aborts the block
            (c.bind(stmt="sp_q", portal="pp") + c.SYNC, [("E", "42P03"), ("Z", "E")]),
            (c.query("SELECT 1"), [("E", "25P02"), ("Z", "E")]),
            (c.query("ROLLBACK"), [("C", ""), ("Z", "I")]),
        ]
        got = [_exchange(s, payload, "123CZ") for payload, _ in run]
        assert got == [want for _, want in run]
    finally:
        s.close()
