"""The event loop's selector: it polls for a short while before it sleeps.

A thread that blocks in epoll_wait lets its core idle, and on the VMs this server runs on
(KVM guests whose idle loop halts the vCPU at once: cpuidle-haltpoll with
guest_halt_poll_ns = 0) waking it again costs tens of microseconds before any of our code
runs. A client that sends its next request as soon as it has read our answer (a driver in
a loop: ~70-150 us later here) finds the loop asleep every time. Polling for up to
`window` seconds first (epoll_wait with timeout 0, the GIL released on each) catches that
request awake: one psycopg client's prepared ANN query (ef_search 10) went from 2,150 to
3,209 a second at 200 us, `SELECT $1::int` from 3,606 to 5,164, the server's CPU per query
no higher (its wake-ups cost more than the polling). Go's scheduler spins idle threads the
same way before it parks them.

It polls only while requests keep coming within the window (the last wait was ended by an
event inside it), so an idle server or a client that pauses costs one window at most, and
only when `may_spin()` allows (the server: no statement on a worker thread, which needs
the GIL the polling loop keeps taking back).
"""

from __future__ import annotations

import selectors
import time
from collections.abc import Callable

DEFAULT_WINDOW = 200e-6  # seconds (sqlvec serve --spin-us)


class SpinningSelector(selectors.DefaultSelector):
    """A selector whose blocking `select` polls for up to `window` seconds first."""

    def __init__(self, window: float = DEFAULT_WINDOW) -> None:
        super().__init__()
        self.window = window
        self.hot = False  # the last wait ended by an event within the window
        self.may_spin: Callable[[], bool] = lambda: True
        self.caught = 0  # waits that polling ended (an event found before sleeping)

    def select(self, timeout: float | None = None) -> list:
        window = self.window
        if window <= 0 or (timeout is not None and timeout <= 0):
            return super().select(timeout)
        clock = time.perf_counter
        start = clock()
        if self.hot and self.may_spin():
            end = start + (window if timeout is None else min(window, timeout))
            poll = super().select
            while True:
                ready = poll(0)
                if ready:
                    self.caught += 1
                    return ready
                if clock() >= end:
                    break
            if timeout is not None:
                timeout = max(0.0, timeout - (clock() - start))
        ready = super().select(timeout)
        self.hot = bool(ready) and clock() - start < window
        return ready
