"""COPY table FROM 'file': a server-side file in text, csv, binary or Parquet format.

Text, csv and binary files go through the same loader as COPY FROM STDIN (CopyIn), fed
16 MB blocks read from the file. Parquet files are read in row groups of Arrow batches
whose columns, matched by name, are cast to the table's column types with Arrow (a
list<double> column becomes a vector's fixed-size list) and inserted as they are. One
transaction for the whole file (or the client's open one). Progress is reported as NOTICE
messages (rows and bytes so far), as with PostgreSQL's pg_stat_progress_copy counters.
Only superusers may read server files (42501), as in PostgreSQL.

    >>> parse_copy("COPY t FROM '/data/x.parquet'").format
    'parquet'
"""

from __future__ import annotations

import os
from typing import Any

import pyarrow as pa

from sqlvec.core.errors import (
    BadCopyFileFormat,
    DataException,
    InsufficientPrivilege,
    IoError,
    UndefinedColumn,
)
from sqlvec.core.results import Column
from sqlvec.wire.copy import (
    CopyCommand,
    CopyIn,
    check_writable,
    end_progress,
    load_arrays,
    parse_copy,
    start_progress,
)

BLOCK = CopyIn.FLUSH_BYTES
PARQUET_BATCH_ROWS = 65_536
PROGRESS_BYTES = 64 << 20  # a NOTICE at most every 64 MB read (and one at the end)

__all__ = ["copy_from_file", "parse_copy"]


def _check_allowed(session: Any) -> None:
    role_of = getattr(session.db, "authenticate", None)
    role = role_of(session.user) if role_of is not None else None
    # a session without a role (trust authentication) runs as the bootstrap superuser
    if role is not None and not role.superuser:
        raise InsufficientPrivilege(
            "must be superuser to COPY from a file",
            hint="Anyone can COPY to stdout or from stdin. psql's \\copy command also "
                 "works for anyone.",
        )


def _open(path: str) -> tuple[Any, int]:
    try:
        f = open(path, "rb")  # noqa: SIM115  closed by the caller
        return f, os.fstat(f.fileno()).st_size
    except OSError as e:
        raise IoError(f'could not open file "{path}" for reading: {e.strerror}') from e


class _Progress:
    """NOTICE messages with the rows and bytes processed so far."""

    def __init__(self, session: Any, cmd: CopyCommand, total: int) -> None:
        self.session, self.cmd, self.total = session, cmd, total
        self.next_at = PROGRESS_BYTES

    def report(self, rows: int, done: int, final: bool = False) -> None:
        if not final and done < self.next_at:
            return
        self.next_at = done + PROGRESS_BYTES
        pct = 100.0 * done / self.total if self.total else 100.0
        notice = getattr(self.session, "notice", None)
        if notice is not None:
            what = "done" if final else "progress"
            notice(f"COPY {self.cmd.target} {what}: {rows} rows, {done} of {self.total} "
                   f"bytes ({pct:.0f}%) from \"{self.cmd.path}\"")


def copy_from_file(session: Any, cmd: CopyCommand, columns: list[Column]) -> int:
    """Load the file named by `cmd` into its table; the number of rows loaded."""
    _check_allowed(session)
    check_writable(session)  # 25006 in a read-only transaction
    if cmd.format == "parquet":
        return _copy_parquet(session, cmd, columns)
    f, total = _open(cmd.path)
    progress = _Progress(session, cmd, total)
    copy = CopyIn(session, cmd, columns, source="FILE", total=total)
    done = 0
    try:
        with f:
            while True:
                block = f.read(BLOCK)
                if not block:
                    break
                done += len(block)
                copy.feed(block)
                if copy.error is not None:
                    break
                progress.report(copy.count, done)
        count = copy.finish()
    except OSError as e:
        copy.abort()
        raise IoError(f'could not read from file "{cmd.path}": {e.strerror}') from e
    except BaseException:
        copy.abort()
        raise
    progress.report(count, done, final=True)
    return count


def _copy_parquet(session: Any, cmd: CopyCommand, columns: list[Column]) -> int:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(cmd.path)
    except FileNotFoundError as e:
        raise IoError(f'could not open file "{cmd.path}" for reading: {e.strerror}') from e
    except (OSError, pa.ArrowException) as e:
        raise BadCopyFileFormat(f'file "{cmd.path}" is not a Parquet file: {e}') from e
    names = [c.name for c in columns]
    have = set(pf.schema_arrow.names)
    missing = [n for n in names if n not in have]
    if missing:
        raise UndefinedColumn(f'column "{missing[0]}" is not in Parquet file "{cmd.path}"')
    total = pf.metadata.serialized_size + sum(
        pf.metadata.row_group(i).total_byte_size for i in range(pf.num_row_groups))
    progress = _Progress(session, cmd, total)
    own_txn = session.txn_status == "I"
    if own_txn:
        for _ in session.execute("BEGIN"):
            pass
    count = 0
    row = start_progress(session, cmd.target, "FILE", total)
    try:
        done_rows = 0
        for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=names):
            arrays = [_to_column(batch.column(i), c, cmd.path) for i, c in enumerate(columns)]
            count += load_arrays(session, cmd, columns, arrays, [True] * len(columns),
                                 bulk=batch.nbytes >= CopyIn.BULK_BYTES)
            done_rows += batch.num_rows
            done = int(total * done_rows / max(pf.metadata.num_rows, 1))
            row["bytes_processed"], row["tuples_processed"] = done, count
            progress.report(count, done)
        if own_txn:
            for _ in session.execute("COMMIT"):
                pass
    except BaseException:
        if own_txn and session.txn_status != "I":
            for _ in session.execute("ROLLBACK"):
                pass
        raise
    finally:
        end_progress(session, row)
    progress.report(count, total, final=True)
    return count


def _to_column(a: pa.Array, col: Column, path: str) -> pa.Array:
    """A Parquet column as the table column's Arrow type (22P04 when it cannot be)."""
    want = col.type.arrow
    if a.type == want:
        return a
    try:
        return a.cast(want)
    except (pa.ArrowException, NotImplementedError) as e:
        if pa.types.is_fixed_size_list(want) and pa.types.is_list(a.type):
            raise DataException(
                f'column "{col.name}" of Parquet file "{path}": expected {want.list_size} '
                "dimensions in every row") from e
        raise BadCopyFileFormat(
            f'column "{col.name}" of Parquet file "{path}" has type {a.type}, '
            f"which does not convert to {col.type.display()}") from e
