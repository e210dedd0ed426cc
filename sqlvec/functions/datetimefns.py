"""Date/time functions: now(), date_trunc, date_part/extract, age, make_*, justify_*.

Everything works on int64 microseconds (timestamps), int32 days (dates) and the three
interval fields, with numpy civil-calendar arithmetic; the session TimeZone is UTC.
to_char / to_date / to_timestamp live in functions/datefmt.py; the + - * / operators,
AT TIME ZONE and date_bin in functions/datetime_ops.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import DatetimeFieldOverflow, FeatureNotSupported, InvalidParameterValue
from sqlvec.core.textio_datetime import (
    DATE_INFINITY,
    DATE_NEG_INFINITY,
    TS_INFINITY,
    TS_NEG_INFINITY,
    US_PER_DAY,
    US_PER_SEC,
    civil_from_days,
    days_from_civil,
    interval_fields,
    make_intervals,
    zone_offsets,
)
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry
from sqlvec.functions.vec import any_null_mask, arr

TS, TSTZ, DATE, TIME, IV = T.TIMESTAMP, T.TIMESTAMPTZ, T.DATE, T.TIME, T.INTERVAL
F8, I4, TXT, NUM = T.FLOAT8, T.INT4, T.TEXT, T.NUMERIC
Impl = Callable[[CallContext, list[Arg]], Arg]
_DIM = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def days_in_month(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    return _DIM[np.clip(m - 1, 0, 11)] + ((m == 2) & leap)


def to_us(a: Arg, t: T.SqlType, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(int64 microseconds since epoch, null mask) of a date/timestamp/time column."""
    x = arr(a, n)
    mask = np.asarray(pc.is_null(x)) if x.null_count else np.zeros(len(x), bool)
    if t.short == "date":
        v = pc.cast(x, pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        return v * US_PER_DAY, mask
    v = pc.cast(x, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    return v, mask


def from_us(us: np.ndarray, t: T.SqlType, mask: np.ndarray | None) -> pa.Array:
    m = mask if mask is not None and mask.any() else None
    if t.short == "date":
        return pa.array(np.floor_divide(us, US_PER_DAY).astype(np.int32), pa.date32(), mask=m)
    if t.short == "time":
        return pa.array(np.mod(us, US_PER_DAY), pa.time64("us"), mask=m)
    return pa.array(us, t.arrow, mask=m)


def session_tz(ctx: CallContext) -> str:
    """The statement's TimeZone setting (UTC without an environment)."""
    tz = getattr(ctx.env, "timezone", None) if ctx.env is not None else None
    return tz or "UTC"


def to_local(us: np.ndarray, t: T.SqlType, ctx: CallContext) -> tuple[np.ndarray, np.ndarray]:
    """(wall-clock microseconds, UTC offsets) of timestamptz values in the session TimeZone;
    other types are returned unchanged with zero offsets."""
    zero = np.zeros(len(us), np.int64)
    tz = session_tz(ctx)
    if t.short != "timestamptz" or tz.upper() in ("UTC", "GMT", "ETC/UTC"):
        return us, zero
    off = zone_offsets(tz, us, local=False)
    return us + off, off


def from_local(local_us: np.ndarray, ctx: CallContext) -> np.ndarray:
    """Wall-clock microseconds in the session TimeZone back to UTC instants."""
    tz = session_tz(ctx)
    if tz.upper() in ("UTC", "GMT", "ETC/UTC"):
        return local_us
    return local_us - zone_offsets(tz, local_us, local=True)


def fields(us: np.ndarray) -> dict[str, np.ndarray]:
    """Calendar fields of microsecond timestamps (UTC)."""
    days = np.floor_divide(us, US_PER_DAY)
    tod = us - days * US_PER_DAY
    y, m, d = civil_from_days(days)
    return {"days": days, "tod": tod, "year": y, "month": m, "day": d,
            "hour": tod // (3600 * US_PER_SEC), "minute": tod // (60 * US_PER_SEC) % 60,
            "second": tod // US_PER_SEC % 60, "us": tod % US_PER_SEC,
            "dow": (days + 4) % 7}


def add_interval(us: np.ndarray, months: np.ndarray, days: np.ndarray, ns: np.ndarray
                 ) -> np.ndarray:
    """timestamp + interval: months first (day clamped to month length), then days, time."""
    f = fields(us)
    if months.any():
        total = f["year"] * 12 + (f["month"] - 1) + months
        y, m = np.floor_divide(total, 12), np.mod(total, 12) + 1
        d = np.minimum(f["day"], days_in_month(y, m))
        base = days_from_civil(y, m, d) * US_PER_DAY + f["tod"]
    else:
        base = us
    return base + days * US_PER_DAY + ns // 1000


def _now(kind: str) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        env = ctx.env
        if kind != "clock" and env is not None and env.statement_time_us is not None:
            us = env.statement_time_us
        else:
            us = time.time_ns() // 1000
        if kind in ("date",):
            return pa.scalar(int(us // US_PER_DAY), pa.int32()).cast(pa.date32())
        if kind == "local":
            return pa.scalar(us, pa.timestamp("us"))
        return pa.scalar(us, pa.timestamp("us", tz="UTC"))
    return impl


_TRUNC_UNITS = ("microseconds", "milliseconds", "second", "minute", "hour", "day", "week",
                "month", "quarter", "year", "decade", "century", "millennium")


def _unit(x: Arg, allowed: tuple[str, ...], what: str, t: T.SqlType) -> str:
    if not isinstance(x, pa.Scalar):
        raise FeatureNotSupported(f"{what} with a per-row unit is not supported")
    u = (x.as_py() or "").lower().strip()
    u = {"microsecond": "microseconds", "us": "microseconds", "millisecond": "milliseconds",
         "ms": "milliseconds", "seconds": "second", "sec": "second", "minutes": "minute",
         "min": "minute", "hours": "hour", "days": "day", "weeks": "week", "months": "month",
         "mon": "month", "years": "year", "quarters": "quarter", "decades": "decade",
         "centuries": "century", "millenniums": "millennium", "millennia": "millennium",
         "dec": "decade", "y": "year", "d": "day", "h": "hour", "m": "minute",
         "s": "second", "yr": "year", "hr": "hour", "mins": "minute", "secs": "second",
         "doy": "doy", "dow": "dow"}.get(u, u)
    if u not in allowed:
        tname = t.display()
        if what == "date_trunc":
            raise InvalidParameterValue(f'unit "{u}" not recognized for type {tname}')
        raise InvalidParameterValue(f'unit "{u}" not recognized for type {tname}')
    return u


def truncate_us(us: np.ndarray, unit: str) -> np.ndarray:
    f = fields(us)
    if unit == "microseconds":
        return us
    if unit == "milliseconds":
        return us - us % 1000
    if unit == "second":
        return us - f["us"]
    if unit == "minute":
        return us - us % (60 * US_PER_SEC)
    if unit == "hour":
        return us - us % (3600 * US_PER_SEC)
    if unit == "day":
        return f["days"] * US_PER_DAY
    if unit == "week":  # ISO week starts Monday
        return (f["days"] - (f["days"] + 3) % 7) * US_PER_DAY
    y, m = f["year"], f["month"]
    one = np.ones_like(y)
    if unit == "month":
        return days_from_civil(y, m, one) * US_PER_DAY
    if unit == "quarter":
        return days_from_civil(y, (m - 1) // 3 * 3 + 1, one) * US_PER_DAY
    if unit == "year":
        return days_from_civil(y, one, one) * US_PER_DAY
    if unit == "decade":
        return days_from_civil(y - np.mod(y, 10), one, one) * US_PER_DAY
    if unit == "century":
        return days_from_civil(((y - 1) // 100) * 100 + 1, one, one) * US_PER_DAY
    return days_from_civil(((y - 1) // 1000) * 1000 + 1, one, one) * US_PER_DAY


def _date_trunc(ctx: CallContext, args: list[Arg]) -> Arg:
    t = ctx.arg_types[1]
    unit = _unit(args[0], _TRUNC_UNITS, "date_trunc", t)
    if t.short == "interval":
        m, d, ns = interval_fields(arr(args[1], ctx.n))
        us = ns // 1000
        mask = any_null_mask(args[1:], ctx.n)
        if unit in ("year", "decade", "century", "millennium", "quarter", "month"):
            div = {"month": 1, "quarter": 3, "year": 12, "decade": 120, "century": 1200,
                   "millennium": 12000}[unit]
            return make_intervals(np.fix(m / div).astype(np.int64) * div, 0 * d, 0 * ns, mask)
        step = {"microseconds": 1, "milliseconds": 1000, "second": US_PER_SEC,
                "minute": 60 * US_PER_SEC, "hour": 3600 * US_PER_SEC}.get(unit)
        if step is None:
            return make_intervals(m, d, 0 * ns, mask)
        return make_intervals(m, d, (np.fix(us / step).astype(np.int64) * step) * 1000, mask)
    us, mask = to_us(args[1], t, ctx.n)
    out_t = TS if t.short == "date" else t
    if t.short == "timestamptz" and unit not in ("microseconds", "milliseconds", "second"):
        local, _off = to_local(us, t, ctx)  # truncate the session's wall-clock time
        return from_us(from_local(truncate_us(local, unit), ctx), out_t, mask)
    return from_us(truncate_us(us, unit), out_t, mask)


def _date_trunc_zone(ctx: CallContext, args: list[Arg]) -> Arg:
    """date_trunc(unit, timestamptz, zone): truncate the wall-clock time in `zone`."""
    t = ctx.arg_types[1]
    unit = _unit(args[0], _TRUNC_UNITS, "date_trunc", t)
    us, mask = to_us(args[1], t, ctx.n)
    zones = arr(args[2], ctx.n)
    out = np.zeros(len(us), np.int64)
    for zone in pc.unique(zones.drop_null()).to_pylist():  # one pass per distinct zone
        rows = np.asarray(pc.fill_null(pc.equal(zones, zone), False))
        local = us[rows] + zone_offsets(zone, us[rows], local=False)
        cut = truncate_us(local, unit)
        out[rows] = cut - zone_offsets(zone, cut, local=True)
    if zones.null_count:
        zmask = np.asarray(zones.is_null())
        mask = zmask if mask is None else (mask | zmask)
    return from_us(out, t, mask)


_PART_UNITS = ("microseconds", "milliseconds", "second", "minute", "hour", "day", "week",
               "month", "quarter", "year", "decade", "century", "millennium", "dow", "isodow",
               "doy", "epoch", "julian", "isoyear", "timezone", "timezone_hour",
               "timezone_minute")


def _iso_week(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ISO year, ISO week number) of day numbers."""
    dow_iso = (days + 3) % 7  # 0 = Monday
    thursday = days - dow_iso + 3
    y, _m, _d = civil_from_days(thursday)
    jan1 = days_from_civil(y, np.ones_like(y), np.ones_like(y))
    return y, (thursday - jan1) // 7 + 1


def part_values(us: np.ndarray, unit: str, is_date: bool) -> tuple[np.ndarray, int]:
    """(values as float64, display scale for numeric extract) of one field."""
    f = fields(us)
    y = f["year"]
    if unit == "microseconds":
        return (f["second"] * US_PER_SEC + f["us"]).astype(float), 0
    if unit == "milliseconds":
        return (f["second"] * 1000 + f["us"] / 1000), 3
    if unit == "second":
        return f["second"] + f["us"] / 1e6, 6
    if unit == "epoch":
        return us / 1e6, 0 if is_date else 6
    if unit == "julian":
        return (f["days"] + 2440588) + f["tod"] / US_PER_DAY, 0 if is_date else 6
    simple = {"minute": f["minute"], "hour": f["hour"], "day": f["day"], "month": f["month"],
              "year": y, "dow": f["dow"], "isodow": np.where(f["dow"] == 0, 7, f["dow"]),
              "quarter": (f["month"] - 1) // 3 + 1, "decade": np.floor_divide(y, 10),
              "century": np.where(y > 0, (y + 99) // 100, -((99 - (y - 1)) // 100)),
              "millennium": np.where(y > 0, (y + 999) // 1000, -((999 - (y - 1)) // 1000)),
              "timezone": 0 * y, "timezone_hour": 0 * y, "timezone_minute": 0 * y}
    if unit in simple:
        return simple[unit].astype(float), 0
    if unit == "doy":
        jan1 = days_from_civil(y, np.ones_like(y), np.ones_like(y))
        return (f["days"] - jan1 + 1).astype(float), 0
    iy, wk = _iso_week(f["days"])
    return (iy if unit == "isoyear" else wk).astype(float), 0


def _interval_part(m: np.ndarray, d: np.ndarray, ns: np.ndarray, unit: str) -> tuple[np.ndarray, int]:
    us = ns // 1000
    if unit == "epoch":
        years = np.fix(m / 12)
        secs = (years * 365.25 * 86400 + (m - years * 12) * 30 * 86400 + d * 86400) + us / 1e6
        return secs, 6
    vals = {"year": np.fix(m / 12), "month": m - np.fix(m / 12) * 12, "day": d,
            "hour": np.fix(us / (3600 * US_PER_SEC)), "minute": np.fix(us / (60 * US_PER_SEC)) % 60,
            "microseconds": np.fmod(us, 60 * US_PER_SEC), "quarter": (m - np.fix(m / 12) * 12) // 3 + 1,
            "decade": np.fix(m / 120), "century": np.fix(m / 1200), "millennium": np.fix(m / 12000)}
    if unit == "second":
        return np.fmod(us, 60 * US_PER_SEC) / 1e6, 6
    if unit == "milliseconds":
        return np.fmod(us, 60 * US_PER_SEC) / 1e3, 3
    if unit == "minute":
        return np.fmod(np.fix(us / (60 * US_PER_SEC)), 60), 0
    if unit not in vals:
        raise InvalidParameterValue(f'unit "{unit}" not supported for type interval')
    return vals[unit].astype(float), 0


def _part(numeric: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        t = ctx.arg_types[1]
        unit = _unit(args[0], _PART_UNITS, "date_part", t)
        mask = any_null_mask(args[1:], ctx.n)
        if t.short == "interval":
            m, d, ns = interval_fields(arr(args[1], ctx.n))
            vals, scale = _interval_part(m, d, ns, unit)
        else:
            if t.short == "time" and unit not in ("microseconds", "milliseconds", "second",
                                                  "minute", "hour", "epoch"):
                raise InvalidParameterValue(f'unit "{unit}" not supported for type {t.display()}')
            us, _ = to_us(args[1], t, ctx.n)
            local, off = to_local(us, t, ctx)
            if unit in ("timezone", "timezone_hour", "timezone_minute") and t.short == "timestamptz":
                secs = off // US_PER_SEC
                vals = {"timezone": secs, "timezone_hour": np.fix(secs / 3600),
                        "timezone_minute": np.fix(secs / 60) % 60}[unit].astype(float)
                scale = 0
            else:
                vals, scale = part_values(us if unit == "epoch" else local, unit, t.short == "date")
        m_ = mask if mask.any() else None
        if not numeric:
            return pa.array(vals, pa.float64(), mask=m_)
        from sqlvec.functions.mathfns import _float_to_numeric
        dec = _float_to_numeric(pa.array(vals, pa.float64()), 6)
        out = pc.cast(pc.round(pc.cast(dec, pa.decimal256(76, dec.type.scale)), scale,
                               round_mode="half_towards_infinity"), pa.decimal128(37 if scale else 38, scale))
        return pc.if_else(pa.array(~mask), out, pa.scalar(None, out.type)) if m_ is not None else out
    return impl


def _age(ctx: CallContext, args: list[Arg]) -> Arg:
    if len(args) == 1:
        now = _now("stmt")(ctx, []).as_py()
        midnight = int(now.timestamp() * 1e6) // US_PER_DAY * US_PER_DAY
        a_us, b_us = np.full(ctx.n, midnight, np.int64), to_us(args[0], ctx.arg_types[0], ctx.n)[0]
        mask = any_null_mask(args, ctx.n)
    else:
        a_us, _ = to_us(args[0], ctx.arg_types[0], ctx.n)
        b_us, _ = to_us(args[1], ctx.arg_types[1], ctx.n)
        mask = any_null_mask(args, ctx.n)
    fa, fb = fields(a_us), fields(b_us)
    neg = a_us < b_us
    sgn = np.where(neg, -1, 1)
    us = (fa["us"] - fb["us"]) * sgn
    sec = (fa["second"] - fb["second"]) * sgn
    mi = (fa["minute"] - fb["minute"]) * sgn
    hr = (fa["hour"] - fb["hour"]) * sgn
    dd = (fa["day"] - fb["day"]) * sgn
    mo = (fa["month"] - fb["month"]) * sgn
    yr = (fa["year"] - fb["year"]) * sgn
    for small, big, base in ((us, sec, US_PER_SEC), (sec, mi, 60), (mi, hr, 60), (hr, dd, 24)):
        b = small < 0
        small += np.where(b, base, 0)
        big -= b
    dim = np.where(neg, days_in_month(fa["year"], fa["month"]), days_in_month(fb["year"], fb["month"]))
    for _ in range(2):
        b = dd < 0
        dd += np.where(b, dim, 0)
        mo -= b
    b = mo < 0
    mo += np.where(b, 12, 0)
    yr -= b
    months = (yr * 12 + mo) * sgn
    days = dd * sgn
    time_us = (((hr * 60 + mi) * 60 + sec) * US_PER_SEC + us) * sgn
    return make_intervals(months, days, time_us * 1000, mask)


def _make_date(ctx: CallContext, args: list[Arg]) -> Arg:
    y, m, d = (pc.cast(arr(a, ctx.n), pa.int64()).fill_null(1).to_numpy(zero_copy_only=False) for a in args[:3])
    mask = any_null_mask(args, ctx.n)
    bad = ~mask & ((m < 1) | (m > 12) | (d < 1) | (d > days_in_month(np.where(y < 0, y + 1, y), m)) | (y == 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DatetimeFieldOverflow(f"date field value out of range: {y[i]}-{m[i]:02d}-{d[i]:02d}")
    y = np.where(y < 0, y + 1, y)
    days = days_from_civil(y, m, d)
    if len(args) == 3:
        return pa.array(days.astype(np.int32), pa.date32(), mask=mask if mask.any() else None)
    h, mi = (pc.cast(arr(a, ctx.n), pa.int64()).fill_null(0).to_numpy(zero_copy_only=False) for a in args[3:5])
    s = pc.cast(arr(args[5], ctx.n), pa.float64()).fill_null(0).to_numpy(zero_copy_only=False)
    us = days * US_PER_DAY + (h * 3600 + mi * 60) * US_PER_SEC + np.round(s * 1e6).astype(np.int64)
    return pa.array(us, ctx.return_type.arrow, mask=mask if mask.any() else None)


def _make_timestamptz(ctx: CallContext, args: list[Arg]) -> Arg:
    """make_timestamptz(y, m, d, h, mi, s [, zone]): the wall clock in the zone (the
    session's TimeZone when none is given) as an instant."""
    local = _make_date(ctx, args[:6])
    mask = np.asarray(pc.is_null(local)) | any_null_mask(args, ctx.n)
    us = pc.cast(local, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    if len(args) < 7:
        out = from_local(us, ctx)
    else:
        zone = args[6]
        if not isinstance(zone, pa.Scalar):
            raise FeatureNotSupported("make_timestamptz with a per-row time zone is not supported")
        out = us - zone_offsets(str(zone.as_py() or "UTC"), us, local=True) if zone.is_valid else us
    return pa.array(out, ctx.return_type.arrow, mask=mask if mask.any() else None)


def _make_time(ctx: CallContext, args: list[Arg]) -> Arg:
    h, mi = (pc.cast(arr(a, ctx.n), pa.int64()).fill_null(0).to_numpy(zero_copy_only=False) for a in args[:2])
    s = pc.cast(arr(args[2], ctx.n), pa.float64()).fill_null(0).to_numpy(zero_copy_only=False)
    us = (h * 3600 + mi * 60) * US_PER_SEC + np.round(s * 1e6).astype(np.int64)
    mask = any_null_mask(args, ctx.n)
    return pa.array(us, pa.time64("us"), mask=mask if mask.any() else None)


def _make_interval(ctx: CallContext, args: list[Arg]) -> Arg:
    vals = [pc.cast(arr(a, ctx.n), pa.float64()).fill_null(0).to_numpy(zero_copy_only=False) for a in args]
    vals += [np.zeros(ctx.n)] * (7 - len(vals))
    years, months, weeks, days, hours, mins, secs = vals
    us = np.round((hours * 3600 + mins * 60 + secs) * 1e6).astype(np.int64)
    return make_intervals((years * 12 + months).astype(np.int64), (weeks * 7 + days).astype(np.int64),
                          us * 1000, any_null_mask(args, ctx.n))


def _justify(kind: str) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        m, d, ns = interval_fields(arr(args[0], ctx.n))
        us = ns // 1000
        if kind in ("hours", "interval"):
            extra = np.fix(us / US_PER_DAY).astype(np.int64)
            d, us = d + extra, us - extra * US_PER_DAY
        if kind in ("days", "interval"):
            extra = np.fix(d / 30).astype(np.int64)
            m, d = m + extra, d - extra * 30
        if kind == "interval":  # make signs agree, as interval_justify_interval
            fix = (m > 0) & ((d < 0) | ((d == 0) & (us < 0)))
            d, m = d + 30 * fix, m - fix
            fix = (m < 0) & ((d > 0) | ((d == 0) & (us > 0)))
            d, m = d - 30 * fix, m + fix
            fix = (d > 0) & (us < 0)
            d, us = d - fix, us + fix * US_PER_DAY
            fix = (d < 0) & (us > 0)
            d, us = d + fix, us - fix * US_PER_DAY
        return make_intervals(m, d, us * 1000, any_null_mask(args, ctx.n))
    return impl


def _to_timestamp_epoch(ctx: CallContext, args: list[Arg]) -> Arg:
    x = pc.cast(arr(args[0], ctx.n), pa.float64())
    us = np.round(x.fill_null(0).to_numpy(zero_copy_only=False) * 1e6).astype(np.int64)
    return from_us(us, TSTZ, any_null_mask(args, ctx.n))


def _isfinite(ctx: CallContext, args: list[Arg]) -> Arg:
    """False for 'infinity' / '-infinity' (stored as the type's extreme values), NULL for NULL."""
    a = arr(args[0], ctx.n)
    if pa.types.is_date32(a.type):
        ints, hi, lo = pc.cast(a, pa.int32()), DATE_INFINITY, DATE_NEG_INFINITY
    elif pa.types.is_timestamp(a.type):
        ints, hi, lo = pc.cast(a.cast(pa.timestamp("us")), pa.int64()), TS_INFINITY, TS_NEG_INFINITY
    else:  # intervals are always finite in PostgreSQL 15
        return pc.if_else(pc.is_valid(a), True, pa.scalar(None, pa.bool_()))
    return pc.and_(pc.not_equal(ints, hi), pc.not_equal(ints, lo))


def register(fr: FunctionRegistry) -> None:
    """Date/time functions and operators."""
    add = fr.add
    for name in ("now", "current_timestamp", "transaction_timestamp", "statement_timestamp"):
        add(name, [], TSTZ, _now("stmt"), volatile=True)
    add("clock_timestamp", [], TSTZ, _now("clock"), volatile=True)
    add("current_date", [], DATE, _now("date"), volatile=True)
    add("localtimestamp", [], TS, _now("local"), volatile=True)
    for t in (TS, TSTZ, IV):
        add("date_trunc", [TXT, t], t, _date_trunc)
    add("date_trunc", [TXT, TSTZ, TXT], TSTZ, _date_trunc_zone)
    for t in (TS, TSTZ, DATE, TIME, IV):
        add("date_part", [TXT, t], F8, _part(False))
        add("extract", [TXT, t], NUM, _part(True))
    for t in (TS, TSTZ):
        add("age", [t, t], IV, _age)
        add("age", [t], IV, _age, volatile=True)
    add("make_date", [I4, I4, I4], DATE, _make_date)
    add("make_timestamp", [I4, I4, I4, I4, I4, F8], TS, _make_date)
    add("make_timestamptz", [I4, I4, I4, I4, I4, F8, T.TEXT], TSTZ, _make_timestamptz, min_args=6)
    add("make_time", [I4, I4, F8], TIME, _make_time)
    add("make_interval", [I4, I4, I4, I4, I4, I4, F8], IV, _make_interval, min_args=0)
    add("justify_hours", [IV], IV, _justify("hours"))
    add("justify_days", [IV], IV, _justify("days"))
    add("justify_interval", [IV], IV, _justify("interval"))
    add("to_timestamp", [F8], TSTZ, _to_timestamp_epoch)
    for t in (DATE, TS, TSTZ, IV):
        add("isfinite", [t], T.BOOL, _isfinite)
