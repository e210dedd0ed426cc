"""Window functions: partition by dense group ids, order within partitions, then per-function math."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core.errors import FeatureNotSupported
from sqlvec.exec.evaluate import group_ids
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L


def run_window(ex: Any, p: L.Window) -> Iterator[pa.RecordBatch]:
    t = ex.table(p.input).combine_chunks()
    bs = t.to_batches()
    if not bs:
        yield ex._batch(p, [pa.array([], type=f.type.arrow) for f in p.fields])
        return
    batch = bs[0]
    cols = list(batch.columns)
    for call in p.calls:
        cols.append(_window(ex, call, batch))
    yield ex._batch(p, cols)


def _keys_gid(ex: Any, exprs: list[E.Expr], batch: pa.RecordBatch) -> np.ndarray:
    if not exprs:
        return np.zeros(batch.num_rows, dtype=np.int64)
    keys = pa.table([ex.ev.eval(e, batch) for e in exprs], names=[f"k{i}" for i in range(len(exprs))])
    gid, _ = group_ids(keys)
    return gid


def _window(ex: Any, c: E.WindowCall, batch: pa.RecordBatch) -> pa.Array:
    from sqlvec.exec.operators import sort_indices

    n = batch.num_rows
    part = _keys_gid(ex, list(c.partition), batch)
    # order rows by (partition, order keys), stable
    keys = tuple(L.SortKey(e, d, nf) for e, d, nf in c.order)
    order = np.asarray(sort_indices(ex.ev, pa.Table.from_batches([batch]), keys)) if keys else np.arange(n)
    order = order[np.argsort(part[order], kind="stable")]
    sp = part[order]
    starts_mask = np.ones(n, bool)
    starts_mask[1:] = sp[1:] != sp[:-1]
    seg_start = np.maximum.accumulate(np.where(starts_mask, np.arange(n), 0))
    pos = np.arange(n) - seg_start  # 0-based position within partition
    # peers: same partition and same order-key values
    if keys:
        okeys = _keys_gid(ex, [k.expr for k in keys], batch)[order]
        peer_start_mask = starts_mask.copy()
        peer_start_mask[1:] |= okeys[1:] != okeys[:-1]
    else:
        peer_start_mask = starts_mask.copy()
    peer_id = np.cumsum(peer_start_mask) - 1
    peer_first = np.maximum.accumulate(np.where(peer_start_mask, np.arange(n), 0))
    # last index of each peer group
    peer_last_by_id = np.zeros(peer_id.max() + 1 if n else 0, dtype=np.int64)
    peer_last_by_id[peer_id] = np.arange(n)
    peer_last = peer_last_by_id[peer_id]
    name = c.name
    out_sorted: np.ndarray | pa.Array
    if name == "row_number":
        out_sorted = pos + 1
    elif name == "rank":
        out_sorted = peer_first - seg_start + 1
    elif name == "dense_rank":
        dense = np.cumsum(peer_start_mask)
        out_sorted = dense - dense[seg_start] + 1
    elif name in ("lag", "lead"):
        vals = ex.ev.eval(c.args[0], batch).take(pa.array(order))
        off = 1
        if len(c.args) > 1:
            off = ex.ev.eval(c.args[1], batch)[0].as_py()
        default = ex.ev.eval(c.args[2], batch).take(pa.array(order)) if len(c.args) > 2 else None
        shift = -off if name == "lag" else off
        src = np.arange(n) + shift
        seg_end = _seg_end(starts_mask)
        ok = (src >= seg_start) & (src <= seg_end) if n else np.zeros(0, bool)
        take = pa.array(np.where(ok, src, 0), mask=~ok)
        res = vals.take(take)
        if default is not None:
            res = pc.if_else(pa.array(ok), res, default.cast(res.type))
        return _unsort(res, order)
    elif name in ("first_value", "last_value"):
        vals = ex.ev.eval(c.args[0], batch).take(pa.array(order))
        idx = seg_start if name == "first_value" else (peer_last if keys else _seg_end(starts_mask))
        return _unsort(vals.take(pa.array(idx)), order)
    elif name in ("count", "sum", "avg", "min", "max"):
        return _agg_window(ex, c, batch, order, sp, seg_start, peer_last, bool(keys))
    else:
        raise FeatureNotSupported(f"window function {name} is not supported")
    arr = pa.array(np.asarray(out_sorted, dtype=np.int64))
    return _unsort(arr, order)


def _seg_end(starts_mask: np.ndarray) -> np.ndarray:
    n = len(starts_mask)
    ends_mask = np.ones(n, bool)
    ends_mask[:-1] = starts_mask[1:]
    idx = np.where(ends_mask, np.arange(n), n)
    return np.minimum.accumulate(idx[::-1])[::-1]


def _unsort(sorted_vals: pa.Array, order: np.ndarray) -> pa.Array:
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    return sorted_vals.take(pa.array(inv))


def _agg_window(ex: Any, c: E.WindowCall, batch: pa.RecordBatch, order: np.ndarray, sp: np.ndarray,
                seg_start: np.ndarray, peer_last: np.ndarray, ordered: bool) -> pa.Array:
    n = batch.num_rows
    if c.star or not c.args:
        vals = np.ones(n, dtype=np.float64)
        valid = np.ones(n, bool)
        arrow_vals = None
    else:
        arrow_vals = ex.ev.eval(c.args[0], batch).take(pa.array(order))
        valid = np.asarray(pc.is_valid(arrow_vals).to_numpy(zero_copy_only=False), bool)
        vals = None
    rt = c.type.arrow
    if not ordered:
        # whole partition: aggregate per partition and broadcast
        from sqlvec.exec.aggregate import _aggregate

        sorted_batch = batch.take(pa.array(order))
        agg = E.AggCall(c.name, c.args, c.distinct, c.type, c.star, None, c.fn)
        per = _aggregate(ex, agg, sorted_batch, sp, int(sp.max()) + 1 if n else 0)
        return _unsort(per.take(pa.array(sp)), order)
    if c.name in ("count", "sum", "avg"):
        if vals is None:
            v = arrow_vals
            if pa.types.is_decimal(v.type):
                v = v.cast(pa.float64())
            vals = np.where(valid, np.asarray(pc.fill_null(v, 0).to_numpy(zero_copy_only=False), dtype=np.float64), 0.0)
        cs = np.cumsum(vals)
        cn = np.cumsum(valid.astype(np.int64))
        base_s = np.where(seg_start > 0, cs[seg_start - 1], 0.0)
        base_n = np.where(seg_start > 0, cn[seg_start - 1], 0)
        run_s = cs[peer_last] - base_s
        run_n = cn[peer_last] - base_n
        if c.name == "count":
            res = pa.array(run_n.astype(np.int64))
        elif c.name == "sum":
            res = pa.array(run_s, mask=run_n == 0)
        else:
            res = pa.array(np.divide(run_s, np.maximum(run_n, 1)), mask=run_n == 0)
        try:
            res = res.cast(rt)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            res = res.cast(rt, safe=False)
        return _unsort(res, order)
    # running min/max: per partition accumulate
    v = arrow_vals.to_pylist()
    out = [None] * n
    cur = None
    for i in range(n):
        if i == seg_start[i]:
            cur = None
        x = v[i]
        if x is not None:
            cur = x if cur is None else (min(cur, x) if c.name == "min" else max(cur, x))
        out[i] = cur
    res = [out[peer_last[i]] for i in range(n)]
    return _unsort(pa.array(res, type=arrow_vals.type).cast(rt), order)
