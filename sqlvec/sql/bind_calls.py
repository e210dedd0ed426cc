"""Binding function calls: named functions, aggregates (DISTINCT, FILTER, ORDER BY,
WITHIN GROUP) and window functions with their frames."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from sqlvec.core import types as T
from sqlvec.core.errors import (
    DatatypeMismatch,
    FeatureNotSupported,
    GroupingError,
    SyntaxError_,
    UndefinedFunction,
    UndefinedObject,
    WindowingError,
)
from sqlvec.plan import expr as E
from sqlvec.sql.scope import Scope

# Parameter names of built-in functions that take `name => value` arguments, and the
# default of each trailing parameter (None: required).
NAMED_PARAMS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "make_interval": tuple((p, "0") for p in ("years", "months", "weeks", "days", "hours", "mins", "secs")),
    "make_date": (("year", None), ("month", None), ("day", None)),
    "make_time": (("hour", None), ("min", None), ("sec", None)),
    "make_timestamp": tuple((p, None) for p in ("year", "month", "mday", "hour", "min", "sec")),
    "make_timestamptz": tuple((p, None) for p in ("year", "month", "mday", "hour", "min", "sec")),
}


def _named_args(name: str, args: list[exp.Expr]) -> list[exp.Expr]:
    """Positional arguments for a call with `param => value` ones (PostgreSQL's named notation:
    positional first, then named; omitted parameters take their defaults)."""
    params = NAMED_PARAMS.get(name)
    if params is None:
        raise UndefinedFunction(f"function {name} with named arguments does not exist",
                                hint="No function matches the given name and argument types.")
    names = [p for p, _ in params]
    slots: list[exp.Expr | None] = [None] * len(params)
    seen_named = False
    for i, a in enumerate(args):
        if isinstance(a, exp.Kwarg):
            seen_named = True
            key = a.this.name.lower()
            if key not in names or slots[names.index(key)] is not None:
                raise UndefinedFunction(f"function {name} has no parameter \"{key}\"" if key not in names
                                        else f'argument name "{key}" used more than once')
            slots[names.index(key)] = a.expression
        elif seen_named:
            raise SyntaxError_("positional argument cannot follow named argument")
        elif i < len(slots):
            slots[i] = a
    out: list[exp.Expr] = []
    for (p, default), v in zip(params, slots):
        if v is None:
            if default is None:
                raise UndefinedFunction(f"function {name}() is missing the argument \"{p}\"")
            v = exp.Literal.number(default)
        out.append(v)
    while len(out) > 1 and slots[len(out) - 1] is None and params[len(out) - 1][1] is not None:
        out.pop()  # trailing defaults: let the function's own defaults apply
    return out


# Aggregates whose result ignores NULL inputs (a window FILTER can blank the others out).
_NULL_SKIPPING_AGGS = frozenset({
    "count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every", "string_agg",
    "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop", "bit_and", "bit_or",
    "bit_xor",
})

AGG_NAMES = frozenset({
    "count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every", "string_agg",
    "array_agg", "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop",
    "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg", "bit_and", "bit_or", "percentile_cont", "percentile_disc",
    "mode", "corr", "covar_pop", "covar_samp", "regr_slope", "regr_intercept", "group_concat",
    "bit_xor", "regr_count", "regr_avgx", "regr_avgy", "regr_sxx", "regr_syy", "regr_sxy", "regr_r2",
})


WINDOW_ONLY = frozenset({
    "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag",
    "lead", "first_value", "last_value", "nth_value",
})


_FUNC_NAME_FIX = {"jsonbdeleteatpath": "#-", "jsonobjectagg": "json_object_agg", "jsonbobjectagg": "jsonb_object_agg", "stddev": "stddev", "variance": "variance", "group_concat": "string_agg",
                  "array_agg": "array_agg", "arrayagg": "array_agg", "groupconcat": "string_agg",
                  "ln": "ln", "pow": "power", "stringagg": "string_agg", "currenttimestamp": "now",
                  "length": "length", "substring": "substring", "strposition": "strpos",
                  "currentdate": "current_date", "rownumber": "row_number", "denserank": "dense_rank",
                  "percentrank": "percent_rank", "cumedist": "cume_dist", "firstvalue": "first_value",
                  "lastvalue": "last_value", "nthvalue": "nth_value", "currentuser": "current_user",
                  "jsonbagg": "jsonb_agg", "jsonagg": "json_agg", "jsonarrayagg": "json_agg", "explodinggenerateseries": "generate_series",
                  "generateseries": "generate_series", "unnest": "unnest", "explode": "unnest", "stddevsamp": "stddev_samp",
                  "stddevpop": "stddev_pop", "varsamp": "var_samp", "varpop": "var_pop",
                  "logicaland": "bool_and", "logicalor": "bool_or", "arraytostring": "array_to_string",
                  "currentschema": "current_schema", "currentversion": "version", "md5digest": "md5", "lower": "lower", "upper": "upper",
                  "trim": "btrim", "chr": "chr", "bitwiseandagg": "bit_and", "bitwiseoragg": "bit_or",
                  "bitwisexoragg": "bit_xor",
                  "currenttime": "current_time", "currentdatabase": "current_database",
                  "arraysize": "array_length", "arraylength": "array_length", "todate": "to_date",
                  "timestamptrunc": "date_trunc", "datetrunc": "date_trunc", "extract": "date_part",
                  "levenshtein": "levenshtein", "regexpreplace": "regexp_replace", "concat": "concat",
                  "concatws": "concat_ws", "splitpart": "split_part", "initcap": "initcap",
                  "startswith": "starts_with", "tochar": "to_char", "mod": "mod", "log": "log",
                  "sqrt": "sqrt", "round": "round", "ceil": "ceil", "floor": "floor", "sign": "sign",
                  "left": "left", "right": "right", "repeat": "repeat", "reverse": "reverse",
                  "variancepop": "var_pop", "approxdistinct": "count", "unicode": "ascii",
                  "lastday": "last_day", "toarray": "array", "rand": "random", "random": "random"}


class CallBinder:
    """Mixin of ExprBinder: function, aggregate and window calls."""

    def _b_Window(self, n: exp.Window, scope: Scope) -> E.Expr:
        return self.bind_window(n, scope)

    def _b_WithinGroup(self, n: exp.Expr, scope: Scope) -> E.Expr:
        """percentile_cont(f) WITHIN GROUP (ORDER BY x): aggregate over [f, x], rows ordered by x."""
        f = n.this
        name, args = self.func_name_args(f)
        order = n.expression
        keys = list(order.expressions) if isinstance(order, exp.Order) else []
        if len(keys) != 1:
            raise FeatureNotSupported("WITHIN GROUP needs exactly one ORDER BY expression")
        if name in _HYPOTHETICAL:
            if len(args) != 1:
                raise FeatureNotSupported(f"hypothetical-set {name}() of {len(args)} arguments is not supported")
            return self.bind_expr(_hypothetical(name, args[0], keys[0]), scope)
        agg_node = exp.Anonymous(this=name, expressions=[*args, exp.Order(this=keys[0].this, expressions=keys)])
        return self.bind_agg(name, agg_node, [*args, exp.Order(this=keys[0].this, expressions=keys)], scope)

    def _b_Filter(self, n: exp.Filter, scope: Scope) -> E.Expr:
        agg = self.bind_expr(n.this, scope)
        if not isinstance(agg, E.AggCall):
            raise SyntaxError_("FILTER specified, but not an aggregate function")
        cond = self.as_bool(self.bind_expr(n.expression.this, scope))
        return E.AggCall(agg.name, agg.args, agg.distinct, agg.type, agg.star, cond, agg.fn, agg.order)

    # -- functions ------------------------------------------------------------------
    def func_name_args(self, n: exp.Func) -> tuple[str, list[exp.Expr]]:
        if isinstance(n, exp.Anonymous):
            return n.name.lower(), list(n.expressions)
        name = type(n).__name__.lower()
        name = _FUNC_NAME_FIX.get(name, n.sql_name().lower() if hasattr(n, "sql_name") else name)
        args: list[exp.Expr] = []
        for key in n.arg_types:
            v = n.args.get(key)
            if v is None or isinstance(v, bool | str):
                continue
            if isinstance(v, list):
                args.extend(v)
            elif isinstance(v, exp.Expr):
                args.append(v)
        return name, args

    def _bind_func(self, n: exp.Func, scope: Scope) -> E.Expr:
        special = _pg_call(n)
        if special is not None:
            name, args = special
            if name in ("?", "?|", "?&", "timezone") or name.startswith("="):
                bound = [self.bind_expr(a, scope) for a in args]
                return self.call(name, bound)
        else:
            name, args = self.func_name_args(n)
        if any(isinstance(a, exp.Kwarg) for a in args):
            args = _named_args(name, args)
        if name == "grouping":
            bound = [self.bind_expr(a, scope) for a in args]
            self.saw_agg = True
            return E.AggCall("grouping", tuple(bound), False, T.INT4)
        if name in AGG_NAMES or (name == "count"):
            return self.bind_agg(name, n, args, scope)
        if name in WINDOW_ONLY:
            raise WindowingError(f"window function {name} requires an OVER clause")
        if name == "row" and isinstance(n, exp.Anonymous):  # ROW(a, b): an anonymous record
            return self._row_value(exp.Tuple(expressions=list(args)), scope)
        if args and isinstance(args[-1], exp.Variadic):
            return self._bind_variadic(name, args, scope)
        bound = [self.bind_expr(a, scope) for a in args]
        out = self.call(name, bound)
        if isinstance(out, E.Func) and getattr(out.fn, "set_returning", False):
            if not getattr(self, "srf_ok", False):
                raise FeatureNotSupported(f"set-returning function {name}() is not supported here")
            return E.SrfCall(name, out.args, out.type, out.fn)
        return out

    def _bind_variadic(self, name: str, args: list[exp.Expr], scope: Scope) -> E.Expr:
        """f(a, VARIADIC arr): arr's elements are the variadic arguments (an ARRAY[...]
        constructor's are spliced in; any other array is spread per row at run time)."""
        from sqlvec.sql.bound_callables import VariadicCall

        defs = [d for d in self.regs.functions._scalars.get(name, []) if getattr(d, "variadic", False)]
        fixed = [self.bind_expr(a, scope) for a in args[:-1]]
        inner = args[-1].this
        if not defs:
            bound = self.bind_expr(inner, scope)
            raise UndefinedFunction(
                f"function {name}({', '.join([*(f.type.display() for f in fixed), 'VARIADIC ' + bound.type.display()])})"
                " does not exist", hint="No function matches the given name and argument types. "
                "You might need to add explicit type casts.")
        if isinstance(inner, exp.Array) and inner.expressions:
            return self.call(name, [*fixed, *(self.bind_expr(x, scope) for x in inner.expressions)])
        arr = self.bind_expr(inner, scope)
        if arr.type.short == "unknown":
            arr = self.coerce(arr, T.array_of(T.TEXT))
        if not arr.type.is_array:
            raise DatatypeMismatch("VARIADIC argument must be an array")
        elem = arr.type.element
        probe = self.regs.functions.resolve(name, [*(f.type for f in fixed), elem])
        fn = VariadicCall(self.regs.functions, name, [f.type for f in fixed], elem, probe.return_type)
        return E.Func(name, (*fixed, arr), probe.return_type, fn)

    def bind_agg(self, name: str, n: exp.Expr, args: list[exp.Expr], scope: Scope) -> E.Expr:
        if getattr(self, "agg_forbidden", None):
            raise GroupingError(self.agg_forbidden)
        distinct = False
        star = False
        if len(args) == 1 and isinstance(args[0], exp.Distinct):
            distinct = True
            args = list(args[0].expressions)
        if len(args) == 1 and isinstance(args[0], exp.Star):
            star, args = True, []
        order_nodes: list[exp.Expr] = []
        for i, a in enumerate(args):
            if isinstance(a, exp.Order):
                order_nodes = list(a.expressions)
                args[i] = a.this
        args = [a for a in args if a is not None]
        if args and isinstance(args[0], exp.Distinct):
            distinct = True
            args = list(args[0].expressions) + args[1:]
        saved = getattr(self, "agg_forbidden", None)
        self.agg_forbidden = "aggregate function calls cannot be nested"
        try:
            bound = [self._row_value(a, scope) if isinstance(a, exp.Tuple) and len(a.expressions) > 1
                     else self.bind_expr(a, scope) for a in args]
            order = []
            for k in order_nodes:
                nf = k.args.get("nulls_first")
                desc = bool(k.args.get("desc"))
                order.append((self.bind_expr(k.this, scope), desc, None if bool(nf) == desc else bool(nf)))
        finally:
            self.agg_forbidden = saved
        bound = [E.Const(b.value, T.TEXT) if isinstance(b, E.Const) and b.type.short == "unknown" else b
                 for b in bound]
        agg = self.regs.functions.aggregate(name, [b.type for b in bound], distinct)
        want = list(getattr(agg, "arg_types", None) or [])
        if len(want) == len(bound):
            bound = [self.coerce(b, t) if t.category != "P" else b for b, t in zip(bound, want)]
        self.saw_agg = True
        return E.AggCall(name, tuple(bound), distinct, agg.return_type, star, None, agg, tuple(order))

    def _row_value(self, n: exp.Tuple, scope: Scope) -> E.Expr:
        """(a, b, ...) as an aggregate's argument: one record value (count(DISTINCT (a, b)))."""
        from sqlvec.sql.bound_callables import _RowBuild

        fields = [self.bind_expr(x, scope) for x in n.expressions]
        fields = [self.coerce(f, T.TEXT) if f.type.short == "unknown" else f for f in fields]
        rt = T.record_of(tuple((f"f{i + 1}", f.type) for i, f in enumerate(fields)))
        return E.Func("row", tuple(fields), rt, _RowBuild(rt))

    def bind_window(self, n: exp.Window, scope: Scope) -> E.Expr:
        f = n.this
        filt = None
        if isinstance(f, exp.Filter):
            filt = f.expression.this if isinstance(f.expression, exp.Where) else f.expression
            f = f.this
        name, args = self.func_name_args(f)
        star = len(args) == 1 and isinstance(args[0], exp.Star)
        if star:
            args = []
        distinct = len(args) == 1 and isinstance(args[0], exp.Distinct)
        if distinct:
            raise FeatureNotSupported("DISTINCT is not implemented for window functions")
        if getattr(self, "agg_forbidden", None) and "WHERE" in (self.agg_forbidden or ""):
            raise WindowingError("window functions are not allowed in WHERE")
        bound = [self.bind_expr(a, scope) for a in args]
        if filt is not None:
            # agg(x) FILTER (WHERE c) OVER w = agg(CASE WHEN c THEN x END) OVER w for the
            # aggregates that skip NULL inputs (count(*) counts CASE WHEN c THEN 1 END)
            if name not in _NULL_SKIPPING_AGGS:
                raise FeatureNotSupported("FILTER is not implemented for non-aggregate window functions"
                                          if name not in AGG_NAMES else
                                          f"FILTER in window function {name} is not supported")
            cond = self.as_bool(self.bind_expr(filt, scope))
            if star:
                bound, star = [E.Const(1, T.INT4)], False
            bound = [E.Case(((cond, bound[0]),), None, bound[0].type)] + bound[1:]
        spec_src: exp.Expr = n
        ref = n.args.get("alias")
        ref_name = ref.name if isinstance(ref, exp.Expr) else ref
        named = getattr(self, "named_windows", {}) or {}
        if ref_name:
            if ref_name not in named:
                raise UndefinedObject(f'window "{ref_name}" does not exist')
            base = named[ref_name]
        else:
            base = None
        part_nodes = n.args.get("partition_by") or (base.args.get("partition_by") if base is not None else []) or []
        o = n.args.get("order") or (base.args.get("order") if base is not None else None)
        spec_node = n.args.get("spec") or (base.args.get("spec") if base is not None else None)
        del spec_src
        part = tuple(self.bind_expr(p, scope) for p in part_nodes)
        order = []
        for k in (o.expressions if o is not None else []):
            nf = k.args.get("nulls_first")
            desc = bool(k.args.get("desc"))
            order.append((self.bind_expr(k.this, scope), desc, None if bool(nf) == desc else bool(nf)))
        if name in ("row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile"):
            rt = T.INT8 if name in ("row_number", "rank", "dense_rank") else (T.INT4 if name == "ntile" else T.FLOAT8)
            fn = None
        elif name in ("lag", "lead", "first_value", "last_value", "nth_value"):
            rt = bound[0].type if bound else T.TEXT
            if len(bound) > 2:
                bound[2] = self.coerce(bound[2], rt)
            fn = None
        else:
            fn = self.regs.functions.aggregate(name, [b.type for b in bound], False)
            rt = fn.return_type
        self.saw_window = True
        frame = _frame(spec_node, self, scope) if spec_node is not None else None
        if name in ("percent_rank", "cume_dist"):
            rt = T.FLOAT8
        return E.WindowCall(name, tuple(bound), part, tuple(order), frame, rt, False, star, fn)


_HYPOTHETICAL = ("rank", "dense_rank", "percent_rank", "cume_dist")


def _hypothetical(name: str, h: exp.Expr, key: exp.Ordered) -> exp.Expr:
    """rank(h) WITHIN GROUP (ORDER BY x [DESC] [NULLS ...]) as the aggregates PostgreSQL's
    hypothetical-set functions amount to: rows that sort before a row of value h (before =
    x < h, or > for DESC, with NULLs where NULLS FIRST/LAST puts them), and its peers."""
    x = key.this
    desc = bool(key.args.get("desc"))
    nulls_first = bool(key.args.get("nulls_first"))

    def null(e: exp.Expr) -> exp.Expr:
        return exp.Is(this=e.copy(), expression=exp.Null())

    cmp = (exp.GT if desc else exp.LT)(this=x.copy(), expression=h.copy())
    nulls = exp.and_(null(x), exp.not_(null(h))) if nulls_first else exp.and_(null(h), exp.not_(null(x)))
    before = exp.or_(exp.paren(cmp), exp.paren(nulls))
    peer_or_before = exp.or_(exp.paren(before), exp.NullSafeEQ(this=x.copy(), expression=h.copy()))

    def count(cond: exp.Expr | None, distinct: bool = False) -> exp.Expr:
        arg: exp.Expr = exp.Distinct(expressions=[x.copy()]) if distinct else exp.Star()
        c = exp.Count(this=arg)
        return exp.paren(exp.Filter(this=c, expression=exp.Where(this=cond))) if cond is not None else c

    one = exp.Literal.number(1)
    f8 = exp.DataType.build("double precision")
    if name == "rank":
        return exp.Add(this=count(before), expression=one)
    if name == "dense_rank":
        # count(DISTINCT) skips NULL: a NULL sorted before h is one more distinct value
        null_before = exp.Cast(this=exp.GT(this=count(exp.and_(exp.paren(before), null(x))),
                                           expression=exp.Literal.number(0)), to=exp.DataType.build("int"))
        return exp.Add(this=exp.Add(this=count(before, distinct=True), expression=null_before), expression=one)
    if name == "percent_rank":
        return exp.Case(ifs=[exp.If(this=exp.EQ(this=count(None), expression=exp.Literal.number(0)),
                                    true=exp.Cast(this=exp.Literal.number(0), to=f8))],
                        default=exp.Div(this=exp.Cast(this=count(before), to=f8), expression=count(None)))
    return exp.Div(this=exp.Cast(this=exp.paren(exp.Add(this=count(peer_or_before), expression=one)), to=f8),
                   expression=exp.paren(exp.Add(this=count(None), expression=one)))


def _pg_call(n: exp.Func) -> tuple[str, list[exp.Expr]] | None:
    """PostgreSQL name and argument order for nodes sqlglot builds from SQL syntax.

    Plain PostgreSQL calls whose sqlglot node would change the name or argument order
    (lpad, substr, to_char, array_prepend, date_part ...) are parsed as anonymous calls
    (dialect.PLAIN_FUNCTIONS); this table covers what only syntax produces.
    """
    a = n.args
    if isinstance(n, exp.Extract):  # EXTRACT(field FROM x): numeric, as PostgreSQL 14+
        unit = n.this.name if isinstance(n.this, exp.Var | exp.Literal | exp.Column) else n.this.sql()
        return "extract", [exp.Literal.string(unit.lower()), a["expression"]]
    if isinstance(n, exp.TimestampTrunc | exp.DateTrunc):
        unit = a.get("unit")
        return "date_trunc", [exp.Literal.string(unit.name.lower()), n.this] + ([a["zone"]] if a.get("zone") else [])
    if isinstance(n, exp.Trim):  # TRIM([LEADING|TRAILING|BOTH] [chars] FROM s)
        pos = str(a.get("position") or "").upper()
        name = {"LEADING": "ltrim", "TRAILING": "rtrim"}.get(pos, "btrim")
        return name, [n.this] + ([a["expression"]] if a.get("expression") is not None else [])
    if isinstance(n, exp.AtTimeZone):
        return "timezone", [a["zone"], n.this]
    if isinstance(n, exp.JSONBContainsTopKey):
        return "?", [n.this, a["expression"]]
    if isinstance(n, exp.JSONBContainsAnyTopKeys):
        return "?|", [n.this, a["expression"]]
    if isinstance(n, exp.JSONBContainsAllTopKeys):
        return "?&", [n.this, a["expression"]]
    if isinstance(n, exp.CurrentDate):
        return "current_date", []
    if isinstance(n, exp.CurrentTime):
        return "current_time", []
    if isinstance(n, exp.Localtimestamp):
        return "localtimestamp", []
    return None


def _frame(spec: exp.Expr, b: Any, scope: Scope) -> tuple:
    """(mode, start, end) with bounds ('unbounded'|'current'|'preceding'|'following', offset)."""
    mode = str(spec.args.get("kind") or "range").lower()

    def bound(v: Any, side: Any) -> tuple[str, Any]:
        side = str(side or "").lower()
        if v is None:
            return ("current", None)
        text = v if isinstance(v, str) else (v.name if isinstance(v, exp.Var) else None)
        if isinstance(text, str) and text.upper() == "UNBOUNDED":
            return ("unbounded", "preceding" if side == "preceding" else "following")
        if isinstance(text, str) and text.upper() == "CURRENT ROW":
            return ("current", None)
        off = b.bind_expr(v, scope) if isinstance(v, exp.Expr) else E.Const(int(v), T.INT8)
        if not isinstance(off, E.Const):
            raise FeatureNotSupported("frame offsets must be constants")
        if mode in ("rows", "groups") and isinstance(off.value, str):  # an unknown literal: bigint input
            from sqlvec.core.errors import InvalidTextRepresentation

            try:
                return (side, int(off.value.strip()))
            except ValueError:
                raise InvalidTextRepresentation(f'invalid input syntax for type bigint: "{off.value}"') from None
        return (side, off.value)

    start = bound(spec.args.get("start"), spec.args.get("start_side"))
    end = bound(spec.args.get("end"), spec.args.get("end_side")) if spec.args.get("end") is not None else ("current", None)
    exclude = spec.args.get("exclude")
    ex = (exclude.name if isinstance(exclude, exp.Expr) else str(exclude or "")).lower().replace("no others", "")
    return (mode, start, end, ex.strip())
