"""Names and sort keys of a SELECT's output: column names as PostgreSQL derives them
(?column?, function names, type names), output fields, ORDER BY NULLS placement."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from sqlvec.catalog.objects import TableDef
from sqlvec.core import types as T
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L


def _sort_expr(e: E.Expr) -> E.Expr:
    """What ORDER BY sorts for e: jsonb by its PostgreSQL order key, other types as they are."""
    if e.type.short != "jsonb":
        return e
    from sqlvec.functions.jsonb_order import JsonbSortKey

    return E.Func("jsonb_order_key", (e,), T.BYTEA, JsonbSortKey())


def _is_alias_ref(name: str, sel: exp.Select) -> bool:
    return True


def _nulls_first(o: exp.Ordered) -> bool | None:
    nf = o.args.get("nulls_first")
    desc = bool(o.args.get("desc"))
    # sqlglot fills nulls_first with the dialect default; normalise to PostgreSQL's
    if nf is None:
        return None
    return bool(nf) if bool(nf) != desc else None


# Operators sqlglot models as functions: PostgreSQL names their result column ?column?.
_OPERATOR_FUNCS = (exp.And, exp.Or, exp.Xor, exp.JSONBContains, exp.JSONBContainsTopKey,
                   exp.JSONBContainsAnyTopKeys, exp.JSONBContainsAllTopKeys, exp.BitwiseNot,
                   *((exp.JSONBDeleteAtPath,) if hasattr(exp, "JSONBDeleteAtPath") else ()))


def _is_type_name(proj: exp.Expr) -> bool:
    """Whether proj's output name comes from a cast's type name (PostgreSQL's strength 1:
    an outer cast then names the column by its own type, `'1'::date::timestamp` -> timestamp)."""
    while isinstance(proj, exp.Paren):
        proj = proj.this
    if isinstance(proj, exp.Interval):
        return True
    return isinstance(proj, exp.Cast) and (_is_type_name(proj.this) or _output_name(proj.this) == "?column?")


def _output_name(proj: exp.Expr) -> str:
    from sqlvec.sql.bind_expr import BINARY_OPS

    if isinstance(proj, exp.Alias):
        return proj.alias
    if type(proj) in BINARY_OPS or isinstance(proj, _OPERATOR_FUNCS):
        return "?column?"
    if isinstance(proj, exp.Column):
        return proj.name
    if isinstance(proj, exp.Cast):
        if _is_type_name(proj.this):
            return _type_colname(proj.args["to"])
        name = _output_name(proj.this)
        return name if name != "?column?" else _type_colname(proj.args["to"])
    if isinstance(proj, exp.Interval):  # interval '1 day': a typed literal
        return "interval"
    if isinstance(proj, exp.Tuple) and len(proj.expressions) > 1:  # (a, b): a row constructor
        return "row"
    if isinstance(proj, exp.Dot) and isinstance(proj.expression, exp.Func):  # pg_catalog.f(...)
        return _output_name(proj.expression)
    if isinstance(proj, exp.Paren | exp.Bracket):
        return _output_name(proj.this)
    if isinstance(proj, exp.Case):
        return "case"
    if isinstance(proj, exp.Exists):
        return "exists"
    if isinstance(proj, exp.Subquery):
        inner = proj.this
        if isinstance(inner, exp.Select) and len(inner.expressions) == 1:
            return _output_name(inner.expressions[0])
    if isinstance(proj, exp.Coalesce):
        return "coalesce"
    if isinstance(proj, exp.Nullif):
        return "nullif"
    if isinstance(proj, exp.Greatest):
        return "greatest"
    if isinstance(proj, exp.Least):
        return "least"
    if isinstance(proj, exp.Window):
        return _output_name(proj.this)
    if isinstance(proj, exp.Filter):
        return _output_name(proj.this)
    if isinstance(proj, exp.Array):
        return "array"
    if isinstance(proj, exp.WithinGroup):
        return _output_name(proj.this)
    if isinstance(proj, exp.Extract):
        return "extract"
    if isinstance(proj, exp.CurrentTimestamp):  # now() parses as a plain call
        return "current_timestamp"
    if isinstance(proj, exp.StrPosition):  # POSITION(a IN b); strpos() parses as a plain call
        return "position"
    if isinstance(proj, exp.AtTimeZone):
        return "timezone"
    if isinstance(proj, exp.IntDiv):
        return "div"
    if isinstance(proj, exp.Func):
        from sqlvec.sql.bind_expr import _pg_call

        if isinstance(proj, exp.Anonymous):
            return proj.name.lower()
        special = _pg_call(proj)
        if special is not None and special[0][:1].isalpha():
            return special[0] if not isinstance(proj, exp.Trim) else "btrim" if special[0] == "btrim" else special[0]
        from sqlvec.sql.bind_expr import _FUNC_NAME_FIX

        if isinstance(proj, exp.Explode):
            return "unnest"
        n = type(proj).__name__.lower()
        return _FUNC_NAME_FIX.get(n, proj.sql_name().lower())
    return "?column?"


def _type_colname(dt: exp.DataType) -> str:
    s = dt.sql(dialect="postgres").lower().split("(")[0].split("[")[0].strip()
    return {"char": "bpchar", "character": "bpchar", "int": "int4", "integer": "int4", "bigint": "int8", "smallint": "int2", "text": "text",
            "double precision": "float8", "real": "float4", "boolean": "bool", "varchar": "varchar",
            "character varying": "varchar", "decimal": "numeric", "numeric": "numeric",
            "timestamp": "timestamp", "timestamptz": "timestamptz", "date": "date"}.get(s, s)


def _field_for(name: str, e: E.Expr, plan: L.Plan) -> L.Field:
    if isinstance(e, E.ColRef) and e.index < len(plan.fields):
        f = plan.fields[e.index]
        return L.Field(name, e.type, f.table_oid, f.attnum)
    t = e.type if e.type.short != "unknown" else T.TEXT
    return L.Field(name, t)


def relation_fields(rel: TableDef, types: Any) -> tuple[L.Field, ...]:
    return tuple(L.Field(c.name, c.sql_type(types), rel.oid, i + 1) for i, c in enumerate(rel.columns))
