"""Committed state as immutable versions, and the one function that moves it forward.

A `Version` is everything committed up to a commit sequence number: every table's
segments with their delete masks, and the catalog key/value space. Versions are never
modified; a commit builds the next one with `apply(version, record)`, sharing all unchanged
parts. The same `apply` replays WAL records at recovery, so live commits and recovery
cannot disagree.
"""

from __future__ import annotations

import bisect
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from sqlvec.storage.segment import Segment, SegView

# A growing segment is merged with its neighbours once this many rows or pieces collect.
SEAL_ROWS = 65536
MAX_GROWING = 16


_load_lock = threading.RLock()


class TableVersion:
    """One table as committed at some sequence number; its body may be read lazily."""

    __slots__ = ("table_id", "epoch", "mod_seq", "phys", "_schema", "_views", "_loader")

    def __init__(
        self,
        table_id: int,
        schema: pa.Schema | None,
        epoch: int,
        mod_seq: int,
        views: tuple[SegView, ...] | None = (),
        *,
        phys: int | None = None,
        loader: Callable[[], tuple[pa.Schema, tuple[SegView, ...]]] | None = None,
    ) -> None:
        self.table_id = table_id
        # tag of the physical layout (new on every change, compaction included): the
        # checkpoint rewrites a table's manifest when it differs from the one it wrote
        self.phys = next_segment_id() if phys is None else phys
        self.epoch = epoch  # seq of the create/truncate/alter that started the contents
        self.mod_seq = mod_seq  # seq of the last commit that changed this table
        self._schema = schema  # stored schema: _rowid first
        self._views = views  # full segments first, then growing ones
        self._loader = loader

    def _load(self) -> None:
        with _load_lock:
            if self._loader is not None:
                self._schema, self._views = self._loader()
                self._loader = None

    @property
    def loaded(self) -> bool:
        return self._loader is None

    @property
    def schema(self) -> pa.Schema:
        if self._loader is not None:
            self._load()
        return self._schema  # type: ignore[return-value]

    @property
    def views(self) -> tuple[SegView, ...]:
        if self._loader is not None:
            self._load()
        return self._views  # type: ignore[return-value]

    def evolve(self, mod_seq: int, views: tuple[SegView, ...]) -> TableVersion:
        """The next version of this table (same epoch)."""
        return TableVersion(self.table_id, self.schema, self.epoch, mod_seq, views)

    @property
    def live_rows(self) -> int:
        return sum(v.live for v in self.views)


@dataclass(frozen=True, slots=True)
class Version:
    """All committed state at commit sequence number `seq`."""

    seq: int
    tables: dict[int, TableVersion]
    catalog: dict[str, str]  # key -> JSON text
    keys: list[str] | None = field(default=None, compare=False)  # sorted catalog keys, lazily

    def catalog_range(self, prefix: str) -> list[str]:
        """The catalog keys starting with `prefix`, sorted (binary search, not a scan)."""
        keys = self.keys
        if keys is None:
            keys = sorted(self.catalog)
            object.__setattr__(self, "keys", keys)
        i = bisect.bisect_left(keys, prefix)
        j = bisect.bisect_left(keys, prefix + "\U0010ffff") if prefix else len(keys)
        return keys[i:j]


@dataclass(slots=True)
class TableChange:
    """What one commit did to one table.

    Applied in this order: drop | reset, bulk segments, deletes, inserts.
    """

    table_id: int
    drop: bool = False
    reset_schema: pa.Schema | None = None  # create / truncate / alter: start empty with it
    deletes: np.ndarray | None = None  # sorted row ids removed from the previous contents
    inserts: list[pa.Table] = field(default_factory=list)  # stored schema, sorted row ids
    segments: list[Segment] = field(default_factory=list)  # bulk-loaded, already in files
    files: list[dict] = field(default_factory=list)  # the same as read back from the WAL


@dataclass(slots=True)
class CommitRecord:
    """One committed transaction: the unit written to the WAL and replayed at recovery."""

    seq: int
    tables: list[TableChange] = field(default_factory=list)
    catalog_put: dict[str, str] = field(default_factory=dict)
    catalog_del: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.tables or self.catalog_put or self.catalog_del)


class Conflict(Exception):
    """A row this commit deletes is already gone in the newest state (internal signal)."""


_seg_ids = itertools.count(1)


def next_segment_id() -> int:
    """A process-wide fresh segment id (file names use them; the store may bump the base)."""
    return next(_seg_ids)


def bump_segment_ids(at_least: int) -> None:
    """Make later segment ids greater than `at_least` (after loading a data directory)."""
    global _seg_ids
    cur = next(_seg_ids)
    _seg_ids = itertools.count(max(cur, at_least + 1))


def apply(base: Version, rec: CommitRecord, *, strict: bool = False) -> Version:
    """The version after `rec`; strict: raise Conflict if a deleted row is already gone."""
    tables = base.tables
    if rec.tables:
        tables = dict(tables)
        for ch in rec.tables:
            _apply_table(tables, ch, rec.seq, strict)
    catalog, keys = base.catalog, base.keys
    if rec.catalog_put or rec.catalog_del:
        catalog = dict(catalog)
        for k in rec.catalog_del:
            catalog.pop(k, None)
        catalog.update(rec.catalog_put)
        keys = None
    return Version(rec.seq, tables, catalog, keys)


def _apply_table(tables: dict[int, TableVersion], ch: TableChange, seq: int, strict: bool) -> None:
    tv = tables.get(ch.table_id)
    if tv is not None:
        tv.views  # noqa: B018 - load it now: older snapshots may still read it
    if ch.drop:
        if tv is None and strict:
            raise Conflict(ch.table_id)
        tables.pop(ch.table_id, None)
        return
    if ch.reset_schema is not None:
        tv = TableVersion(ch.table_id, ch.reset_schema, seq, seq, ())
    elif tv is None:
        if strict:
            raise Conflict(ch.table_id)
        return
    views = list(tv.views)
    if ch.segments:
        views = [v for v in views if not v.seg.growing] + [SegView(g) for g in ch.segments] + [
            v for v in views if v.seg.growing
        ]
    if ch.deletes is not None and len(ch.deletes):
        views = delete_rows(views, ch.deletes, strict)
    if ch.inserts:
        views = add_rows(views, ch.inserts)
    tables[ch.table_id] = tv.evolve(seq, tuple(views))


def delete_rows(views: list[SegView], rowids: np.ndarray, strict: bool) -> list[SegView]:
    """Views with the given sorted row ids masked; strict: every one must be live."""
    left = len(rowids)
    out = []
    for v in views:
        if left and v.seg.num_rows and v.seg.max_rowid >= rowids[0] and v.seg.min_rowid <= rowids[-1]:
            _, pos = v.seg.locate(rowids)
            if len(pos):
                if v.deleted is not None:
                    alive = ~v.deleted[pos]
                    if strict and not alive.all():
                        raise Conflict()
                    pos = pos[alive]
                left -= len(pos)
                if len(pos):
                    v = v.with_deleted(pos)
        out.append(v)
    if strict and left:
        raise Conflict()
    return out


def add_rows(views: list[SegView], inserts: list[pa.Table]) -> list[SegView]:
    """Views with new rows appended as growing segments, merged as they collect.

    Growing pieces merge newest-first in halves (each row is copied O(log n) times even
    for one-row commits); once they hold SEAL_ROWS rows they become one full segment.
    """
    full = [v for v in views if not v.seg.growing]
    growing = [v for v in views if v.seg.growing]
    for t in _few_row_runs([t for t in inserts if t.num_rows]):
        seg = Segment(next_segment_id(), t, growing=t.num_rows < SEAL_ROWS)
        (growing if seg.growing else full).append(SegView(seg))
    if sum(v.live for v in growing) >= SEAL_ROWS:
        merged = merge_views(growing, growing=False)
        growing = []
        if merged is not None:
            full.append(merged)
    elif len(growing) > MAX_GROWING:
        k = MAX_GROWING // 2
        merged = merge_views(growing[-k:], growing=True)
        growing = growing[:-k] + ([merged] if merged is not None else [])
    return full + growing


def _few_row_runs(inserts: list[pa.Table]) -> list[pa.Table]:
    """One commit's inserts with runs of consecutive growing-sized ones (together under
    SEAL_ROWS rows: a transaction of 1,000 one-row INSERTs, an executemany) joined into one
    table each: every search visits every growing piece, and the halving in add_rows bounds
    pieces across commits, not within one. A full-sized insert stays as it is."""
    out: list[pa.Table] = []
    run: list[pa.Table] = []
    rows = 0

    def flush() -> None:
        nonlocal rows
        if len(run) > 1 and all(t.schema.equals(run[0].schema) for t in run[1:]):
            out.append(pa.concat_tables(run).combine_chunks())
        else:
            out.extend(run)
        run.clear()
        rows = 0

    for t in inserts:
        if rows + t.num_rows >= SEAL_ROWS:
            flush()
        if t.num_rows >= SEAL_ROWS:
            out.append(t)
            continue
        run.append(t)
        rows += t.num_rows
    flush()
    return out


def merge_views(views: list[SegView], growing: bool | None = None) -> SegView | None:
    """One segment holding the live rows of `views`, sorted by row id (None if no rows).

    Big pieces are not copied (the segment keeps them as chunks); many small pieces are
    combined into one contiguous chunk.
    """
    parts = [v.table() for v in views if v.live]
    if not parts:
        return None
    t = pa.concat_tables(parts)
    rowids = t.column(0).to_numpy()
    if len(rowids) > 1 and not (rowids[1:] > rowids[:-1]).all():
        t = t.take(pa.array(np.argsort(rowids, kind="stable")))
    if t.num_rows < 4096 * t.column(0).num_chunks:
        t = t.combine_chunks()
    if growing is None:
        growing = t.num_rows < SEAL_ROWS
    return SegView(Segment(next_segment_id(), t, growing=growing))


def empty_version() -> Version:
    return Version(0, {}, {})


def dumps(value: dict) -> str:
    """Catalog values are stored as JSON text: immutable, and what the WAL writes."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def rowid_column(n: int, first: int) -> pa.Array:
    return pa.array(np.arange(first, first + n, dtype=np.int64))


