"""PostgreSQL's advisory locks: application-defined locks on a bigint key or a pair of int
keys, one lock table per database (Database.advisory).

A lock is exclusive or shared. Sessions conflict, one session never conflicts with itself
(its locks are counted: each lock is released as often as it was taken). Requests wait in
a queue per key, first come first served: one that conflicts with a request queued before
it waits too (a try fails), unless its session holds the key already. Session-level
locks (`pg_advisory_lock`) last until unlocked or the session ends; transaction-level
ones (`pg_advisory_xact_lock`) until the transaction ends (Session.end_advisory_xact).
A wait ends with the lock, or raises: a cancel or statement_timeout (57014, by the
session's cancel event), lock_timeout (55P03), or a deadlock with other waiters (40P01,
found when the wait starts, where PostgreSQL looks after deadlock_timeout). `rows()`
gives pg_locks' rows, waiters included (granted false). LangChain's PGVector takes
`pg_advisory_xact_lock` before CREATE EXTENSION vector; migration tools (Rails, Prisma,
golang-migrate, Flyway) guard their runs with these locks.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlvec.core.errors import DeadlockDetected, LockNotAvailable

POLL = 0.05  # seconds between checks for a cancel while waiting


@dataclass
class _Holds:
    """One session's hold on one key: counts per (level, mode)."""

    counts: dict[tuple[str, bool], int] = field(default_factory=dict)  # (level, shared) -> n

    def modes(self) -> set[bool]:
        return {shared for (_lvl, shared), n in self.counts.items() if n}


@dataclass(eq=False)
class _Wait:
    owner: Any
    key: tuple
    shared: bool
    since: float


class AdvisoryLocks:
    """The advisory lock table of one database (thread-safe; owners are sessions)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held: dict[tuple, dict[Any, _Holds]] = {}  # key -> session -> its holds
        self._queue: dict[tuple, list[_Wait]] = {}  # key -> its waiters, first come first
        self._waits: dict[Any, _Wait] = {}  # session -> what it waits for

    def _blockers(self, key: tuple, owner: Any, shared: bool, me: _Wait | None = None
                  ) -> list[Any]:
        """Sessions a request must wait for: other holders of a conflicting mode, and
        (unless it holds the key already, as PostgreSQL lets it pass) the waiters queued
        before it for a conflicting mode, so that a stream of shared requests never starves
        an exclusive one."""
        by = self._held.get(key, {})
        out = [o for o, h in by.items() if o is not owner and (not shared or False in h.modes())]
        if owner not in by:
            for w in self._queue.get(key, ()):
                if w is me:
                    break
                if w.owner is not owner and not (shared and w.shared):
                    out.append(w.owner)
        return out

    def _deadlocked(self, owner: Any, blockers: list[Any]) -> bool:
        """Whether a blocker waits, through other waiters, for `owner`."""
        seen: set[int] = set()
        todo = list(blockers)
        while todo:
            o = todo.pop()
            if o is owner:
                return True
            if id(o) in seen or o not in self._waits:
                continue
            seen.add(id(o))
            w = self._waits[o]
            todo.extend(self._blockers(w.key, o, w.shared, w))
        return False

    def acquire(self, owner: Any, key: tuple, shared: bool, level: str, wait: bool,
                interrupted: Callable[[], None] = lambda: None, timeout_ms: int = 0,
                lend: Callable[[], AbstractContextManager] = contextlib.nullcontext) -> bool:
        """Take the lock (waiting when `wait`, in the key's queue): whether it was taken.
        `interrupted` raises to stop the wait (a cancel); timeout_ms > 0 is lock_timeout;
        the wait runs inside `lend()` (the server's: its worker thread is lent meanwhile)."""
        with self._cond:
            blockers = self._blockers(key, owner, shared)
            if blockers:
                if not wait:
                    return False
                if self._deadlocked(owner, blockers):
                    raise DeadlockDetected(
                        "deadlock detected", hint="See server log for query details.",
                        detail=f"Process {getattr(owner, 'backend_pid', 0)} waits for "
                        f"{_MODE[shared]} on advisory lock {_shown(key)}; blocked by process "
                        f"{getattr(blockers[0], 'backend_pid', 0)}.")
                me = self._waits[owner] = _Wait(owner, key, shared, time.time())
                self._queue.setdefault(key, []).append(me)
                start = time.monotonic()
                try:
                    with lend():
                        while self._blockers(key, owner, shared, me):
                            interrupted()
                            left = POLL
                            if timeout_ms > 0:
                                left = min(POLL, start + timeout_ms / 1e3 - time.monotonic())
                                if left <= 0:
                                    raise LockNotAvailable(
                                        "canceling statement due to lock timeout")
                            self._cond.wait(left)
                finally:
                    del self._waits[owner]
                    queue = self._queue[key]
                    queue.remove(me)
                    if not queue:
                        del self._queue[key]
                    self._cond.notify_all()  # (those queued behind it may go now)
            holds = self._held.setdefault(key, {}).setdefault(owner, _Holds())
            holds.counts[(level, shared)] = holds.counts.get((level, shared), 0) + 1
            return True

    def release(self, owner: Any, key: tuple, shared: bool) -> bool:
        """Release one session-level hold (pg_advisory_unlock): whether there was one."""
        with self._cond:
            holds = self._held.get(key, {}).get(owner)
            n = holds.counts.get(("session", shared), 0) if holds else 0
            if not n:
                return False
            holds.counts[("session", shared)] = n - 1
            self._forget(key, owner)
            self._cond.notify_all()
            return True

    def release_all(self, owner: Any, level: str | None) -> None:
        """Every hold of `owner` at `level` (None: both, as when the session ends)."""
        with self._cond:
            changed = False
            for key in [k for k, by in self._held.items() if owner in by]:
                counts = self._held[key][owner].counts
                for lvl_mode in [m for m in counts if level is None or m[0] == level]:
                    changed |= counts.pop(lvl_mode) > 0
                self._forget(key, owner)
            if changed:
                self._cond.notify_all()

    def _forget(self, key: tuple, owner: Any) -> None:
        by = self._held[key]
        if not by[owner].modes():
            del by[owner]
            if not by:
                del self._held[key]

    def rows(self) -> list[dict[str, Any]]:
        """pg_locks' rows of advisory locks: one per session and mode held, one per waiter
        (granted false); `owner` is the session (its pid and database filled by the view)."""
        import datetime

        with self._cond:
            held = [(key, owner, shared, True, None)
                    for key, by in self._held.items() for owner, h in by.items()
                    for shared in sorted(h.modes())]
            held += [(w.key, w.owner, w.shared, False, w.since) for w in self._waits.values()]
        return [{"locktype": "advisory", **lock_fields(key), "mode": _MODE[shared],
                 "granted": granted, "fastpath": False, "owner": owner,
                 "waitstart": None if since is None else
                 datetime.datetime.fromtimestamp(since, datetime.UTC)}
                for key, owner, shared, granted, since in held]


_MODE = {False: "ExclusiveLock", True: "ShareLock"}


def _shown(key: tuple) -> str:
    f = lock_fields(key)
    return f"[0,{f['classid']},{f['objid']},{f['objsubid']}]"


def key_of(args: tuple) -> tuple:
    """The lock's key: ('b', bigint) or ('i', int, int) (two key spaces, as PostgreSQL's)."""
    return ("b", int(args[0])) if len(args) == 1 else ("i", int(args[0]), int(args[1]))


def lock_fields(key: tuple) -> dict[str, int]:
    """pg_locks' classid / objid / objsubid of a key (a bigint: its high and low halves)."""
    if key[0] == "b":
        k = key[1] & 0xFFFFFFFFFFFFFFFF
        return {"classid": k >> 32, "objid": k & 0xFFFFFFFF, "objsubid": 1}
    return {"classid": key[1] & 0xFFFFFFFF, "objid": key[2] & 0xFFFFFFFF, "objsubid": 2}

