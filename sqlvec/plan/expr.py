"""Bound scalar expressions: frozen dataclasses the binder emits and exec evaluates.

Structural equality matters: GROUP BY matching compares bound expressions with ==.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlvec.core.types import SqlType


class Expr:
    """Base of bound expressions; every one has a SQL type."""

    type: SqlType

    def children(self) -> tuple[Expr, ...]:
        return ()


@dataclass(frozen=True)
class Const(Expr):
    value: Any
    type: SqlType

    def __str__(self) -> str:
        if self.value is None:
            return "NULL"
        if isinstance(self.value, str):
            return "'" + self.value.replace("'", "''") + "'"
        if self.type.codec is not None:  # pgvector's types: their SQL text, as a literal
            from sqlvec.core.textio import format_value

            text = format_value(self.value, self.type).replace("'", "''")
            return f"'{text}'::{self.type.name}"
        return str(self.value)


@dataclass(frozen=True)
class ColRef(Expr):
    """Column `index` of the operator's input."""

    index: int
    type: SqlType
    name: str = field(default="", compare=False)
    table: str = field(default="", compare=False)  # the FROM item's name, for error messages

    def __str__(self) -> str:
        return self.name or f"${self.index}"


@dataclass(frozen=True)
class OuterRef(Expr):
    """Column `index` of the enclosing query `level` steps out (correlated subqueries)."""

    level: int
    index: int
    type: SqlType
    name: str = field(default="", compare=False)
    table: str = field(default="", compare=False)  # the FROM item's name, for error messages

    def __str__(self) -> str:
        return self.name or f"outer{self.level}.${self.index}"


@dataclass(frozen=True)
class Param(Expr):
    """Statement parameter $n (0-based index); its type is fixed at prepare."""

    index: int
    type: SqlType

    def __str__(self) -> str:
        return f"${self.index + 1}"


@dataclass(frozen=True)
class Func(Expr):
    """A resolved function or operator call; `fn` is the BoundFunction (compared by name)."""

    name: str
    args: tuple[Expr, ...]
    type: SqlType
    fn: Any = field(compare=False, hash=False, default=None)

    def children(self) -> tuple[Expr, ...]:
        return self.args

    def __str__(self) -> str:
        if not self.name[:1].isalpha() and len(self.args) == 2:
            return f"({self.args[0]} {self.name} {self.args[1]})"
        if not self.name[:1].isalpha() and len(self.args) == 1:
            return f"({self.name}{self.args[0]})"
        return f"{self.name}({', '.join(map(str, self.args))})"


@dataclass(frozen=True)
class Cast(Expr):
    arg: Expr
    type: SqlType
    explicit: bool = True

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    def __str__(self) -> str:
        return f"({self.arg})::{self.type.display()}"


@dataclass(frozen=True)
class BoolOp(Expr):
    """AND / OR with three-valued logic."""

    op: str
    args: tuple[Expr, ...]
    type: SqlType

    def children(self) -> tuple[Expr, ...]:
        return self.args

    def __str__(self) -> str:
        return "(" + f" {self.op.upper()} ".join(map(str, self.args)) + ")"


@dataclass(frozen=True)
class Not(Expr):
    arg: Expr
    type: SqlType

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    def __str__(self) -> str:
        return f"(NOT {self.arg})"


@dataclass(frozen=True)
class IsNull(Expr):
    arg: Expr
    negate: bool
    type: SqlType

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)

    def __str__(self) -> str:
        return f"({self.arg} IS {'NOT ' if self.negate else ''}NULL)"


@dataclass(frozen=True)
class IsBool(Expr):
    """x IS [NOT] TRUE / FALSE / UNKNOWN."""

    arg: Expr
    value: bool | None
    negate: bool
    type: SqlType

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)


@dataclass(frozen=True)
class Distinct(Expr):
    """a IS [NOT] DISTINCT FROM b; `fn`: the `=` operator the binder resolved for the two
    sides, whose equality it is (arrays and vectors element by element, NaN = NaN, intervals
    by span)."""

    left: Expr
    right: Expr
    negate: bool
    type: SqlType
    fn: Any

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Case(Expr):
    whens: tuple[tuple[Expr, Expr], ...]
    default: Expr | None
    type: SqlType

    def children(self) -> tuple[Expr, ...]:
        out: list[Expr] = []
        for c, v in self.whens:
            out += [c, v]
        return (*out, *([self.default] if self.default is not None else []))

    def __str__(self) -> str:
        w = " ".join(f"WHEN {c} THEN {v}" for c, v in self.whens)
        e = f" ELSE {self.default}" if self.default is not None else ""
        return f"CASE {w}{e} END"


@dataclass(frozen=True)
class Coalesce(Expr):
    args: tuple[Expr, ...]
    type: SqlType

    def children(self) -> tuple[Expr, ...]:
        return self.args

    def __str__(self) -> str:
        return f"COALESCE({', '.join(map(str, self.args))})"


@dataclass(frozen=True)
class InList(Expr):
    arg: Expr
    values: tuple[Expr, ...]
    negate: bool
    type: SqlType

    def children(self) -> tuple[Expr, ...]:
        return (self.arg, *self.values)

    def __str__(self) -> str:
        return f"({self.arg} {'NOT ' if self.negate else ''}IN ({', '.join(map(str, self.values))}))"


@dataclass(frozen=True)
class Subquery(Expr):
    """A subquery used as a value: kind scalar | exists | in | array; `arg` for IN."""

    kind: str
    plan: Any = field(compare=False, hash=False)
    type: SqlType = field(default=None)  # type: ignore[assignment]
    arg: Expr | None = None
    negate: bool = False
    correlated: bool = False
    outer_cols: tuple[int, ...] = ()  # level-1 outer column indexes it reads
    uid: int = 0  # identity for caching uncorrelated results

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,) if self.arg is not None else ()

    def __str__(self) -> str:
        return f"({self.kind.upper()} subquery)"


@dataclass(frozen=True)
class SrfCall(Expr):
    """A set-returning function in the select list (unnest, generate_series); its rows
    are produced by a ProjectSet node and it is replaced by a column reference."""

    name: str
    args: tuple[Expr, ...]
    type: SqlType
    fn: Any = field(compare=False, hash=False, default=None)  # registry SRF: call -> list per row

    def children(self) -> tuple[Expr, ...]:
        return self.args

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.args))})"


@dataclass(frozen=True)
class Row(Expr):
    """A row constructor (a, b, ...) used on the left of IN (subquery)."""

    args: tuple[Expr, ...]
    type: SqlType

    def children(self) -> tuple[Expr, ...]:
        return self.args

    def __str__(self) -> str:
        return f"ROW({', '.join(map(str, self.args))})"


@dataclass(frozen=True)
class Quantified(Expr):
    """arg op ANY|ALL (source): source is an array expression or a Subquery; cmp compares
    ColRef(0) (the arg) with ColRef(1) (an element)."""

    arg: Expr
    source: Expr
    cmp: Expr
    all: bool
    type: SqlType

    def children(self) -> tuple[Expr, ...]:
        return (self.arg, self.source)

    def __str__(self) -> str:
        return f"({self.arg} {getattr(self.cmp, 'name', '?')} {'ALL' if self.all else 'ANY'} ({self.source}))"


@dataclass(frozen=True)
class AggCall(Expr):
    """An aggregate call inside an Aggregate node; replaced by a ColRef above it."""

    name: str
    args: tuple[Expr, ...]
    distinct: bool
    type: SqlType
    star: bool = False
    filter: Expr | None = None
    fn: Any = field(compare=False, hash=False, default=None)
    order: tuple[tuple[Expr, bool, bool | None], ...] = ()  # ORDER BY inside the call

    def children(self) -> tuple[Expr, ...]:
        return (*self.args, *([self.filter] if self.filter is not None else []), *(o[0] for o in self.order))

    def __str__(self) -> str:
        inner = "*" if self.star else ("DISTINCT " if self.distinct else "") + ", ".join(
            map(str, self.args)
        )
        return f"{self.name}({inner})"


@dataclass(frozen=True)
class WindowCall(Expr):
    """A window function call inside a Window node; replaced by a ColRef above it."""

    name: str
    args: tuple[Expr, ...]
    partition: tuple[Expr, ...]
    order: tuple[tuple[Expr, bool, bool], ...]  # (expr, desc, nulls_first)
    frame: tuple | None
    type: SqlType
    distinct: bool = False
    star: bool = False
    fn: Any = field(compare=False, hash=False, default=None)

    def children(self) -> tuple[Expr, ...]:
        return (*self.args, *self.partition, *(o[0] for o in self.order))

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.args))}) OVER (...)"


def walk(e: Expr):
    """Pre-order traversal of an expression tree."""
    yield e
    for c in e.children():
        yield from walk(c)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def map_children(e: Expr, f) -> Expr:
    """e with f applied to each direct child expression: a copy when a child changed, else e
    itself (expressions are frozen; the planner maps every tree several times)."""
    import dataclasses

    cls = type(e)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        if not dataclasses.is_dataclass(e):
            return e
        names = _FIELD_NAMES[cls] = tuple(fld.name for fld in dataclasses.fields(e))
    changes: dict[str, Any] = {}
    for name in names:
        v = getattr(e, name)
        if isinstance(v, Expr):
            nv = f(v)
            if nv is not v:
                changes[name] = nv
        elif isinstance(v, tuple) and v and all(isinstance(x, Expr) for x in v):
            nt = tuple(f(x) for x in v)
            if any(a is not b for a, b in zip(nt, v)):
                changes[name] = nt
        elif isinstance(v, tuple) and v and all(isinstance(x, tuple) for x in v) and name == "whens":
            nw = tuple((f(c), f(r)) for c, r in v)
            if any(a[0] is not b[0] or a[1] is not b[1] for a, b in zip(nw, v)):
                changes[name] = nw
    return dataclasses.replace(e, **changes) if changes else e


def contains(e: Expr, cls: type) -> bool:
    return any(isinstance(x, cls) for x in walk(e))
