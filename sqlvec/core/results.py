"""What running one statement produces, as the session hands it to wire and dbapi."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from sqlvec.core.types import SqlType


@dataclass(frozen=True)
class Column:
    """One result column as RowDescription describes it."""

    name: str
    type: SqlType
    table_oid: int = 0  # pg_class OID when the column comes straight from a table
    attnum: int = 0  # its pg_attribute.attnum (1-based), 0 otherwise


@dataclass
class Rows:
    """A result set: its columns and a stream of Arrow batches (column i is columns[i]).

    `batches` is consumed once; `tag` is the command tag's verb ('SELECT', 'FETCH',
    'INSERT', 'UPDATE', 'DELETE' for RETURNING, 'SHOW' prints 'SHOW'), and the row
    count is appended by whoever counts the rows sent (see `command_tag`).
    """

    columns: list[Column]
    batches: Iterator[pa.RecordBatch]
    tag: str = "SELECT"


@dataclass(frozen=True)
class Command:
    """A statement without a result set: its complete command tag, e.g. 'INSERT 0 3'."""

    tag: str


@dataclass(frozen=True)
class Empty:
    """An empty query string (EmptyQueryResponse)."""


@dataclass(frozen=True)
class Notice:
    """A NoticeResponse to send before the statement's result (severity NOTICE/WARNING)."""

    message: str
    severity: str = "NOTICE"
    code: str = "00000"
    detail: str | None = None
    hint: str | None = None


Result = Rows | Command | Empty


def command_tag(verb: str, count: int) -> str:
    """The CommandComplete tag for a row-returning verb: 'INSERT 0 n', 'SELECT n', ..."""
    if verb == "INSERT":
        return f"INSERT 0 {count}"
    if verb in ("SHOW", "EXPLAIN"):
        return verb
    return f"{verb} {count}"
