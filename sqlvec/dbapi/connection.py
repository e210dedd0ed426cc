"""PEP 249 Connection and Cursor over an in-process Session (no socket, same engine).

Parameters use psycopg's 'pyformat' style (%s, %(name)s, %% for a literal %) and are
bound server-side: the query becomes $1..$n, goes through prepare/bind/execute_portal
like the extended protocol, so no value is ever spliced into SQL text. Rows arrive as
Arrow batches and are converted to Python a batch at a time.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa

from sqlvec.core.errors import SqlError
from sqlvec.core.results import Column, Command, Rows, command_tag
from sqlvec.dbapi.exceptions import (
    Error,
    InterfaceError,
    ProgrammingError,
    from_exception,
    from_sql_error,
)
from sqlvec.dbapi.stmt_cache import DEFAULT_SIZE, StatementCache

DEFAULT_USER = "sqlvec"
DEFAULT_DATABASE = "sqlvec"

_PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]+)\))?(?P<kind>[sbt%])|%")


def convert_placeholders(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple[str, list]:
    """'... %s ... %(x)s' -> ('... $1 ... $2', values in order); %% stays a single %."""
    out, values, _ = _convert(sql, params)
    return out, values


class PlaceholderCache:
    """convert_placeholders by operation text, remembered: a repeated execute only picks
    its values (positional: the count must match; named: the names, in order)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._hits: dict[tuple[str, bool], tuple[str, Any]] = {}

    def convert(self, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple[str, list]:
        named = type(params) not in (tuple, list) and isinstance(params, Mapping)  # (ABC check: slow)
        hit = self._hits.get((sql, named))
        if hit is not None:
            out, spec = hit
            if named:
                if all(n in params for n in spec):
                    return out, [params[n] for n in spec]
            elif isinstance(params, list | tuple) and len(params) == spec:
                return out, list(params)
        out, values, spec = _convert(sql, params)  # raises the ProgrammingError on a mismatch
        if len(self._hits) >= self.size:
            self._hits.clear()
        self._hits[(sql, named)] = (out, spec)
        return out, values


def _convert(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple[str, list, Any]:
    """convert_placeholders plus what a repeat needs: the count (positional) or the names."""
    values: list[Any] = []
    names: dict[str, int] = {}
    positional = iter(params) if not isinstance(params, Mapping) else None

    def repl(m: re.Match) -> str:
        kind, name = m.group("kind"), m.group("name")
        if kind == "%" and name is None:
            return "%"
        if kind is None:
            raise ProgrammingError("only '%s', '%(name)s' and '%%' are allowed as placeholders")
        if name is not None:
            if not isinstance(params, Mapping):
                raise ProgrammingError("named placeholders need a mapping of parameters")
            if name not in names:
                if name not in params:
                    raise ProgrammingError(f"query parameter missing: {name}")
                values.append(params[name])
                names[name] = len(values)
            return f"${names[name]}"
        if positional is None:
            raise ProgrammingError("positional placeholders need a sequence of parameters")
        try:
            values.append(next(positional))
        except StopIteration:
            raise ProgrammingError("the query has more placeholders than parameters") from None
        return f"${len(values)}"

    out = _PLACEHOLDER.sub(repl, sql)
    if positional is not None and next(positional, _END) is not _END:
        raise ProgrammingError("the query has fewer placeholders than parameters")
    return out, values, (tuple(names) if positional is None else len(values))


_END = object()

# parameter types whose text form IS the value (a str binds to them as it is)
_STRINGY = frozenset({"text", "varchar", "bpchar", "name", "json", "char", "unknown", "xml"})


def text_params(values: list[Any], types: list[Any]) -> list[Any]:
    """A str bound where a non-text type is inferred is read by that type's text input.

    In PostgreSQL a str parameter is an unknown-typed literal ('[1,2,3]' into vector(3),
    '{1,2}' into int4[], '2024-01-02' into date): the same happens here, with the type's
    errors (22P02 ...).

        >>> text_params(["[1,2]", "x"], [VECTOR_2, TEXT])  # doctest: +SKIP
        [[1.0, 2.0], 'x']

    A bf16vec parameter given as numbers (a list, a tuple, a numpy array: what its result
    rows give) is read as their text would be: rounded to bfloat16, with its errors (its
    values inside the engine are the bit patterns it stores).
    """
    out = values
    for i, v in enumerate(values):
        t = types[i] if i < len(types) else None
        if t is None:
            continue
        if isinstance(v, str) and t.short not in _STRINGY:
            text = v
        elif t.short == "bf16vec" and isinstance(v, list | tuple | np.ndarray):
            text = "[" + ",".join(map(repr, np.asarray(v).tolist())) + "]"
        else:
            continue
        from sqlvec.core.textio import parse_text_value

        if out is values:
            out = list(values)
        out[i] = parse_text_value(text, t)
    return out


def _column_values(arr: pa.Array, col: Column) -> list:
    """Python values of one column per docs/CONTRACTS.md (uuid.UUID for uuid)."""
    if isinstance(arr.type, pa.ExtensionType) and col.type.short == "numeric":  # numeric text
        return [None if v is None else Decimal(v) for v in arr.storage.to_pylist()]  # (fast path)
    values = arr.to_pylist()
    if col.type.short == "uuid":
        return [None if v is None else uuid.UUID(bytes=v) for v in values]
    if col.type.short == "numeric" and arr.type == pa.decimal128(38, 16):  # the storage form
        from sqlvec.core.textio_numeric import trimmed_scale  # shows its digits trimmed: 1.5

        scales = trimmed_scale(arr).tolist()
        return [None if v is None else v.quantize(Decimal(1).scaleb(-d)) for v, d in zip(values, scales)]
    return values


def _plain_values(arr: pa.Array, col: Column) -> list:
    """Python values of a column whose type needs no conversion beyond Arrow's."""
    if isinstance(arr.type, pa.ExtensionType):
        return _column_values(arr, col)
    return arr.to_pylist()


def _converter(col: Column) -> Any:
    """The function giving a result column's Python values (picked once per result shape)."""
    if col.type.base_element.short in ("bit", "varbit"):
        from sqlvec.dbapi.types import bit_values  # the text form, as psycopg

        return bit_values
    if col.type.short == "bf16vec":
        from sqlvec.dbapi.types import bf16_values  # its numbers, not its bit patterns

        return bf16_values
    return _column_values if col.type.short in ("uuid", "numeric") else _plain_values


# datetime.date.min .. datetime.date.max as days and microseconds since 1970-01-01
_MIN_DAYS, _MAX_DAYS = -719162, 2932896
_MIN_US, _MAX_US = _MIN_DAYS * 86_400_000_000, (_MAX_DAYS + 1) * 86_400_000_000 - 1


def _python_range_error(batch: pa.RecordBatch, columns: list[Column]) -> Error:
    """DataError 22008 for a date or timestamp Python's datetime cannot hold ('infinity',
    '-infinity', after year 9999, BC), with psycopg's message: psycopg's default loaders
    refuse the same values (docs/CONTRACTS.md, embedded fetch)."""
    import pyarrow.compute as pc

    from sqlvec.core.errors import DatetimeFieldOverflow
    from sqlvec.core.textio import format_text

    for arr, col in zip(batch.columns, columns):
        leaf, t = arr, col.type.base_element if col.type.element is not None else col.type
        while pa.types.is_list(leaf.type) or pa.types.is_large_list(leaf.type):
            leaf = leaf.flatten()
        if pa.types.is_date32(leaf.type):
            ints, lo, hi, kind = leaf.cast(pa.int32()), _MIN_DAYS, _MAX_DAYS, "date"
        elif pa.types.is_timestamp(leaf.type):
            per = {"s": 1_000_000, "ms": 1000, "us": 1}.get(leaf.type.unit)
            if per is None:  # (nanoseconds: every int64 fits datetime)
                continue
            ints, lo, hi, kind = leaf.cast(pa.int64()), _MIN_US // per, _MAX_US // per, "timestamp"
        else:
            continue
        big = pc.fill_null(pc.greater(ints, hi), False)
        small = pc.fill_null(pc.less(ints, lo), False)
        bad = pc.or_(big, small)
        if not pc.any(bad).as_py():
            continue
        i = pc.index(bad, True).as_py()
        text = format_text(leaf.slice(i, 1), t)[0].as_py()
        what = "too large (after year 10K)" if big[i].as_py() else "too small (before year 1)"
        return from_sql_error(DatetimeFieldOverflow(f"{kind} {what}: {text!r}"))
    return from_exception(OverflowError("a result value is out of Python's range"))


def _rowcount(tag: str) -> int:
    last = tag.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class Cursor:
    """A DB-API cursor; `execute` returns the cursor so calls can be chained."""

    arraysize: int

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.arraysize = 1
        self.description: list[tuple] | None = None
        self.rowcount = -1
        self.statusmessage: str | None = None
        self._columns: list[Column] = []
        self._desc: list[tuple] = []  # description and converters of self._columns
        self._convert: list[Any] = []
        self._batches: list[pa.RecordBatch] = []
        self._rows: list[tuple] = []
        self._closed = False

    # --- execution ---------------------------------------------------------------------------

    def execute(self, operation: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None) -> Cursor:
        self._check()
        self._reset()
        con = self.connection
        con._begin_if_needed()
        try:
            if parameters is None:
                self._run_simple(operation)
            else:
                sql, values = con._placeholders.convert(operation, parameters)
                self._run_prepared(sql, [values])
        except SqlError as e:
            raise from_sql_error(e) from None
        except Error:
            raise
        except Exception as e:  # never a raw exception out of the engine: XX000, traceback kept
            raise from_exception(e) from e
        return self

    def executemany(self, operation: str, seq_of_parameters: Iterable[Sequence[Any] | Mapping[str, Any]]) -> Cursor:
        self._check()
        self._reset()
        self.connection._begin_if_needed()
        rows = list(seq_of_parameters)
        if not rows:
            return self
        convert = self.connection._placeholders.convert
        sql, _ = convert(operation, rows[0])
        try:
            self._run_prepared(sql, [convert(operation, p)[1] for p in rows])
        except SqlError as e:
            raise from_sql_error(e) from None
        except Error:
            raise
        except Exception as e:
            raise from_exception(e) from e
        return self

    def _run_simple(self, sql: str) -> None:
        session = self.connection._session
        last: Any = None
        for result in session.execute(sql):
            if isinstance(last, Rows):
                for _ in last.batches:  # finish the previous statement's rows first
                    pass
            last = result
        self._take(last)
        self._drain_notices()

    def _run_prepared(self, sql: str, param_rows: list[list[Any]]) -> None:
        session = self.connection._session
        stmt = self.connection._stmts.prepare(session, sql, len(param_rows[0]))
        one_step = getattr(session, "execute_prepared", None)  # bind + execute, no portal kept
        types = stmt.param_types
        total = 0
        try:
            for values in param_rows:
                if len(values) != len(types):
                    raise ProgrammingError(
                        f"the query has {len(types)} placeholders but "
                        f"{len(values)} parameters were passed")
                values = text_params(values, types)
                if one_step is not None:
                    self._take(one_step(stmt, values))
                    if len(param_rows) > 1:  # each row its own cycle: in autocommit, executemany
                        session.sync()       # commits row by row (sqlite3, psycopg2), not as one
                else:
                    ncols = len(stmt.columns) if stmt.columns else 0
                    self._take(session.execute_portal(session.bind(stmt, values, [0] * ncols, ""), 0)[0])
                total += max(self.rowcount, 0)
            if len(param_rows) > 1:
                self.rowcount = total
        finally:
            if not one_step:
                session.close_portal("")
            session.sync()
            self._drain_notices()

    def _take(self, result: Any) -> None:
        if isinstance(result, Rows):
            cols = result.columns
            self._batches = batches = list(result.batches)
            self.rowcount = batches[0].num_rows if len(batches) == 1 else sum(b.num_rows for b in batches)
            if cols != self._columns:  # (a repeated statement: the same Column objects)
                self._desc = [
                    (c.name, c.type.oid, None, c.type.typlen if c.type.typlen > 0 else None,
                     None, None, None)
                    for c in cols
                ]
                self._convert = [_converter(c) for c in cols]
            self._columns = list(cols)  # (equal ones too: next time they compare by identity)
            self.description = list(self._desc)
            self.statusmessage = command_tag(result.tag, self.rowcount)  # INSERT 0 n, SHOW
        elif isinstance(result, Command):
            self.description = None
            self.rowcount = _rowcount(result.tag)
            self.statusmessage = result.tag
        else:
            self.description = None
            self.rowcount = -1

    def _drain_notices(self) -> None:
        getter = getattr(self.connection._session, "notices", None)
        if getter is not None:
            self.connection.notices.extend(getter())

    # --- fetching ----------------------------------------------------------------------------

    def _fill(self, want: int | None) -> None:
        while self._batches and (want is None or len(self._rows) < want):
            batch = self._batches.pop(0)
            if not self._convert:
                self._rows.extend([() for _ in range(batch.num_rows)])
                continue
            try:
                cols = [conv(a, c) for a, conv, c in zip(batch.columns, self._convert, self._columns)]
            except (OverflowError, ValueError):  # a date/timestamp Python cannot hold
                self._batches = []
                raise _python_range_error(batch, self._columns) from None
            self._rows.extend(zip(*cols))

    def fetchone(self) -> tuple | None:
        self._check_result()
        self._fill(1)
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        self._check_result()
        n = self.arraysize if size is None else size
        self._fill(n)
        out, self._rows = self._rows[:n], self._rows[n:]
        return out

    def fetchall(self) -> list[tuple]:
        self._check_result()
        self._fill(None)
        out, self._rows = self._rows, []
        return out

    def __iter__(self) -> Iterator[tuple]:
        while (row := self.fetchone()) is not None:
            yield row

    # --- housekeeping ------------------------------------------------------------------------

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def close(self) -> None:
        self._closed = True
        self._reset()

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reset(self) -> None:
        self.description = None
        self.rowcount = -1
        self._batches, self._rows = [], []  # (_columns stays: its description is reused)

    def _check(self) -> None:
        if self._closed:
            raise InterfaceError("the cursor is closed")
        self.connection._check()

    def _check_result(self) -> None:
        self._check()
        if self.description is None:
            raise ProgrammingError("the last operation didn't produce a result")


class Connection:
    """A DB-API connection owning an embedded Database and one Session on it."""

    def __init__(self, database: Any, session: Any, *, owns_database: bool = True,
                 statement_cache_size: int = DEFAULT_SIZE) -> None:
        self._db = database
        self._session = session
        self._stmts = StatementCache(statement_cache_size)  # parameterised executes, by SQL text
        self._placeholders = PlaceholderCache()
        self._owns_db = owns_database
        self.autocommit = False
        self.notices: list = []
        self._closed = False

    def _check(self) -> None:
        if self._closed:
            raise InterfaceError("the connection is closed")

    def _begin_if_needed(self) -> None:
        if not self.autocommit and self._session.txn_status == "I":
            try:
                for _ in self._session.execute("BEGIN"):
                    pass
            except SqlError as e:
                raise from_sql_error(e) from None
            except Exception as e:
                raise from_exception(e) from e

    def _end(self, verb: str) -> None:
        self._check()
        if self._session.txn_status == "I":
            return
        try:
            for _ in self._session.execute(verb):
                pass
        except SqlError as e:
            raise from_sql_error(e) from None
        except Exception as e:
            raise from_exception(e) from e

    def cursor(self) -> Cursor:
        self._check()
        return Cursor(self)

    def execute(self, operation: str, parameters: Any = None) -> Cursor:
        """Shortcut: a new cursor, executed (as psycopg and sqlite3 offer)."""
        return self.cursor().execute(operation, parameters)

    def commit(self) -> None:
        self._end("COMMIT")

    def rollback(self) -> None:
        self._end("ROLLBACK")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stmts.clear()
        try:
            self._session.close()
        finally:
            if self._owns_db:
                self._db.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        """Commit on success, roll back on an exception, then close (like sqlite3+close)."""
        try:
            if not self._closed:
                if exc_type is None:
                    self.commit()
                else:
                    self.rollback()
        finally:
            self.close()

    Error = Error
    InterfaceError = InterfaceError
    ProgrammingError = ProgrammingError


def connect(path: str = ":memory:", *, user: str = DEFAULT_USER,
            database: str = DEFAULT_DATABASE, statement_cache_size: int = DEFAULT_SIZE,
            **settings: Any) -> Connection:
    """Open a database directory (created if missing) or ':memory:' in this process.

    statement_cache_size bounds the per-connection LRU of prepared statements that lets a
    repeated parameterised execute skip parse/bind/plan (0 turns it off).
    """
    from sqlvec.dbapi.exceptions import OperationalError
    from sqlvec.session import Session
    from sqlvec.session.database import Database

    try:
        db = Database.open(None if path == ":memory:" else str(path), **settings)
    except SqlError as e:
        raise from_sql_error(e) from None
    except OSError as e:
        raise OperationalError(f'could not open database "{path}": {e}') from None
    except Exception as e:
        raise from_exception(e) from e
    try:
        session = Session(db, user=user, database=database, params={})
    except Exception as e:
        db.close()
        raise (from_sql_error(e) if isinstance(e, SqlError) else from_exception(e)) from None
    return Connection(db, session, statement_cache_size=statement_cache_size)
