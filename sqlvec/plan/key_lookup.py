"""Point lookups: `key = const | $n` (or `key IN (consts)`) over a scan -> KeyLookup.

`scan_to_key_lookup` rewrites a Scan (or Filter <- Scan) whose predicate has a conjunct

    col = <constant or parameter>      col IN (<constants or parameters>)

on a column that is a single-column PRIMARY KEY or UNIQUE key (unique indexes included)
into a `KeyLookup` leaf: at run time storage's `txn.lookup` finds the row ids (sorted
index per segment, the transaction's own writes included), `txn.fetch` reads just those
rows, and the whole original predicate is applied to them, so the answer is the same
rows the scan gives. Keys that cannot be converted to the column's type exactly make the
operator fall back to the plain scan (exec/key_lookup.py). Each bail-out below is an
early return with its reason.

    >>> # Scan(t, filter=id = $1)  ->  KeyLookup(t, column=id, keys=($1,), filter=id = $1)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlvec.plan import expr as E
from sqlvec.plan import logical as L

# Integer column types, and the casts of them that keep key equality (int4 -> int8 / numeric).
_INT_TYPES = ("int2", "int4", "int8", "smallint", "integer", "bigint")
_EXACT_TARGETS = (*_INT_TYPES, "numeric", "decimal")


@dataclass(frozen=True)
class KeyLookup(L.Plan):
    """The visible rows of `table` whose `column` equals one of `keys`, then `filter`.

    Holds the scan's parts (not a Scan child) so the optimizer never rewrites it again.
    """

    table: object  # TableDef
    fields: tuple[L.Field, ...]
    filter: E.Expr  # the full original predicate, re-checked on the fetched rows
    column: int  # index into fields
    keys: tuple[E.Expr, ...]  # constants / parameters, no column refs
    key_name: str  # constraint or index name, for EXPLAIN
    residual: E.Expr | None = None  # the predicate's other conjuncts (EXPLAIN's Filter line)

    def as_scan(self) -> L.Scan:
        """The equivalent sequential scan (the fallback when keys do not convert)."""
        return L.Scan(self.table, self.fields, self.filter)

    def explain_label(self) -> str:
        return f"Index Scan using {self.key_name} on {getattr(self.table, 'name', '?')}"

    def explain_details(self) -> list[str]:
        col = self.fields[self.column].name
        keys = ", ".join(map(str, self.keys))
        cond = f"({col} = {keys})" if len(self.keys) == 1 else f"({col} = ANY ({keys}))"
        return [f"Index Cond: {cond}"] + ([f"Filter: {self.residual}"] if self.residual is not None else [])


def _conjuncts(e: E.Expr) -> list[E.Expr]:
    if isinstance(e, E.BoolOp) and e.op == "and":
        out: list[E.Expr] = []
        for a in e.args:
            out += _conjuncts(a)
        return out
    return [e]


def _key_columns(table: object) -> dict[str, str]:
    """Single-column unique keys of a table: column name -> constraint name."""
    out: dict[str, str] = {}
    pk = tuple(getattr(table, "primary_key", ()) or ())
    if len(pk) == 1:
        out[pk[0]] = getattr(table, "pk_name", None) or f"{getattr(table, 'name', '')}_pkey"
    for name, cols in getattr(table, "uniques", ()) or ():
        if len(cols) == 1 and cols[0] not in out:
            out[cols[0]] = name
    return out


# Column types whose SQL equality is exactly storage's value equality (no bpchar padding,
# no float -0.0/NaN rules, no case folding): only these are looked up by key.
_KEY_TYPES = (*_INT_TYPES, "text", "varchar", "name", "uuid", "date", "timestamp", "timestamptz",
              "numeric")


def _column_of(e: E.Expr) -> int | None:
    """The scan column an equality side reads: a ColRef, or a widening cast of an int one."""
    if isinstance(e, E.ColRef):
        return e.index
    if isinstance(e, E.Cast) and isinstance(e.arg, E.ColRef) and e.arg.type.short in _INT_TYPES \
            and e.type.short in _EXACT_TARGETS:
        return e.arg.index
    return None


def _is_key_value(e: E.Expr) -> bool:
    """A constant or parameter, possibly cast (drivers send $1 as int2/int8/numeric)."""
    while isinstance(e, E.Cast):
        e = e.arg
    return isinstance(e, E.Const | E.Param)


def _match(c: E.Expr, keyed: dict[int, str]) -> tuple[int, tuple[E.Expr, ...]] | None:
    """(column, key expressions) if `c` is `col = v`, `v = col` or `col IN (v, ...)`."""
    if isinstance(c, E.Func) and c.name == "=" and len(c.args) == 2:
        a, b = c.args
        for col_side, val_side in ((a, b), (b, a)):
            i = _column_of(col_side)
            if i is not None and i in keyed and _is_key_value(val_side):
                return i, (val_side,)
        return None
    if isinstance(c, E.InList) and not c.negate and c.values and all(map(_is_key_value, c.values)):
        i = _column_of(c.arg)
        if i is not None and i in keyed:
            return i, tuple(c.values)
    return None


def scan_to_key_lookup(plan: L.Plan) -> L.Plan | None:
    """Scan / Filter(Scan) with `unique_col = const|param` -> KeyLookup (same rows)."""
    if isinstance(plan, L.Filter) and isinstance(plan.input, L.Scan):
        scan, extra = plan.input, plan.predicate
        if any(isinstance(x, E.Subquery | E.OuterRef | E.AggCall) for x in E.walk(extra)):
            return None  # correlated or aggregate predicates stay above the scan
    elif isinstance(plan, L.Scan):
        scan, extra = plan, None
    else:
        return None
    if scan.with_rowid or getattr(scan.table, "system", False):
        return None  # DML sources and pg_catalog relations keep their own paths
    if getattr(scan.table, "kind", "table") != "table":
        return None
    pred = scan.filter if extra is None else (extra if scan.filter is None else
                                               E.BoolOp("and", (scan.filter, extra), extra.type))
    if pred is None:
        return None
    names = _key_columns(scan.table)
    if not names:
        return None
    keyed = {i: names[f.name] for i, f in enumerate(scan.fields)
             if f.name in names and f.type.short in _KEY_TYPES}
    parts = _conjuncts(pred)
    for j, c in enumerate(parts):
        m = _match(c, keyed)
        if m is not None:
            col, keys = m
            rest = parts[:j] + parts[j + 1:]
            residual = None if not rest else rest[0] if len(rest) == 1 else E.BoolOp("and", tuple(rest), pred.type)
            return KeyLookup(scan.table, scan.fields, pred, col, keys, keyed[col], residual)
    return None
