"""`python -m sqlvec serve` with crash-test hooks: a small checkpoint threshold and forced maintenance.

The server has no option for its WAL checkpoint threshold and its `CHECKPOINT` / `VACUUM`
statements change nothing yet, so this launcher (test-only) opens the same server with:

- SQLVEC_TEST_CHECKPOINT_BYTES: checkpoint_bytes of the data directory (default 64 MiB);
- SQLVEC_TEST_SEAL_ROWS: rows at which growing data becomes a full segment (default
  65,536; also the compaction policy's base tier), and SQLVEC_TEST_COMPACT_FANOUT: the
  automatic compaction fanout (default 4): small values make the server's background
  compaction run every few hundred rows written;
- SQLVEC_TEST_EVENTS: a file where checkpoint/vacuum/automatic compaction begin and end
  are appended unbuffered (`ckpt+`, `ckpt-`, `vac+`, `vac-`, `comp+`, `comp-`), so the test
  knows what a SIGKILL interrupted;
- SIGUSR1: run a checkpoint and then a VACUUM of every table in a background thread;
- SIGUSR2: toggle a full disk for WAL writes (a short write, then ENOSPC), like the
  storage tests' write_fn fault injection, but in a real server.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from typing import Any

from sqlvec.storage.durable import DurableStore
from sqlvec.storage.store import Store

_STORES: list[DurableStore] = []
_EVENTS_FD = -1
_DISK_FULL = threading.Event()


def _wal_write(fd: int, data: memoryview) -> int:
    """os.write, or while the disk is "full" a partial write and then ENOSPC."""
    if _DISK_FULL.is_set():
        if os.write(fd, data[: min(len(data), 10)]):
            raise OSError(errno.ENOSPC, "No space left on device")
    return os.write(fd, data)


def _toggle_disk_full() -> None:
    if _DISK_FULL.is_set():
        _DISK_FULL.clear()
        _event("disk-ok")
    else:
        _DISK_FULL.set()
        _event("disk-full")


def _event(word: str) -> None:
    if _EVENTS_FD >= 0:
        os.write(_EVENTS_FD, f"{word}\n".encode())


def _install() -> None:
    global _EVENTS_FD
    events = os.environ.get("SQLVEC_TEST_EVENTS")
    if events:
        _EVENTS_FD = os.open(events, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    ckpt_bytes = os.environ.get("SQLVEC_TEST_CHECKPOINT_BYTES")
    fanout = os.environ.get("SQLVEC_TEST_COMPACT_FANOUT")
    seal = os.environ.get("SQLVEC_TEST_SEAL_ROWS")
    if seal:
        from sqlvec.storage import compact, state
        from sqlvec.storage import store as store_mod

        state.SEAL_ROWS = store_mod.SEAL_ROWS = int(seal)
        compact.SMALL_ROWS, compact.TARGET_ROWS = int(seal) // 2, 4 * int(seal)
    orig_open = DurableStore.open_dir.__func__  # type: ignore[attr-defined]

    def open_dir(cls: type, path: str, **kw: Any) -> DurableStore:
        if ckpt_bytes:
            kw.setdefault("checkpoint_bytes", int(ckpt_bytes))
        kw.setdefault("write_fn", _wal_write)
        store = orig_open(cls, path, **kw)
        if fanout:
            store.compaction.fanout = int(fanout)
        if seal:
            store.compaction.base_rows = int(seal)
        _STORES.append(store)
        return store

    DurableStore.open_dir = classmethod(open_dir)  # type: ignore[assignment,method-assign]
    orig_ckpt = DurableStore.checkpoint
    orig_vacuum = Store.vacuum
    orig_compact = Store.compact

    def checkpoint(self: DurableStore) -> None:
        _event("ckpt+")
        try:
            orig_ckpt(self)
        finally:
            _event("ckpt-")

    def vacuum(self: Store, table_id: int, full: bool = False) -> int:
        _event("vac+")
        try:
            return orig_vacuum(self, table_id, full)
        finally:
            _event("vac-")

    def compact(self: Store, table_id: int, max_merges: int = 64) -> int:
        _event("comp+")  # automatic (background) compaction: Store._bg_compact calls this
        try:
            return orig_compact(self, table_id, max_merges)
        finally:
            _event("comp-")

    DurableStore.checkpoint = checkpoint  # type: ignore[method-assign]
    Store.compact = compact  # type: ignore[method-assign]
    Store.vacuum = vacuum  # type: ignore[method-assign]
    signal.signal(signal.SIGUSR1, lambda *_: threading.Thread(target=_maintain).start())
    signal.signal(signal.SIGUSR2, lambda *_: _toggle_disk_full())


def _maintain() -> None:
    """Checkpoint, then vacuum (full every other table) everything the server has open."""
    for store in list(_STORES):
        store.checkpoint()
        for i, tid in enumerate(sorted(store.version.tables)):
            store.vacuum(tid, full=bool(i % 2))


if __name__ == "__main__":
    _install()
    from sqlvec.server.cli import main

    sys.exit(main(sys.argv[1:]))
