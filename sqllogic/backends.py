"""Where the runner sends SQL: a PostgreSQL-wire server (psycopg 3, simple query
protocol, autocommit) or the embedded engine (`sqlvec.connect`).

Every backend answers `execute(sql) -> Outcome` with cells in PostgreSQL's text output
form, so the printing rules live in one place (values.py) for all of them.
"""

from __future__ import annotations

import functools
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Outcome:
    """The answer to one statement: rows (text cells + column OIDs) or an error."""

    oids: list[int] | None = None  # None: the statement returns no rows
    rows: list[list[str | None]] = field(default_factory=list)
    sqlstate: str | None = None
    message: str | None = None  # set when the statement failed

    @property
    def failed(self) -> bool:
        return self.message is not None


class Backend(Protocol):
    """An open connection for one test file."""

    def execute(self, sql: str) -> Outcome: ...

    def close(self) -> None: ...


BackendFactory = Callable[[], AbstractContextManager[Backend]]


class WireBackend:
    """A psycopg 3 connection driven through libpq's PQexec (the simple query protocol)."""

    def __init__(self, conn: Any, timeout: float | None = None) -> None:
        self.conn = conn
        self.timeout = timeout

    @classmethod
    def connect(cls, dsn: str, timeout: float | None = None) -> WireBackend:
        """Open an autocommit connection to `dsn`."""
        import psycopg

        return cls(psycopg.connect(dsn, autocommit=True), timeout)

    def execute(self, sql: str) -> Outcome:
        from psycopg import pq

        timer = None
        if self.timeout:
            timer = threading.Timer(self.timeout, self._cancel)
            timer.daemon = True
            timer.start()
        try:
            res = self.conn.pgconn.exec_(sql.encode("utf-8"))
        finally:
            if timer is not None:
                timer.cancel()
        status = res.status
        if status == pq.ExecStatus.TUPLES_OK:
            ncols, nrows = res.nfields, res.ntuples
            oids = [res.ftype(c) for c in range(ncols)]
            rows = []
            for r in range(nrows):
                row: list[str | None] = []
                for c in range(ncols):
                    v = res.get_value(r, c)
                    row.append(None if v is None else v.decode("utf-8", "replace"))
                rows.append(row)
            return Outcome(oids, rows)
        if status in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.EMPTY_QUERY):
            return Outcome()
        code = res.error_field(pq.DiagnosticField.SQLSTATE)
        msg = res.error_field(pq.DiagnosticField.MESSAGE_PRIMARY)
        if msg is None:
            msg = res.error_message or self.conn.pgconn.error_message or b"unknown error"
        if self.conn.pgconn.status != pq.ConnStatus.OK:
            raise ConnectionError(f"connection lost: {msg.decode('utf-8', 'replace').strip()}")
        return Outcome(
            sqlstate=code.decode() if code else None,
            message=msg.decode("utf-8", "replace").strip(),
        )

    def _cancel(self) -> None:
        """Ask the server to cancel the running statement (the per-statement timeout)."""
        try:
            self.conn.cancel()
        except Exception:  # noqa: BLE001 - best effort; the statement may have ended
            pass

    def close(self) -> None:
        self.conn.close()


class SchemaIsolated(WireBackend):
    """A wire connection working in a fresh schema that is dropped at close."""

    def __init__(self, conn: Any, timeout: float | None = None) -> None:
        super().__init__(conn, timeout)
        self.schema = "slt_" + secrets.token_hex(4)
        for sql in (f"CREATE SCHEMA {self.schema}", f"SET search_path TO {self.schema}"):
            out = super().execute(sql)
            if out.failed:
                raise RuntimeError(f"cannot isolate the file in a schema: {out.message}")

    def close(self) -> None:
        try:
            super().execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        finally:
            super().close()


def wire_factory(dsn: str, isolation: str = "schema", timeout: float | None = None):
    """A factory of per-file wire backends: isolation 'schema' (fresh schema) or 'none'."""

    @contextmanager
    def open_backend() -> Iterator[Backend]:
        import psycopg

        conn = psycopg.connect(dsn, autocommit=True)
        backend = (
            SchemaIsolated(conn, timeout) if isolation == "schema" else WireBackend(conn, timeout)
        )
        try:
            yield backend
        finally:
            backend.close()

    return open_backend


class EmbeddedBackend:
    """A PEP 249 connection from `sqlvec.connect(...)`; rows are printed as PostgreSQL text."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        try:
            self.conn.autocommit = True
        except Exception:  # noqa: BLE001 - a connection without the attribute is autocommit
            pass

    def execute(self, sql: str) -> Outcome:
        cur = self.conn.cursor()
        try:
            cur.execute(sql)
            if cur.description is None:
                return Outcome()
            oids = [_type_oid(d[1]) for d in cur.description]
            rows = [[pg_text(v, oids[i]) for i, v in enumerate(row)] for row in cur.fetchall()]
            return Outcome(oids, rows)
        except Exception as exc:  # noqa: BLE001 - every engine error becomes an Outcome
            code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
            if code is None and getattr(exc, "error", None) is not None:
                code = getattr(exc.error, "sqlstate", None)
            message = getattr(exc, "message", None) or str(exc)
            return Outcome(sqlstate=_code_text(code), message=str(message).strip() or repr(exc))
        finally:
            try:
                cur.close()
            except Exception:  # noqa: BLE001
                pass

    def close(self) -> None:
        self.conn.close()


def _code_text(code: object) -> str | None:
    """A SQLSTATE as its 5-character text (enum members carry it as .value)."""
    if code is None:
        return None
    return str(getattr(code, "value", code))


def _type_oid(type_code: object) -> int:
    """The OID behind a DB-API type_code (an int, a SqlType, or an object with .oid)."""
    if isinstance(type_code, int):
        return type_code
    return int(getattr(type_code, "oid", 25))


def embedded_factory(target: str = ":memory:"):
    """A factory of per-file embedded backends, each on a fresh `sqlvec.connect(target)`."""

    @contextmanager
    def open_backend() -> Iterator[Backend]:
        import sqlvec

        backend = EmbeddedBackend(sqlvec.connect(target))
        try:
            yield backend
        finally:
            backend.close()

    return open_backend


def pg_text(value: object, oid: int) -> str | None:
    """A Python value as PostgreSQL prints it (the embedded mode's stand-in for the wire)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    fmt = _engine_formatter()
    if fmt is not None:
        types, format_value = fmt
        t = types.by_oid(oid)
        if t is not None:
            try:
                return format_value(value, t)
            except Exception:  # noqa: BLE001 - fall back to the generic printing below
                pass
    return _fallback_text(value)


@functools.cache
def _engine_formatter():
    """(type registry, textio.format_value) of the engine, or None before they exist."""
    try:
        from sqlvec.core.textio import format_value
        from sqlvec.core.types import default_types

        return default_types(), format_value
    except Exception:  # noqa: BLE001
        return None


def _fallback_text(value: object) -> str:
    """PostgreSQL's output format for the common Python value types."""
    import datetime
    import decimal
    import math

    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return _float_text(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, datetime.datetime):
        text = value.isoformat(sep=" ")
        if value.tzinfo is not None and text.endswith("+00:00"):
            text = text[:-6] + "+00"
        return text
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "{" + ",".join("NULL" if v is None else _array_elem(v) for v in value) + "}"
    return str(value)


def _array_elem(v: object) -> str:
    text = _fallback_text(v)
    if text == "" or any(c in text for c in ' ,{}"\\') or text.upper() == "NULL":
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def _float_text(value: float) -> str:
    """float8out: shortest round-trip digits, exponent form below 1e-4 or from 1e15 up."""
    import decimal

    sign, digits, exp = decimal.Decimal(repr(value)).normalize().as_tuple()
    ds = "".join(map(str, digits))
    e = len(ds) + exp - 1
    head = "-" if sign else ""
    if value == 0:
        return head + "0"
    if e < -4 or e >= 15:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{head}{mant}e{'-' if e < 0 else '+'}{abs(e):02d}"
    if exp >= 0:
        return head + ds + "0" * exp
    point = len(ds) + exp
    if point > 0:
        return head + ds[:point] + "." + ds[point:]
    return head + "0." + "0" * (-point) + ds
