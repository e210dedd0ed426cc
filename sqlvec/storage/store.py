"""Store: the committed state of a database, its transactions, and (on disk) its durability.

Committed state is a chain of immutable `Version`s numbered by commit sequence. `begin()`
hands out the newest *published* version; a commit is checked and applied against the
newest *head* version under one lock, written to the WAL, and published once durable, so a
reader never sees a commit that could still be lost (unless it asked for sync=False).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlvec.core.errors import ObjectNotInPrerequisiteState, SerializationFailure
from sqlvec.storage.memory import MemoryBudget
from sqlvec.storage.state import CommitRecord, Conflict, Version, apply, empty_version
from sqlvec.storage.txn import Transaction


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
            self._counter_advanced(key, v)
            return v

    def _counter_advanced(self, key: str, value: int) -> None:
        """Hook: the durable store logs counters."""

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
            try:
                new = apply(head, rec, strict=True)
            except Conflict:
                raise _conflict() from None
            ticket = self._log(rec, prepared)  # raises DiskFull / IoError: nothing applied
            self._head = new
            for k in (*rec.catalog_put, *rec.catalog_del):
                self._key_seq[k] = rec.seq
        if sync and self.sync:
            self._wait_durable(ticket)
        self._publish(new)
        self._after_commit()

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

    def _after_commit(self) -> None:
        """Runs after each commit, outside the lock (checkpoint triggers)."""

    # -- maintenance ------------------------------------------------------------------

    def checkpoint(self) -> None:
        """Seal growing data into segment files and trim the WAL (nothing in memory)."""

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
