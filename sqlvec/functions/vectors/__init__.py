"""pgvector's types, operators, functions, aggregates and casts (plus bf16vec and int8vec).

`register(regs)` adds the types (with their text I/O) to `regs.types` and everything
else to `regs.functions` / `regs.casts`; sqlvec.functions.register calls it.
"""

from __future__ import annotations

from typing import Any

from sqlvec.functions.vectors import aggregates, arith, bitfns, casts, compare, ops
from sqlvec.functions.vectors.textio import (
    ALL_TYPES,
    BF16VEC,
    BIT,
    HALFVEC,
    INT8VEC,
    SPARSEVEC,
    VARBIT,
    VECTOR,
)

DENSE = (VECTOR, HALFVEC, BF16VEC, INT8VEC)


def register(regs: Any) -> None:
    """Install the vector types, operators, functions, aggregates and casts into regs."""
    types = getattr(regs, "types", None)
    if types is not None:
        for t in ALL_TYPES:
            types.add(t)
        types.add(BIT)
        types.add(VARBIT, "varbit")
    ops.register(regs.functions, DENSE, SPARSEVEC, BIT)
    arith.register(regs.functions, DENSE, SPARSEVEC, BIT)
    aggregates.register(regs.functions, DENSE)
    compare.register(regs.functions, DENSE, (BIT, VARBIT), SPARSEVEC)
    bitfns.register(regs.functions, BIT, VARBIT)
    casts.register(regs.casts)


__all__ = ["BF16VEC", "BIT", "DENSE", "HALFVEC", "INT8VEC", "SPARSEVEC", "VARBIT", "VECTOR",
           "register"]
