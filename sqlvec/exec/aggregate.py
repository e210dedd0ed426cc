"""Grouped and scalar aggregation: dense group ids + pyarrow hash aggregates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.exec.evaluate import group_ids
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L


def run_aggregate(ex: Any, p: L.Aggregate) -> Iterator[pa.RecordBatch]:
    t = ex.table(p.input).combine_chunks()
    bs = t.to_batches()
    batch = bs[0] if bs else pa.RecordBatch.from_arrays(
        [pa.array([], type=f.type) for f in t.schema], schema=t.schema)
    n = batch.num_rows
    gcols = [ex.ev.eval(g, batch) for g in p.groups]
    if p.grouping_sets is not None:
        yield from _grouping_sets(ex, p, batch, gcols)
        return
    if p.groups:
        keys = pa.table(gcols, names=[f"g{i}" for i in range(len(gcols))])
        gid, uniq = group_ids(keys)
        ngroups = uniq.num_rows
        out_cols = [uniq.column(i).combine_chunks() for i in range(len(gcols))]
    else:
        gid = np.zeros(n, dtype=np.int64)
        ngroups = 1
        out_cols = []
    for a in p.aggs:
        out_cols.append(_aggregate(ex, a, batch, gid, ngroups))
    yield ex._batch(p, out_cols)


def _aggregate(ex: Any, a: E.AggCall, batch: pa.RecordBatch, gid: np.ndarray, ngroups: int) -> pa.Array:
    rt = a.type.arrow
    if a.name == "grouping" and a.fn is None:
        return pa.array(np.zeros(ngroups, dtype=np.int32))
    if a.order and batch.num_rows > 1:
        from sqlvec.exec.operators import sort_indices

        keys = tuple(L.SortKey(e, d, nf) for e, d, nf in a.order)
        perm = sort_indices(ex.ev, pa.Table.from_batches([batch]), keys)
        batch = batch.take(perm)
        gid = gid[np.asarray(perm)]
    mask = None
    if a.filter is not None:
        mask = np.asarray(pc.fill_null(ex.ev.eval(a.filter, batch), False).to_numpy(zero_copy_only=False), bool)
    if a.star or (a.name == "count" and not a.args):
        g = gid if mask is None else gid[mask]
        return pa.array(np.bincount(g, minlength=ngroups).astype(np.int64))
    evaluate = getattr(a.fn, "evaluate", None)
    if evaluate is not None:
        args = [ex.ev.eval(x, batch) for x in a.args]
        return evaluate(args, gid, ngroups, distinct=a.distinct, filter_mask=mask)
    arg = ex.ev.eval(a.args[0], batch)
    g = gid
    if mask is not None:
        sel = pa.array(np.nonzero(mask)[0])
        arg, g = arg.take(sel), gid[mask]
    if a.distinct:
        pair = pa.table({"g": pa.array(g), "v": arg})
        dedup = pair.group_by(["g", "v"], use_threads=False).aggregate([])
        g = np.asarray(dedup.column("g").to_numpy())
        arg = dedup.column("v").combine_chunks()
    name = getattr(a.fn, "arrow_name", None) or a.name
    if name == "count":
        valid = np.asarray(pc.is_valid(arg).to_numpy(zero_copy_only=False), bool)
        return pa.array(np.bincount(g[valid], minlength=ngroups).astype(np.int64))
    if pa.types.is_integer(arg.type) and name in ("sum", "mean"):
        arg = arg.cast(pa.int64())
    if name == "mean" and pa.types.is_decimal(rt):
        arg = arg.cast(pa.float64())
    tbl = pa.table({"g": pa.array(g, pa.int64()), "v": arg})
    res = tbl.group_by("g", use_threads=False).aggregate([("v", name)])
    out = np.full(ngroups, -1, dtype=np.int64)
    gs = np.asarray(res.column("g").to_numpy())
    out[gs] = np.arange(len(gs))
    vals = res.column(f"v_{name}").combine_chunks()
    idx = pa.array(np.where(out < 0, 0, out), mask=out < 0)
    r = vals.take(idx) if len(vals) else pa.nulls(ngroups, vals.type)
    if r.type != rt:
        try:
            r = r.cast(rt)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            r = pc.round(r, 16).cast(rt, safe=False) if pa.types.is_decimal(rt) else r
    return r


def _grouping_sets(ex: Any, p: L.Aggregate, batch: pa.RecordBatch, gcols: list[pa.Array]) -> Iterator[pa.RecordBatch]:
    """One aggregation per grouping set; keys outside the set are NULL."""
    n = batch.num_rows
    for gset in p.grouping_sets or ():
        if gset:
            keys = pa.table([gcols[i] for i in gset], names=[f"g{i}" for i in gset])
            gid, uniq = group_ids(keys)
            ngroups = uniq.num_rows
        else:
            gid, uniq, ngroups = np.zeros(n, dtype=np.int64), None, 1
        cols: list[pa.Array] = []
        for i, g in enumerate(p.groups):
            if i in gset and uniq is not None:
                cols.append(uniq.column(f"g{i}").combine_chunks())
            else:
                cols.append(pa.nulls(ngroups, g.type.arrow))
        for a in p.aggs:
            if a.name == "grouping":
                bits = 0
                for arg in a.args:
                    bits = (bits << 1) | (0 if p.groups.index(arg) in gset else 1)
                cols.append(pa.array(np.full(ngroups, bits, dtype=np.int32)))
            else:
                cols.append(_aggregate(ex, a, batch, gid, ngroups))
        yield ex._batch(p, cols)
