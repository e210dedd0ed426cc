"""LISTEN / NOTIFY / UNLISTEN and pg_notify(): notifications between sessions of a Database.

A NotifyHub per Database keeps who listens to which channel. NOTIFY outside a transaction
block is delivered at once; inside one it is queued and delivered at COMMIT (dropped at
ROLLBACK), as in PostgreSQL. Delivery appends (sender pid, channel, payload) to each
listening session's `notifications` and calls its `notify_waker` (set by the server) so
an idle connection is sent the NotificationResponse without waiting for its next query;
the wire also sends pending ones before every ReadyForQuery.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from sqlvec.core.errors import InvalidParameterValue, SyntaxError_
from sqlvec.core.results import Command

_LISTEN = re.compile(r'(?is)^(listen|unlisten)\s+("(?:[^"]|"")+"|\*|[A-Za-z_][\w$]*)\s*;?\s*$')
_NOTIFY = re.compile(r'(?is)^notify\s+("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s*(?:,\s*\'((?:[^\']|\'\')*)\')?\s*;?\s*$')
MAX_PAYLOAD = 8000


class NotifyHub:
    """Channel -> listening sessions, for one Database (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.listeners: dict[str, set[Any]] = {}

    def listen(self, session: Any, channel: str) -> None:
        with self.lock:
            self.listeners.setdefault(channel, set()).add(session)

    def unlisten(self, session: Any, channel: str | None) -> None:
        with self.lock:
            for ch, who in list(self.listeners.items()):
                if channel is None or ch == channel:
                    who.discard(session)
                    if not who:
                        del self.listeners[ch]

    def deliver(self, sender_pid: int, channel: str, payload: str) -> None:
        with self.lock:
            targets = list(self.listeners.get(channel, ()))
        for s in targets:
            queue = s.__dict__.setdefault("notifications", [])
            queue.append((sender_pid, channel, payload))
            waker = getattr(s, "notify_waker", None)
            if waker is not None:
                waker()


def hub(db: Any) -> NotifyHub:
    """The Database's hub (created on first use)."""
    h = db.__dict__.get("_notify_hub")
    if h is None:
        h = db.__dict__.setdefault("_notify_hub", NotifyHub())
    return h


def _ident(tok: str) -> str:
    return tok[1:-1].replace('""', '"') if tok.startswith('"') else tok.lower()


def notify(s: Any, channel: str, payload: str) -> None:
    """Send now (no transaction block) or at COMMIT of the open block."""
    if not channel:
        raise InvalidParameterValue("channel name cannot be empty")
    if len(payload.encode()) >= MAX_PAYLOAD:
        raise InvalidParameterValue("payload string too long")
    if s.txn is not None:
        pending = s.__dict__.setdefault("pending_notifies", [])
        if (channel, payload) not in pending:  # PostgreSQL folds duplicates within a transaction
            pending.append((channel, payload))
        return
    hub(s.db).deliver(int(getattr(s, "backend_pid", 0) or 0), channel, payload)


def end_of_block(s: Any, committed: bool) -> None:
    """Deliver (COMMIT) or drop (ROLLBACK) the NOTIFYs of the block that just ended."""
    pending = s.__dict__.pop("pending_notifies", [])
    if committed:
        for channel, payload in pending:
            hub(s.db).deliver(int(getattr(s, "backend_pid", 0) or 0), channel, payload)


def run_listen_stmt(s: Any, text: str) -> Command | None:
    """LISTEN ch / UNLISTEN ch|* / NOTIFY ch[, 'payload']; None when text is none of them."""
    t = text.strip()
    m = _LISTEN.match(t)
    if m:
        kind, target = m.group(1).lower(), m.group(2)
        if kind == "listen":
            hub(s.db).listen(s, _ident(target))
            return Command("LISTEN")
        hub(s.db).unlisten(s, None if target == "*" else _ident(target))
        return Command("UNLISTEN")
    m = _NOTIFY.match(t)
    if m:
        notify(s, _ident(m.group(1)), (m.group(2) or "").replace("''", "'"))
        return Command("NOTIFY")
    if t.split(None, 1)[0].lower() in ("listen", "unlisten", "notify"):
        raise SyntaxError_(f'syntax error at or near "{t.split(None, 1)[0]}"')
    return None


def take_notifications(s: Any) -> list[tuple[int, str, str]]:
    """Pending notifications of session s (removed from it)."""
    queue = s.__dict__.get("notifications")
    if not queue:
        return []
    out = list(queue)
    del queue[: len(out)]
    return out


def close_session(s: Any) -> None:
    """A closing session stops listening."""
    hub(s.db).unlisten(s, None)
