"""Binding scalar expressions: sqlglot AST -> sqlvec.plan.expr nodes with types and functions."""

from __future__ import annotations

import decimal
import itertools
from typing import Any

import pyarrow as pa
from sqlglot import exp

from sqlvec.core import types as T
from sqlvec.core.errors import (
    FeatureNotSupported,
    SqlError,
    SyntaxError_,
    UndefinedParameter,
)
from sqlvec.core.types import SqlType
from sqlvec.plan import expr as E
from sqlvec.sql.bind_calls import _FUNC_NAME_FIX, AGG_NAMES, WINDOW_ONLY, CallBinder, _pg_call  # noqa: F401
from sqlvec.sql.bind_literals import (  # noqa: F401 - re-exported: fold_values, exec/ddl, session
    _REG,
    _flatten_value,
    _literal_dims,
    _other_scale,
    _zone_dependent,
    literal_type,
    numeric_display_arrow,
    numeric_literal_type,
    numeric_literal_value,
    type_from_ast,
)
from sqlvec.sql.bound_callables import _FieldGet, _FlattenDims, _RowBuild, _Subscript  # noqa: F401
from sqlvec.sql.dialect import VecOp
from sqlvec.sql.scope import Scope, undefined_column

_uid = itertools.count(1)

BINARY_OPS: dict[type, str] = {
    exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%",
    exp.EQ: "=", exp.NEQ: "<>", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">=",
    exp.DPipe: "||", exp.Like: "~~", exp.ILike: "~~*", exp.BitwiseAnd: "&",
    exp.BitwiseOr: "|", exp.BitwiseXor: "#", exp.BitwiseLeftShift: "<<",
    exp.BitwiseRightShift: ">>", exp.Pow: "^", exp.ArrayContainsAll: "@>",
    exp.ArrayContainedBy: "<@", exp.ArrayOverlaps: "&&", exp.JSONExtract: "->",
    exp.JSONExtractScalar: "->>", exp.JSONBExtract: "#>", exp.JSONBExtractScalar: "#>>",
    exp.RegexpLike: "~", exp.RegexpILike: "~*", exp.MatchAgainst: "@@",
}


def _numeric_text_type(text: str, to: SqlType) -> SqlType:
    """Unconstrained numeric from a string constant: the display scale it is written with."""
    try:
        value = decimal.Decimal(text.strip())
    except (decimal.InvalidOperation, ValueError):
        return to  # the cast reports the bad input
    if not value.is_finite():  # NaN, +-Infinity: numeric held as its text
        return T.NUMERIC_TEXT if to.typmod < 0 else to
    return numeric_literal_type(value)


def _plain_numeric(t: SqlType) -> bool:
    """Unconstrained numeric in its decimal128(38, 16) form (not a literal's scale, not text)."""
    return t.short == "numeric" and t.typmod < 0 and t.arrow == T.NUMERIC.arrow


class ExprBinder(CallBinder):
    """Mixin: expression binding. Needs self.regs, self.params, self.bind_subquery()."""

    regs: Any
    params: list[SqlType | None]

    # -- helpers ------------------------------------------------------------------
    def const(self, value: Any, t: SqlType | None = None) -> E.Const:
        return E.Const(value, t or literal_type(value))

    def coerce(self, e: E.Expr, to: SqlType, explicit: bool = False, *, exact: bool = False) -> E.Expr:
        """e as type `to`: constants folded now, others wrapped in a Cast. `exact`: also
        convert an unconstrained numeric to the Arrow type (display scale) of `to`, as the
        branches of one result column (UNION, VALUES, CASE, ...) need."""
        if e.type == to and e.type.typmod == to.typmod and not (exact and _other_scale(e.type, to)):
            return e
        if isinstance(e, E.Param) and e.type.short == "unknown" and to.oid in _REG:
            self.params[e.index] = T.TEXT  # a name; looked up at run time (catalog/system/regcast)
            return E.Cast(E.Param(e.index, T.TEXT), to, explicit)
        if isinstance(e, E.Param) and e.type.short == "unknown" and to.typmod >= 0 and \
                to.short in ("timestamp", "timestamptz", "time", "interval", "varchar", "bpchar",
                             "vector", "halfvec", "bf16vec", "int8vec", "sparsevec"):
            # the parameter is of the plain type; the cast to timestamp(0)... rounds it, the
            # one to varchar(n) / char(n) checks its length (22001) and pads, the one to
            # vector(n) checks its dimensions (22000, as a binary vector sent by asyncpg)
            self.params[e.index] = base = to.with_typmod(-1)
            return E.Cast(E.Param(e.index, base), to, explicit)
        if isinstance(e, E.Param) and e.type.short == "unknown":
            if _plain_numeric(to):  # held as its text: the scale sent, NaN, Infinity
                to = T.NUMERIC_TEXT
            self.params[e.index] = to
            return E.Param(e.index, to)
        if isinstance(e, E.Const):
            if e.value is None:
                return E.Const(None, to)
            if (to.oid in _REG and e.type.category in ("S", "X")) or (e.type.oid in _REG and to.category == "S"):
                return E.Cast(e, to, explicit)  # name lookup at run time (catalog/system/regcast)
            if explicit and to.is_array and isinstance(e.value, str) and e.type.category in ("S", "X"):
                # '{{1,2},{3,4}}'::int[] has two dimensions (implicitly, into a table's
                # one-dimensional column, the literal's elements are stored row-major)
                to = _literal_dims(e.value, to)
            if to.short == "numeric" and to.typmod < 0 and isinstance(e.value, str) and \
                    e.type.category in ("S", "X"):
                to = _numeric_text_type(e.value, to)  # '1.50'::numeric keeps its scale
            if isinstance(e.value, float) and _plain_numeric(to):  # NaN, Infinity, its shortest digits
                to = T.NUMERIC_TEXT
            if to.is_array and e.type.ndims > to.ndims and isinstance(e.value, list):
                # a multi-dimensional constant into a one-dimensional place (a table column):
                # its elements in row-major order
                return self.coerce(E.Const(_flatten_value(e.value, e.type.ndims - to.ndims), to), to,
                                   explicit, exact=exact)
            if e.type is T.NUMERIC_TEXT:  # numeric held as its text
                from sqlvec.core.textio_numeric import numeric_text_scalar

                arr = pa.repeat(numeric_text_scalar(e.value), 1)
            else:
                arr = pa.array([e.value], type=e.type.arrow if e.type.short != "unknown" else pa.string())
            src = e.type if e.type.short != "unknown" else T.UNKNOWN if to.short in ("bit", "varbit") else T.TEXT
            if src.oid == to.oid and src.typmod == to.typmod and not _other_scale(src, to):
                return E.Const(e.value, to)
            if _zone_dependent(src, to):  # cast at run time, in the session's TimeZone
                return E.Cast(e, to, explicit)
            out = self.regs.casts.cast(arr, src, to, explicit=explicit)
            try:
                return E.Const(out[0].as_py(), to)
            except OverflowError:  # 'infinity'::date has no Python value: cast at run time
                return E.Cast(e, to, explicit)
        if e.type.oid == to.oid and e.type.typmod == to.typmod and not (exact and _other_scale(e.type, to)):
            return e
        if _plain_numeric(to) and (e.type.category == "S" or e.type.short in ("float4", "float8")):
            to = T.NUMERIC_TEXT  # text::numeric: each value keeps the scale it is written with, NaN, Infinity
        return E.Cast(e, to, explicit)

    def call(self, name: str, args: list[E.Expr]) -> E.Expr:
        """Resolve a function/operator by name and argument types; coerce args to its signature."""
        types = [a.type for a in args]
        # untyped parameters take the other operand's type, as PostgreSQL infers them, where
        # the operator takes that type on both sides (operators only: a function's unknown
        # arguments are resolved by its signatures; `jsonb ->> $1` has no jsonb ->> jsonb:
        # resolution picks text for it)
        if len(args) == 2 and not (name[:1].isalpha() or name[:1] == "_"):
            a, b = args
            if isinstance(a, E.Param) and a.type.short == "unknown" and b.type.short != "unknown":
                if self._takes_both(name, b.type):
                    args[0] = self.coerce(a, b.type)
            elif isinstance(b, E.Param) and b.type.short == "unknown" and a.type.short != "unknown":
                if self._takes_both(name, a.type):
                    args[1] = self.coerce(b, a.type)
            types = [x.type for x in args]
        fn = self.engine_function(name, types) if name in ("nextval", "currval", "setval") else None
        if fn is None:
            try:
                fn = self.regs.functions.resolve(name, types)
            except SqlError:
                fn = self.engine_function(name, types)
                if fn is None:
                    raise
        want = list(getattr(fn, "arg_types", types) or types)
        if len(want) == len(args):
            args = [self.coerce(x, t) if t.category != "P" and t.short != "any" else x
                    for x, t in zip(args, want)]
        ret = fn.return_type
        if ret.short == "numeric" and ret.typmod < 0 and ret is not T.NUMERIC_TEXT:
            folded = self._numeric_display(name, args)
            if isinstance(folded, E.Const):
                return folded
            ret = folded or ret
        return E.Func(name, tuple(args), ret, fn)

    def _takes_both(self, name: str, t: SqlType) -> bool:
        """Whether operator `name` resolves with `t` on both sides."""
        try:
            self.regs.functions.resolve(name, [t, t])
        except SqlError:
            return False
        return True

    def _numeric_display(self, name: str, args: list[E.Expr]) -> E.Const | SqlType | None:
        """PostgreSQL's display scale where it depends on argument values, not types: a
        quotient of constants (select_div_scale), round/trunc(x, constant), EXTRACT's unit."""
        from sqlvec.functions.arith import const_quotient, numeric_with

        consts = [a.value if isinstance(a, E.Const) else None for a in args]
        if name == "/" and len(args) == 2 and all(isinstance(v, decimal.Decimal | int) for v in consts):
            q = const_quotient(decimal.Decimal(consts[0]), decimal.Decimal(consts[1]),
                               args[0].type, args[1].type)
            return None if q is None else E.Const(q, numeric_literal_type(q))
        if name in ("round", "trunc", "ceil", "ceiling", "floor"):
            digits = 0 if len(args) == 1 else consts[1]
            if isinstance(digits, int):
                return numeric_with(numeric_display_arrow(max(0, min(digits, T.NUMERIC_PRECISION))))
        if name == "extract" and len(args) == 2 and isinstance(consts[0], str):
            # EXTRACT's numeric shows microsecond digits for seconds and epochs (not of a date)
            unit = consts[0].strip().lower()
            scale = {"epoch": 6, "second": 6, "seconds": 6, "milliseconds": 3, "millisecond": 3,
                     "ms": 3}.get(unit, 0)
            if args[1].type.short == "date":
                scale = 0
            return numeric_with(numeric_display_arrow(scale))
        return None

    def engine_function(self, name: str, types: list[SqlType]) -> Any:
        """Functions the engine implements itself (catalog access, set-returning)."""
        if name not in ("nextval", "currval", "setval", "generate_series", "unnest"):
            return None
        from sqlvec.exec.builtins import engine_function

        ctx = getattr(self, "ctx", None)
        return engine_function(name, types, getattr(ctx, "catalog", None), getattr(ctx, "search_path", []),
                               getattr(ctx, "seq_values", None))

    def as_bool(self, e: E.Expr) -> E.Expr:
        if e.type.short == "bool":
            return e
        if e.type.short == "unknown":
            return self.coerce(e, T.BOOL)
        from sqlvec.core.errors import DatatypeMismatch

        raise DatatypeMismatch(f"argument of WHERE must be type boolean, not type {e.type.display()}")

    # -- main dispatch ------------------------------------------------------------
    def bind_expr(self, node: exp.Expr, scope: Scope, *, agg_ok: bool = False) -> E.Expr:
        m = getattr(self, "_b_" + type(node).__name__, None)
        if m is not None:
            return m(node, scope)
        if isinstance(node, exp.EQ | exp.NEQ | exp.LT | exp.LTE | exp.GT | exp.GTE) and \
                (ls := _row_items(node.this)) is not None and (rs := _row_items(node.expression)) is not None:
            return self._row_compare(node, ls, rs, scope)
        if isinstance(node, exp.RegexpLike) and node.args.get("flag") is not None:
            return self.call("regexp_like", [self.bind_expr(x, scope)
                                             for x in (node.this, node.expression, node.args["flag"])])
        if isinstance(node, exp.Binary) and type(node) in BINARY_OPS:
            rhs = node.expression
            if isinstance(rhs, exp.Any | exp.All) or (
                    isinstance(rhs, exp.Anonymous) and rhs.name.lower() in ("some", "any", "all")):
                return self.quantified(BINARY_OPS[type(node)], node.this, rhs, scope)
            left = self.bind_expr(node.this, scope)
            if isinstance(node, exp.Like | exp.ILike) and node.args.get("escape") is not None:
                raise FeatureNotSupported("LIKE ... ESCAPE is not supported")
            right = self.bind_expr(node.expression, scope)
            out = self.call(BINARY_OPS[type(node)], [left, right])
            if node.args.get("negate"):
                return E.Not(out, T.BOOL)
            return out
        if isinstance(node, exp.Func):
            return self._bind_func(node, scope)
        raise FeatureNotSupported(f"unsupported expression: {node.sql(dialect='postgres')[:60]}")

    def _b_Paren(self, n: exp.Paren, scope: Scope) -> E.Expr:
        return self.bind_expr(n.this, scope)

    def _b_Alias(self, n: exp.Alias, scope: Scope) -> E.Expr:
        return self.bind_expr(n.this, scope)

    def _b_Literal(self, n: exp.Literal, scope: Scope) -> E.Expr:
        if n.is_string:
            return E.Const(n.this, T.UNKNOWN)
        text = n.this
        try:
            v: Any = int(text)
        except ValueError:
            v = numeric_literal_value(text)
        return self.const(v)

    def _b_RawString(self, n: exp.RawString, scope: Scope) -> E.Expr:
        """$$text$$ / $tag$text$tag$: a string literal taken as written."""
        return E.Const(n.this, T.UNKNOWN)

    def _b_UnicodeString(self, n: exp.UnicodeString, scope: Scope) -> E.Expr:
        """U&'d\\0061t\\+000061': \\XXXX and \\+XXXXXX code points (a UESCAPE character too)."""
        esc = n.args.get("escape")
        ch = esc.this if isinstance(esc, exp.Literal) else "\\"
        return E.Const(_unicode_unescape(n.this, ch), T.UNKNOWN)

    def _b_Boolean(self, n: exp.Boolean, scope: Scope) -> E.Expr:
        return E.Const(bool(n.this), T.BOOL)

    def _b_Null(self, n: exp.Null, scope: Scope) -> E.Expr:
        return E.Const(None, T.UNKNOWN)

    def _b_Parameter(self, n: exp.Parameter, scope: Scope) -> E.Expr:
        try:
            idx = int(n.name) - 1
        except ValueError:
            raise SyntaxError_(f"syntax error at or near \"${n.name}\"") from None
        if idx < 0:
            raise UndefinedParameter(f"there is no parameter ${idx + 1}")
        while len(self.params) <= idx:
            if not getattr(self, "params_open", True):
                raise UndefinedParameter(f"there is no parameter ${idx + 1}")
            self.params.append(None)
        t = self.params[idx]
        if t is not None and _plain_numeric(t):  # held as its text: the scale sent, NaN, Infinity
            t = self.params[idx] = T.NUMERIC_TEXT
        return E.Param(idx, t or T.UNKNOWN)

    _b_Placeholder = _b_Parameter

    def _b_Dot(self, n: exp.Dot, scope: Scope) -> E.Expr:
        """pg_catalog.f(...): a schema-qualified call (functions live in pg_catalog)."""
        if isinstance(n.expression, exp.Func) and n.this.name.lower() in ("pg_catalog", "information_schema"):
            return self.bind_expr(n.expression, scope)
        if isinstance(n.this, exp.Paren) and isinstance(n.expression, exp.Identifier):
            return self._field_select(self.bind_expr(n.this, scope), n.expression.name)
        raise FeatureNotSupported(f"unsupported expression: {n.sql(dialect='postgres')[:60]}")

    def _b_ByteString(self, n: exp.ByteString, scope: Scope) -> E.Expr:
        """E'a\\nb': an escape string constant (sqlglot has already processed the escapes)."""
        return E.Const(n.this, T.UNKNOWN)

    def _b_BitString(self, n: exp.Expr, scope: Scope) -> E.Expr:
        """B'101' (and X'1F', four bits a digit): a bit(n) constant, as in PostgreSQL."""
        text = str(n.this)
        if isinstance(n, exp.HexString):
            try:
                text = "".join(f"{int(ch, 16):04b}" for ch in text)
            except ValueError:
                raise SyntaxError_(f'"{n.this[:1]}" is not a valid hexadecimal digit') from None
        elif set(text) - {"0", "1"}:
            raise SyntaxError_(f'"{sorted(set(text) - {"0", "1"})[0]}" is not a valid binary digit')
        bit = type_from_ast(exp.DataType.build(f"bit({len(text)})", dialect="postgres"), self.regs.types) \
            if text else self.regs.types.by_name("bit")  # B'': a zero-length bit
        return self.coerce(E.Const(text, T.UNKNOWN), bit)

    _b_HexString = _b_BitString

    def _bracket_oidvector(self, n: exp.Bracket, scope: Scope) -> E.Expr:
        """a[i] on int2vector/oidvector: 0-based, as in PostgreSQL (pg_index.indkey[0])."""
        if len(n.expressions) != 1 or isinstance(n.expressions[0], exp.Slice):
            raise FeatureNotSupported(f"unsupported expression: {n.sql(dialect='postgres')[:60]}")
        base = self.bind_expr(n.this, scope)
        node = n.expressions[0]
        lit = None  # sqlglot made integer literals 0-based: -1 is Neg(1), 0 is Literal 0
        if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
            lit = -int(node.this.this)
        elif isinstance(node, exp.Literal) and not node.is_string:
            lit = int(node.this)
        idx = E.Const(lit + 1, T.INT4) if lit is not None else \
            self.coerce(self.bind_expr(node, scope), T.INT4)
        elem = base.type.element or (T.INT2 if base.type.short == "int2vector" else
                                     T.OID if base.type.short == "oidvector" else None)
        if elem is None:
            from sqlvec.core.errors import DatatypeMismatch

            raise DatatypeMismatch(f"cannot subscript type {base.type.display()} because it does not support subscripting")
        fn = _Subscript(elem, 1 if base.type.short in ("int2vector", "oidvector") else 0)
        return E.Func("[]", (base, idx), elem, fn)

    def _field_select(self, rec: E.Expr, name: str) -> E.Expr:
        """(record).field on a struct-valued expression (e.g. _pg_expandarray(...)).n."""
        st = rec.type.arrow
        if not pa.types.is_struct(st) or st.get_field_index(name) < 0:
            from sqlvec.core.errors import UndefinedColumn

            raise UndefinedColumn(f'column "{name}" not found in data type {rec.type.display()}')
        ft = st.field(name).type
        t = next((x for x in (T.INT2, T.INT4, T.INT8, T.OID, T.TEXT, T.FLOAT8, T.BOOL) if x.arrow == ft), T.TEXT)
        return E.Func(f".{name}", (rec,), t, _FieldGet(name, t))

    def _b_Operator(self, n: exp.Operator, scope: Scope) -> E.Expr:
        """a OPERATOR(pg_catalog.~) b."""
        op = str(n.args.get("operator") or "").split(".")[-1].strip()
        return self.call(op, [self.bind_expr(n.this, scope), self.bind_expr(n.expression, scope)])

    def _b_Collate(self, n: exp.Collate, scope: Scope) -> E.Expr:
        """x COLLATE "C" / pg_catalog.default: sqlvec compares by code point (C collation)."""
        return self.bind_expr(n.this, scope)

    def _b_Column(self, n: exp.Column, scope: Scope) -> E.Expr:
        name = n.name
        table = n.table or None
        if isinstance(n.this, exp.Star):
            raise FeatureNotSupported("row expansion is not supported here")
        level = 0
        s: Scope | None = scope
        while s is not None:
            c = s.find(name, table)
            if c is not None:
                if level == 0:
                    return E.ColRef(c.index, c.type, name, c.alias)
                self.note_outer(level, c.index)
                return E.OuterRef(level, c.index, c.type, name, c.alias)
            s, level = s.outer, level + 1
        if table is None:
            row = self._whole_row(name, scope)
            if row is not None:
                return row
        pos = _position(n)
        if table and not any(x.has_table(table) for x in _chain(scope)):
            from sqlvec.core.errors import UndefinedTable

            raise UndefinedTable(f'missing FROM-clause entry for table "{table}"', position=pos)
        err = undefined_column(name, table)
        err.position = pos
        raise err

    def _whole_row(self, name: str, scope: Scope) -> E.Expr | None:
        """`t` naming a FROM item rather than a column: the row as a record (row_to_json(t))."""
        level = 0
        s: Scope | None = scope
        while s is not None:
            for it in s.items:
                if it.alias != name:
                    continue
                if it.scalar and len(it.columns) == 1:
                    c = it.columns[0]
                    if level == 0:
                        return E.ColRef(c.index, c.type, c.name)
                    self.note_outer(level, c.index)
                    return E.OuterRef(level, c.index, c.type, c.name)
                args: list[E.Expr] = []
                for c in it.columns:
                    if level == 0:
                        args.append(E.ColRef(c.index, c.type, c.name))
                    else:
                        self.note_outer(level, c.index)
                        args.append(E.OuterRef(level, c.index, c.type, c.name))
                rt = T.record_of(tuple((c.name, c.type) for c in it.columns))
                return E.Func("row", tuple(args), rt, _RowBuild(rt))
            s, level = s.outer, level + 1
        return None

    def note_outer(self, level: int, index: int) -> None:
        """Record an outer reference (overridden by the query binder)."""

    def _b_Neg(self, n: exp.Neg, scope: Scope) -> E.Expr:
        inner = n.this
        if isinstance(inner, exp.Literal) and not inner.is_string:
            c = self._b_Literal(inner, scope)
            v = -c.value
            return self.const(v) if not isinstance(v, float) else E.Const(v, T.FLOAT8)
        return self.call("-", [self.bind_expr(inner, scope)])

    def _b_BitwiseNot(self, n: exp.Expr, scope: Scope) -> E.Expr:
        """~x (prefix): bitwise NOT."""
        return self.call("~", [self.bind_expr(n.this, scope)])

    def _b_Not(self, n: exp.Not, scope: Scope) -> E.Expr:
        return E.Not(self.as_bool(self.bind_expr(n.this, scope)), T.BOOL)

    def _b_And(self, n: exp.And, scope: Scope) -> E.Expr:
        return self._boolop("and", n, scope)

    def _b_Or(self, n: exp.Or, scope: Scope) -> E.Expr:
        return self._boolop("or", n, scope)

    def _boolop(self, op: str, n: exp.Expr, scope: Scope) -> E.Expr:
        args: list[E.Expr] = []
        for side in (n.this, n.expression):
            b = self.as_bool(self.bind_expr(side, scope))
            if isinstance(b, E.BoolOp) and b.op == op:
                args.extend(b.args)
            else:
                args.append(b)
        return E.BoolOp(op, tuple(args), T.BOOL)

    def _b_Is(self, n: exp.Is, scope: Scope) -> E.Expr:
        neg = bool(n.args.get("negate"))
        rhs = n.expression
        items = _row_items(n.this)
        if items is not None and isinstance(rhs, exp.Null):
            # ROW(...) IS NULL: every field NULL; IS NOT NULL: every field not NULL
            parts = []
            for x in items:
                e = self.bind_expr(x, scope)
                if e.type.short == "unknown" and isinstance(e, E.Const):
                    e = E.Const(e.value, T.TEXT)
                parts.append(E.IsNull(e, neg, T.BOOL))
            return E.BoolOp("and", tuple(parts), T.BOOL) if len(parts) > 1 else parts[0]
        arg = self.bind_expr(n.this, scope)
        if isinstance(rhs, exp.Null):
            if arg.type.short == "unknown" and isinstance(arg, E.Const):
                arg = E.Const(arg.value, T.TEXT)
            return E.IsNull(arg, neg, T.BOOL)
        if isinstance(rhs, exp.Boolean):
            return E.IsBool(self.as_bool(arg), bool(rhs.this), neg, T.BOOL)
        if isinstance(rhs, exp.Var) and rhs.name.lower() == "unknown":
            return E.IsNull(self.as_bool(arg), neg, T.BOOL)
        raise FeatureNotSupported("unsupported IS expression")

    def _b_NullSafeEQ(self, n: exp.Expr, scope: Scope) -> E.Expr:
        return self._distinct(n.this, n.expression, scope, True)

    def _b_NullSafeNEQ(self, n: exp.Expr, scope: Scope) -> E.Expr:
        return self._distinct(n.this, n.expression, scope, False)

    def _distinct(self, lhs: exp.Expr, rhs: exp.Expr, scope: Scope, negate: bool) -> E.Expr:
        if isinstance(lhs, exp.Tuple) and isinstance(rhs, exp.Tuple) and \
                len(lhs.expressions) == len(rhs.expressions) > 1:
            # row constructors, field by field (NULL fields are not distinct from each other)
            parts = tuple(self._distinct(a, b, scope, negate)
                          for a, b in zip(lhs.expressions, rhs.expressions))
            return E.BoolOp("and" if negate else "or", parts, T.BOOL)
        eq = self.call("=", [self.bind_expr(lhs, scope), self.bind_expr(rhs, scope)])
        assert isinstance(eq, E.Func)
        return E.Distinct(eq.args[0], eq.args[1], negate, T.BOOL, eq.fn)

    def _b_VecOp(self, n: VecOp, scope: Scope) -> E.Expr:
        return self.call(n.symbol, [self.bind_expr(n.this, scope), self.bind_expr(n.expression, scope)])

    def _b_Distance(self, n: exp.Expr, scope: Scope) -> E.Expr:
        return self.call("<->", [self.bind_expr(n.this, scope), self.bind_expr(n.expression, scope)])

    def _b_Between(self, n: exp.Between, scope: Scope) -> E.Expr:
        a = self.bind_expr(n.this, scope)
        lo = self.call(">=", [a, self.bind_expr(n.args["low"], scope)])
        hi = self.call("<=", [a, self.bind_expr(n.args["high"], scope)])
        if n.args.get("symmetric"):
            lo2 = self.call("<=", [a, self.bind_expr(n.args["low"], scope)])
            hi2 = self.call(">=", [a, self.bind_expr(n.args["high"], scope)])
            return E.BoolOp("or", (E.BoolOp("and", (lo, hi), T.BOOL), E.BoolOp("and", (lo2, hi2), T.BOOL)), T.BOOL)
        return E.BoolOp("and", (lo, hi), T.BOOL)

    def _row_in(self, n: exp.In, scope: Scope) -> E.Expr:
        """(a, b) IN (subquery) / IN ((1, 2), (3, 4))."""
        left = [self.bind_expr(x, scope) for x in n.this.expressions]
        q = n.args.get("query")
        if q is None and len(n.expressions) == 1 and isinstance(n.expressions[0], exp.Subquery | exp.Select):
            q = n.expressions[0]
        if q is not None:
            sub_q = q.this if isinstance(q, exp.Subquery) else q
            from sqlvec.sql.binder import Binder

            sub = Binder(self.ctx, self.params)  # type: ignore[attr-defined]
            sub.cte_plans = self.cte_plans  # type: ignore[attr-defined]
            plan = sub.bind_query(sub_q, outer=scope)
            if sub.outer_refs:
                raise FeatureNotSupported("correlated row IN subqueries are not supported yet")
            if len(plan.fields) != len(left):
                raise SyntaxError_("subquery has too many columns" if len(plan.fields) > len(left)
                                   else "subquery has too few columns")
            types = [self.regs.casts.common_type([a.type, f.type]) for a, f in zip(left, plan.fields)]
            from sqlvec.plan import logical as L

            plan = L.Project(plan, tuple(self.coerce(E.ColRef(i, f.type), t, exact=True)
                                         for i, (f, t) in enumerate(zip(plan.fields, types))),
                             tuple(L.Field(f.name, t) for f, t in zip(plan.fields, types)))
            row = E.Row(tuple(self.coerce(a, t, exact=True) for a, t in zip(left, types)), T.RECORD)
            return E.Subquery("in", plan, T.BOOL, row, False, False, (), next(_uid))
        alts = []
        for tup in n.expressions:
            vals = tup.expressions if isinstance(tup, exp.Tuple) else [tup]
            if len(vals) != len(left):
                raise SyntaxError_("IN list rows must have the same number of columns")
            eqs = [self.call("=", [a, self.bind_expr(v, scope)]) for a, v in zip(left, vals)]
            alts.append(E.BoolOp("and", tuple(eqs), T.BOOL))
        return alts[0] if len(alts) == 1 else E.BoolOp("or", tuple(alts), T.BOOL)

    def _b_In(self, n: exp.In, scope: Scope) -> E.Expr:
        if isinstance(n.this, exp.Tuple) and len(n.this.expressions) > 1:
            return self._row_in(n, scope)
        arg = self.bind_expr(n.this, scope)
        q = n.args.get("query")
        if q is not None:
            sub = q.this if isinstance(q, exp.Subquery) else q
            return self.bind_subquery(sub, scope, "in", arg)
        if n.args.get("unnest"):
            raise FeatureNotSupported("IN UNNEST is not supported")
        vals = [self.bind_expr(v, scope) for v in n.expressions]
        if len(vals) == 1 and isinstance(n.expressions[0], (exp.Subquery, exp.Select)):
            sub = n.expressions[0]
            return self.bind_subquery(sub.this if isinstance(sub, exp.Subquery) else sub, scope, "in", arg)
        try:
            t = self.regs.casts.common_type([arg.type, *(v.type for v in vals)])
        except SqlError as e:
            if e.sqlstate != "42804":
                raise
            # no common type: PostgreSQL ORs x = v per value (42883 when one has no operator)
            eqs = tuple(self.call("=", [arg, v]) for v in vals)
            return eqs[0] if len(eqs) == 1 else E.BoolOp("or", eqs, T.BOOL)
        return E.InList(self.coerce(arg, t, exact=True), tuple(self.coerce(v, t, exact=True) for v in vals),
                        False, T.BOOL)

    def _b_MatchAgainst(self, n: exp.Expr, scope: Scope) -> E.Expr:
        """a @@ b (sqlglot keeps b as `this` and a in `expressions`)."""
        left = n.expressions[0] if len(n.expressions) == 1 else None
        if left is None:
            raise FeatureNotSupported("MATCH ... AGAINST is not supported")
        return self.call("@@", [self.bind_expr(left, scope), self.bind_expr(n.this, scope)])

    def _b_JSONBPathExists(self, n: exp.Expr, scope: Scope) -> E.Expr:
        """jsonb @? jsonpath."""
        return self.call("@?", [self.bind_expr(n.this, scope), self.bind_expr(n.expression, scope)])

    def _b_Overlaps(self, n: exp.Expr, scope: Scope) -> E.Expr:
        """(s1, e1) OVERLAPS (s2, e2) is overlaps(s1, e1, s2, e2)."""
        args: list[E.Expr] = []
        for side in (n.this, n.expression):
            items = side.expressions if isinstance(side, exp.Tuple) else [side]
            if len(items) != 2:
                raise SyntaxError_(f"{'wrong number of parameters on ' + ('left' if side is n.this else 'right')}"
                                   " side of OVERLAPS expression")
            args.extend(self.bind_expr(x, scope) for x in items)
        return self.call("overlaps", args)

    def _b_Exists(self, n: exp.Exists, scope: Scope) -> E.Expr:
        return self.bind_subquery(n.this, scope, "exists", None)

    def _b_Subquery(self, n: exp.Subquery, scope: Scope) -> E.Expr:
        return self.bind_subquery(n.this, scope, "scalar", None)

    def _b_Select(self, n: exp.Select, scope: Scope) -> E.Expr:
        return self.bind_subquery(n, scope, "scalar", None)

    def _b_Any(self, n: exp.Any, scope: Scope) -> E.Expr:
        raise FeatureNotSupported("ANY/ALL must follow a comparison operator")

    def _b_JSONPath(self, n: exp.Expr, scope: Scope) -> E.Expr:
        steps = [x for x in n.expressions if not isinstance(x, exp.JSONPathRoot)]
        if len(steps) == 1 and isinstance(steps[0], exp.JSONPathKey):
            return E.Const(str(steps[0].this), T.UNKNOWN)
        if len(steps) == 1 and isinstance(steps[0], exp.JSONPathSubscript):
            return E.Const(int(steps[0].this), T.INT4)
        raise FeatureNotSupported("unsupported JSON path")

    def _b_SimilarTo(self, n: exp.Expr, scope: Scope, escape: exp.Expr | None = None) -> E.Expr:
        """x SIMILAR TO p [ESCAPE e] is similar_to(x, p[, e]) (the functions layer's regex)."""
        args = [self.bind_expr(n.this, scope), self.bind_expr(n.expression, scope)]
        if escape is not None:
            args.append(self.bind_expr(escape, scope))
        return self.call("not_similar_to" if n.args.get("negate") else "similar_to", args)

    def _b_Escape(self, n: exp.Expr, scope: Scope) -> E.Expr:
        """x LIKE p ESCAPE e is x ~~ like_escape(p, e), as PostgreSQL rewrites it."""
        inner = n.this
        if isinstance(inner, exp.SimilarTo):
            return self._b_SimilarTo(inner, scope, n.expression)
        op = BINARY_OPS.get(type(inner))
        if op not in ("~~", "~~*"):
            raise SyntaxError_('syntax error at or near "ESCAPE"')
        pat = self.call("like_escape", [self.bind_expr(inner.expression, scope), self.bind_expr(n.expression, scope)])
        out = self.call(op, [self.bind_expr(inner.this, scope), pat])
        return E.Not(out, T.BOOL) if inner.args.get("negate") else out

    def quantified(self, op: str, left: exp.Expr, q: exp.Expr, scope: Scope) -> E.Expr:
        """x op ANY|ALL (array or subquery)."""
        is_all = isinstance(q, exp.All) or (isinstance(q, exp.Anonymous) and q.name.lower() == "all")
        inner = q.this
        if isinstance(q, exp.Anonymous):  # SOME(...)
            inner = q.expressions[0]
        while isinstance(inner, exp.Paren):
            inner = inner.this
        x = self.bind_expr(left, scope)
        if isinstance(inner, exp.Subquery | exp.Select):
            sub = self.bind_subquery(inner.this if isinstance(inner, exp.Subquery) else inner, scope, "in", x)
            assert isinstance(sub, E.Subquery)
            elem_t = sub.plan.fields[0].type
            x = sub.arg
            cmp = self.call(op, [E.ColRef(0, x.type), E.ColRef(1, elem_t)])
            return E.Quantified(x, sub, cmp, is_all, T.BOOL)
        arr = self.bind_expr(inner, scope)
        if arr.type.element is None:
            if arr.type.short == "unknown" or isinstance(arr, E.Param):
                arr = self.coerce(arr, T.array_of(x.type if x.type.short != "unknown" else T.TEXT))
            else:
                from sqlvec.core.errors import DatatypeMismatch

                raise DatatypeMismatch("op ANY/ALL (array) requires array on right side")
        if arr.type.ndims > 1:  # x = ANY('{{1,2},{3,4}}'): over all elements
            flat_t = T.array_of(arr.type.base_element)
            arr = E.Func("array_flatten", (arr,), flat_t, _FlattenDims(flat_t, arr.type.ndims - 1))
        elem = arr.type.element
        if isinstance(x, E.Param) and x.type.short == "unknown":
            x = self.coerce(x, elem)
        cmp = self.call(op, [E.ColRef(0, x.type), E.ColRef(1, elem)])
        return E.Quantified(x, arr, cmp, is_all, T.BOOL)

    def _b_Case(self, n: exp.Case, scope: Scope) -> E.Expr:
        base = n.this
        b_base = self.bind_expr(base, scope) if base is not None else None
        conds, vals = [], []
        for w in n.args.get("ifs") or []:
            if b_base is not None:
                conds.append(self.call("=", [b_base, self.bind_expr(w.this, scope)]))
            else:
                conds.append(self.as_bool(self.bind_expr(w.this, scope)))
            vals.append(self.bind_expr(w.args["true"], scope))
        default = n.args.get("default")
        d = self.bind_expr(default, scope) if default is not None else None
        rt = self.regs.casts.common_type([v.type for v in vals] + ([d.type] if d is not None else []))
        return E.Case(
            tuple((c, self.coerce(v, rt, exact=True)) for c, v in zip(conds, vals)),
            self.coerce(d, rt, exact=True) if d is not None else None, rt,
        )

    def _b_If(self, n: exp.If, scope: Scope) -> E.Expr:
        c = self.as_bool(self.bind_expr(n.this, scope))
        v = self.bind_expr(n.args["true"], scope)
        f = n.args.get("false")
        d = self.bind_expr(f, scope) if f is not None else None
        rt = self.regs.casts.common_type([v.type] + ([d.type] if d is not None else []))
        return E.Case(((c, self.coerce(v, rt, exact=True)),),
                      self.coerce(d, rt, exact=True) if d is not None else None, rt)

    def _b_Coalesce(self, n: exp.Coalesce, scope: Scope) -> E.Expr:
        args = [self.bind_expr(n.this, scope)] + [self.bind_expr(x, scope) for x in n.expressions]
        rt = self.regs.casts.common_type([a.type for a in args])
        return E.Coalesce(tuple(self.coerce(a, rt, exact=True) for a in args), rt)

    def _b_Nullif(self, n: exp.Nullif, scope: Scope) -> E.Expr:
        a = self.bind_expr(n.this, scope)
        b = self.bind_expr(n.expression, scope)
        eq = self.call("=", [a, b])
        rt = a.type if a.type.short != "unknown" else T.TEXT
        return E.Case(((eq, E.Const(None, rt)),), self.coerce(a, rt), rt)

    def _b_Greatest(self, n: exp.Expr, scope: Scope) -> E.Expr:
        return self._minmax(n, scope, ">")

    def _b_Least(self, n: exp.Expr, scope: Scope) -> E.Expr:
        return self._minmax(n, scope, "<")

    def _minmax(self, n: exp.Expr, scope: Scope, op: str) -> E.Expr:
        args = [self.bind_expr(n.this, scope)] + [self.bind_expr(x, scope) for x in n.expressions]
        rt = self.regs.casts.common_type([a.type for a in args])
        args = [self.coerce(a, rt, exact=True) for a in args]
        acc = args[0]
        for a in args[1:]:
            # NULLs are ignored, as in PostgreSQL's GREATEST/LEAST
            better = self.call(op, [a, acc])
            acc = E.Case(((E.IsNull(acc, False, T.BOOL), a), (better, a)), acc, rt)
        return acc

    def _b_Cast(self, n: exp.Cast, scope: Scope) -> E.Expr:
        to = type_from_ast(n.args["to"], self.regs.types)
        arr = n.this
        if isinstance(arr, exp.Array) and arr.expressions and to.is_array and to.element is not None and \
                not any(isinstance(x, exp.Array | exp.Select | exp.Subquery | exp.Union) for x in arr.expressions):
            # ARRAY[...]::t[]: each element cast to t, as PostgreSQL (ARRAY[1.5, 'Infinity']::float8[])
            from sqlvec.exec.builtins import ArrayBuild

            et = to.element
            elems = tuple(self.coerce(self.bind_expr(x, scope), et, explicit=True) for x in arr.expressions)
            return E.Func("array", elems, to, ArrayBuild([et] * len(elems), to))
        try:
            src = self.bind_expr(n.this, scope)
            while to.is_array and src.type.is_array and src.type.ndims > to.ndims:
                to = T.array_of(to)  # t[] is every dimension count: ARRAY[[1,2],[3,4]]::real[]
            return self.coerce(src, to, explicit=True)
        except SqlError as err:  # a constant that does not convert: point at it, as PostgreSQL
            if err.position is None and isinstance(n.this, exp.Literal):
                err.position = _position(n.this)
            raise

    _b_TryCast = _b_Cast

    def _b_Interval(self, n: exp.Interval, scope: Scope) -> E.Expr:
        unit = n.args.get("unit")
        text = n.this.name if isinstance(n.this, exp.Literal) else n.this.sql()
        if unit is not None:
            text = f"{text} {unit.name}"
        return self.coerce(E.Const(text, T.UNKNOWN), T.INTERVAL, explicit=True)

    def _b_Array(self, n: exp.Array, scope: Scope) -> E.Expr:
        if len(n.expressions) == 1 and isinstance(n.expressions[0], exp.Select | exp.Subquery | exp.Union):
            q = n.expressions[0]
            sub = self.bind_subquery(q.this if isinstance(q, exp.Subquery) else q, scope, "scalar", None)
            assert isinstance(sub, E.Subquery)
            return E.Subquery("array", sub.plan, T.array_of(sub.type), None, False, sub.correlated,
                              sub.outer_cols, sub.uid)
        elems = [self.bind_expr(x, scope) for x in n.expressions]
        if not elems:
            return E.Const([], T.array_of(T.TEXT))
        et = self.regs.casts.common_type([e.type for e in elems])
        if et.short == "unknown":
            et = T.TEXT
        from sqlvec.exec.builtins import ArrayBuild

        at = T.array_of(et)
        return E.Func("array", tuple(self.coerce(e, et, exact=True) for e in elems), at,
                      ArrayBuild([et] * len(elems), at))

    def _b_IntDiv(self, n: exp.Expr, scope: Scope) -> E.Expr:
        return self.call("div", [self.bind_expr(n.this, scope), self.bind_expr(n.expression, scope)])

    def _b_AtTimeZone(self, n: exp.Expr, scope: Scope) -> E.Expr:
        return self.call("timezone", [self.bind_expr(n.args["zone"], scope), self.bind_expr(n.this, scope)])

    def _b_Bracket(self, n: exp.Bracket, scope: Scope) -> E.Expr:
        from sqlvec.exec.builtins import ArrayIndex

        chain = [n]  # a[2][1] parses as Bracket(Bracket(a, 2), 1): take the subscripts together
        while isinstance(chain[0].this, exp.Bracket):
            chain.insert(0, chain[0].this)
        arr = self.bind_expr(chain[0].this, scope)
        if arr.type.short in ("int2vector", "oidvector") and len(chain) == 1:
            return self._bracket_oidvector(n, scope)
        subs = [sub for b in chain for sub in b.expressions]
        based0 = {id(sub): b.this.type is None or b.this.type.this in
                  (exp.DataType.Type.UNKNOWN, exp.DataType.Type.ARRAY)
                  for b in chain for sub in b.expressions}
        if arr.type.short == "jsonb":
            return self._jsonb_subscript(arr, chain, scope)
        if 1 < arr.type.ndims and len(subs) < arr.type.ndims and \
                not any(isinstance(sub, exp.Slice) for sub in subs):
            return E.Const(None, arr.type.base_element)  # fewer subscripts than dimensions: NULL
        if arr.type.element is not None and any(isinstance(sub, exp.Slice) for sub in subs):
            return self._array_slice(arr, subs, based0, scope)
        for sub in subs:
            if arr.type.element is None:
                from sqlvec.core.errors import DatatypeMismatch

                raise DatatypeMismatch(f"cannot subscript type {arr.type.display()} because it does not support subscripting")
            if isinstance(sub, exp.Literal) and not sub.is_string:
                # sqlglot stores literal subscripts 0-based, but only where it typed the
                # subscripted value as an array or not at all: (x::real[])[2][1] keeps the 1
                shift = 1 if based0.get(id(sub), True) else 0
                idx: E.Expr = E.Const(int(sub.this) + shift, T.INT8)
            else:
                idx = self.coerce(self.bind_expr(sub, scope), T.INT8)
            arr = E.Func("array_subscript", (arr, idx), arr.type.element, ArrayIndex([arr.type, T.INT8], arr.type.element))
        return arr

    def _array_slice(self, arr: E.Expr, subs: list, based0: dict, scope: Scope) -> E.Expr:
        """a[1:2][2:3]: one slice per dimension (PostgreSQL's array_get_slice); a plain
        subscript next to a slice is 1:i, an omitted bound the dimension's end."""
        from sqlvec.functions.arrays import ArraySliceN

        args: list[E.Expr] = [arr]
        for sub in subs:
            if isinstance(sub, exp.Slice):
                args += [self.coerce(self.bind_expr(b, scope), T.INT8) if b is not None else E.Const(d, T.INT8)
                         for b, d in ((sub.this, 1), (sub.expression, 2**62))]
            elif isinstance(sub, exp.Literal) and not sub.is_string:  # (0-based as in _b_Bracket)
                args += [E.Const(1, T.INT8), E.Const(int(sub.this) + (1 if based0.get(id(sub), True) else 0), T.INT8)]
            else:
                args += [E.Const(1, T.INT8), self.coerce(self.bind_expr(sub, scope), T.INT8)]
        return E.Func("array_slice", tuple(args), arr.type, ArraySliceN([arr.type] + [T.INT8] * (len(args) - 1), arr.type))

    def _jsonb_subscript(self, j: E.Expr, chain: list[exp.Bracket], scope: Scope) -> E.Expr:
        """jsonb['key'] / jsonb[0]: PostgreSQL 14's jsonb subscripting, `->` one step at a time."""
        for br in chain:
            if len(br.expressions) != 1 or isinstance(br.expressions[0], exp.Slice):
                raise FeatureNotSupported("jsonb subscript does not support slices")
            sub = br.expressions[0]
            lit = sub.this if isinstance(sub, exp.Neg) else sub
            if isinstance(lit, exp.Literal) and not lit.is_string and lit.is_int:
                stored = int(lit.this) * (-1 if isinstance(sub, exp.Neg) else 1)
                # sqlglot stores an integer subscript minus one ([0] as Neg(1)) unless it
                # typed the subscripted expression as something other than an array
                typ = br.this.type.this if br.this.type is not None else exp.DType.UNKNOWN
                shifted = typ in (exp.DType.UNKNOWN, exp.DType.ARRAY)
                key: E.Expr = E.Const(stored + 1 if shifted else stored, T.INT4)
            else:
                key = self.bind_expr(sub, scope)
                if key.type.category not in ("N", "S", "X"):
                    from sqlvec.core.errors import DatatypeMismatch

                    raise DatatypeMismatch(f"subscript type {key.type.display()} is not supported",
                                           hint="jsonb subscript must be coercible to either integer or text.")
                key = self.coerce(key, T.INT4 if key.type.category == "N" else T.TEXT)
            j = self.call("->", [j, key])
        return j

    def _row_compare(self, node: exp.Expr, ls: list, rs: list, scope: Scope) -> E.Expr:
        """(a, b) op (c, d): = and <> pairwise (AND / OR); < <= > >= decided by the first
        pair that is unequal or NULL, as PostgreSQL compares rows (keyset pagination)."""
        if len(ls) != len(rs):
            raise SyntaxError_("unequal number of entries in row expressions")
        op = BINARY_OPS[type(node)]
        pairs = [(self.bind_expr(a, scope), self.bind_expr(b, scope)) for a, b in zip(ls, rs)]
        if op in ("=", "<>"):
            parts = tuple(self.call(op, [a, b]) for a, b in pairs)
            return E.BoolOp("and" if op == "=" else "or", parts, T.BOOL)
        strict = op[0]  # < or >
        a, b = pairs[-1]
        out = self.call(op, [a, b])
        for a, b in reversed(pairs[:-1]):
            eq = self.call("=", [a, b])
            out = E.BoolOp("or", (self.call(strict, [a, b]), E.BoolOp("and", (eq, out), T.BOOL)), T.BOOL)
        return out

    def _b_Tuple(self, n: exp.Tuple, scope: Scope) -> E.Expr:
        if len(n.expressions) == 1:
            return self.bind_expr(n.expressions[0], scope)
        return self._row_value(n, scope)  # (a, b): an anonymous record

    def _b_Star(self, n: exp.Star, scope: Scope) -> E.Expr:
        raise SyntaxError_('syntax error at or near "*"')

    def _b_CurrentTimestamp(self, n: exp.Expr, scope: Scope) -> E.Expr:
        return self.call("now", [])


    def bind_subquery(self, q: exp.Expr, scope: Scope, kind: str, arg: E.Expr | None) -> E.Expr:
        raise NotImplementedError


def _position(n: exp.Expr) -> int | None:
    """1-based offset of a node in its statement text (from the token sqlglot kept)."""
    for node in (n, n.args.get("table"), n.this if isinstance(n.this, exp.Expr) else None):
        meta = getattr(node, "meta", None) if isinstance(node, exp.Expr) else None
        if meta and "start" in meta:
            return int(meta["start"]) + 1
    return None


def _chain(scope: Scope):
    s: Scope | None = scope
    while s is not None:
        yield s
        s = s.outer


def is_sql_error(e: BaseException) -> bool:
    return isinstance(e, SqlError)


def _row_items(node: exp.Expr) -> list | None:
    """The fields of a row constructor `(a, b)` / `ROW(a, b)`, else None."""
    if isinstance(node, exp.Tuple) and len(node.expressions) > 1:
        return list(node.expressions)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "row":
        return list(node.expressions)
    return None


def _unicode_unescape(text: str, esc: str) -> str:
    """The value of a U&'...' literal: esc + 4 hex digits, esc + '+' + 6 hex digits, esc esc."""
    import re

    e = re.escape(esc)

    def one(m: re.Match) -> str:
        if m.group(0) == esc * 2:
            return esc
        return chr(int(m.group(1) or m.group(2), 16))

    try:
        return re.sub(f"{e}{e}|{e}([0-9A-Fa-f]{{4}})|{e}\\+([0-9A-Fa-f]{{6}})", one, text)
    except ValueError:
        raise SyntaxError_("invalid Unicode escape value") from None
