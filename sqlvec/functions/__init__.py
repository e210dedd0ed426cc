"""functions: scalar functions, operators, casts, aggregates and window functions over Arrow.

`register(regs)` fills `regs.functions` (a FunctionRegistry) and `regs.casts` (a
CastRegistry), creating them when the registries object has none yet.
`default_registries()` builds a standalone set (types, casts, functions) for tests and
embedded use.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlvec.core.types import default_types
from sqlvec.functions import (
    aggregates,
    arith,
    arrays,
    compare,
    datefmt,
    datetime_ops,
    datetimefns,
    jsonfns,
    jsonpath,
    mathfns,
    misc,
    overlaps,
    regex,
    session_state,
    srf,
    strings,
    sysfns,
    textops,
    windows,
)
from sqlvec.functions.casts import CastRegistry
from sqlvec.functions.registry import BoundFunction, EvalEnv, FunctionRegistry

_MODULES = (arith, compare, textops, mathfns, strings, regex, datetimefns, datetime_ops, datefmt,
            jsonfns, jsonpath, arrays, misc, overlaps, srf, aggregates, windows, sysfns, session_state)


def register(regs: Any) -> None:
    """Install the built-in casts, operators and functions into `regs`."""
    casts = getattr(regs, "casts", None)
    if casts is None:
        casts = CastRegistry()
        regs.casts = casts
    functions = getattr(regs, "functions", None)
    if functions is None:
        functions = FunctionRegistry(casts)
        regs.functions = functions
    for module in _MODULES:
        module.register(functions)
    types = getattr(regs, "types", None)
    if types is not None:
        types.add(jsonpath.JSONPATH)
    from sqlvec.functions import vectors  # pgvector's types and operators (vector engineer)
    vectors.register(regs)


def default_registries() -> SimpleNamespace:
    """A fresh registries object with types, casts and functions filled in."""
    regs = SimpleNamespace(types=default_types(), casts=None, functions=None)
    register(regs)
    return regs


__all__ = ["BoundFunction", "CastRegistry", "EvalEnv", "FunctionRegistry", "default_registries",
           "register"]
