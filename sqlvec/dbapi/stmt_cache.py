"""Per-connection LRU of prepared statements by SQL text, so repeated executes skip parse/bind.

An entry is reused only while Session.prepare_key() (the key its plan cache checks:
DDL generation, search_path, user, disabled optimizer rules) is unchanged, so DDL anywhere
in the database or a setting that changes name resolution prepares again on the next
execute: `SELECT *` sees a column added since, and parameter types follow the catalog.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

DEFAULT_SIZE = 128


class StatementCache:
    """Bounded LRU: SQL text ($n placeholders) -> (prepare key, PreparedStatement)."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[tuple, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def prepare(self, session: Any, sql: str, nparams: int) -> Any:
        """The session's prepared statement for sql, reused while its prepare key holds."""
        key_of = getattr(session, "prepare_key", None)
        if key_of is None or self.size <= 0:  # a session that can't tell when a statement goes stale
            return session.prepare(sql, [0] * nparams, "")
        key = key_of()
        hit = self._entries.get(sql)
        if hit is not None and hit[0] == key and not session.failed:
            self._entries.move_to_end(sql)
            self.hits += 1
            return hit[1]
        self.misses += 1
        stmt = session.prepare(sql, [0] * nparams, "")
        # stored under the key read before preparing: DDL that raced in meanwhile
        # (another connection) only makes the next execute prepare again
        self._entries[sql] = (key, stmt)
        self._entries.move_to_end(sql)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return stmt

    def clear(self) -> None:
        self._entries.clear()
