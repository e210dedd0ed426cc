"""A tiny in-test Session double speaking docs/CONTRACTS.md "session" (tests only)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

from sqlvec.core import types
from sqlvec.core.errors import InFailedSqlTransaction, QueryCanceled, SyntaxError_, UndefinedTable
from sqlvec.core.results import Column, Command, Empty, Notice, Rows


@dataclass
class Stmt:
    sql: str
    param_types: list
    columns: list | None


@dataclass
class Portal:
    stmt: Stmt
    params: list
    pos: int = 0


class FakeSession:
    """Understands: SELECT <n rows> | ERROR | BEGIN/COMMIT | SET x = v | NOTICE | SLEEP | ''."""

    def __init__(self, user="alice", database="db", params=None):
        self.user, self.database = user, database
        self.txn_status = "I"
        self.settings = {"application_name": (params or {}).get("application_name", "")}
        self._notices: list[Notice] = []
        self.closed = False
        self.cancelled = False
        self.log: list = []

    timezone = "UTC"

    def parameter_status(self):
        return {"application_name": self.settings["application_name"]}

    def notices(self):
        out, self._notices = self._notices, []
        return out

    def _rows(self, n: int, params=()):
        ids = pa.array(range(1, n + 1), pa.int32())
        names = pa.array([f"r{i}" if i % 3 else None for i in range(1, n + 1)])
        cols = [Column("id", types.INT4), Column("name", types.TEXT)]
        batch = pa.record_batch([ids, names], names=["id", "name"])
        return cols, batch

    def _run(self, sql: str, params=()):
        s = sql.strip().rstrip(";").strip()
        up = s.upper()
        if self.txn_status == "E" and up not in ("COMMIT", "ROLLBACK"):
            raise InFailedSqlTransaction(
                "current transaction is aborted, commands ignored until end of transaction block")
        if not s:
            return Empty()
        if up == "BEGIN":
            self.txn_status = "T"
            return Command("BEGIN")
        if up in ("COMMIT", "ROLLBACK"):
            self.txn_status = "I"
            return Command("ROLLBACK" if up == "ROLLBACK" or self.txn_status == "E" else "COMMIT")
        if up.startswith("SET "):
            name, value = re.match(r"SET (\w+) = '?([^']*)'?", s, re.I).groups()
            self.settings[name] = value
            return Command("SET")
        if up == "NOTICE":
            self._notices.append(Notice("hello there"))
            return Command("DO")
        if up.startswith("SELECT $1"):
            arr = pa.array([params[0]]) if params[0] is not None else pa.nulls(1, pa.string())
            return Rows([Column("v", types.TEXT)], iter([pa.record_batch([arr.cast(pa.string())], names=["v"])]))
        m = re.fullmatch(r"SELECT (\d+)", s, re.I)
        if m:
            cols, batch = self._rows(int(m.group(1)))
            return Rows(cols, iter([batch]))
        if up == "CANCELME":
            raise QueryCanceled("canceling statement due to user request")
        if up.startswith("FROM"):
            self._fail()
            raise UndefinedTable('relation "nope" does not exist', position=6)
        self._fail()
        raise SyntaxError_(f'syntax error at or near "{s.split()[0]}"', position=1)

    def _fail(self):
        if self.txn_status == "T":
            self.txn_status = "E"

    def execute(self, sql: str):
        for part in sql.split(";") if ";" in sql.strip().rstrip(";") else [sql]:
            yield self._run(part)

    def prepare(self, sql, param_oids, name=""):
        self.log.append(("prepare", name, sql))
        if sql.upper().startswith("SELECT $1"):
            return Stmt(sql, [types.TEXT], [Column("v", types.TEXT)])
        m = re.fullmatch(r"SELECT (\d+)", sql.strip(), re.I)
        if m:
            return Stmt(sql, [], self._rows(1)[0])
        if sql.upper().startswith(("BEGIN", "COMMIT", "SET")):
            return Stmt(sql, [], None)
        if sql.upper().startswith("INT"):
            return Stmt(sql, [types.INT4, types.INT8, types.BOOL, types.FLOAT8], None)
        raise SyntaxError_("syntax error at or near \"" + sql.split()[0] + '"', position=1)

    def bind(self, stmt, params, result_formats, name=""):
        self.log.append(("bind", params))
        return Portal(stmt, params)

    def describe_portal(self, portal):
        return portal.stmt.columns

    def execute_portal(self, portal, max_rows=0):
        result = self._run(portal.stmt.sql, portal.params)
        if not isinstance(result, Rows):
            return result, False
        batch = pa.Table.from_batches(list(result.batches)).combine_chunks().to_batches()[0]
        rest = batch.slice(portal.pos)
        if max_rows and rest.num_rows > max_rows:
            portal.pos += max_rows
            return Rows(result.columns, iter([rest.slice(0, max_rows)])), True
        portal.pos += rest.num_rows
        return Rows(result.columns, iter([rest])), False

    def close_statement(self, name):
        self.log.append(("close_statement", name))

    def close_portal(self, name):
        self.log.append(("close_portal", name))

    def sync(self):
        pass

    def cancel(self):
        self.cancelled = True

    def close(self):
        self.closed = True
