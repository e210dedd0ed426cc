"""Window functions over sorted input, vectorised with numpy.

Contract (docs/CONTRACTS.md): the engine sorts rows by PARTITION BY then ORDER BY keys,
and calls

    bw = regs.functions.window(name, arg_types)          # window-only fn or any aggregate
    bw.evaluate(args, partitions, peers, frame=None, order_key=None, descending=False)
        args:       list of pa.Array (n rows, sorted) or pa.Scalar
        partitions: np.ndarray int64, non-decreasing partition id per row
        peers:      np.ndarray int64, non-decreasing; equal ids = ORDER BY peers
                    (without ORDER BY every row of a partition is a peer)
        frame:      WindowFrame (None = RANGE UNBOUNDED PRECEDING .. CURRENT ROW)
        order_key:  the single ORDER BY value array, needed only for RANGE n PRECEDING/FOLLOWING
    -> pa.Array of n rows in the same (sorted) order

Aggregates over a frame use prefix sums (count/sum/avg of ints and floats) or evaluate
the aggregate over every (row, frame member) pair at once; frames are built per row with
numpy, never a Python loop per row (RANGE offsets loop per partition).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import (
    FeatureNotSupported,
    InvalidParameterValue,
    InvalidPrecedingOrFollowingSize,
    WindowingError,
)
from sqlvec.core.types import SqlType
from sqlvec.functions.registry import FunctionRegistry, ReturnSpec, coerce_value

UNBOUNDED_PRECEDING = "unbounded preceding"
PRECEDING = "preceding"
CURRENT_ROW = "current row"
FOLLOWING = "following"
UNBOUNDED_FOLLOWING = "unbounded following"


@dataclass(frozen=True)
class WindowFrame:
    """A frame clause: mode rows|range|groups, start/end bounds with optional offsets."""

    mode: str = "range"
    start: str = UNBOUNDED_PRECEDING
    start_offset: float | int | None = None
    end: str = CURRENT_ROW
    end_offset: float | int | None = None
    exclude: str = "no others"


DEFAULT_FRAME = WindowFrame()


@dataclass(frozen=True)
class Layout:
    """Per-row partition and peer-group boundaries (end exclusive) of sorted input."""

    n: int
    part_start: np.ndarray
    part_end: np.ndarray
    peer_start: np.ndarray
    peer_end: np.ndarray
    peer_index: np.ndarray  # 0-based peer group number within the partition


def layout(partitions: np.ndarray, peers: np.ndarray) -> Layout:
    partitions = np.asarray(partitions, dtype=np.int64)
    peers = np.asarray(peers, dtype=np.int64)
    n = len(partitions)
    idx = np.arange(n, dtype=np.int64)
    new_part = np.r_[True, partitions[1:] != partitions[:-1]] if n else np.zeros(0, bool)
    new_peer = new_part | (np.r_[True, peers[1:] != peers[:-1]] if n else np.zeros(0, bool))

    def spans(new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        starts = idx[new]
        ends = np.r_[starts[1:], n]
        which = np.cumsum(new) - 1
        return starts[which], ends[which]

    ps, pe = spans(new_part)
    qs, qe = spans(new_peer)
    peer_no = np.cumsum(new_peer) - 1
    peer_index = peer_no - peer_no[ps] if n else peer_no
    return Layout(n, ps, pe, qs, qe, peer_index)


def _offset(v: float | int | None, what: str) -> float:
    if v is None:
        raise WindowingError(f"frame {what} offset is missing")
    if v < 0:
        raise InvalidPrecedingOrFollowingSize("frame starting offset must not be negative" if what == "start"
                                              else "frame ending offset must not be negative")
    return v


def frame_bounds(lay: Layout, frame: WindowFrame, order_key: pa.Array | None = None,
                 descending: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per-row frame [start, end) row indexes for the given frame clause."""
    n = lay.n
    idx = np.arange(n, dtype=np.int64)
    out = []
    for which, bound, off in (("start", frame.start, frame.start_offset),
                              ("end", frame.end, frame.end_offset)):
        if bound == UNBOUNDED_PRECEDING:
            b = lay.part_start.copy()
        elif bound == UNBOUNDED_FOLLOWING:
            b = lay.part_end.copy()
        elif bound == CURRENT_ROW:
            if frame.mode == "rows":
                b = idx + (1 if which == "end" else 0)
            else:
                b = lay.peer_start.copy() if which == "start" else lay.peer_end.copy()
        else:
            k = _offset(off, which)
            sign = -1 if bound == PRECEDING else 1
            if frame.mode == "rows":
                b = idx + sign * int(k) + (1 if which == "end" else 0)
            elif frame.mode == "groups":
                b = _groups_bound(lay, sign * int(k), which)
            else:
                b = _range_bound(lay, order_key, sign * k, which, descending)
        out.append(np.clip(b, lay.part_start, lay.part_end))
    start, end = out
    return start, np.maximum(end, start)


def _groups_bound(lay: Layout, delta: int, which: str) -> np.ndarray:
    """Start (or end) of the peer group `delta` groups away from each row's group."""
    n = lay.n
    new_peer = lay.peer_start == np.arange(n)
    peer_starts_global = np.flatnonzero(new_peer)
    peer_no = np.cumsum(new_peer) - 1
    target = peer_no + delta
    first_group = peer_no - lay.peer_index
    last_group = first_group + (lay.peer_index[lay.part_end - 1] if n else 0)
    if which == "start":
        t = np.clip(target, first_group, last_group + 1)
        return np.where(t > last_group, lay.part_end, peer_starts_global[np.minimum(t, len(peer_starts_global) - 1)])
    t = target + 1
    return np.where(t > last_group, lay.part_end,
                    np.where(t < first_group, lay.part_start,
                             peer_starts_global[np.clip(t, 0, len(peer_starts_global) - 1)]))


def _range_bound(lay: Layout, key: pa.Array | None, delta: float, which: str,
                 descending: bool) -> np.ndarray:
    if key is None:
        raise WindowingError("RANGE with offset PRECEDING/FOLLOWING requires exactly one "
                             "ORDER BY column")
    if pa.types.is_timestamp(key.type) or pa.types.is_date(key.type):
        raise FeatureNotSupported("RANGE offsets over dates and timestamps are not supported")
    k = pc.cast(key, pa.float64()).to_numpy(zero_copy_only=False)
    if descending:
        k, delta = -k, -delta
    target = k + delta
    out = np.empty(lay.n, dtype=np.int64)
    for s in np.unique(lay.part_start):  # per partition, vectorised inside
        e = lay.part_end[s]
        seg = k[s:e]
        if which == "start":
            out[s:e] = s + np.searchsorted(seg, target[s:e], side="left")
        else:
            out[s:e] = s + np.searchsorted(seg, target[s:e], side="right")
    return out


# ---- window-only functions --------------------------------------------------------

WinImpl = Callable[["WinCall"], pa.Array]


@dataclass(frozen=True)
class WinCall:
    args: list[pa.Array]
    arg_types: tuple[SqlType, ...]
    return_type: SqlType
    lay: Layout
    frame: WindowFrame
    order_key: pa.Array | None
    descending: bool


def _row_number(c: WinCall) -> pa.Array:
    return pa.array(np.arange(c.lay.n) - c.lay.part_start + 1, pa.int64())


def _rank(c: WinCall) -> pa.Array:
    return pa.array(c.lay.peer_start - c.lay.part_start + 1, pa.int64())


def _dense_rank(c: WinCall) -> pa.Array:
    return pa.array(c.lay.peer_index + 1, pa.int64())


def _percent_rank(c: WinCall) -> pa.Array:
    size = c.lay.part_end - c.lay.part_start
    r = (c.lay.peer_start - c.lay.part_start).astype(np.float64)
    return pa.array(np.where(size > 1, r / np.maximum(size - 1, 1), 0.0), pa.float64())


def _cume_dist(c: WinCall) -> pa.Array:
    size = c.lay.part_end - c.lay.part_start
    return pa.array((c.lay.peer_end - c.lay.part_start) / size, pa.float64())


def _ntile(c: WinCall) -> pa.Array:
    k = pc.cast(c.args[0], pa.int64()).to_numpy(zero_copy_only=False)
    valid = np.asarray(pc.is_valid(c.args[0]))
    if (k[valid] <= 0).any():
        raise InvalidParameterValue("argument of ntile must be greater than zero")
    k = np.where(valid, k, 1)
    size = c.lay.part_end - c.lay.part_start
    j = np.arange(c.lay.n) - c.lay.part_start
    q, r = size // k, size % k
    big = r * (q + 1)
    bucket = np.where(j < big, j // (q + 1), r + (j - big) // np.maximum(q, 1)) + 1
    return pa.array(bucket, pa.int32(), mask=~valid if (~valid).any() else None)


def _shift(sign: int) -> WinImpl:
    def impl(c: WinCall) -> pa.Array:
        v = c.args[0]
        n = c.lay.n
        off = pc.cast(c.args[1], pa.int64()).fill_null(0).to_numpy(zero_copy_only=False) \
            if len(c.args) > 1 else np.ones(n, np.int64)
        off_null = np.asarray(pc.is_null(c.args[1])) if len(c.args) > 1 else np.zeros(n, bool)
        target = np.arange(n) + sign * np.where(off_null, 0, off)
        inside = (target >= c.lay.part_start) & (target < c.lay.part_end) & ~off_null
        out = v.take(pa.array(np.where(inside, target, 0), mask=~inside)) if n else v
        if len(c.args) > 2:
            out = pc.if_else(pa.array(inside), out, c.args[2])
        return out
    return impl


def _frame_value(kind: str) -> WinImpl:
    def impl(c: WinCall) -> pa.Array:
        start, end = frame_bounds(c.lay, c.frame, c.order_key, c.descending)
        if kind == "first":
            pos, ok = start, end > start
        elif kind == "last":
            pos, ok = end - 1, end > start
        else:
            nth = pc.cast(c.args[1], pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
            if (nth[np.asarray(pc.is_valid(c.args[1]))] <= 0).any():
                raise InvalidParameterValue("argument of nth_value must be greater than zero")
            pos = start + nth - 1
            ok = pos < end
        return c.args[0].take(pa.array(np.where(ok, pos, 0), mask=~ok)) if c.lay.n else c.args[0]
    return impl


@dataclass(frozen=True)
class WindowDef:
    name: str
    args: tuple[SqlType, ...]
    ret: ReturnSpec
    impl: WinImpl
    min_args: int | None = None
    uses_frame: bool = False

    def arity_ok(self, n: int) -> bool:
        lo = len(self.args) if self.min_args is None else self.min_args
        return lo <= n <= len(self.args)

    def declared_for(self, n: int) -> list[SqlType]:
        return list(self.args[:n])


@dataclass(frozen=True)
class BoundWindow:
    """A resolved window call (window-only function or aggregate used with OVER)."""

    name: str
    arg_types: tuple[SqlType, ...]
    input_types: tuple[SqlType, ...]
    return_type: SqlType
    definition: WindowDef | None
    aggregate: object | None  # a BoundAggregate when an aggregate is used as a window function
    casts: object

    def evaluate(self, args: Sequence[pa.Array | pa.Scalar], partitions: np.ndarray,
                 peers: np.ndarray, frame: WindowFrame | None = None,
                 order_key: pa.Array | None = None, descending: bool = False) -> pa.Array:
        lay = layout(partitions, peers)
        frame = frame or DEFAULT_FRAME
        if frame.exclude not in ("no others", "", None):
            raise FeatureNotSupported("frame exclusion is not supported")
        n = lay.n
        vals = []
        for a, s, d in zip(args, self.input_types, self.arg_types):
            v = coerce_value(self.casts, a, s, d)  # type: ignore[arg-type]
            if isinstance(v, pa.Scalar):
                v = pa.repeat(v, n) if v.is_valid else pa.nulls(n, v.type)
            vals.append(v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v)
        if self.aggregate is not None:
            return _framed_aggregate(self.aggregate, vals, lay, frame, order_key, descending)
        assert self.definition is not None
        return self.definition.impl(WinCall(vals, self.arg_types, self.return_type, lay, frame,
                                            order_key, descending))


def _framed_aggregate(agg: object, vals: list[pa.Array], lay: Layout, frame: WindowFrame,
                      order_key: pa.Array | None, descending: bool) -> pa.Array:
    """Aggregate over each row's frame: prefix sums when possible, else (row, member) pairs."""
    start, end = frame_bounds(lay, frame, order_key, descending)
    name = agg.name  # type: ignore[attr-defined]
    distinct = agg.distinct  # type: ignore[attr-defined]
    rt = agg.return_type  # type: ignore[attr-defined]
    if not distinct and name == "count":
        if not vals:
            return pa.array(end - start, pa.int64())
        valid = np.r_[0, np.cumsum(np.asarray(pc.is_valid(vals[0])))]
        return pa.array(valid[end] - valid[start], pa.int64())
    if not distinct and name in ("sum", "avg") and vals and (
            pa.types.is_integer(vals[0].type) and rt.short in ("int8", "numeric")
            or pa.types.is_floating(vals[0].type)):
        v = vals[0]
        valid = np.asarray(pc.is_valid(v))
        x = v.to_numpy(zero_copy_only=False)
        x = np.where(valid, np.nan_to_num(x.astype(np.float64) if x.dtype.kind == "f" else x), 0)
        if x.dtype.kind != "f":
            x = x.astype(object) if rt.short == "numeric" else x.astype(np.int64)
        cs = np.concatenate([[0], np.cumsum(x)])
        cnt = np.r_[0, np.cumsum(valid)]
        tot = cs[end] - cs[start]
        c = cnt[end] - cnt[start]
        empty = c == 0
        if name == "sum":
            return pc.cast(pa.array(tot.tolist() if tot.dtype == object else tot, mask=empty), rt.arrow) \
                if rt.short != "numeric" else pc.cast(pa.array([int(t) for t in tot], pa.decimal128(38, 0),
                                                               mask=empty), rt.arrow)
        if rt.short == "float8":
            return pa.array(tot / np.maximum(c, 1), pa.float64(), mask=empty)
        from sqlvec.functions.arith import numeric_binary
        num = pa.array([int(t) for t in tot], pa.decimal128(38, 0), mask=empty)
        res = numeric_binary("divide", num, pa.array(np.maximum(c, 1), pa.int64()))
        return pc.cast(res, rt.arrow) if not pa.types.is_decimal(rt.arrow) else res
    # general path: evaluate over all (row, member) pairs, in chunks to bound memory
    lengths = end - start
    out_parts = []
    chunk = max(1, 2_000_000 // max(1, int(lengths.max()) if lay.n else 1))
    for c0 in range(0, lay.n, chunk):
        c1 = min(lay.n, c0 + chunk)
        ln = lengths[c0:c1]
        owner = np.repeat(np.arange(c1 - c0, dtype=np.int64), ln)
        first = np.repeat(start[c0:c1], ln)
        within = np.arange(len(owner), dtype=np.int64) - np.repeat(np.r_[0, np.cumsum(ln)[:-1]], ln)
        members = pa.array(first + within)
        sub = [v.take(members) for v in vals]
        out_parts.append(agg.evaluate(sub, owner, c1 - c0))  # type: ignore[attr-defined]
    if not out_parts:
        return pa.nulls(0, rt.arrow) if not pa.types.is_null(rt.arrow) else pa.nulls(0)
    return pa.concat_arrays(out_parts)


def bind_window(fr: FunctionRegistry, name: str, args: list[SqlType]) -> BoundWindow:
    from sqlvec.functions.registry import _substitute_return
    if name in fr.windows:
        wdef, declared = fr.select(name, args, fr.windows[name])
        ret = wdef.ret(declared) if callable(wdef.ret) else wdef.ret
        ret = _substitute_return(ret, wdef, declared, args)
        return BoundWindow(name, tuple(declared), tuple(args), ret, wdef, None, fr.casts)
    if name in fr.aggregates:
        agg = fr.aggregate(name, args, False)
        return BoundWindow(name, agg.arg_types, agg.arg_types, agg.return_type, None, agg, fr.casts)
    fr.select(name, args, [])  # raises 'function ... does not exist'
    raise AssertionError("unreachable")


def register(fr: FunctionRegistry) -> None:
    """row_number, rank, dense_rank, percent_rank, cume_dist, ntile, lag, lead, *_value."""
    w = fr.add_window
    w("row_number", [], T.INT8, _row_number)
    w("rank", [], T.INT8, _rank)
    w("dense_rank", [], T.INT8, _dense_rank)
    w("percent_rank", [], T.FLOAT8, _percent_rank)
    w("cume_dist", [], T.FLOAT8, _cume_dist)
    w("ntile", [T.INT4], T.INT4, _ntile)
    for name, sign in (("lag", -1), ("lead", 1)):
        w(name, [T.ANYELEMENT, T.INT4, T.ANYELEMENT], T.ANYELEMENT, _shift(sign), min_args=1)
    w("first_value", [T.ANYELEMENT], T.ANYELEMENT, _frame_value("first"), uses_frame=True)
    w("last_value", [T.ANYELEMENT], T.ANYELEMENT, _frame_value("last"), uses_frame=True)
    w("nth_value", [T.ANYELEMENT, T.INT4], T.ANYELEMENT, _frame_value("nth"), uses_frame=True)
