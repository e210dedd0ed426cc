"""(start1, end1) OVERLAPS (start2, end2): PostgreSQL's overlaps() for timestamp[tz] and
time, each end given as a value or as an interval after its start. Vectorised port of
overlaps_timestamp(): a period's ends are put in order, a NULL start takes the end's
place; NULL ends make the answer NULL only where it depends on them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa

from sqlvec.core import types as T
from sqlvec.functions.datetime_ops import _time_plus_iv, _ts_plus_iv
from sqlvec.functions.datetimefns import to_us
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry


def _end(ctx: CallContext, args: list[Arg], i: int, t: T.SqlType) -> tuple[np.ndarray, np.ndarray]:
    """The end of a period as microseconds (start + interval when given as an interval)."""
    if ctx.arg_types[i].short == "interval":
        sub = replace(ctx, arg_types=(t, T.INTERVAL), return_type=t)
        add = _time_plus_iv(1) if t.short == "time" else _ts_plus_iv(1)
        return to_us(add(sub, [args[i - 1], args[i]]), t, ctx.n)
    return to_us(args[i], t, ctx.n)


def _period(s: np.ndarray, sn: np.ndarray, e: np.ndarray, en: np.ndarray):
    """(start, end, start null, end null) with a NULL start replaced by the end, and ends
    in order."""
    s, e = s.copy(), e.copy()
    move = sn & ~en
    s[move] = e[move]
    en = en | move
    sn = sn & ~move
    swap = ~sn & ~en & (s > e)
    s[swap], e[swap] = e[swap], s[swap].copy()
    return s, e, sn, en


def _overlaps(ctx: CallContext, args: list[Arg]) -> Arg:
    t = ctx.arg_types[0]
    s1, s1n = to_us(args[0], t, ctx.n)
    e1, e1n = _end(ctx, args, 1, t)
    s2, s2n = to_us(args[2], t, ctx.n)
    e2, e2n = _end(ctx, args, 3, t)
    s1, e1, s1n, e1n = _period(s1, s1n, e1, e1n)
    s2, e2, s2n, e2n = _period(s2, s2n, e2, e2n)
    out = np.ones(ctx.n, bool)
    null = s1n | s2n
    gt, lt = s1 > s2, s1 < s2
    eq = ~gt & ~lt
    # s1 > s2: s1 < e2 (NULL when e2 is; else NULL when it is not and e1 is NULL)
    hit = s1 < e2
    out[gt] = hit[gt]
    null |= gt & (e2n | (~hit & e1n))
    # s1 < s2: s2 < e1
    hit = s2 < e1
    out[lt] = hit[lt]
    null |= lt & (e1n | (~hit & e2n))
    null |= eq & (e1n | e2n)
    return pa.array(out, pa.bool_(), mask=null if null.any() else None)


def register(fr: FunctionRegistry) -> None:
    """overlaps(start, end|interval, start, end|interval) as pg_proc lists them."""
    for t in (T.TIMESTAMPTZ, T.TIMESTAMP, T.TIME):
        for a in (t, T.INTERVAL):
            for b in (t, T.INTERVAL):
                fr.add("overlaps", [t, a, t, b], T.BOOL, _overlaps, strict=False)
