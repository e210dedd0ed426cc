"""WITH RECURSIVE evaluated as it is read, one iteration at a time (PostgreSQL's
WorkTable scan): `... LIMIT 5` over a recursion with no end condition does five
iterations' work, not the whole fixpoint. Every reference of the query shares the
iterations already produced; a reference that reads on past them runs the next one.

The recursive term's own reference reads the working table (the previous iteration's
rows) while an iteration runs. MAX_ITERATIONS is a safety net: a recursion still
producing rows after that many iterations, read to its end, fails with 54000 rather than
run forever or return a silently truncated result.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from sqlvec.core.errors import ProgramLimitExceeded

MAX_ITERATIONS = 100_000


class RecursiveCte:
    """The rows of one WITH RECURSIVE query, produced on demand."""

    def __init__(self, ex: Any, rec: Any, base: pa.Table, union_all: bool,
                 distinct: Any, except_: Any) -> None:
        self.ex = ex
        self.rec = rec
        self.union_all = union_all
        self._distinct = distinct
        self._except = except_
        if not union_all:
            base = distinct(base)
        self.schema = base.schema
        self.parts: list[pa.Table] = [base]
        self.work = base
        self.seen = base  # every row so far, for UNION (without ALL)
        self.stepping = False
        self.done = base.num_rows == 0
        self.iterations = 0

    def _step(self) -> None:
        self.ex.ctx.check_cancel()
        if self.iterations >= MAX_ITERATIONS:
            raise ProgramLimitExceeded(
                f"recursive query did not finish within {MAX_ITERATIONS} iterations",
                hint="Give the recursive term a stopping condition, or read it with LIMIT.")
        self.stepping = True
        try:
            new = self.ex.table(self.rec).cast(self.schema)
        finally:
            self.stepping = False
        if not self.union_all:
            new = self._except(self._distinct(new), self.seen)
            self.seen = pa.concat_tables([self.seen, new])
        self.iterations += 1
        self.work = new
        if new.num_rows:
            self.parts.append(new)
        else:
            self.done = True

    def read(self) -> Iterator[pa.Table]:
        """The query's rows, iteration by iteration (the working table inside the
        recursive term's own iteration)."""
        if self.stepping:
            yield self.work
            return
        i = 0
        while True:
            while i < len(self.parts):
                yield self.parts[i]
                i += 1
            if self.done:
                return
            self._step()

    def table(self) -> pa.Table:
        """Every row (runs the recursion to its end)."""
        return pa.concat_tables(list(self.read()))
