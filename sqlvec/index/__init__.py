"""index: vector index kinds behind one protocol (hnsw, ivfflat, exact, sparse).

`register(regs)` puts an `IndexKinds` registry into `regs.extra["index_kinds"]` (or
`regs.index_kinds`); `default_index_kinds()` builds a standalone one. Index kinds take
numpy matrices (float32/float16/uint16/int8 rows, packed bits as uint8) and int64 keys.
"""

from __future__ import annotations

from typing import Any

from sqlvec.core.errors import UndefinedObject
from sqlvec.index.base import (
    OPCLASSES,
    IndexKind,
    OpClass,
    VectorIndex,
    opclass,
    opclass_for_operator,
    order_by_distance_then_key,
    parse_options,
)
from sqlvec.index.exact import ExactKind
from sqlvec.index.hnsw import HnswKind
from sqlvec.index.ivfflat import IvfflatKind
from sqlvec.index.sparse import SparseKind


class IndexKinds:
    """Access methods by name (CREATE INDEX ... USING <name>)."""

    def __init__(self) -> None:
        self._kinds: dict[str, Any] = {}

    def add(self, kind: Any) -> None:
        self._kinds[kind.name] = kind

    def get(self, name: str) -> Any:
        kind = self._kinds.get(name.lower())
        if kind is None:
            raise UndefinedObject(f'access method "{name}" does not exist')
        return kind

    def names(self) -> list[str]:
        return sorted(self._kinds)


def check_index_definition(method: str, column: str, type_short: str,
                           options: dict[str, Any]) -> None:
    """CREATE INDEX ... USING hnsw|ivfflat (col opclass) WITH (...) validated up front:
    unknown opclass -> 42704, one of another type 42804, unknown or out-of-range option 22023."""
    kind = default_index_kinds().get(method)
    parts = column.replace('"', "").split()
    opclass(parts[1] if len(parts) > 1 else None, type_short, method)
    parse_options(kind.options, {k: v for k, v in options.items() if v not in (None, "None", "")})


def default_index_kinds() -> IndexKinds:
    kinds = IndexKinds()
    for k in (HnswKind(), IvfflatKind(), ExactKind(), SparseKind()):
        kinds.add(k)
    return kinds


def register(regs: Any) -> None:
    """Install the vector index kinds into a Database's registries."""
    kinds = default_index_kinds()
    extra = getattr(regs, "extra", None)
    if isinstance(extra, dict):
        extra["index_kinds"] = kinds
    else:
        regs.index_kinds = kinds


__all__ = ["OPCLASSES", "check_index_definition", "IndexKind", "IndexKinds", "OpClass", "VectorIndex", "default_index_kinds",
           "opclass", "opclass_for_operator", "order_by_distance_then_key", "parse_options",
           "register"]
