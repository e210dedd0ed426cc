"""The live sessions of a Database, for pg_stat_activity (catalog/system reads it duck-typed)."""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any


class Activity:
    """Sessions by identity; weak so a forgotten session never stays listed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sessions: weakref.WeakSet[Any] = weakref.WeakSet()

    def add(self, s: Any) -> None:
        with self.lock:
            self.sessions.add(s)

    def remove(self, s: Any) -> None:
        with self.lock:
            self.sessions.discard(s)

    def snapshot(self) -> list[Any]:
        with self.lock:
            return sorted(self.sessions, key=lambda s: getattr(s, "backend_start", 0.0))


def activity(db: Any) -> Activity:
    a = db.__dict__.get("_activity")
    if a is None:
        a = db.__dict__.setdefault("_activity", Activity())
    return a


def register(s: Any) -> None:
    """Called when a session opens; it is listed until it closes."""
    s.backend_start = time.time()
    activity(s.db).add(s)


def unregister(s: Any) -> None:
    activity(s.db).remove(s)
