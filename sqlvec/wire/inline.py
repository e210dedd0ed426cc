"""Which requests are cheap enough to run where they arrive, without a hop to a worker thread.

The server's transport runs a connection's requests on its event loop when the protocol
says they are cheap, and on a worker thread otherwise (server/app.py). A hop costs two
thread switches and a loop wake-up, more than a primary-key lookup itself, so the cheap
path matters for small prepared statements. A statement text earns it by measurement:
its last run took little CPU and little wall time, and the text can neither write nor wait
(a single `SELECT`, `VALUES`, `SHOW` or `TABLE`, without `INTO`, `FOR UPDATE`, `FOR
SHARE`, an advisory lock function or pg_sleep). The first run of a text always goes to a worker; a run that turns out slow sends
the next one back there. On a worker CPU is `time.thread_time_ns` (waiting for the GIL
does not count); on the loop it is the wall time, which bounds the CPU, is what the run
held the loop for, and costs no system call (thread CPU is one, ~2.3 us on this VM) but
also counts the time the process was switched out: so a run on the loop slower than
CPU_LIMIT_NS but under WALL_LIMIT_NS is a first strike, and only a second one in a row
sends the text back to workers (on a busy machine one lookup in ~50 was switched out).

    >>> book = CostBook()
    >>> book.is_fast("SELECT 1")
    False
    >>> book.record("SELECT 1", cpu_ns=40_000, wall_ns=60_000)
    >>> book.is_fast("SELECT 1")
    True
    >>> book.record("SELECT 1", cpu_ns=5_000_000, wall_ns=5_000_000)
    >>> book.is_fast("SELECT 1")
    False
    >>> book.record("SELECT 1", cpu_ns=40_000, wall_ns=60_000)
    >>> book.record("SELECT 1", cpu_ns=3_000_000, wall_ns=3_000_000, on_loop=True)
    >>> book.is_fast("SELECT 1")  # maybe switched out: one strike
    True
    >>> book.record("SELECT 1", cpu_ns=3_000_000, wall_ns=3_000_000, on_loop=True)
    >>> book.is_fast("SELECT 1")
    False
    >>> read_only("insert into t values (1)"), read_only("select * into t2 from t")
    (False, False)
    >>> read_only("select pg_advisory_lock($1)"), read_only("select pg_sleep($1)")
    (False, False)
"""

from __future__ import annotations

import re

CPU_LIMIT_NS = 1_000_000  # a run above 1 ms of CPU goes to a worker next time
WALL_LIMIT_NS = 20_000_000  # ... and so does one that waited (I/O, locks) 20 ms
INLINE_BUDGET_NS = 2_000_000  # one loop turn runs at most ~2 ms of requests, then hands over
MAX_TEXTS = 256  # statement texts remembered per connection (memory stays bounded) ...
MAX_TEXT = 8192  # ... and only texts up to this long
MAX_INLINE_BIND = 64 * 1024  # parameter bytes a cheap Bind may carry

_LEAD = re.compile(r"\s*(select|values|show|table)\b", re.IGNORECASE)
# (an advisory lock function may wait for another session: session/advisory.py; pg_sleep
# waits as long as its argument says)
_WRITES = re.compile(r"\binto\b|\bfor\s+(update|share|no\s+key|key)\b|;\s*\S"
                     r"|\bpg_(try_)?advisory_|\bpg_sleep", re.IGNORECASE)


def read_only(sql: str) -> bool:
    """One statement that only reads (cannot write, lock or wait for another session)."""
    return _LEAD.match(sql) is not None and _WRITES.search(sql) is None


class CostBook:
    """Per-connection memory of which statement texts ran fast enough to run inline."""

    __slots__ = ("_fast",)

    def __init__(self) -> None:
        self._fast: dict[str, int] = {}  # fast text -> strikes (slow runs on the loop in a row)

    def is_fast(self, sql: str) -> bool:
        return sql in self._fast

    def record(self, sql: str, cpu_ns: int, wall_ns: int, on_loop: bool = False) -> None:
        """Remember how a run of `sql` went (a slow run forgets the text; on the loop, where
        `cpu_ns` is wall time, a second slow run in a row under WALL_LIMIT_NS does)."""
        fast = self._fast
        if cpu_ns < CPU_LIMIT_NS and wall_ns < WALL_LIMIT_NS:
            strikes = fast.get(sql)
            if strikes is None:
                if len(sql) <= MAX_TEXT and read_only(sql):
                    if len(fast) >= MAX_TEXTS:
                        fast.clear()
                    fast[sql] = 0
            elif strikes:
                fast[sql] = 0
        elif on_loop and wall_ns < WALL_LIMIT_NS and fast.get(sql) == 0:
            fast[sql] = 1
        else:
            fast.pop(sql, None)
