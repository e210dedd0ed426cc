"""The executor's side of the database memory budget: big materialisations reserve first.

`sqlvec serve --memory-limit` (and `SET sqlvec.memory_limit`) size the storage's
`MemoryBudget`; a statement whose result set or join inputs would take more than is
left fails with 53200 'out of memory' (with a detail naming the request) instead of
growing the process until the operating system kills it.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa


def budget_of(ctx: Any) -> Any:
    """The MemoryBudget of the store an execution context's transaction belongs to, or None."""
    return getattr(getattr(getattr(ctx, "txn", None), "store", None), "memory", None)


def admit(ctx: Any, n: int, what: str) -> None:
    """Raise OutOfMemory (53200) unless `n` more bytes fit the budget right now."""
    budget = budget_of(ctx)
    if budget is not None and budget.limit:
        budget.reserve(n, what)
        budget.release(n)


def collect_result(
    ctx: Any, batches: Iterable[pa.RecordBatch]
) -> tuple[list[pa.RecordBatch], Iterator[pa.RecordBatch]]:
    """Materialise a result set's non-empty batches, charging each to the budget as it comes.

    Returns the batches and an iterator over them that gives the reservation back once the
    result has been sent (exhausted or closed). Nothing stays reserved if collecting fails.

    >>> rows, it = collect_result(None, iter([pa.record_batch({"a": [1]})])); len(list(it))
    1
    """
    budget = budget_of(ctx)
    if budget is None or not budget.limit:
        out = [b for b in batches if b.num_rows]
        return out, iter(out)
    out, held = [], 0
    try:
        for b in batches:
            if b.num_rows:
                n = b.nbytes
                budget.reserve(n, "query result")
                held += n
                out.append(b)
    except BaseException:
        budget.release(held)
        raise
    return out, _Held(out, budget, held)


class _Held:
    """An iterator over result batches that releases their reservation once, when exhausted
    or (never fully read: a Describe, an abandoned portal) when garbage-collected."""

    def __init__(self, batches: list[pa.RecordBatch], budget: Any, n: int) -> None:
        self._it = iter(batches)
        self._release = weakref.finalize(self, budget.release, n)

    def __iter__(self) -> _Held:
        return self

    def __next__(self) -> pa.RecordBatch:
        try:
            return next(self._it)
        except StopIteration:
            self._release()
            raise
