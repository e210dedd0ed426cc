"""Transaction: a snapshot of committed state plus this transaction's own writes.

Reads see the version the transaction began on, overlaid with its inserts, deletes, DDL and
catalog writes. Local state is a dict of immutable `LocalTable` values, so a savepoint is a
shallow copy and rolling back to it is putting the copy back. Commit hands a `CommitRecord`
to the store, which checks it against the newest state and publishes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from sqlvec.core.errors import DataException, InvalidTransactionState, UndefinedTable
from sqlvec.storage import point_lookup
from sqlvec.storage.segment import (
    ROWID,
    Segment,
    SegView,
    column_stats,
    key_lookup,
    with_rowid,
    without_rowid,
)
from sqlvec.storage.state import (
    CommitRecord,
    Conflict,
    TableChange,
    TableVersion,
    Version,
    delete_rows,
    dumps,
    merge_views,
    next_segment_id,
)

if TYPE_CHECKING:
    from sqlvec.storage.store import Store

# Own inserted pieces are merged when this many collect (keeps savepoints cheap).
_MAX_LOCAL_PIECES = 64
# An insert of at least this many rows into a data directory is written like bulk_load.
_BULK_ROWS = 1 << 18
# ... and a transaction's own inserted rows are written out once they take this much memory.
_SPILL_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class LocalTable:
    """One table as this transaction sees it."""

    table_id: int
    base: TableVersion | None  # as committed in the snapshot (None: created here)
    schema: pa.Schema  # stored schema (_rowid first)
    views: tuple[SegView, ...]  # base segments with this transaction's deletes applied
    inserts: tuple[SegView, ...] = ()  # rows inserted here (with own deletes applied)
    deleted: tuple[np.ndarray, ...] = ()  # row ids deleted from the base
    reset: bool = False  # created, truncated or altered here: commit starts it afresh
    dropped: bool = False
    changed: bool = False


@dataclass(frozen=True, slots=True)
class Savepoint:
    """What `rollback_to` restores."""

    tables: dict[int, LocalTable]
    catalog: dict[str, str | None]


class Transaction:
    """Snapshot-isolated reads and buffered writes over a Store; one thread at a time."""

    def __init__(self, store: Store, snapshot: Version) -> None:
        self.store = store
        self.snapshot = snapshot
        self._tables: dict[int, LocalTable] = {}
        self._catalog: dict[str, str | None] = {}
        self._bulk: list[Segment] = []  # segment files written by bulk_load
        self._active = True
        # inserts of at least this many rows go straight to segment files (COPY lowers it)
        self.bulk_rows = _BULK_ROWS
        # callables run first by commit() (deferred foreign key checks); one raising rolls back
        self.before_commit: list = []

    # -- state ------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self._active

    @property
    def snapshot_seq(self) -> int:
        return self.snapshot.seq

    def _check(self) -> None:
        if not self._active:
            raise InvalidTransactionState("transaction is no longer active")

    def _local(self, table_id: int) -> LocalTable:
        lt = self._tables.get(table_id)
        if lt is None:
            tv = self.snapshot.tables.get(table_id)
            if tv is None:
                raise UndefinedTable(f"table with oid {table_id} does not exist in storage")
            lt = LocalTable(table_id, tv, tv.schema, tv.views)
            self._tables[table_id] = lt
        if lt.dropped:
            raise UndefinedTable(f"table with oid {table_id} does not exist in storage")
        return lt

    def has_table(self, table_id: int) -> bool:
        """Whether storage holds this table in this transaction's view."""
        lt = self._tables.get(table_id)
        if lt is not None:
            return not lt.dropped
        return table_id in self.snapshot.tables

    # -- reads ------------------------------------------------------------------------

    def table_schema(self, table_id: int) -> pa.Schema:
        """The table's columns (without `_rowid`)."""
        self._check()
        return without_rowid(self._local(table_id).schema)

    def scan(
        self, table_id: int, columns: list[str] | None = None, *, prune: Callable | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Visible rows as batches: `_rowid` first, then `columns` (all when None).

        `prune(stats) -> bool` may skip a committed segment from its min/max statistics
        (a dict column -> (min, max)); True means "no row here can match".
        """
        self._check()
        lt = self._local(table_id)
        if columns is not None and ROWID in columns:
            columns = [c for c in columns if c != ROWID]
        views = [*lt.views, *lt.inserts]
        for v in views:
            if v.live == 0:
                continue
            if prune is not None:
                seg = v.seg
                if seg.stats is None and not seg.growing and seg.loaded:
                    seg.stats = column_stats(seg.data)
                if seg.stats is not None and prune(seg.stats):
                    continue
            yield from v.table(columns).to_batches()

    def scan_table(self, table_id: int, columns: list[str] | None = None) -> pa.Table:
        """All visible rows as one pa.Table (schema kept even when empty)."""
        lt = self._local(table_id)
        parts = [v.table(columns) for v in (*lt.views, *lt.inserts) if v.live]
        schema = lt.schema if columns is None else lt.schema.empty_table().select(
            [ROWID, *columns]).schema
        if not parts:
            return schema.empty_table()
        return pa.concat_tables(parts)

    def row_count(self, table_id: int) -> int:
        self._check()
        lt = self._local(table_id)
        return sum(v.live for v in lt.views) + sum(v.live for v in lt.inserts)

    def lookup(
        self, table_id: int, column: str, values: pa.Array | pa.ChunkedArray
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each value, whether a visible row has it in `column`, and that row's id (-1).

        Fixed-width columns use a sorted index cached per immutable segment (built once,
        then O(log n) per value); other types a vectorised hash probe per segment.
        NULL never matches.
        """
        self._check()
        lt = self._local(table_id)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        found = np.zeros(len(values), dtype=bool)
        out = np.empty(len(values), dtype=np.int64)
        out.fill(-1)  # (np.full is a Python-level wrapper: slower for a point lookup)
        typ = lt.schema.field(column).type
        if values.type != typ:
            values = values.cast(typ)
        key_lookup([*lt.inserts, *lt.views], column, values, found, out)
        return found, out

    def find_row(self, table_id: int, column: str, key: int) -> tuple[Segment, int] | None | object:
        """A point lookup by a Python int in an integer `column`: the visible row that holds
        it as (segment, position) for `fetch_at`, None when none does; NO_INDEX when the
        column is not stored as integers (then `lookup` answers). Own inserts first."""
        self._check()
        lt = self._local(table_id)
        views = (*lt.inserts, *lt.views) if lt.inserts else lt.views
        return point_lookup.find_row(views, column, key)

    @staticmethod
    def fetch_at(seg: Segment, pos: int, columns: list[str]) -> list[pa.Array]:
        """The row `find_row` answered: one 1-row array per column (zero-copy slices)."""
        return point_lookup.row_arrays(seg, pos, columns)

    @staticmethod
    def fetch_batch(seg: Segment, pos: int, columns: tuple[str, ...],
                    schema: pa.Schema) -> pa.RecordBatch | None:
        """The row `find_row` answered as a 1-row batch of `schema` (whose columns are
        `columns`, in order); None when storage's types differ (use fetch_at and cast)."""
        return point_lookup.row_batch(seg, pos, columns, schema)

    def fetch(
        self, table_id: int, rowids: np.ndarray, columns: list[str] | None = None
    ) -> pa.Table:
        """The visible rows with these row ids (`_rowid` first, then `columns`), by row id.

        Ids not visible (deleted, never inserted) are left out. Each segment is located by
        its row-id range and read by binary search, so a point fetch touches no other rows.
        """
        self._check()
        lt = self._local(table_id)
        if columns is not None and ROWID in columns:
            columns = [c for c in columns if c != ROWID]
        want = np.asarray(rowids, dtype=np.int64)
        if len(want) > 1:
            want = np.unique(want)
        parts = []
        if len(want):
            lo, hi = int(want[0]), int(want[-1])
            for v in (*lt.views, *lt.inserts):
                seg = v.seg
                if v.live == 0 or seg.max_rowid < lo or seg.min_rowid > hi:
                    continue
                if len(want) == 1:  # a point fetch: one binary search in the segment's row ids
                    mine = seg.rowids
                    j = int(mine.searchsorted(lo))
                    pos = np.array([j] if j < len(mine) and mine[j] == lo else [], dtype=np.int64)
                else:
                    _, pos = seg.locate(want)
                if v.deleted is not None and len(pos):
                    pos = pos[~v.deleted[pos]]
                if len(pos):
                    data = seg.data if columns is None else seg.data.select([ROWID, *columns])
                    parts.append(data.slice(int(pos[0]), 1) if len(pos) == 1 else data.take(pos))
                    if len(want) == 1:
                        break  # a row id lives in one view only
        if not parts:
            schema = lt.schema if columns is None else lt.schema.empty_table().select(
                [ROWID, *columns]).schema
            return schema.empty_table()
        out = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        if len(parts) > 1:
            out = out.take(pa.array(np.argsort(np.asarray(out.column(0)), kind="stable")))
        return out

    # -- writes -----------------------------------------------------------------------

    def insert(self, table_id: int, batch: pa.RecordBatch | pa.Table) -> np.ndarray:
        """Add rows (columns matched by name to the table's); returns their row ids."""
        self._check()
        lt = self._local(table_id)
        t = conform(batch, lt.schema)
        n = t.num_rows
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        if n >= self.bulk_rows and self.store.path is not None:
            # big enough to go straight to segment files rather than through the WAL
            segs = self.store._bulk_segments(table_id, lt.schema, [t])
            self._bulk.extend(s for s in segs if s.path is not None)
            self._tables[table_id] = replace(
                lt, inserts=(*lt.inserts, *[SegView(s) for s in segs]), changed=True
            )
            return np.concatenate([s.rowids for s in segs])
        first = self.store.allocate_rowids(table_id, n)
        rowids = np.arange(first, first + n, dtype=np.int64)
        t = t.add_column(0, lt.schema.field(0), pa.chunked_array([pa.array(rowids)]))
        inserts = (*lt.inserts, SegView(Segment(next_segment_id(), t)))
        if self.store.path is not None:
            inserts = self._spill(table_id, inserts)
        if len(inserts) > _MAX_LOCAL_PIECES:
            small = [v for v in inserts if v.seg.num_rows < 8192]
            big = [v for v in inserts if v.seg.num_rows >= 8192]
            merged = merge_views(small)
            inserts = (*big, *([merged] if merged is not None else []))
        self._tables[table_id] = replace(lt, inserts=inserts, changed=True)
        return rowids

    def _spill(self, table_id: int, inserts: tuple[SegView, ...]) -> tuple[SegView, ...]:
        """Write this transaction's in-memory rows of a table to segment files once they
        are many (a long COPY stays within memory; the WAL then logs file names only)."""
        mem = [v for v in inserts if v.seg.path is None]
        rows = sum(v.seg.num_rows for v in mem)
        if rows < _BULK_ROWS and sum(_mem_bytes(v.seg) for v in mem) < _SPILL_BYTES:
            return inserts
        merged = merge_views(mem)
        kept = tuple(v for v in inserts if v.seg.path is not None)
        if merged is None:
            return kept
        segs = self.store._materialize(table_id, [merged.seg.data], bulk=True)
        self._bulk.extend(segs)
        return (*kept, *(SegView(s) for s in segs))

    def delete(self, table_id: int, rowids: np.ndarray) -> None:
        """Delete visible rows by row id (ids not visible are ignored)."""
        self._check()
        lt = self._local(table_id)
        r = np.unique(np.asarray(rowids, dtype=np.int64))
        if len(r) == 0:
            return
        inserts = tuple(delete_rows(list(lt.inserts), r, False)) if lt.inserts else ()
        views, deleted = lt.views, lt.deleted
        if lt.views:
            new_views = delete_rows(list(lt.views), r, False)
            gone = [
                _newly_deleted(old, new) for old, new in zip(lt.views, new_views) if old is not new
            ]
            views = tuple(new_views)
            deleted = (*deleted, *[g for g in gone if len(g)])
        self._tables[table_id] = replace(
            lt, views=views, inserts=inserts, deleted=deleted, changed=True
        )

    def bulk_load(self, table_id: int, batches: Iterable[pa.RecordBatch | pa.Table]) -> int:
        """Insert a stream of batches straight into segment files (COPY, Parquet import).

        On disk the rows are written once, to fsynced segment files, and the WAL records
        only their names; in memory this is `insert`. Returns the number of rows.
        """
        self._check()
        lt = self._local(table_id)
        segs = self.store._bulk_segments(table_id, lt.schema, batches)
        self._bulk.extend(s for s in segs if s.path is not None)
        self._tables[table_id] = replace(
            lt, inserts=(*lt.inserts, *[SegView(s) for s in segs]), changed=True
        )
        return sum(s.num_rows for s in segs)

    def truncate(self, table_id: int) -> None:
        """Remove every row; instant, and undone by rollback."""
        self._check()
        lt = self._local(table_id)
        self._tables[table_id] = replace(
            lt, views=(), inserts=(), deleted=(), reset=True, changed=True
        )

    def create_table(self, table_id: int, schema: pa.Schema) -> None:
        self._check()
        if self.has_table(table_id):
            raise DataException(f"table with oid {table_id} already exists in storage")
        old = self._tables.get(table_id)
        self._tables[table_id] = LocalTable(
            table_id,
            old.base if old is not None else None,
            with_rowid(schema),
            (),
            reset=True,
            changed=True,
        )

    def drop_table(self, table_id: int) -> None:
        self._check()
        lt = self._local(table_id)
        self._tables[table_id] = replace(
            lt, views=(), inserts=(), deleted=(), dropped=True, changed=True
        )

    def alter_table(
        self, table_id: int, schema: pa.Schema, fill: Callable[[pa.Table], pa.Table]
    ) -> None:
        """Rewrite every visible row through `fill` (old columns -> new columns, same length).

        `fill` gets the rows without `_rowid` and may be called once per chunk; row ids
        are kept.
        """
        self._check()
        lt = self._local(table_id)
        new_schema = with_rowid(schema)
        pieces: list[SegView] = []
        for v in (*lt.views, *lt.inserts):
            if not v.live:
                continue
            old = v.table()
            new = conform(fill(old.drop_columns([ROWID])), new_schema)
            if new.num_rows != old.num_rows:
                raise DataException("table rewrite changed the number of rows")
            new = new.add_column(0, new_schema.field(0), old.column(0))
            pieces.append(SegView(Segment(next_segment_id(), new)))
        self._tables[table_id] = replace(
            lt, schema=new_schema, views=(), inserts=tuple(pieces), deleted=(), reset=True,
            changed=True,
        )

    # -- catalog ----------------------------------------------------------------------

    def catalog_get(self, key: str) -> dict | None:
        self._check()
        if key in self._catalog:
            text = self._catalog[key]
        else:
            text = self.snapshot.catalog.get(key)
        return None if text is None else json.loads(text)

    def catalog_put(self, key: str, value: dict) -> None:
        self._check()
        self._catalog[key] = dumps(value)

    def catalog_delete(self, key: str) -> None:
        self._check()
        self._catalog[key] = None

    def catalog_items(self, prefix: str = "") -> list[tuple[str, dict]]:
        """All (key, value) pairs whose key starts with `prefix`, sorted by key."""
        self._check()
        cat = self.snapshot.catalog
        merged = {k: cat[k] for k in self.snapshot.catalog_range(prefix)}
        for k, v in self._catalog.items():
            if k.startswith(prefix):
                if v is None:
                    merged.pop(k, None)
                else:
                    merged[k] = v
        return [(k, json.loads(merged[k])) for k in sorted(merged)]

    # -- savepoints and the end -------------------------------------------------------

    def savepoint(self) -> Savepoint:
        self._check()
        return Savepoint(dict(self._tables), dict(self._catalog))

    def rollback_to(self, sp: Savepoint) -> None:
        self._check()
        self._tables = dict(sp.tables)
        self._catalog = dict(sp.catalog)

    def refresh(self) -> bool:
        """Read the newest committed version from now on (a READ COMMITTED block's next
        statement, which must see what other sessions committed before it): whether it
        does. This transaction's row writes move onto it (its deletes applied to the newer
        rows); it keeps its snapshot when they cannot (DDL or a bulk load here, a table
        created, truncated or altered here or since, a row deleted here and by a commit
        since: that conflict is 40001 at commit). Tables no commit changed keep their
        read state."""
        self._check()
        if self._catalog or self._bulk:
            return False
        version = self.store.version
        if version is self.snapshot:
            return True
        tables = version.tables
        moved = {}
        for oid, lt in self._tables.items():
            tv = tables.get(oid)
            if tv is lt.base and lt.base is not None:
                moved[oid] = lt
            elif lt.changed:
                lt = _rebased(lt, tv)
                if lt is None:
                    return False
                moved[oid] = lt
        self._tables = moved
        self.snapshot = version
        return True

    @property
    def has_writes(self) -> bool:
        return bool(self._catalog) or any(lt.changed for lt in self._tables.values())

    def commit(self, sync: bool = True) -> None:
        """Make the writes durable and visible; 40001 if they conflict with a newer commit."""
        self._check()
        hooks, self.before_commit = self.before_commit, []
        try:
            for hook in hooks:
                hook()
        except BaseException:
            self.rollback()
            raise
        self._active = False
        try:
            if self.has_writes:
                self.store._commit(self, sync=sync)
        except BaseException:
            self._release_bulk(committed=False)
            raise
        self._release_bulk(committed=True)

    def rollback(self) -> None:
        self._active = False
        self._tables.clear()
        self._catalog.clear()
        self._release_bulk(committed=False)

    def _release_bulk(self, committed: bool) -> None:
        if self._bulk:
            self.store._release_bulk(self._bulk, committed)
            self._bulk = []

    # -- for the store ----------------------------------------------------------------

    def changed_tables(self) -> list[LocalTable]:
        return [lt for lt in self._tables.values() if lt.changed]

    def catalog_writes(self) -> dict[str, str | None]:
        return self._catalog

    def record(self) -> CommitRecord:
        """The commit record of this transaction's writes (seq filled in by the store)."""
        rec = CommitRecord(0)
        for lt in self.changed_tables():
            if lt.dropped:
                if lt.base is not None:
                    rec.tables.append(TableChange(lt.table_id, drop=True))
                continue
            ch = TableChange(lt.table_id)
            deletes = []
            if lt.reset:
                ch.reset_schema = lt.schema
            elif lt.deleted:
                deletes.extend(lt.deleted)
            for v in lt.inserts:
                if v.seg.path is not None:
                    ch.segments.append(v.seg)  # bulk-loaded: the WAL logs the file only
                    if v.n_deleted:
                        assert v.deleted is not None
                        deletes.append(v.seg.rowids[v.deleted])
                elif v.live:
                    ch.inserts.append(v.table())
            if deletes:
                ch.deletes = np.sort(np.concatenate(deletes))
            if ch.reset_schema is not None or ch.deletes is not None or ch.inserts or ch.segments:
                rec.tables.append(ch)
        for k, v in self._catalog.items():
            if v is None:
                rec.catalog_del.append(k)
            else:
                rec.catalog_put[k] = v
        return rec


def _rebased(lt: LocalTable, tv: TableVersion | None) -> LocalTable | None:
    """A table's row writes on a newer committed version of it (Transaction.refresh), or
    None when they cannot move there."""
    if lt.reset or lt.dropped or lt.base is None or tv is None or tv.schema != lt.schema:
        return None
    views = list(tv.views)
    if lt.deleted:
        try:
            views = delete_rows(views, np.sort(np.concatenate(lt.deleted)), True)
        except Conflict:
            return None
    return replace(lt, base=tv, views=tuple(views))


def _newly_deleted(old: SegView, new: SegView) -> np.ndarray:
    """Row ids deleted in `new` but not in `old` (same segment)."""
    mask = new.deleted if old.deleted is None else (new.deleted & ~old.deleted)
    return new.seg.rowids[mask]


def conform(batch: pa.RecordBatch | pa.Table, schema: pa.Schema) -> pa.Table:
    """`batch` as a table with `schema`'s columns (minus _rowid), matched by name."""
    t = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    names = [f.name for f in schema if f.name != ROWID]
    cols = []
    for name in names:
        i = t.schema.get_field_index(name)
        if i < 0:
            raise DataException(f'column "{name}" is missing from the inserted rows')
        col = t.column(i)
        typ = schema.field(name).type
        if col.type != typ:
            try:
                col = col.cast(typ)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise DataException(
                    f'cannot store a value of type {col.type} in column "{name}" of type {typ}',
                    detail=str(e),
                ) from None
        cols.append(col)
    fields = [schema.field(n) for n in names]
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


def _mem_bytes(seg: Segment) -> int:
    """An in-memory segment's Arrow size, cached (Table.nbytes walks every buffer; a
    transaction of single-row INSERTs asks for it per row, for up to 64 pieces)."""
    hit = seg._cache.get("nbytes")
    if hit is None:
        hit = seg._cache["nbytes"] = seg.data.nbytes
    return hit  # type: ignore[return-value]
