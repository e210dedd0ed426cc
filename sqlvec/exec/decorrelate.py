"""Correlated subqueries evaluated once, as joins on the correlation keys.

A subquery whose only references to the outer row are equalities `inner_expr =
outer_expr` in the WHERE directly above its FROM (the common EXISTS / IN / scalar
aggregate shapes) is run once without those equalities, with the inner key values
exposed; each outer row then looks its keys up (dense key ids, numpy). Anything else
falls back to running the subquery per distinct outer key.

    EXISTS (SELECT 1 FROM o WHERE o.pid = p.id)         -> semi-join membership
    (SELECT count(*) FROM o WHERE o.pid = p.id)        -> group by o.pid, look up (0 if absent)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import CardinalityViolation
from sqlvec.exec.evaluate import group_ids
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L


@dataclass(frozen=True)
class Decorrelated:
    """How to answer a correlated subquery from one uncorrelated run."""

    kind: str  # exists | in | scalar | scalar_agg
    inner: L.Plan  # yields [value columns...] + key columns
    nvalues: int
    outer_keys: tuple[E.Expr, ...]  # over the outer row (OuterRef(1, i) turned into ColRef(i))
    empty: L.Plan | None = None  # scalar_agg: the value over no rows


def _conjuncts(e: E.Expr) -> list[E.Expr]:
    if isinstance(e, E.BoolOp) and e.op == "and":
        out: list[E.Expr] = []
        for a in e.args:
            out += _conjuncts(a)
        return out
    return [e]


def _has_outer(e: E.Expr) -> bool:
    return any(isinstance(x, E.OuterRef) for x in E.walk(e)) or any(
        isinstance(x, E.Subquery) and x.correlated for x in E.walk(e))


def _plan_has_outer(p: L.Plan) -> bool:
    from sqlvec.plan.walk import plan_exprs

    return any(isinstance(x, E.OuterRef) or (isinstance(x, E.Subquery) and x.correlated)
               for x in plan_exprs(p))


def _outer_side(e: E.Expr) -> E.Expr | None:
    """e over the outer row if it only reads level-1 outer columns, else None."""
    refs = [x for x in E.walk(e) if isinstance(x, E.OuterRef | E.ColRef | E.Subquery | E.AggCall)]
    if not refs or not all(isinstance(x, E.OuterRef) and x.level == 1 for x in refs):
        return None

    def down(x: E.Expr) -> E.Expr:
        if isinstance(x, E.OuterRef):
            return E.ColRef(x.index, x.type, x.name)
        return E.map_children(x, down)

    return down(e)


def analyse(e: E.Subquery) -> Decorrelated | None:
    """The decorrelated form of e, or None when its shape is not handled."""
    if e.kind not in ("exists", "in", "scalar"):  # ARRAY(subquery) keeps every row per key
        return None
    p = e.plan
    proj: L.Project | None = None
    if isinstance(p, L.Project):
        proj, p = p, p.input
    agg: L.Aggregate | None = None
    if isinstance(p, L.Aggregate) and not p.groups and p.grouping_sets is None and e.kind == "scalar":
        agg, p = p, p.input
    if not isinstance(p, L.Filter):
        return None
    source = p.input
    if _plan_has_outer(source):
        return None
    rest: list[E.Expr] = []
    inner_keys: list[E.Expr] = []
    outer_keys: list[E.Expr] = []
    for c in _conjuncts(p.predicate):
        if not _has_outer(c):
            rest.append(c)
            continue
        if not (isinstance(c, E.Func) and c.name == "=" and len(c.args) == 2):
            return None
        a, b = c.args
        oa, ob = _outer_side(a), _outer_side(b)
        if ob is not None and not _has_outer(a):
            inner_keys.append(a)
            outer_keys.append(ob)
        elif oa is not None and not _has_outer(b):
            inner_keys.append(b)
            outer_keys.append(oa)
        else:
            return None
    if not inner_keys:
        return None
    if proj is not None and any(_has_outer(x) for x in proj.exprs):
        return None
    if agg is not None and any(_has_outer(a) for a in agg.aggs):
        return None
    base: L.Plan = L.Filter(source, _and(rest)) if rest else source
    key_fields = tuple(L.Field(f"k{i}", k.type) for i, k in enumerate(inner_keys))
    if e.kind == "exists":
        inner = L.Project(base, tuple(inner_keys), key_fields)
        return Decorrelated("exists", inner, 0, tuple(outer_keys))
    if proj is None:
        return None
    if agg is not None:
        ng = len(inner_keys)
        grouped = L.Aggregate(base, tuple(inner_keys), agg.aggs,
                              key_fields + tuple(agg.fields))
        shifted = tuple(_shift_cols(x, ng) for x in proj.exprs)
        keys_out = tuple(E.ColRef(i, k.type) for i, k in enumerate(inner_keys))
        inner = L.Project(grouped, shifted + keys_out, tuple(proj.fields) + key_fields)
        empty = dataclasses.replace(proj, input=dataclasses.replace(
            agg, input=L.Filter(source, E.Const(False, T.BOOL))))
        return Decorrelated("scalar_agg", inner, len(proj.exprs), tuple(outer_keys), empty)
    if len(proj.exprs) != 1:
        return None
    inner = L.Project(base, tuple(proj.exprs) + tuple(inner_keys), tuple(proj.fields) + key_fields)
    return Decorrelated("in" if e.kind == "in" else "scalar", inner, 1, tuple(outer_keys))


def _and(parts: list[E.Expr]) -> E.Expr:
    return parts[0] if len(parts) == 1 else E.BoolOp("and", tuple(parts), T.BOOL)


def _shift_cols(e: E.Expr, k: int) -> E.Expr:
    if isinstance(e, E.ColRef):
        return E.ColRef(e.index + k, e.type, e.name)
    return E.map_children(e, lambda c: _shift_cols(c, k))


def _key_codes(outer: list[pa.Array], inner: list[pa.Array]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Dense codes of outer and inner key tuples in one space, and their not-NULL masks."""
    n = len(outer[0]) if outer else 0
    cols = []
    for o, i in zip(outer, inner):
        if i.type != o.type:
            try:
                i = i.cast(o.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                o, i = o.cast(pa.float64()), i.cast(pa.float64())
        cols.append(pa.concat_arrays([o, i]))
    both = pa.table(cols, names=[f"k{j}" for j in range(len(cols))])
    valid = np.ones(both.num_rows, bool)
    for c in cols:
        if c.null_count:
            valid &= np.asarray(pc.is_valid(c).to_numpy(zero_copy_only=False), bool)
    gid, _ = group_ids(both)
    return gid[:n], gid[n:], valid[:n], valid[n:]


def evaluate(ev: Any, e: E.Subquery, d: Decorrelated, batch: pa.RecordBatch) -> pa.Array:
    """The subquery's value for every row of batch, from one run of d.inner."""
    from sqlvec.exec.evaluate import full
    from sqlvec.exec.operators import to_table

    ctx = ev.ctx
    table = ctx.subq_cache.get(("dec", e.uid))
    if table is None:
        table = to_table(d.inner, ctx.executor.run(d.inner)).combine_chunks()
        ctx.subq_cache[("dec", e.uid)] = table
    n = batch.num_rows
    okeys = [ev.eval(k, batch) for k in d.outer_keys]
    ikeys = [table.column(d.nvalues + j).combine_chunks() for j in range(len(d.outer_keys))]
    og, ig, ov, iv = _key_codes(okeys, ikeys)
    ig_valid = ig[iv]
    if d.kind == "exists":
        hit = np.isin(og, ig_valid) & ov
        return pa.array(hit)
    if d.kind == "in":
        x = ev.eval(e.arg, batch)
        vals = table.column(0).combine_chunks()
        # per outer row: does its key group contain x? does it contain a NULL value?
        pair_o = pa.table({"g": pa.array(og), "v": x})
        pair_i = pa.table({"g": pa.array(ig), "v": vals.cast(x.type) if vals.type != x.type else vals}).filter(pa.array(iv))
        has_key = np.isin(og, ig_valid) & ov
        null_groups = pair_i.filter(pc.is_null(pair_i.column("v"))).column("g").to_numpy()
        codes, _ = group_ids(pa.concat_tables([pair_o, pair_i]))
        x_valid = np.asarray(pc.is_valid(x).to_numpy(zero_copy_only=False), bool)
        match = np.isin(codes[:n], codes[n:]) & has_key & x_valid
        set_has_null = np.isin(og, null_groups) & ov
        unknown = ~match & has_key & (set_has_null | ~x_valid)
        res = pa.array(~match if e.negate else match)
        return pc.if_else(pa.array(unknown), pa.nulls(n, pa.bool_()), res)
    # scalar: value per key (at most one row per key), looked up by code
    vals = table.column(0).combine_chunks()
    m = len(ig)
    owner = np.full(int(max(og.max(initial=-1), ig.max(initial=-1))) + 1, -1, dtype=np.int64)
    if d.kind == "scalar":
        counts = np.bincount(ig[iv], minlength=len(owner))
        used = np.isin(np.arange(len(owner)), og[ov])
        if (counts[used] > 1).any():
            raise CardinalityViolation("more than one row returned by a subquery used as an expression")
    owner[ig[iv]] = np.arange(m)[iv]
    pos = np.where(ov, owner[og], -1)
    found = pos >= 0
    out = vals.take(pa.array(np.where(found, pos, 0), mask=~found)) if m else pa.nulls(n, vals.type)
    if d.kind == "scalar_agg" and (~found).any():
        empty_t = to_table(d.empty, ctx.executor.run(d.empty))
        ev_empty = empty_t.column(0)[0].as_py() if empty_t.num_rows else None
        if ev_empty is not None:
            out = pc.if_else(pa.array(found), out, full(ev_empty, out.type, n))
    return out
