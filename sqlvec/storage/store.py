"""Store: the committed state of a database, its transactions, and (on disk) its durability.

Committed state is a chain of immutable `Version`s numbered by commit sequence. `begin()`
hands out the newest *published* version; a commit is checked and applied against the
newest *head* version under one lock, written to the WAL, and published once durable, so a
reader never sees a commit that could still be lost (unless it asked for sync=False).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa

from sqlvec.core.errors import ObjectNotInPrerequisiteState, SerializationFailure, UndefinedTable
from sqlvec.storage import compact, unique, unique_fk
from sqlvec.storage.memory import MemoryBudget
from sqlvec.storage.segment import Segment, SegView, column_stats
from sqlvec.storage.state import (
    SEAL_ROWS,
    CommitRecord,
    Conflict,
    TableVersion,
    Version,
    apply,
    delete_rows,
    empty_version,
    next_segment_id,
)
from sqlvec.storage.txn import Transaction, conform

log = logging.getLogger(__name__)


def _bytes_of(views: list[SegView]) -> int:
    """Heap bytes a rewrite of these views needs (live share of each segment's data)."""
    total = 0
    for v in views:
        if v.seg.num_rows:
            total += v.seg.data.nbytes * v.live // v.seg.num_rows
    return total


def _conflict() -> SerializationFailure:
    return SerializationFailure("could not serialize access due to concurrent update")


class Store:
    """Tables, catalog and counters of one database; thread-safe."""

    def __init__(self, *, sync: bool = True, memory_limit: int = 0) -> None:
        self.path: str | None = None
        self.sync = sync
        self.memory = MemoryBudget(memory_limit)
        self._commit_lock = threading.Lock()
        self._publish_lock = threading.Lock()
        self._id_lock = threading.Lock()
        self._head: Version = empty_version()
        self._visible: Version = self._head
        self._key_seq: dict[str, int] = {}
        self._next_rowid: dict[int, int] = {}
        self._counters: dict[str, int] = {}
        self._closed = False
        self._maint_lock = threading.Lock()
        self._bg_lock = threading.Lock()
        self._compact_pending: set[int] = set()
        self._compact_thread: threading.Thread | None = None
        self.auto_compact = True
        self.compaction = compact.Policy()  # size-tiered automatic compaction settings
        # fn(store, table_id, old segment ids, new segments) after VACUUM / compaction /
        # CLUSTER swapped segments in (vector indexes rebuild their per-segment parts)
        self.rewrite_hooks: list = []
        # fn(store, table_ids) after each commit, outside the commit lock (vector indexes
        # start building the graphs of newly sealed segments in the background)
        self.commit_hooks: list = []

    @classmethod
    def open(
        cls, path: str | None = None, *, sync: bool = True, memory_limit: int = 0, **options: Any
    ) -> Store:
        """A store in memory (path None) or in the data directory `path`.

        Options of a data directory: checkpoint_bytes (WAL size that triggers a
        checkpoint), write_fn (os.write replacement, for fault injection in tests).
        """
        if path is None:
            return cls(sync=sync, memory_limit=memory_limit)
        from sqlvec.storage.durable import DurableStore

        return DurableStore.open_dir(path, sync=sync, memory_limit=memory_limit, **options)

    # -- ids --------------------------------------------------------------------------

    def allocate_rowids(self, table_id: int, n: int) -> int:
        """The first of `n` fresh row ids of a table (never handed out again)."""
        with self._id_lock:
            first = self._next_rowid.get(table_id, 1)
            self._next_rowid[table_id] = first + n
            return first

    def counter_next(self, key: str) -> int:
        """The next value (1, 2, ...) of a durable non-transactional counter."""
        with self._id_lock:
            v = self._counters.get(key, 0) + 1
            self._counters[key] = v
            return v

    # -- transactions -----------------------------------------------------------------

    def begin(self) -> Transaction:
        """A transaction on a snapshot of the committed state."""
        return Transaction(self, self._visible)

    @property
    def version(self) -> Version:
        """The newest published version."""
        return self._visible

    def _commit(self, txn: Transaction, *, sync: bool) -> None:
        """Check `txn` against the head, log it, apply it and publish it."""
        rec = txn.record()
        if rec.empty:
            return
        prepared = self._prepare(rec)  # heavy serialisation, outside the lock
        with self._commit_lock:
            self._check_open()
            head = self._head
            self._validate(txn, head)
            rec.seq = head.seq + 1
            try:  # conflicts first: a row updated by both is 40001, not a 23505 on its key
                new = apply(head, rec, strict=True)
            except Conflict:
                raise _conflict() from None
            for ch in rec.tables:
                latest = head.tables.get(ch.table_id)
                if latest is not None and (ch.inserts or ch.segments):
                    unique.check(latest, ch, latest.schema)
                    unique_fk.check(new, ch)  # a parent deleted by a commit this txn did not see
            ticket = self._log(rec, prepared)  # raises DiskFull / IoError: nothing applied
            self._head = new
            for k in (*rec.catalog_put, *rec.catalog_del):
                self._key_seq[k] = rec.seq
        if sync and self.sync:
            self._wait_durable(ticket)
        self._publish(new)
        self._after_commit(rec)

    def _check_open(self) -> None:
        if self._closed:
            raise ObjectNotInPrerequisiteState("the storage is closed")

    def _validate(self, txn: Transaction, head: Version) -> None:
        snap = txn.snapshot
        for key in txn.catalog_writes():
            if self._key_seq.get(key, 0) > snap.seq:
                raise _conflict()
        for lt in txn.changed_tables():
            latest = head.tables.get(lt.table_id)
            base = lt.base
            if lt.dropped:
                if base is not None and (latest is None or latest.epoch != base.epoch):
                    raise _conflict()
            elif lt.reset:
                if base is None:
                    if latest is not None:
                        raise _conflict()
                elif latest is None or latest.mod_seq != base.mod_seq:
                    raise _conflict()
            else:
                if latest is None or latest.schema != lt.schema:
                    raise _conflict()

    def _publish(self, new: Version) -> None:
        with self._publish_lock:
            if new.seq > self._visible.seq:
                self._visible = new

    # -- hooks for the durable store --------------------------------------------------

    def _prepare(self, rec: CommitRecord) -> object:
        """Serialise what can be serialised before taking the commit lock."""
        return None

    def _log(self, rec: CommitRecord, prepared: object) -> object:
        """Append `rec` to the WAL (not yet synced); returns what `_wait_durable` needs."""
        return None

    def _wait_durable(self, ticket: object) -> None:
        """Block until the WAL holds everything up to `ticket` on stable storage."""

    def _after_commit(self, rec: CommitRecord) -> None:
        """Runs after each commit, outside the lock: automatic compaction (and checkpoints)."""
        for hook in list(self.commit_hooks):
            try:
                hook(self, [ch.table_id for ch in rec.tables])
            except Exception:  # derived structures only: never fails the commit
                log.exception("commit hook failed")
        if not self.auto_compact:
            return
        head = self._head
        for ch in rec.tables:
            tv = head.tables.get(ch.table_id)
            if tv is not None and compact.needs_compaction(tv, self.compaction):
                self._compact_in_background(ch.table_id)

    def _sync_wal(self) -> None:
        """Wait until every logged commit is durable (before publishing a compaction)."""

    def _bulk_segments(
        self, table_id: int, schema: pa.Schema, batches: Iterable[pa.RecordBatch | pa.Table]
    ) -> list[Segment]:
        """Segments of about TARGET_ROWS rows each, with fresh row ids, from a batch stream."""
        out: list[Segment] = []
        pending: list[pa.Table] = []
        n = 0

        def flush() -> None:
            nonlocal pending, n
            if n:
                t = conform(pa.concat_tables(pending), schema)
                first = self.allocate_rowids(table_id, n)
                rowids = pa.array(np.arange(first, first + n, dtype=np.int64))
                t = t.add_column(0, schema.field(0), rowids)
                for seg in self._materialize(table_id, [t], bulk=True):
                    seg.growing = False  # in a file already, as WAL replay opens it: full
                    out.append(seg)
            pending, n = [], 0

        for b in batches:
            t = pa.Table.from_batches([b]) if isinstance(b, pa.RecordBatch) else b
            pending.append(conform(t, schema))
            n += t.num_rows
            if n >= compact.TARGET_ROWS:
                flush()
        flush()
        return out

    def _release_bulk(self, segs: list[Segment], committed: bool) -> None:
        """After a transaction with bulk-loaded files ends (the durable store unpins them)."""

    def _materialize(
        self, table_id: int, tables: list[pa.Table], bulk: bool = False
    ) -> list[Segment]:
        """Segments holding rewritten rows (the durable store writes them to files)."""
        return [
            Segment(next_segment_id(), t, growing=t.num_rows < SEAL_ROWS, stats=column_stats(t))
            for t in tables
        ]

    # -- maintenance ------------------------------------------------------------------

    def vacuum(self, table_id: int, full: bool = False) -> int:
        """Merge small segments and drop deleted rows (every segment with full); rows dropped.

        Row ids and query results are unchanged; snapshots taken before keep the old
        segments (their files go once nothing uses them). Works a group of segments at a
        time, so a table larger than memory can be vacuumed.
        """
        with self._maint_lock:
            tv = self._table(table_id)
            views = compact.pick(tv, full=full)
            if not views or (len(views) == 1 and not views[0].n_deleted and not full):
                return 0
            segs: list[Segment] = []
            done = False
            try:
                for group in compact.groups(views):
                    with self.memory.hold(_bytes_of(group), "vacuum"):
                        segs += self._materialize(table_id, compact.rewrite(group), bulk=True)
                done = self._swap(tv, views, segs)
            finally:
                self._rewritten(segs, done)
            return sum(v.n_deleted for v in views) if done else 0

    def compact(self, table_id: int, max_merges: int = 64) -> int:
        """Automatic compaction of a table: drop deleted rows, then size-tiered merges.

        Each merge is its own rewrite and swap (the commit lock is held only to swap), so
        commits go on meanwhile; returns the number of tiered merges done.
        """
        tv = self._head.tables.get(table_id)
        if tv is None:
            return 0
        if compact.needs_compaction(tv):
            self.vacuum(table_id)
        done = 0
        while done < max_merges and not self._closed:
            with self._maint_lock:
                tv = self._head.tables.get(table_id)
                run = compact.tiered(tv, self.compaction) if tv is not None else []
                if not run or tv is None:
                    break
                limit = self.compaction.limit([v for v in tv.views if not v.seg.growing])
                segs: list[Segment] = []
                swapped = False
                try:
                    with self.memory.hold(_bytes_of(run), "compaction"):
                        tables = compact.rewrite(run, target_rows=limit, exact=True)
                        segs = self._materialize(table_id, tables, bulk=True)
                    swapped = self._swap(tv, run, segs)
                finally:
                    self._rewritten(segs, swapped)
                if not swapped:
                    break
            done += 1
        return done

    def cluster(self, table_id: int, key: list[str]) -> None:
        """Rewrite a table ordered by `key` so equal or near keys share segments.

        The whole table is sorted in memory: it reserves twice its size from the budget.
        """
        with self._maint_lock:
            tv = self._table(table_id)
            views = [v for v in tv.views if v.seg.num_rows]
            if not views:
                return
            segs: list[Segment] = []
            done = False
            try:
                with self.memory.hold(2 * _bytes_of(views), "cluster"):
                    tables = compact.rewrite(views, key=key, target_rows=SEAL_ROWS)
                    segs = self._materialize(table_id, tables, bulk=True)
                done = self._swap(tv, views, segs)
            finally:
                self._rewritten(segs, done)
            if not done:
                raise _conflict()

    def _rewritten(self, segs: list[Segment], swapped: bool) -> None:
        """After a rewrite: the durable store forgets or removes the files it wrote."""

    def _table(self, table_id: int) -> TableVersion:
        tv = self._head.tables.get(table_id)
        if tv is None:
            raise UndefinedTable(f"table with oid {table_id} does not exist in storage")
        return tv

    def _swap(self, tv: TableVersion, old: list[SegView], segs: list[Segment]) -> bool:
        """Replace `old` views of a table by `segs` (the same live rows, rewritten).

        Rows deleted by commits since `tv` are deleted in the new segments too; if the
        table was reset or the old segments replaced meanwhile, nothing happens (False).
        """
        with self._commit_lock:
            self._check_open()
            head = self._head
            htv = head.tables.get(tv.table_id)
            if htv is None or htv.epoch != tv.epoch:
                return False
            by_id = {v.seg.seg_id: v for v in htv.views}
            extra = []
            for ov in old:
                hv = by_id.get(ov.seg.seg_id)
                if hv is None:
                    return False
                if hv.n_deleted != ov.n_deleted:
                    assert hv.deleted is not None
                    mask = hv.deleted if ov.deleted is None else hv.deleted & ~ov.deleted
                    extra.append(hv.seg.rowids[mask])
            gone = {ov.seg.seg_id for ov in old}
            new_views = [SegView(s) for s in segs]
            if extra:
                new_views = delete_rows(new_views, np.sort(np.concatenate(extra)), False)
            views = [v for v in htv.views if v.seg.seg_id not in gone] + new_views
            views = [v for v in views if not v.seg.growing] + [v for v in views if v.seg.growing]
            ntv = TableVersion(htv.table_id, htv.schema, htv.epoch, htv.mod_seq, tuple(views))
            tables_ = dict(head.tables)
            tables_[tv.table_id] = ntv
            new = Version(head.seq + 1, tables_, head.catalog, head.keys)
            self._head = new
        self._sync_wal()
        self._publish(new)
        for hook in list(self.rewrite_hooks):
            try:
                hook(self, tv.table_id, sorted(gone), segs)
            except Exception:  # derived structures only: never fails the rewrite
                log.exception("rewrite hook failed for table %s", tv.table_id)
        return True

    def _compact_in_background(self, table_id: int) -> None:
        with self._bg_lock:
            self._compact_pending.add(table_id)
            t = self._compact_thread
            if (t is not None and t.is_alive()) or self._closed:
                return
            t = threading.Thread(target=self._bg_compact, name="sqlvec-compact", daemon=True)
            self._compact_thread = t
            t.start()

    def _bg_compact(self) -> None:
        while True:
            with self._bg_lock:
                if not self._compact_pending or self._closed:
                    self._compact_thread = None
                    return
                tid = self._compact_pending.pop()
            try:
                # a pass can stop short (a commit swapped segments under it): re-check
                for _ in range(8):
                    tv = self._head.tables.get(tid)
                    if tv is None or self._closed:
                        break
                    if not compact.needs_compaction(tv, self.compaction):
                        break
                    self.compact(tid)
                    if self._head.tables.get(tid) is tv:
                        break  # nothing changed: the next commit's trigger retries
            except Exception:  # compaction is an optimisation; the next trigger retries
                log.exception("background compaction of table %s failed", tid)

    def wait_background(self) -> None:
        """Wait for background compaction to finish (tests, close)."""
        t = self._compact_thread
        if t is not None:
            t.join()

    def checkpoint(self) -> None:
        """Seal growing data into segment files and trim the WAL (nothing in memory)."""

    def close(self) -> None:
        self.wait_background()
        self._closed = True

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
