"""A server-wide memory budget that big materialisations reserve from before they allocate."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlvec.core.errors import OutOfMemory


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB"


class MemoryBudget:
    """Counts reserved bytes against `limit` (0 = unlimited); thread-safe.

    >>> b = MemoryBudget(1 << 20); b.reserve(1000); b.used
    1000
    """

    def __init__(self, limit: int = 0) -> None:
        self.limit = int(limit)
        self.used = 0
        self.peak = 0
        self._lock = threading.Lock()

    def reserve(self, n: int, what: str = "query") -> None:
        """Take `n` bytes or raise OutOfMemory (53200) leaving the budget unchanged."""
        n = max(0, int(n))
        with self._lock:
            if self.limit and self.used + n > self.limit:
                raise OutOfMemory(
                    "out of memory",
                    detail=(
                        f"Failed on request of size {_mb(n)} for {what}: "
                        f"{_mb(self.used)} of the {_mb(self.limit)} memory limit is in use."
                    ),
                    hint="Raise sqlvec.memory_limit or make the statement process less data.",
                )
            self.used += n
            self.peak = max(self.peak, self.used)

    def release(self, n: int) -> None:
        with self._lock:
            self.used = max(0, self.used - max(0, int(n)))

    @contextmanager
    def hold(self, n: int, what: str = "query") -> Iterator[None]:
        """Reserve `n` bytes for the duration of a with-block."""
        self.reserve(n, what)
        try:
            yield
        finally:
            self.release(n)
