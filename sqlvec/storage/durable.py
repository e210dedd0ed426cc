"""DurableStore: a Store kept in a data directory (WAL, segment files, manifests, checkpoints).

Layout (format version 1):

    VERSION                 "sqlvec-data 1"
    LOCK                    flock()ed by the process that has the directory open
    CHECKPOINT              checksummed JSON: seq, first WAL file to replay, catalog,
                            counters, row id marks, and per table its current manifest
    wal/<n>.wal             write-ahead log files (see wal.py)
    manifests/<t>.<seq>.json  one per table version sealed by a checkpoint (manifest.py)
    segments/<t>/<id>.seg   Arrow IPC segment files with a checksummed header
    segments/<t>/<id>.<n>.del  delete bitmaps

Opening reads VERSION, CHECKPOINT and the WAL after it; tables stay unread until used.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterator

import pyarrow as pa

from sqlvec.core.errors import FeatureNotSupported, ObjectInUse
from sqlvec.storage import state
from sqlvec.storage.fileio import (
    LazyName,
    SyncBatch,
    dump_json_file,
    fsync_dir,
    load_json_file,
    os_error,
    read_segment,
    write_atomic,
)
from sqlvec.storage.manifest import (
    lazy_table,
    manifest_files,
    seal,
    table_dir,
    write_manifest,
)
from sqlvec.storage.segment import Segment, SegView
from sqlvec.storage.state import CommitRecord, TableVersion, Version
from sqlvec.storage.store import Store
from sqlvec.storage.wal import (
    REC_COMMIT,
    REC_COUNTERS,
    WalReader,
    WalWriter,
    WriteFn,
    commit_pieces,
    decode_commit,
    encode_tables,
    wal_numbers,
    wal_path,
)

log = logging.getLogger(__name__)

LAYOUT = "sqlvec-data 1\n"
CKPT_MAGIC = "SQLVCKP"
COUNTER_BLOCK = 32
DEFAULT_CHECKPOINT_BYTES = 64 << 20


class DurableStore(Store):
    """A Store whose commits are logged and fsynced, checkpointed into segment files."""

    @classmethod
    def open_dir(
        cls,
        path: str,
        *,
        sync: bool = True,
        memory_limit: int = 0,
        write_fn: WriteFn | None = None,
        fsync_fn: Callable[[int], None] | None = None,
        checkpoint_bytes: int = DEFAULT_CHECKPOINT_BYTES,
    ) -> DurableStore:
        store = cls(sync=sync, memory_limit=memory_limit)
        store._open(os.path.abspath(path), write_fn, fsync_fn, checkpoint_bytes)
        return store

    # -- opening ----------------------------------------------------------------------

    def _open(
        self,
        path: str,
        write_fn: WriteFn | None,
        fsync_fn: Callable[[int], None] | None,
        checkpoint_bytes: int,
    ) -> None:
        self.path = path
        self.checkpoint_bytes = checkpoint_bytes
        self.describe_table: Callable[[int], str] | None = None
        # file path -> the Segment objects serving it (a file goes once none is alive)
        self._files: dict[str, list[weakref.ref[Segment]]] = {}
        self._files_lock = threading.Lock()
        self._index: dict[int, dict] = {}
        self._counter_limit: dict[str, int] = {}
        self._pinned: set[int] = set()  # bulk-loaded segment ids no checkpoint lists yet
        self._ckpt_retry_at = 0  # WAL size before a failed background checkpoint retries
        self._ckpt_lock = threading.Lock()
        self._ckpt_thread: threading.Thread | None = None
        self._lock_fd = -1
        try:
            os.makedirs(path, exist_ok=True)
            vfile = os.path.join(path, "VERSION")
            if not os.path.exists(vfile):
                if any(n for n in os.listdir(path) if not n.startswith(".")):
                    raise FeatureNotSupported(
                        f'directory "{path}" is not empty and is not a sqlvec data directory'
                    )
                for sub in ("wal", "manifests", "segments"):
                    os.makedirs(os.path.join(path, sub), exist_ok=True)
                write_atomic(vfile, LAYOUT.encode())
            else:
                with open(vfile) as f:
                    layout = f.read()
                if layout != LAYOUT:
                    raise FeatureNotSupported(
                        f'data directory "{path}" has layout {layout.strip()!r}, '
                        f"this server supports {LAYOUT.strip()!r}"
                    )
        except OSError as e:
            raise os_error(e, path) from e
        self._lock_dir()
        try:
            with _no_gc():  # tens of thousands of small objects: cyclic GC passes doubled it
                first_wal = self._load_checkpoint()
                last = self._replay(first_wal)
            self._sweep_dropped()
            self._wal = WalWriter(
                os.path.join(path, "wal"), last + 1, write_fn=write_fn, fsync_fn=fsync_fn
            )
        except BaseException:
            self._unlock_dir()
            raise

    def _lock_dir(self) -> None:
        lock = os.path.join(self.path, "LOCK")  # type: ignore[arg-type]
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ObjectInUse(
                f'data directory "{self.path}" is in use by another process',
                hint="Stop the other server or open another data directory.",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _unlock_dir(self) -> None:
        if self._lock_fd >= 0:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = -1

    def _what(self, table_id: int) -> LazyName:
        """How errors name a table; looked up only when a message is built."""
        return LazyName(lambda: self._describe(table_id))

    def _describe(self, table_id: int) -> str:
        if self.describe_table is not None:
            try:
                return self.describe_table(table_id)
            except Exception:  # naming must never hide the real error
                pass
        return f"table {table_id}"

    def _register(self, seg: Segment) -> None:
        if seg.path is not None:
            with self._files_lock:
                refs = [r for r in self._files.get(seg.path, []) if r() is not None]
                refs.append(weakref.ref(seg))
                self._files[seg.path] = refs

    def _users(self, path: str) -> list[Segment]:
        """The live Segment objects that may still read `path`."""
        with self._files_lock:
            segs = [s for r in self._files.get(path, []) if (s := r()) is not None]
            if not segs:
                self._files.pop(path, None)
            return segs

    def _load_checkpoint(self) -> int:
        """Load CHECKPOINT (if any) into the head version; returns the first WAL to replay."""
        cpath = os.path.join(self.path, "CHECKPOINT")  # type: ignore[arg-type]
        self._ckpt_seg_next = 0
        if not os.path.exists(cpath):
            return 1
        c = load_json_file(cpath, CKPT_MAGIC, "the checkpoint")
        self._index = {int(k): v for k, v in c["tables"].items()}
        tables = {}
        for tid, e in self._index.items():
            tables[tid] = lazy_table(
                self.path, tid, e["e"], e["m"], e["p"], e["f"],  # type: ignore[arg-type]
                self._what(tid), self._register,
            )
        self._head = self._visible = Version(c["seq"], tables, c["catalog"])
        self._counters = dict(c["counters"])
        self._counter_limit = dict(c["counters"])
        self._next_rowid = {int(k): v for k, v in c["rowids"].items()}
        state.bump_segment_ids(c["seg_next"])
        self._ckpt_seg_next = c["seg_next"]
        return c["wal"]

    def _sweep_dropped(self) -> None:
        """Remove segment folders of tables the checkpoint no longer has (left by a crash)."""
        sdir = os.path.join(self.path, "segments")  # type: ignore[arg-type]
        for name in os.listdir(sdir):
            if name.isdigit() and int(name) not in self._head.tables:
                self._collect({}, {}, [int(name)], self._ckpt_seg_next)

    def _replay(self, first: int) -> int:
        """Apply the WAL after the checkpoint; returns the number of the last WAL file."""
        wdir = os.path.join(self.path, "wal")  # type: ignore[arg-type]
        numbers = [n for n in wal_numbers(wdir) if n >= first]
        head = self._head
        reader = None
        for n in numbers:
            reader = WalReader(wal_path(wdir, n), last=n == numbers[-1])
            for rtype, payload in reader:
                if rtype == REC_COUNTERS:
                    for k, v in json.loads(payload.to_pybytes()).items():
                        if v > self._counter_limit.get(k, 0):
                            self._counter_limit[k] = self._counters[k] = v
                    continue
                rec, rowids = decode_commit(payload)
                for tid, nxt in rowids.items():
                    if nxt > self._next_rowid.get(tid, 1):
                        self._next_rowid[tid] = nxt
                for ch in rec.tables:
                    for f in ch.files:
                        state.bump_segment_ids(f["id"])  # never reuse a logged file's name
                if rec.seq <= head.seq:
                    continue
                for ch in rec.tables:
                    ch.segments.extend(self._file_segment(ch.table_id, f) for f in ch.files)
                head = state.apply(head, rec)
                for k in (*rec.catalog_put, *rec.catalog_del):
                    self._key_seq[k] = rec.seq
        self._head = self._visible = head
        if reader is not None and (reader.end < reader.size or reader.end == 0):
            _cut_torn_tail(reader)
        return max(numbers, default=first - 1)

    def _file_segment(self, table_id: int, f: dict) -> Segment:
        """The Segment of a bulk-loaded file named by a WAL record (opened on first use)."""
        path = os.path.join(table_dir(self.path, table_id), f["name"])  # type: ignore[arg-type]
        seg = Segment(
            f["id"], None, num_rows=f["rows"], min_rowid=f["min"], max_rowid=f["max"],
            path=path, loader=lambda: read_segment(path, self._what(table_id)),
        )
        seg.file_info = (f["size"], f["crc"])
        self._register(seg)
        return seg

    # -- committing -------------------------------------------------------------------

    def _prepare(self, rec: CommitRecord) -> object:
        return encode_tables(rec)

    def _log(self, rec: CommitRecord, prepared: object) -> object:
        tables, blobs = prepared  # type: ignore[misc]
        rowids = {ch.table_id: self._next_rowid.get(ch.table_id, 1) for ch in rec.tables}
        return self._wal.append(REC_COMMIT, commit_pieces(rec, tables, blobs, rowids))

    def _wait_durable(self, ticket: object) -> None:
        self._wal.sync_to(ticket)  # type: ignore[arg-type]

    def _after_commit(self, rec: CommitRecord) -> None:
        super()._after_commit(rec)
        if self._wal.size > max(self.checkpoint_bytes, self._ckpt_retry_at):
            self._checkpoint_in_background()

    def _sync_wal(self) -> None:
        self._wal.sync_all()

    def _rewritten(self, segs: list[Segment], swapped: bool) -> None:
        """Files of a rewrite that was not swapped in are removed; the others stay pinned
        until a checkpoint lists them."""
        if not swapped:
            for s in segs:
                self._pinned.discard(s.seg_id)
                if s.path is not None:
                    _unlink(s.path)

    def _materialize(
        self, table_id: int, tables: list[pa.Table], bulk: bool = False
    ) -> list[Segment]:
        """Rewritten or bulk-loaded rows go straight to fsynced segment files (mmapped)."""
        root = self.path
        assert root is not None
        what = self._what(table_id)
        segs = super()._materialize(table_id, tables)
        if bulk:  # no checkpoint may collect them before their transaction ends
            self._pinned.update(s.seg_id for s in segs)
        tv = TableVersion(table_id, None, 0, 0, tuple(SegView(s) for s in segs), phys=0)
        batch = SyncBatch()
        seal(root, tv, what, self._register, batch)
        batch.flush()
        return segs

    def _release_bulk(self, segs: list[Segment], committed: bool) -> None:
        """Bulk files that did not make it into the table are removed; the rest stay pinned
        until a checkpoint lists them."""
        live: set[int] = set()
        if committed:
            for s in segs:
                tv = self._head.tables.get(_table_of(s))
                if tv is not None:
                    live.update(v.seg.seg_id for v in tv.views)
        for s in segs:
            if s.seg_id not in live:
                self._pinned.discard(s.seg_id)
                if s.path is not None:
                    _unlink(s.path)

    def counter_next(self, key: str) -> int:
        """The next value of a durable counter; the WAL records blocks of 32 ahead."""
        with self._id_lock:
            v = self._counters.get(key, 0) + 1
            if v > self._counter_limit.get(key, 0):
                limit = v + COUNTER_BLOCK - 1
                with self._commit_lock:
                    self._wal.append(REC_COUNTERS, [json.dumps({key: limit}).encode()])
                self._counter_limit[key] = limit
            self._counters[key] = v
            return v

    # -- checkpoints ------------------------------------------------------------------

    def _checkpoint_in_background(self) -> None:
        t = self._ckpt_thread
        if (t is not None and t.is_alive()) or self._closed:
            return
        t = threading.Thread(target=self._bg_checkpoint, name="sqlvec-checkpoint", daemon=True)
        self._ckpt_thread = t
        t.start()

    def _bg_checkpoint(self) -> None:
        try:
            self.checkpoint()
            self._ckpt_retry_at = 0
        except Exception:  # the WAL still holds everything; retry once it grew further
            self._ckpt_retry_at = self._wal.size + self.checkpoint_bytes
            log.exception("background checkpoint failed")

    def checkpoint(self) -> None:
        """Seal data into segment files, write manifests and CHECKPOINT, trim the WAL."""
        with self._ckpt_lock:
            with self._commit_lock:
                self._check_open()
                version = self._head
                cut = self._wal.rotate()
                seg_cut = state.next_segment_id()
                counters = dict(self._counter_limit)
                rowids = dict(self._next_rowid)
            self._write_checkpoint(version, cut, seg_cut, counters, rowids)

    def _write_checkpoint(
        self, version: Version, cut: int, seg_cut: int, counters: dict, rowids: dict
    ) -> None:
        root = self.path
        assert root is not None
        old_index = self._index
        index = dict(old_index)
        dirty: list[int] = []
        batch = SyncBatch()
        for tid, tv in version.tables.items():
            e = index.get(tid)
            if e is not None and e["p"] == tv.phys:
                continue
            seal(root, tv, self._what(tid), self._register, batch)
            name = write_manifest(root, tv, batch)
            self._pinned.difference_update(v.seg.seg_id for v in tv.views)
            index[tid] = {"e": tv.epoch, "m": tv.mod_seq, "p": tv.phys, "f": name}
            dirty.append(tid)
        batch.flush()  # everything CHECKPOINT will name is durable before it names it
        dropped = [tid for tid in index if tid not in version.tables]
        for tid in dropped:
            del index[tid]
        body = {
            "seq": version.seq,
            "wal": cut,
            "seg_next": seg_cut,
            "catalog": version.catalog,
            "counters": counters,
            "rowids": {str(k): v for k, v in rowids.items()},
            "tables": {str(k): v for k, v in index.items()},
        }
        write_atomic(os.path.join(root, "CHECKPOINT"), dump_json_file(CKPT_MAGIC, body))
        self._index = index
        wdir = os.path.join(root, "wal")
        for n in wal_numbers(wdir):
            if n < cut:
                os.unlink(wal_path(wdir, n))
        self._collect(old_index, index, [*dirty, *dropped], seg_cut)
        fsync_dir(wdir)

    def _collect(self, old: dict, new: dict, tables: list[int], seg_cut: int) -> None:
        """Remove files the new checkpoint no longer needs once no snapshot uses them."""
        root = self.path
        assert root is not None
        mdir = os.path.join(root, "manifests")
        for tid in tables:
            keep: set[str] = set()
            if tid in new:
                keep = manifest_files(root, new[tid]["f"], self._what(tid))
            if tid in old and (tid not in new or old[tid]["f"] != new[tid]["f"]):
                _unlink(os.path.join(mdir, old[tid]["f"]))
            tdir = table_dir(root, tid)
            try:
                names = os.listdir(tdir)
            except FileNotFoundError:
                continue
            for name in names:
                rel = os.path.join("segments", str(tid), name)
                head = name.split(".", 1)[0]
                if rel in keep or not head.isdigit() or int(head) >= seg_cut:
                    continue
                if int(head) in self._pinned:
                    continue
                path = os.path.join(root, rel)
                users = self._users(path)
                if users:
                    _unlink_after(users, path)
                else:
                    _unlink(path)
            if tid not in new:
                try:
                    os.rmdir(tdir)
                except OSError:
                    pass

    # -- closing ----------------------------------------------------------------------

    def close(self) -> None:
        """Checkpoint, close the WAL and release the directory."""
        if self._closed:
            return
        self.wait_background()
        t = self._ckpt_thread
        if t is not None:
            t.join()
        try:
            self.checkpoint()
        finally:
            with self._commit_lock:
                self._closed = True
                self._wal.close()
            self._unlock_dir()

    def abandon(self) -> None:
        """Close without a checkpoint (as a crash would, but releasing the lock): for tests."""
        if self._closed:
            return
        self._closed = True  # background work stops starting new rounds
        self.wait_background()
        t = self._ckpt_thread
        if t is not None:
            t.join()
        with self._commit_lock:
            self._wal.close()
        self._unlock_dir()


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Cyclic garbage collection paused (start-up allocates but frees almost nothing)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _cut_torn_tail(reader: WalReader) -> None:
    """Cut the torn tail off the last WAL file, so it ends cleanly before the next one.

    Only once replay succeeded: a file whose header never made it to disk goes away.
    """
    log.warning(
        "write-ahead log file %s: ignoring a torn tail of %d bytes at offset %d",
        reader.path, reader.size - reader.end, reader.end,
    )
    try:
        if reader.end == 0:
            os.unlink(reader.path)
        else:
            with open(reader.path, "r+b") as f:
                f.truncate(reader.end)
                f.flush()
                os.fsync(f.fileno())
        fsync_dir(os.path.dirname(reader.path))
    except OSError as e:
        raise os_error(e, reader.path) from e


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _table_of(seg: Segment) -> int:
    """The table id of a file-backed segment (from its folder name)."""
    return int(os.path.basename(os.path.dirname(seg.path or "/0/x")))


def _unlink_after(users: list[Segment], path: str) -> None:
    """Remove `path` once every one of `users` is gone."""
    left = [len(users)]
    lock = threading.Lock()

    def one_gone() -> None:
        with lock:
            left[0] -= 1
            if left[0] == 0:
                _unlink(path)

    for seg in users:
        weakref.finalize(seg, one_gone)
