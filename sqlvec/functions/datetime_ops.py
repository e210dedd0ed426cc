"""Date/time operators (+ - * / among date, time, timestamp[tz], interval), AT TIME ZONE
(timezone()), date_bin, current_time / localtime.

Timestamps are int64 microseconds, dates int32 days, intervals (months, days, ns); the
arithmetic is numpy over whole columns (month steps clamp the day as PostgreSQL does).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import DatetimeFieldOverflow, FeatureNotSupported, InvalidParameterValue
from sqlvec.core.textio_datetime import (
    US_PER_DAY,
    interval_fields,
    make_intervals,
    zone_offsets,
)
from sqlvec.functions.datetimefns import _now, add_interval, from_local, from_us, to_local, to_us
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry
from sqlvec.functions.vec import any_null_mask, arr

TS, TSTZ, DATE, TIME, IV = T.TIMESTAMP, T.TIMESTAMPTZ, T.DATE, T.TIME, T.INTERVAL
F8, I4, TXT = T.FLOAT8, T.INT4, T.TEXT
Impl = Callable[[CallContext, list[Arg]], Arg]


def _ts_plus_iv(sign: int, swap: bool = False) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        ts_i, iv_i = (1, 0) if swap else (0, 1)
        t = ctx.arg_types[ts_i]
        us, mask = to_us(args[ts_i], t, ctx.n)
        m, d, ns = interval_fields(arr(args[iv_i], ctx.n))
        mask = mask | any_null_mask([args[iv_i]], ctx.n)
        if t.short == "timestamptz" and (m.any() or d.any()):
            # months and days move the session's wall clock (DST-aware), the rest is absolute
            local, _off = to_local(us, t, ctx)
            moved = from_local(add_interval(local, sign * m, sign * d, 0 * ns), ctx)
            return from_us(moved + sign * ns // 1000, ctx.return_type, mask)
        out = add_interval(us, sign * m, sign * d, sign * ns)
        return from_us(out, ctx.return_type, mask)
    return impl


def _date_plus_int(sign: int, swap: bool = False) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        d, k = (args[1], args[0]) if swap else (args[0], args[1])
        days = pc.cast(pc.cast(d, pa.int32()), pa.int64())
        out = pc.add(days, pc.multiply(pc.cast(k, pa.int64()), sign))
        bad = pc.or_(pc.less(out, -2_451_545 - 2_000_000), pc.greater(out, 2_147_483_647 - 2_451_545))
        if pc.any(pc.fill_null(bad, False)).as_py() if not isinstance(bad, pa.Scalar) else bad.as_py():
            raise DatetimeFieldOverflow("date out of range")
        return pc.cast(pc.cast(out, pa.int32()), pa.date32())
    return impl


def _date_minus_date(ctx: CallContext, args: list[Arg]) -> Arg:
    a, b = (pc.cast(pc.cast(x, pa.int32()), pa.int64()) for x in args)
    return pc.cast(pc.subtract(a, b), pa.int32())


def _ts_minus_ts(ctx: CallContext, args: list[Arg]) -> Arg:
    a, ma = to_us(args[0], ctx.arg_types[0], ctx.n)
    b, mb = to_us(args[1], ctx.arg_types[1], ctx.n)
    diff = a - b
    days = np.fix(diff / US_PER_DAY).astype(np.int64)
    rest = diff - days * US_PER_DAY
    return make_intervals(np.zeros(ctx.n, np.int64), days, rest * 1000, ma | mb)


def _time_minus_time(ctx: CallContext, args: list[Arg]) -> Arg:
    a, ma = to_us(args[0], TIME, ctx.n)
    b, mb = to_us(args[1], TIME, ctx.n)
    return make_intervals(np.zeros(ctx.n, np.int64), np.zeros(ctx.n, np.int64), (a - b) * 1000, ma | mb)


def _date_plus_time(ctx: CallContext, args: list[Arg]) -> Arg:
    d, md = to_us(args[0], DATE, ctx.n)
    t, mt = to_us(args[1], TIME, ctx.n)
    return from_us(d + t, TS, md | mt)


def _iv_addsub(sign: int) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        m1, d1, n1 = interval_fields(arr(args[0], ctx.n))
        m2, d2, n2 = interval_fields(arr(args[1], ctx.n))
        return make_intervals(m1 + sign * m2, d1 + sign * d2, n1 + sign * n2, any_null_mask(args, ctx.n))
    return impl


def _iv_neg(ctx: CallContext, args: list[Arg]) -> Arg:
    m, d, ns = interval_fields(arr(args[0], ctx.n))
    return make_intervals(-m, -d, -ns, any_null_mask(args, ctx.n))


def scale_interval(m: np.ndarray, d: np.ndarray, ns: np.ndarray, f: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """interval * factor with PostgreSQL's cascading of fractional months and days."""
    mf = m * f
    months = np.fix(mf)
    df = d * f + (mf - months) * 30
    days = np.fix(df)
    us = np.round((ns / 1000) * f + (df - days) * US_PER_DAY)
    return months.astype(np.int64), days.astype(np.int64), us.astype(np.int64) * 1000


def _iv_mul(div: bool, swap: bool = False) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        iv, k = (args[1], args[0]) if swap else (args[0], args[1])
        f = pc.cast(arr(k, ctx.n), pa.float64()).fill_null(1).to_numpy(zero_copy_only=False)
        if div:
            if (f == 0).any():
                from sqlvec.core.errors import DivisionByZero
                raise DivisionByZero("division by zero")
            f = 1.0 / f
        m, d, ns = interval_fields(arr(iv, ctx.n))
        return make_intervals(*scale_interval(m, d, ns, f), mask=any_null_mask(args, ctx.n))
    return impl


def _time_plus_iv(sign: int) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        t, mt = to_us(args[0], TIME, ctx.n)
        _m, _d, ns = interval_fields(arr(args[1], ctx.n))
        return from_us(t + sign * (ns // 1000), TIME, mt | any_null_mask(args[1:], ctx.n))
    return impl


def _timezone(ctx: CallContext, args: list[Arg]) -> Arg:
    """AT TIME ZONE: timestamptz -> local timestamp in the zone, timestamp -> timestamptz."""
    zone = args[0]
    if not isinstance(zone, pa.Scalar):
        raise FeatureNotSupported("AT TIME ZONE with a per-row zone is not supported")
    if not zone.is_valid:
        return pa.nulls(ctx.n, ctx.return_type.arrow)
    name = zone.as_py()
    t = ctx.arg_types[1]
    us, mask = to_us(args[1], t, ctx.n)
    off = _zone_offsets(name, us, local=t.short == "timestamp")
    out = us + off if t.short == "timestamptz" else us - off
    return from_us(out, ctx.return_type, mask)


def _zone_offsets(name: str, us: np.ndarray, *, local: bool) -> np.ndarray:
    return zone_offsets(name, us, local=local)


def _date_bin(ctx: CallContext, args: list[Arg]) -> Arg:
    """date_bin(stride, ts, origin): ts rounded down to the stride grid anchored at origin."""
    m, d, ns = interval_fields(arr(args[0], ctx.n))
    if (m != 0).any():
        raise FeatureNotSupported("timestamps cannot be binned into intervals containing months or years")
    stride = d * US_PER_DAY + ns // 1000
    if (stride <= 0).any():
        raise InvalidParameterValue("stride must be greater than zero")
    t = ctx.arg_types[1]
    us, mask = to_us(args[1], t, ctx.n)
    origin, mo = to_us(args[2], ctx.arg_types[2], ctx.n)
    out = origin + np.floor_divide(us - origin, stride) * stride
    return from_us(out, ctx.return_type, mask | mo)


def _current_time(local: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        now = _now("stmt")(ctx, []).value  # microseconds since the epoch
        tod = int(now) % US_PER_DAY
        if local:
            return pa.scalar(tod, pa.time64("us"))
        from sqlvec.core.textio_datetime import _hms_text
        return pa.scalar(_hms_text(np.array([tod]))[0].as_py() + "+00", pa.string())
    return impl


def register(fr: FunctionRegistry) -> None:
    """Date/time operators, timezone(), date_bin, current_time, localtime."""
    add = fr.add
    add("+", [DATE, I4], DATE, _date_plus_int(1))
    add("+", [I4, DATE], DATE, _date_plus_int(1, swap=True))
    add("-", [DATE, I4], DATE, _date_plus_int(-1))
    add("-", [DATE, DATE], I4, _date_minus_date)
    add("+", [DATE, IV], TS, _ts_plus_iv(1))
    add("+", [IV, DATE], TS, _ts_plus_iv(1, swap=True))
    add("-", [DATE, IV], TS, _ts_plus_iv(-1))
    add("+", [DATE, TIME], TS, _date_plus_time)
    for t in (TS, TSTZ):
        add("+", [t, IV], t, _ts_plus_iv(1))
        add("+", [IV, t], t, _ts_plus_iv(1, swap=True))
        add("-", [t, IV], t, _ts_plus_iv(-1))
        add("-", [t, t], IV, _ts_minus_ts)
    add("+", [TIME, IV], TIME, _time_plus_iv(1))
    add("-", [TIME, IV], TIME, _time_plus_iv(-1))
    add("-", [TIME, TIME], IV, _time_minus_time)
    add("+", [IV, IV], IV, _iv_addsub(1))
    add("-", [IV, IV], IV, _iv_addsub(-1))
    add("-", [IV], IV, _iv_neg)
    add("*", [IV, F8], IV, _iv_mul(False))
    add("*", [F8, IV], IV, _iv_mul(False, swap=True))
    add("/", [IV, F8], IV, _iv_mul(True))

    for t in (TS, TSTZ):
        fr.add("date_bin", [IV, t, t], t, _date_bin)
    fr.add("current_time", [], T.TIMETZ, _current_time(False), volatile=True)
    fr.add("localtime", [], TIME, _current_time(True), volatile=True)
    fr.add("timezone", [TXT, TSTZ], TS, _timezone)
    fr.add("timezone", [TXT, TS], TSTZ, _timezone)
