"""Window functions: partition by dense group ids, order within partitions, frames as
per-row [lo, hi] index ranges over the sorted rows, then per-function math."""

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


def _part_ids(ex: Any, exprs: list[E.Expr], batch: pa.RecordBatch) -> np.ndarray:
    """Partition id per row (dense; NULLs are one partition)."""
    from sqlvec.exec.aggregate import _plain, key_ids

    if not exprs:
        return np.zeros(batch.num_rows, dtype=np.int64)
    return key_ids([_plain(ex.ev.eval(e, batch), batch.num_rows) for e in exprs])[0]


def _window_order(ex: Any, part: np.ndarray, keys: tuple[L.SortKey, ...], batch: pa.RecordBatch) -> np.ndarray:
    """Row order by partition, then ORDER BY keys (PostgreSQL NULL placement), stable: one
    Arrow multi-key sort; key types Arrow cannot sort take the per-key path."""
    n = batch.num_rows
    if not keys:
        return np.argsort(part, kind="stable")
    from sqlvec.exec.operators import nan_flag_needed, sort_key

    cols, sort_keys = [pa.array(part)], [("p", "ascending", "at_end")]
    for i, k in enumerate(keys):
        col = ex.ev.eval(k.expr, batch)
        if isinstance(col, pa.Scalar):  # a constant orders nothing
            continue
        col = sort_key(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col,
                       k.expr.type)
        direction = "descending" if k.desc else "ascending"
        place = "at_start" if k.effective_nulls_first() else "at_end"
        if nan_flag_needed(col, k.desc, k.effective_nulls_first()):
            cols.append(pc.is_nan(col).cast(pa.int8()))
            sort_keys.append((f"n{i}", direction, place))
        cols.append(col)
        sort_keys.append((f"k{i}", direction, place))
    try:
        t = pa.table(cols, names=[name for name, _, _ in sort_keys])
        return np.asarray(pc.sort_indices(t, sort_keys=sort_keys).to_numpy(), dtype=np.int64)
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError, pa.ArrowInvalid):
        from sqlvec.exec.operators import sort_indices

        order = np.asarray(sort_indices(ex.ev, pa.Table.from_batches([batch]), keys)) if n else np.arange(n)
        return order[np.argsort(part[order], kind="stable")]


def _changes(ex: Any, expr: E.Expr, batch: pa.RecordBatch, order: np.ndarray) -> np.ndarray:
    """Per sorted row: whether its key differs from the previous row's (NULLs and NaNs are
    peers of their own kind, as in PostgreSQL's ordering)."""
    n = len(order)
    out = np.ones(n, bool)
    if n < 2:
        return out
    col = ex.ev.eval(expr, batch)
    if isinstance(col, pa.Scalar):
        out[1:] = False
        return out
    col = (col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col).take(pa.array(order))
    cur, prev = col.slice(1), col.slice(0, n - 1)
    try:
        ne = pc.not_equal(cur, prev)
        if pa.types.is_floating(col.type):  # NaN = NaN in ordering
            ne = pc.and_(ne, pc.invert(pc.and_(pc.is_nan(cur), pc.is_nan(prev))))
        if col.null_count:
            nc, np_ = pc.is_null(cur), pc.is_null(prev)
            ne = pc.if_else(pc.or_(nc, np_), pc.not_equal(nc, np_), ne)
        out[1:] = np.asarray(pc.fill_null(ne, True).to_numpy(zero_copy_only=False), dtype=bool)
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError, pa.ArrowInvalid):
        gid = _keys_gid(ex, [expr], batch)[order]  # types without a comparison kernel: by hash codes
        out[1:] = gid[1:] != gid[:-1]
    return out


class _Layout:
    """Sorted-row geometry of one window (PARTITION BY + ORDER BY): partitions, peers, frames.

    Rows are ordered by one stable multi-key sort (partition id, then the ORDER BY keys with
    their own directions and NULL placement); peer groups, needed only by rank-like
    functions and frames, are found lazily by comparing neighbouring sorted keys.
    """

    def __init__(self, ex: Any, c: E.WindowCall, batch: pa.RecordBatch) -> None:
        n = batch.num_rows
        self.n = n
        self.ex, self.batch = ex, batch
        part = _part_ids(ex, list(c.partition), batch)
        keys = tuple(L.SortKey(e, d, nf) for e, d, nf in c.order)
        self.keys = keys
        self.part = part
        self.order = order = _window_order(ex, part, keys, batch)
        sp = part[order]
        self.sp = sp
        starts = np.ones(n, bool)
        starts[1:] = sp[1:] != sp[:-1]
        self.starts = starts
        idx = np.arange(n)
        self.seg_start = np.maximum.accumulate(np.where(starts, idx, 0))
        ends = np.ones(n, bool)
        ends[:-1] = starts[1:]
        self.seg_end = np.minimum.accumulate(np.where(ends, idx, n)[::-1])[::-1]
        self._peers: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _peer_geometry(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._peers is None:
            n, idx = self.n, np.arange(self.n)
            peer_start = self.starts.copy()
            for k in self.keys:
                peer_start |= _changes(self.ex, k.expr, self.batch, self.order)
            peer_first = np.maximum.accumulate(np.where(peer_start, idx, 0))
            peer_end = np.ones(n, bool)
            peer_end[:-1] = peer_start[1:]
            peer_last = np.minimum.accumulate(np.where(peer_end, idx, n)[::-1])[::-1]
            self._peers = (peer_start, peer_first, peer_last)
        return self._peers

    @property
    def peer_start(self) -> np.ndarray:
        return self._peer_geometry()[0]

    @property
    def peer_first(self) -> np.ndarray:
        return self._peer_geometry()[1]

    @property
    def peer_last(self) -> np.ndarray:
        return self._peer_geometry()[2]

    def frame(self, ex: Any, c: E.WindowCall, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
        """Per-row [lo, hi] frame of a call (its frame clause over this layout)."""
        i = np.arange(self.n)
        if c.frame is None:
            if self.keys:
                return self.seg_start.copy(), self.peer_last.copy()
            return self.seg_start.copy(), self.seg_end.copy()
        mode, start, end = c.frame[:3]
        return self._bound(ex, c, batch, mode, start, i, True), self._bound(ex, c, batch, mode, end, i, False)

    def _bound(self, ex: Any, c: E.WindowCall, batch: pa.RecordBatch, mode: str, b: tuple,
               i: np.ndarray, is_start: bool) -> np.ndarray:
        kind, off = b
        if kind == "unbounded":
            return self.seg_start.copy() if off == "preceding" else self.seg_end.copy()
        if kind == "current":
            if mode == "rows":
                return i.copy()
            return self.peer_first.copy() if is_start else self.peer_last.copy()
        k = int(off) if mode == "rows" else off
        if mode == "rows":
            pos = i - k if kind == "preceding" else i + k
            return pos
        if mode == "groups":  # offsets count peer groups
            pid = np.cumsum(self.peer_start) - 1
            first_of = np.flatnonzero(self.peer_start)
            last_of = np.concatenate([first_of[1:] - 1, [self.n - 1]])
            target = np.clip(pid - k if kind == "preceding" else pid + k, 0, len(first_of) - 1)
            return first_of[target] if is_start else last_of[target]
        # RANGE with an offset: compare the single ORDER BY key's values within the partition
        if len(self.keys) != 1:
            from sqlvec.core.errors import WindowingError

            raise WindowingError("RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column")
        key = self.keys[0]
        vals = ex.ev.eval(key.expr, batch).take(pa.array(self.order))
        v, k = _range_numbers(vals, k)
        sign = -1.0 if key.desc else 1.0
        sv = v * sign
        delta = float(k) * (-1.0 if kind == "preceding" else 1.0)
        out = np.empty(self.n, dtype=np.int64)
        for s in np.nonzero(self.starts)[0]:
            e = self.seg_end[s] + 1
            seg = sv[s:e]
            # NULL keys sort together at one end of the partition: search the others only
            # (a NaN among them breaks searchsorted; NULLs are never in a value's range)
            valued = np.flatnonzero(~np.isnan(seg))
            a, z = (int(valued[0]), int(valued[-1]) + 1) if len(valued) else (0, 0)
            target = seg + delta
            if is_start:
                out[s:e] = s + a + np.searchsorted(seg[a:z], target, side="left")
            else:
                out[s:e] = s + a + np.searchsorted(seg[a:z], target, side="right") - 1
        nulls = np.isnan(v)
        if nulls.any():  # NULL keys frame their peers only
            out[nulls] = self.peer_first[nulls] if is_start else self.peer_last[nulls]
        return out


def _range_numbers(vals: pa.Array, off: Any) -> tuple[np.ndarray, float]:
    """RANGE keys and offset on one number line: dates/timestamps as microseconds with an
    interval offset (days and time; months vary in length), numbers as float64. NULL is NaN."""
    if pa.types.is_date(vals.type) or pa.types.is_timestamp(vals.type):
        if not isinstance(off, pa.MonthDayNano | tuple) or off[0]:
            raise FeatureNotSupported("RANGE offsets over dates and timestamps need an interval without months")
        us = pc.cast(pc.cast(vals, pa.timestamp("us", getattr(vals.type, "tz", None))), pa.int64())
        v = np.asarray(pc.cast(us, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
        return v, off[1] * 86_400_000_000.0 + off[2] / 1000.0
    return np.asarray(pc.cast(vals, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64), float(off)


def _window(ex: Any, c: E.WindowCall, batch: pa.RecordBatch) -> pa.Array:
    lay = _Layout(ex, c, batch)
    n = lay.n
    order = lay.order
    i = np.arange(n)
    pos = i - lay.seg_start
    size = lay.seg_end - lay.seg_start + 1
    name = c.name
    if name == "row_number":
        return _unsort(pa.array((pos + 1).astype(np.int64)), order)
    if name == "rank":
        return _unsort(pa.array((lay.peer_first - lay.seg_start + 1).astype(np.int64)), order)
    if name == "dense_rank":
        dense = np.cumsum(lay.peer_start)
        return _unsort(pa.array((dense - dense[lay.seg_start] + 1).astype(np.int64)), order)
    if name == "percent_rank":
        rank = lay.peer_first - lay.seg_start
        out = np.where(size > 1, rank / np.maximum(size - 1, 1), 0.0)
        return _unsort(pa.array(out.astype(np.float64)), order)
    if name == "cume_dist":
        return _unsort(pa.array(((lay.peer_last - lay.seg_start + 1) / size).astype(np.float64)), order)
    if name == "ntile":
        buckets = int(ex.ev.eval(c.args[0], batch)[0].as_py())
        if buckets <= 0:
            from sqlvec.core.errors import InvalidParameterValue

            raise InvalidParameterValue("argument of ntile must be greater than zero")
        q, r = np.divmod(size, buckets)
        big = r * (q + 1)
        out = np.where(pos < big, pos // np.maximum(q + 1, 1), (pos - big) // np.maximum(q, 1) + r) + 1
        return _unsort(pa.array(out.astype(np.int32)), order)
    if name in ("lag", "lead"):
        vals = ex.ev.eval(c.args[0], batch).take(pa.array(order))
        off = 1
        if len(c.args) > 1:
            off = ex.ev.eval(c.args[1], batch)[0].as_py()
        default = ex.ev.eval(c.args[2], batch).take(pa.array(order)) if len(c.args) > 2 else None
        src = i + (-off if name == "lag" else off)
        ok = (src >= lay.seg_start) & (src <= lay.seg_end)
        res = vals.take(pa.array(np.where(ok, src, 0), mask=~ok))
        if default is not None:
            res = pc.if_else(pa.array(ok), res, default.cast(res.type))
        return _unsort(res, order)
    lo, hi = lay.frame(ex, c, batch)
    lo = np.maximum(lo, lay.seg_start)
    hi = np.minimum(hi, lay.seg_end)
    empty = hi < lo
    exclude = c.frame[3] if c.frame is not None and len(c.frame) > 3 else ""
    if exclude and name in ("first_value", "last_value", "nth_value"):
        raise FeatureNotSupported(f"EXCLUDE {exclude.upper()} with {name} is not supported")
    if name in ("first_value", "last_value", "nth_value"):
        vals = ex.ev.eval(c.args[0], batch).take(pa.array(order))
        if name == "first_value":
            at = lo
        elif name == "last_value":
            at = hi
        else:
            k = int(ex.ev.eval(c.args[1], batch)[0].as_py())
            at = lo + k - 1
            empty = empty | (at > hi)
        res = vals.take(pa.array(np.where(empty, 0, at), mask=empty))
        return _unsort(res, order)
    if c.fn is None:
        raise FeatureNotSupported(f"window function {name} is not supported")
    return _agg_window(ex, c, batch, lay, lo, hi, empty, exclude)


def _unsort(sorted_vals: pa.Array, order: np.ndarray) -> pa.Array:
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    return sorted_vals.take(pa.array(inv))


def _framed(ex: Any, c: E.WindowCall, batch: pa.RecordBatch, lay: _Layout) -> pa.Array:
    """count/sum/avg over frames by the functions layer's window code (exact prefix sums)."""
    from sqlvec.functions.windows import WindowFrame

    bw = ex.ctx.regs.functions.window(c.name, [a.type for a in c.args])
    order = pa.array(lay.order)
    args = [ex.ev.eval(a, batch) for a in c.args]  # argument columns only, then in window order
    args = [a if isinstance(a, pa.Scalar) else a.take(order) for a in args]
    peers = np.cumsum(lay.peer_start) - 1
    frame = None
    if c.frame is not None:  # ROWS / GROUPS / RANGE without offsets (those take the general path)
        mode, start, end = c.frame[:3]
        (sk, so), (ek, eo) = _frame_bound(start), _frame_bound(end)
        frame = WindowFrame(mode=mode, start=sk, start_offset=so, end=ek, end_offset=eo)
    res = bw.evaluate(args, lay.sp.astype(np.int64), peers.astype(np.int64), frame)
    return res if res.type == c.type.arrow else res.cast(c.type.arrow)


def _frame_bound(b: tuple) -> tuple[str, Any]:
    """The binder's (kind, offset) frame bound as the functions layer spells it."""
    kind, off = b
    if kind == "unbounded":
        return f"unbounded {off}", None
    if kind == "current":
        return "current row", None
    return kind, off


def _agg_window(ex: Any, c: E.WindowCall, batch: pa.RecordBatch, lay: _Layout,
                lo: np.ndarray, hi: np.ndarray, empty: np.ndarray, exclude: str = "") -> pa.Array:
    from sqlvec.exec.aggregate import _aggregate

    n = lay.n
    order = lay.order
    agg = E.AggCall(c.name, c.args, c.distinct, c.type, c.star, None, c.fn)
    whole = bool(np.all(lo == lay.seg_start) & np.all(hi == lay.seg_end)) and not exclude
    if whole and not lay.keys:  # frames are whole partitions, rows in input order: no sorting
        ngroups = int(lay.part.max()) + 1 if n else 0
        per = _aggregate(ex, agg, batch, lay.part, ngroups)
        return per.take(pa.array(lay.part))
    if whole:  # whole partitions in ORDER BY order (array_agg, string_agg see that order)
        ngroups = int(lay.sp.max()) + 1 if n else 0
        per = _aggregate(ex, agg, batch.take(pa.array(order)), lay.sp, ngroups)
        return _unsort(per.take(pa.array(lay.sp)), order)
    offset_range = c.frame is not None and c.frame[0] == "range" and any(
        b[0] in ("preceding", "following") for b in c.frame[1:3])
    if c.name in ("count", "sum", "avg") and not c.distinct and not exclude and not offset_range:
        return _unsort(_framed(ex, c, batch, lay), order)
    sorted_batch = batch.take(pa.array(order))
    # general frame: expand each row's frame into (row, member) pairs and aggregate by row
    counts = np.where(empty, 0, hi - lo + 1)
    owner = np.repeat(np.arange(n), counts)
    starts = np.repeat(lo, counts)
    offs = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    members = starts + offs
    if exclude:  # EXCLUDE CURRENT ROW / GROUP / TIES drop members from each row's frame
        pid = np.cumsum(lay.peer_start) - 1
        same_peer = pid[members] == pid[owner]
        keep = {"current row": members != owner, "group": ~same_peer,
                "ties": ~same_peer | (members == owner)}.get(exclude)
        if keep is None:
            raise FeatureNotSupported(f"EXCLUDE {exclude.upper()} is not supported")
        members, owner = members[keep], owner[keep]
    expanded = sorted_batch.take(pa.array(members))
    res = _aggregate(ex, agg, expanded, owner.astype(np.int64), n)
    return _unsort(res, order)
