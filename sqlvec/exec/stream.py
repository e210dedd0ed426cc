"""Lazy result sets: a query's batches computed as the client reads them (flat memory).

`ResultStream` wraps the executor's batch generator. The first non-empty batch is computed
when the stream is made, so planning errors and errors of blocking operators still fail the
statement itself; the rest is computed batch by batch as the wire layer, dbapi or a portal
pulls. Whoever owns the transaction sets `on_end(error)`: it runs exactly once, when the
stream is exhausted, fails, or is closed unread (portal closed, session gone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from sqlvec.exec.budget import budget_of
from sqlvec.plan import logical as L

# nodes that pass batches through one at a time (the top of a streamable plan)
_PIPELINE = (L.Project, L.Filter)


def streamable(plan: L.Plan) -> bool:
    """Whether a query's result can be produced lazily: its top is scan/filter/project/limit
    (or a join, which streams its output) and it has no side effects (DML, nextval)."""
    node = plan
    while True:
        if isinstance(node, _PIPELINE):
            node = node.input
            continue
        if isinstance(node, L.Limit) and not node.with_ties and not isinstance(node.input, L.Sort):
            node = node.input
            continue
        break
    if isinstance(node, L.Scan):
        if getattr(node.table, "system", False):
            return False
    elif not isinstance(node, L.Join):
        return False
    from sqlvec.exec.builtins import NextvalFunction
    from sqlvec.plan.walk import plan_exprs

    return not any(isinstance(getattr(e, "fn", None), NextvalFunction) for e in plan_exprs(plan))


class ResultStream:
    """An iterator over a result's non-empty batches, computed on demand.

    Each batch handed out is charged to the memory budget until the next one is asked for,
    so a single batch larger than sqlvec.memory_limit still fails with 53200.
    """

    def __init__(self, ctx: Any, batches: Iterator[pa.RecordBatch]) -> None:
        self._it = iter(batches)
        budget = budget_of(ctx)
        self._budget = budget if budget is not None and budget.limit else None
        self._held = 0
        self._done = False
        self.on_end: Callable[[BaseException | None], None] | None = None
        self._head = self._pull()  # raises with the statement, before any row is sent

    def _pull(self) -> pa.RecordBatch | None:
        for b in self._it:
            if b.num_rows:
                return b
        return None

    def __iter__(self) -> ResultStream:
        return self

    def __next__(self) -> pa.RecordBatch:
        if self._done:
            raise StopIteration
        self._release()
        try:
            if self._head is not None:
                b, self._head = self._head, None
            else:
                b = self._pull()
            if b is not None and self._budget is not None:
                self._budget.reserve(b.nbytes, "query result")
                self._held = b.nbytes
        except BaseException as e:
            self._finish(e)
            raise
        if b is None:
            self._finish(None)
            raise StopIteration
        return b

    def close(self) -> None:
        """Stop reading (the rest is never computed) and end the stream normally."""
        if self._done:
            return
        self._head = None
        close = getattr(self._it, "close", None)
        try:
            if close is not None:
                close()
        finally:
            self._finish(None)

    def _release(self) -> None:
        if self._held and self._budget is not None:
            self._budget.release(self._held)
        self._held = 0

    def _finish(self, err: BaseException | None) -> None:
        self._done = True
        self._release()
        end, self.on_end = self.on_end, None
        if end is not None:
            end(err)

    def __del__(self) -> None:
        if not self._done:
            try:
                self.close()
            except Exception:  # noqa: BLE001 - nothing can report an error from a finaliser
                pass


def close_batches(batches: Any) -> None:
    """Close a result's batch iterator if it is a stream (others need nothing)."""
    close = getattr(batches, "close", None)
    if isinstance(batches, ResultStream) and close is not None:
        close()


PREFETCH_MIN_ROWS = 8192  # a first batch at least this big: the rest is computed one step ahead


def prefetchable(plan: L.Plan) -> bool:
    """Whether an input may be computed on a worker thread: a chain of filters and
    projections over a table scan, with no subqueries (they push outer rows on the shared
    context) and no sequence calls."""
    node = plan
    while isinstance(node, _PIPELINE):
        node = node.input
    if not isinstance(node, L.Scan) or getattr(node.table, "system", False):
        return False
    from sqlvec.exec.builtins import NextvalFunction
    from sqlvec.plan import expr as E
    from sqlvec.plan.walk import plan_exprs

    for e in plan_exprs(plan):
        for x in E.walk(e):
            if isinstance(x, E.Subquery) or isinstance(getattr(x, "fn", None), NextvalFunction):
                return False
    return True


def prefetch(ctx: Any, plan: L.Plan, batches: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """The batches of `plan` (`batches`), the next ones computed on a worker thread while
    the caller works on the current one: scan and filter overlap aggregation or top-N on a
    second core (pyarrow and numpy release the GIL). Small or unsuitable inputs run inline.
    An error on the worker is raised here; closing this iterator stops the worker."""
    import queue
    import threading

    it = iter(batches)
    first = next(it, None)
    if first is None:
        return
    yield first
    if first.num_rows < PREFETCH_MIN_ROWS or not prefetchable(plan):
        yield from it
        return
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for b in it:
                if not put(("batch", b)):
                    return
            put(("end", None))
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, raised there
            put(("error", e))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()  # on this thread: the generator ran here

    worker = threading.Thread(target=work, name="sqlvec-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "batch":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        worker.join()
