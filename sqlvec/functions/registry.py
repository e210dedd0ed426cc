"""The function registry: definitions by name and PostgreSQL's overload resolution.

Operators are functions named by their symbol ('+', '=', '~~', '->>'), so `a + b` and
`int4pl(a, b)` resolve the same way. `resolve(name, arg_types)` follows PostgreSQL's
func_select_candidate: exact match; a binary operator with one unknown input tries the
other input's type; then candidates reachable by implicit casts, keeping those with the
most exact matches, then the most preferred types, then resolving unknown-typed inputs
by category (string category wins), then assuming unknowns are the known inputs' type.

Every implementation is vectorised: `impl(ctx, args) -> pa.Array` receives whole Arrow
arrays (or pa.Scalars for constants) already coerced to the declared argument types and
returns an array of ctx.n rows.

    >>> regs = default_registries()
    >>> f = regs.functions.resolve('+', [INT4, UNKNOWN])
    >>> f.return_type.name, f.call([pa.array([1, 2]), pa.scalar('40')], 2).to_pylist()
    ('integer', [41, 42])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import AmbiguousFunction, UndefinedFunction
from sqlvec.core.types import SqlType
from sqlvec.functions.casts import CastRegistry


def _pseudo(name: str, oid: int) -> SqlType:
    return SqlType(name=name, oid=oid, arrow=pa.null(), category="P", typlen=-1, short=name)


ANYNONARRAY = _pseudo("anynonarray", 2776)
ANYCOMPATIBLE = _pseudo("anycompatible", 5077)
ANYCOMPATIBLEARRAY = _pseudo("anycompatiblearray", 5078)
_ELEM_POLY = ("anyelement", "anynonarray", "anycompatible")
_ARRAY_POLY = ("anyarray", "anycompatiblearray")

Arg = pa.Array | pa.Scalar


@dataclass(frozen=True)
class EvalEnv:
    """Per-statement values functions may read: the transaction timestamp, settings."""

    statement_time_us: int | None = None  # now() / current_timestamp, UTC microseconds
    timezone: str = "UTC"
    settings: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CallContext:
    """What an implementation learns about its call besides the argument values."""

    arg_types: tuple[SqlType, ...]
    return_type: SqlType
    n: int
    env: EvalEnv | None = None
    input_types: tuple[SqlType, ...] = ()  # as the caller supplied them (before coercion)


class Impl(Protocol):
    def __call__(self, ctx: CallContext, args: list[Arg]) -> pa.Array | pa.Scalar: ...


ReturnSpec = SqlType | Callable[[list[SqlType]], SqlType]


@dataclass(frozen=True)
class FunctionDef:
    """One overload: declared argument types (may be polymorphic), return type, impl."""

    name: str
    args: tuple[SqlType, ...]
    ret: ReturnSpec
    impl: Impl
    variadic: bool = False  # the last declared argument repeats (VARIADIC)
    min_args: int | None = None  # fewer arguments allowed (defaults), None = len(args)
    strict: bool = True  # NULL in any argument gives NULL (the engine may short-cut)
    volatile: bool = False
    set_returning: bool = False

    def arity_ok(self, n: int) -> bool:
        lo = len(self.args) if self.min_args is None else self.min_args
        if self.variadic:
            return n >= len(self.args) - 1 and n >= (self.min_args or 0)
        return lo <= n <= len(self.args)

    def declared_for(self, n: int) -> list[SqlType]:
        if self.variadic and n >= len(self.args):
            return list(self.args[:-1]) + [self.args[-1]] * (n - len(self.args) + 1)
        return list(self.args[:n])


@dataclass(frozen=True)
class BoundFunction:
    """A resolved call: coerced argument types, return type and a vectorised `call`."""

    name: str
    arg_types: tuple[SqlType, ...]  # after coercion (what the implementation receives)
    input_types: tuple[SqlType, ...]  # as the caller supplied them
    return_type: SqlType
    definition: FunctionDef
    casts: CastRegistry

    @property
    def volatile(self) -> bool:
        return self.definition.volatile

    @property
    def strict(self) -> bool:
        return self.definition.strict

    @property
    def set_returning(self) -> bool:
        return self.definition.set_returning

    def coerce(self, args: Sequence[Arg], env: EvalEnv | None = None) -> list[Arg]:
        """Cast arguments to the declared types where their Arrow type differs."""
        tz = getattr(env, "timezone", None) or "UTC"
        out: list[Arg] = []
        for a, src, dst in zip(args, self.input_types, self.arg_types):
            out.append(coerce_value(self.casts, a, src, dst, timezone=tz))
        return out

    def call(self, args: Sequence[Arg], n: int, env: EvalEnv | None = None) -> pa.Array:
        """Evaluate over a batch of n rows; args are arrays of n rows or scalars."""
        ctx = CallContext(self.arg_types, self.return_type, n, env, self.input_types)
        return as_rows(self.definition.impl(ctx, [constant_or_array(a) for a in self.coerce(args, env)]), n)


def as_rows(res: Any, n: int) -> pa.Array:
    """An implementation's result as an array of n rows (a scalar or one value repeated)."""
    if isinstance(res, pa.Scalar):
        return pa.repeat(res, n) if res.is_valid else pa.nulls(n, res.type)
    if isinstance(res, pa.ChunkedArray):
        res = res.combine_chunks()
    if len(res) != n and len(res) == 1:
        return pa.repeat(res[0], n)
    return res


_CONST_TYPES = (pa.types.is_string, pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal,
                pa.types.is_boolean, pa.types.is_temporal, pa.types.is_binary)


def constant_or_array(a: Arg) -> Arg:
    """An array whose values are all the same (a constant the caller broadcast) becomes a
    pa.Scalar, so implementations take their constant-argument fast paths."""
    if isinstance(a, pa.Scalar) or len(a) == 0:
        return a
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    if len(a) == 1:
        return a[0]
    if a.null_count == len(a):
        return pa.scalar(None, a.type)
    if a.null_count or not any(f(a.type) for f in _CONST_TYPES) or \
            a.type == pa.month_day_nano_interval():
        return a
    first = a[0]
    if a[len(a) - 1] != first or a[len(a) // 2] != first:
        return a
    same = pc.all(pc.equal(a, first)).as_py()
    return first if same else a


def coerce_value(casts: CastRegistry, a: Arg, src: SqlType, dst: SqlType, *,
                 timezone: str = "UTC") -> Arg:
    """Implicit coercion of one argument (int -> numeric keeps scale 0 for display)."""
    if pa.types.is_null(dst.arrow) or (src.oid == dst.oid and a.type == dst.arrow):
        return a
    if dst.short == "record" and pa.types.is_struct(a.type):  # a row's own struct
        return a
    if a.type == dst.arrow and not (src.short == "unknown" and dst.short in ("json", "jsonb")) \
            and (src.category == dst.category or not pa.types.is_string(a.type)):
        return a  # already coerced by the caller
    if isinstance(dst.arrow, pa.ExtensionType) or isinstance(a.type, pa.ExtensionType):
        return casts.cast(a, src, dst, explicit=False)  # numeric held as its text: from / to it
    if dst.short == "numeric" and dst.typmod < 0 and pa.types.is_integer(a.type):
        return pc.cast(a, pa.decimal128(T.NUMERIC_PRECISION, 0))
    if dst.short == "numeric" and dst.typmod < 0 and pa.types.is_decimal(a.type):
        return a
    if timezone != "UTC" and "timestamptz" in (src.short, dst.short):
        return casts.cast(a, src, dst, explicit=False, timezone=timezone)
    return casts.cast(a, src, dst, explicit=False)


def _type_key(t: SqlType) -> tuple:
    """Everything about a type that can change a resolution (the Arrow type carries the
    numeric display scale; extension codecs are identified by their OID)."""
    return (t.oid, t.typmod, str(t.arrow), _type_key(t.element) if t.element is not None else None)


def _bare(t: SqlType) -> str:
    """The type's name as a 42883/42725 message prints it (format_type_be: no typmod)."""
    return t.display_bare()


def _type_list(types: Sequence[SqlType]) -> str:
    return ", ".join(_bare(t) for t in types)


def _is_operator(name: str) -> bool:
    return not (name[:1].isalpha() or name[:1] == "_")


class FunctionRegistry:
    """Scalar functions and operators by name, with aggregates and window functions."""

    def __init__(self, casts: CastRegistry | None = None) -> None:
        self.casts = casts or CastRegistry()
        self._scalars: dict[str, list[FunctionDef]] = {}
        self.aggregates: dict[str, list[Any]] = {}
        self.windows: dict[str, list[Any]] = {}
        # resolve() results by (name, argument type keys): binding is pure, and operator
        # resolution walks dozens of overloads (~150 us) each time otherwise
        self._resolved: dict[tuple, BoundFunction] = {}

    # ---- registration ----------------------------------------------------------

    def add(self, name: str, args: Sequence[SqlType], ret: ReturnSpec, impl: Impl,
            **flags: Any) -> FunctionDef:
        """Register one overload; `flags` are FunctionDef's keyword fields."""
        fdef = FunctionDef(name.lower(), tuple(args), ret, impl, **flags)
        self._scalars.setdefault(fdef.name, []).append(fdef)
        self._resolved.clear()
        return fdef

    def add_aggregate(self, name: str, args: Sequence[SqlType], ret: ReturnSpec, impl: Any,
                      **flags: Any) -> Any:
        """Register one aggregate overload (see functions/aggregates.py for the impl shape)."""
        from sqlvec.functions.aggregates import AggregateDef
        adef = AggregateDef(name.lower(), tuple(args), ret, impl, **flags)
        self.aggregates.setdefault(adef.name, []).append(adef)
        return adef

    def add_window(self, name: str, args: Sequence[SqlType], ret: ReturnSpec, impl: Any,
                   **flags: Any) -> Any:
        """Register one window-only function (see functions/windows.py for the impl shape)."""
        from sqlvec.functions.windows import WindowDef
        wdef = WindowDef(name.lower(), tuple(args), ret, impl, **flags)
        self.windows.setdefault(wdef.name, []).append(wdef)
        return wdef

    def is_aggregate(self, name: str) -> bool:
        return name.lower() in self.aggregates

    def is_window(self, name: str) -> bool:
        """True for window-only functions (row_number, rank, lag, ...), not aggregates."""
        return name.lower() in self.windows

    def aggregate(self, name: str, arg_types: Sequence[SqlType], distinct: bool = False) -> Any:
        """Resolve an aggregate call to a BoundAggregate (42883 when none matches)."""
        from sqlvec.functions.aggregates import BoundAggregate
        key = name.lower()
        args = list(arg_types)
        adef, declared = self.select(key, args, self.aggregates.get(key, []))
        declared = _effective_numeric(_concrete_any(declared, args), args)
        if key in ("min", "max", "sum", "avg", "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp",
                   "var_pop") and len(args) == 1 and args[0].short == "numeric" and \
                isinstance(args[0].arrow, pa.ExtensionType):  # numeric held as its text: the value picked keeps it
            declared = [args[0]]
        ret = adef.ret(declared) if callable(adef.ret) else adef.ret
        ret = _substitute_return(ret, adef, declared, args)
        return BoundAggregate(key, tuple(declared), tuple(args), ret, distinct, adef, self.casts)

    def window(self, name: str, arg_types: Sequence[SqlType]) -> Any:
        """Resolve a window function (window-only or any aggregate) to a BoundWindow."""
        from sqlvec.functions.windows import bind_window
        return bind_window(self, name.lower(), list(arg_types))

    def has(self, name: str) -> bool:
        return name.lower() in self._scalars

    def names(self) -> list[str]:
        return sorted(self._scalars)

    def overloads(self, name: str) -> list[FunctionDef]:
        return list(self._scalars.get(name.lower(), ()))

    # ---- resolution --------------------------------------------------------------

    def resolve(self, name: str, arg_types: Sequence[SqlType]) -> BoundFunction:
        """PostgreSQL's function/operator resolution; raises 42883 / 42725."""
        cache_key = (name.lower(), *(_type_key(t) for t in arg_types))
        hit = self._resolved.get(cache_key)
        if hit is not None:
            return hit
        bound = self._resolve(name, arg_types)
        if len(self._resolved) < 10_000:
            self._resolved[cache_key] = bound
        return bound

    def _resolve(self, name: str, arg_types: Sequence[SqlType]) -> BoundFunction:
        key = name.lower()
        args = list(arg_types)
        fdef, declared = self.select(key, args, self._scalars.get(key, []))
        declared = _effective_numeric(_concrete_any(declared, args), args)
        if key in _NUMERIC_TEXT_CMP and len(args) == 2 and all(p.short == "numeric" for p in declared) and \
                any(isinstance(a.arrow, pa.ExtensionType) for a in args):
            declared = [T.NUMERIC_TEXT, T.NUMERIC_TEXT]  # exactly, NaN included (compare.py, arith.py)
        text_fn = key in _NUMERIC_TEXT_FNS and declared and declared[0].short == "numeric" and \
            any(isinstance(a.arrow, pa.ExtensionType) for a in args)
        if text_fn:  # numeric_textfns: each value's own digits, NaN and Infinity
            declared = [T.NUMERIC_TEXT if p.short == "numeric" else p for p in declared]
        ret = fdef.ret(declared) if callable(fdef.ret) else fdef.ret
        if text_fn and ret.short == "numeric":
            ret = T.NUMERIC_TEXT
        ret = _substitute_return(ret, fdef, declared, args)
        return BoundFunction(key, tuple(declared), tuple(args), ret, fdef, self.casts)

    def select(self, name: str, args: list[SqlType], defs: Sequence[Any]
               ) -> tuple[Any, list[SqlType]]:
        """Pick one overload among `defs` (objects with .args/.arity_ok/.declared_for)."""
        cands: list[tuple[Any, list[SqlType]]] = []
        for d in defs:
            if not d.arity_ok(len(args)):
                continue
            decl = self._instantiate(d.declared_for(len(args)), args)
            if decl is not None:
                cands.append((d, decl))
        if not cands:
            raise self._undefined(name, args)
        # 1. exact match
        exact = [c for c in cands if all(a.oid == p.oid for a, p in zip(args, c[1]))]
        if exact:
            return exact[0]
        # 1b. binary operator with one unknown input: assume the other input's type
        unknown = [a.short == "unknown" for a in args]
        if len(args) == 2 and sum(unknown) == 1:
            other = args[1] if unknown[0] else args[0]
            same = [c for c in cands if all(p.oid == other.oid for p in c[1])]
            if same:
                return same[0]
        # 2. implicit coercion possible
        ok = [c for c in cands if all(self.casts.can_implicit(a, p) for a, p in zip(args, c[1]))]
        if not ok:
            raise self._undefined(name, args)
        if len(ok) == 1:
            return ok[0]
        # 3. most exact matches (unknown inputs do not count)
        ok = _keep_best(ok, lambda c: sum(a.oid == p.oid for a, p in zip(args, c[1])
                                          if a.short != "unknown"))
        if len(ok) == 1:
            return ok[0]
        # 4. most exact-or-preferred matches, preferred only within the input's category
        ok = _keep_best(ok, lambda c: sum(
            a.oid == p.oid or (p.preferred and p.category == a.category)
            for a, p in zip(args, c[1]) if a.short != "unknown"))
        if len(ok) == 1:
            return ok[0]
        # 5. resolve unknown inputs by category
        if any(unknown):
            chosen: dict[int, str] = {}
            for i, is_unknown in enumerate(unknown):
                if not is_unknown:
                    continue
                cats = {c[1][i].category for c in ok}
                cat = "S" if "S" in cats else (cats.pop() if len(cats) == 1 else None)
                if cat is None:  # category conflict: PostgreSQL gives up on this step
                    chosen = {}
                    break
                chosen[i] = cat
            if chosen:
                for i, cat in chosen.items():
                    ok = [c for c in ok if c[1][i].category == cat] or ok
                    if any(c[1][i].preferred for c in ok):
                        ok = [c for c in ok if c[1][i].preferred]
                if len(ok) == 1:
                    return ok[0]
            # 6. assume unknowns have the (single) type of the known inputs
            known = {a.oid for a in args if a.short != "unknown"}
            if len(known) == 1:
                kt = next(a for a in args if a.short != "unknown")
                fit = [c for c in ok if all(self.casts.can_implicit(kt, p) for a, p in
                                            zip(args, c[1]) if a.short == "unknown")]
                if len(fit) == 1:
                    return fit[0]
        if len({tuple(p.oid for p in c[1]) for c in ok}) == 1:
            return ok[0]
        raise self._ambiguous(name, args)

    def _instantiate(self, decl: list[SqlType], args: list[SqlType]) -> list[SqlType] | None:
        """Replace polymorphic parameters with concrete types deduced from the arguments."""
        if not any(p.short in _ELEM_POLY or p.short in _ARRAY_POLY for p in decl):
            return decl
        elems: list[SqlType] = []
        for a, p in zip(args, decl):
            if a.short == "unknown":
                continue
            if p.short in _ARRAY_POLY:
                if not a.is_array:
                    return None
                elems.append(a.base_element)  # a multi-dimensional array's scalar element
            elif p.short in _ELEM_POLY:
                if p.short == "anynonarray" and a.is_array:
                    return None
                elems.append(a)
        if not elems:
            elem = T.TEXT
        else:
            try:
                elem = self.casts.common_type(elems)
            except Exception:
                return None
        # a multi-dimensional argument keeps its nested type (and lends it to unknown literals)
        multi = next((a for a, p in zip(args, decl) if p.short in _ARRAY_POLY and a.ndims > 1
                      and a.base_element == elem), None)
        out = []
        for p, a in zip(decl, list(args) + [T.UNKNOWN] * (len(decl) - len(args))):
            if p.short in _ELEM_POLY:
                out.append(elem)
            elif p.short in _ARRAY_POLY:
                if not elem.array_oid:
                    return None
                if a.ndims > 1 and a.base_element == elem:
                    out.append(a)
                else:
                    out.append(multi if multi is not None and a.short == "unknown" else T.array_of(elem))
            else:
                out.append(p)
        return out

    def _undefined(self, name: str, args: list[SqlType]) -> UndefinedFunction:
        if _is_operator(name):
            shown = f"{name} {_bare(args[0])}" if len(args) == 1 else \
                f"{_bare(args[0])} {name} {_bare(args[1])}" if len(args) == 2 else name
            hint = ("No operator matches the given name and argument type. "
                    "You might need to add an explicit type cast.") if len(args) == 1 else (
                "No operator matches the given name and argument types. "
                "You might need to add explicit type casts.")
            return UndefinedFunction(f"operator does not exist: {shown}", hint=hint)
        return UndefinedFunction(
            f"function {name}({_type_list(args)}) does not exist",
            hint="No function matches the given name and argument types. "
                 "You might need to add explicit type casts.")

    def _ambiguous(self, name: str, args: list[SqlType]) -> AmbiguousFunction:
        if _is_operator(name):
            shown = f"{name} {_bare(args[0])}" if len(args) == 1 else \
                f"{_bare(args[0])} {name} {_bare(args[1])}"
            return AmbiguousFunction(
                f"operator is not unique: {shown}",
                hint="Could not choose a best candidate operator. "
                     "You might need to add explicit type casts.")
        return AmbiguousFunction(
            f"function {name}({_type_list(args)}) is not unique",
            hint="Could not choose a best candidate function. "
                 "You might need to add explicit type casts.")


def _concrete_any(declared: list[SqlType], args: list[SqlType]) -> list[SqlType]:
    """A parameter declared 'any' takes the argument's own type (unknown becomes text)."""
    return [(T.TEXT if a.short == "unknown" else a) if p.short == "any" else p
            for p, a in zip(declared, args)]


_NUMERIC_TEXT_CMP = frozenset({"=", "<>", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/"})
_NUMERIC_TEXT_FNS = frozenset({"round", "trunc", "ceil", "ceiling", "floor", "abs", "@", "sign", "mod", "%",
                               "scale", "min_scale", "trim_scale", "sqrt", "exp", "ln", "log", "power", "pow", "^",
                               "div"})


def _effective_numeric(declared: list[SqlType], args: list[SqlType]) -> list[SqlType]:
    """An unconstrained numeric parameter takes the argument's decimal Arrow type (its
    display scale); integers become decimal128(38, 0), as coerce_value makes them."""
    out = []
    for p, a in zip(declared, args):
        if p.short == "numeric" and p.typmod < 0:
            if pa.types.is_decimal(a.arrow) and a.short == "numeric":
                p = replace(p, arrow=a.arrow)
            elif a.short in ("int2", "int4", "int8"):
                p = replace(p, arrow=pa.decimal128(T.NUMERIC_PRECISION, 0))
        out.append(p)
    return out


def _keep_best(cands: list, score: Callable[[Any], int]) -> list:
    best = max(score(c) for c in cands)
    return [c for c in cands if score(c) == best]


def _substitute_return(ret: SqlType, fdef: Any, declared: list[SqlType],
                       args: list[SqlType]) -> SqlType:
    """A polymorphic return type takes the element type deduced for the arguments."""
    if ret.short not in _ELEM_POLY and ret.short not in _ARRAY_POLY:
        return ret
    elem = None
    for p, d in zip(fdef.declared_for(len(args)), declared):
        if p.short in _ELEM_POLY:
            elem = d
            break
        if p.short in _ARRAY_POLY:
            elem = d.base_element  # array functions see a multi-dimensional array's elements
            break
    elem = elem or T.TEXT
    if ret.short in _ARRAY_POLY:
        if not elem.array_oid and not elem.is_array:  # array_agg of arrays: one more dimension
            from sqlvec.core.errors import UndefinedObject
            raise UndefinedObject(f"could not find array type for data type {elem.display()}")
        return T.array_of(elem)
    return elem


def as_array(x: Arg, n: int) -> pa.Array:
    """A scalar broadcast to n rows (arrays pass through)."""
    if isinstance(x, pa.Scalar):
        return pa.repeat(x, n) if x.is_valid else pa.nulls(n, x.type)
    if isinstance(x, pa.ChunkedArray):
        return x.combine_chunks()
    return x


def with_return(t: SqlType) -> Callable[[list[SqlType]], SqlType]:
    return lambda _args: t


__all__ = [
    "ANYCOMPATIBLE", "ANYCOMPATIBLEARRAY", "ANYNONARRAY", "Arg", "BoundFunction", "CallContext",
    "EvalEnv", "FunctionDef", "FunctionRegistry", "as_array", "coerce_value", "replace",
]
