"""Grouped and scalar aggregation: dense group ids + pyarrow hash aggregates.

When every aggregate of a node is decomposable (count, sum, avg, min, max, ...; no
DISTINCT, no ORDER BY inside, no grouping sets) the input streams: each batch is reduced
to per-group states (partial aggregation), states are merged as they pile up, and the
result is finished once, so memory holds one batch plus one state row per group instead
of the whole input. Groups come out in order of first appearance either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.exec.evaluate import group_ids
from sqlvec.exec.stream import prefetch
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L

FOLD_ROWS = 1 << 18  # state rows piled up before they are merged
WIDE_GROUPS = 16384  # a first batch with more groups than this and than half its rows: blocking


def run_aggregate(ex: Any, p: L.Aggregate) -> Iterator[pa.RecordBatch]:
    if p.grouping_sets is None and all(_splits(a) for a in p.aggs):
        yield from _streamed(ex, p)
        return
    yield from _blocking(ex, p, ex.table(p.input))


def _splits(a: E.AggCall) -> bool:
    """Whether an aggregate can be computed in partial states batch by batch."""
    if a.order or a.distinct or a.name == "grouping":
        return False
    if a.star or (a.name == "count" and not a.args):
        return True
    return getattr(a.fn, "parts", None) is not None


class _Partials:
    """Per-group states of a streamed aggregation: the merged part and the piled-up batches."""

    def __init__(self, ex: Any, p: L.Aggregate) -> None:
        self.ex, self.p = ex, p
        self.keys: list[pa.Table] = []
        self.states: list[list[list[pa.Array]]] = [[] for _ in p.aggs]
        self.rows = 0
        self.merged = 0
        self.batches = 0  # partial states piled up (scalar aggregates: one row each)

    def add(self, batch: pa.RecordBatch, gid: np.ndarray, uniq: pa.Table | None, ngroups: int) -> None:
        ev = self.ex.ev
        for j, a in enumerate(self.p.aggs):
            mask = None
            if a.filter is not None:
                mask = np.asarray(pc.fill_null(ev.eval(a.filter, batch), False).to_numpy(zero_copy_only=False), bool)
            if a.star or (a.name == "count" and not a.args):
                g = gid if mask is None else gid[mask]
                st = [pa.array(np.bincount(g, minlength=ngroups).astype(np.int64))]
            else:
                st = a.fn.partial([ev.eval(x, batch) for x in a.args], gid, ngroups, filter_mask=mask)
            self.states[j].append(st)
        if uniq is not None:
            self.keys.append(uniq)
        self.batches += 1
        self.rows += ngroups
        if self.rows > max(FOLD_ROWS, 2 * self.merged):
            self.fold()

    def fold(self) -> tuple[pa.Table | None, int]:
        """Merge every piled-up state into one row per group (first-appearance order)."""
        if self.p.groups:
            keys = pa.concat_tables(self.keys) if len(self.keys) > 1 else self.keys[0]
            gid, uniq = group_ids(keys)
            ngroups = uniq.num_rows
            self.keys = [uniq]
        else:
            gid, uniq, ngroups = np.zeros(self.batches, np.int64), None, 1
        for j, a in enumerate(self.p.aggs):
            parts = self.states[j]
            if len(parts) == 1 and len(gid) == ngroups:
                continue
            cols = [pa.concat_arrays([st[i] for st in parts]) for i in range(len(parts[0]))]
            if a.star or (a.name == "count" and not a.args):
                c = np.asarray(cols[0].to_numpy(zero_copy_only=False), np.float64)
                self.states[j] = [[pa.array(np.bincount(gid, weights=c, minlength=ngroups).astype(np.int64))]]
            else:
                self.states[j] = [a.fn.combine(cols, gid, ngroups)]
        self.rows = self.merged = ngroups
        self.batches = 1
        return uniq, ngroups

    def result(self) -> pa.RecordBatch:
        uniq, ngroups = self.fold()
        cols = [uniq.column(i).combine_chunks() for i in range(uniq.num_columns)] if uniq is not None else []
        for j, a in enumerate(self.p.aggs):
            st = self.states[j][0]
            if a.star or (a.name == "count" and not a.args):
                cols.append(st[0])
            else:
                cols.append(a.fn.final(st))
        return self.ex._batch(self.p, cols)


def _streamed(ex: Any, p: L.Aggregate) -> Iterator[pa.RecordBatch]:
    """Partial aggregation per input batch, states merged as they pile up, finished once."""
    it = prefetch(ex.ctx, p.input, ex.run(p.input))  # scan/filter one batch ahead on a worker
    try:
        yield from _stream_into(ex, p, it)
    finally:
        it.close()


def _stream_into(ex: Any, p: L.Aggregate, it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    acc = _Partials(ex, p)
    key_types: list[pa.DataType] | None = None
    seen = []  # batches read so far, kept only until the first one decides the strategy
    for b in it:
        ex.ctx.check_cancel()
        if not b.num_rows:
            continue
        if p.groups:
            gcols = [_plain(ex.ev.eval(g, b), b.num_rows) for g in p.groups]
            if key_types is None:
                key_types = [c.type for c in gcols]
            gcols = [c if c.type == t else c.cast(t) for c, t in zip(gcols, key_types)]
            gid, uniq = key_ids(gcols)
            ngroups = uniq.num_rows
            if acc.merged == 0 and not acc.keys and ngroups > max(WIDE_GROUPS, b.num_rows // 2):
                # nearly one group per row: partial states would cost as much as the input
                seen.append(b)
                yield from _blocking(ex, p, _rest_table(ex, p, seen, it))
                return
        else:
            gid, uniq, ngroups = np.zeros(b.num_rows, np.int64), None, 1
        acc.add(b, gid, uniq, ngroups)
    if not acc.batches:  # no input rows: no groups, or the one row of a scalar aggregate
        yield from _blocking(ex, p, _rest_table(ex, p, [], iter(())))
        return
    yield acc.result()


def key_ids(cols: list[pa.Array]) -> tuple[np.ndarray, pa.Table]:
    """evaluate.group_ids for key arrays; one flat key is a single hash pass (its dictionary
    encoding is already dense and in first-appearance order, NULL a value of its own)."""
    names = [f"g{i}" for i in range(len(cols))]
    if len(cols) == 1 and len(cols[0]) and not pa.types.is_nested(cols[0].type) \
            and not pa.types.is_dictionary(cols[0].type) and not isinstance(cols[0].type, pa.ExtensionType):
        enc = pc.dictionary_encode(cols[0], null_encoding="encode")
        gid = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        return gid, pa.table([enc.dictionary], names=names)
    return group_ids(pa.table(cols, names=names))


def _plain(a: Any, n: int) -> pa.Array:
    """An evaluated key as a plain array (constants repeated, dictionaries decoded)."""
    if isinstance(a, pa.Scalar):
        a = pa.repeat(a, n) if a.is_valid else pa.nulls(n, a.type)
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    if pa.types.is_dictionary(a.type):
        a = a.cast(a.type.value_type)
    return a


def _rest_table(ex: Any, p: L.Aggregate, seen: list[pa.RecordBatch], it: Iterator[pa.RecordBatch]) -> pa.Table:
    from sqlvec.exec.operators import to_table

    def all_batches() -> Iterator[pa.RecordBatch]:
        yield from seen
        yield from it

    return to_table(p.input, all_batches())


def _blocking(ex: Any, p: L.Aggregate, t: pa.Table) -> Iterator[pa.RecordBatch]:
    """Aggregation over the whole input at once (grouping sets, DISTINCT, ordered aggregates)."""
    t = t.combine_chunks()
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
