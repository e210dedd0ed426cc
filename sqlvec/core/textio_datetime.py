"""PostgreSQL text input/output for date, time, timestamp[tz] and interval, vectorised.

Dates and timestamps are parsed with one RE2 pattern over the whole array
(pyarrow.compute.extract_regex) and assembled with numpy civil-date arithmetic, so no
Python code runs per row. Intervals are parsed per distinct value (their grammar is
too irregular for one regex) and formatted with vectorised string building.

    >>> format_timestamp(pa.array([0], pa.timestamp("us"))).to_pylist()
    ['1970-01-01 00:00:00']
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core.errors import DatetimeFieldOverflow, InvalidDatetimeFormat

US_PER_DAY = 86_400_000_000
US_PER_SEC = 1_000_000
# 'infinity' / '-infinity' are stored as the extreme values, as PostgreSQL does
TS_INFINITY, TS_NEG_INFINITY = 2**63 - 1, -(2**63)
DATE_INFINITY, DATE_NEG_INFINITY = 2**31 - 1, -(2**31)

_TS_RE = (
    r"^\s*(?P<y>\d{4,})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:(?:T|\s+)(?P<H>\d{1,2}):(?P<M>\d{1,2})(?::(?P<S>\d{1,2})(?:\.(?P<f>\d{0,9}))?)?)?"
    r"\s*(?P<tz>Z|z|UTC|utc|GMT|gmt|[+-]\d{1,2}(?::?\d{2})?(?::?\d{2})?)?"
    r"\s*(?P<bc>BC|bc|AD|ad)?\s*$"
)
_TIME_RE = (
    r"^\s*(?P<H>\d{1,2}):(?P<M>\d{1,2})(?::(?P<S>\d{1,2})(?:\.(?P<f>\d{0,9}))?)?\s*$"
)


def days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (Howard Hinnant's algorithm)."""
    y = y.astype(np.int64) - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m.astype(np.int64) + 9) % 12
    doy = (153 * mp + 2) // 5 + d.astype(np.int64) - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) arrays from days since 1970-01-01."""
    z = z.astype(np.int64) + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    return y + (m <= 2), m, d


def _days_in_month(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    table = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    return table[np.clip(m - 1, 0, 11)] + ((m == 2) & leap)


def _field(parts: pa.StructArray, name: str, default: int = 0) -> np.ndarray:
    col = parts.field(name)
    filled = pc.if_else(pc.equal(col, ""), str(default), col)
    return pc.cast(pc.fill_null(filled, str(default)), pa.int64()).to_numpy(zero_copy_only=False)


def _raise_first_bad(arr: pa.Array, ok: np.ndarray, kind: str) -> None:
    bad = np.flatnonzero(~ok)
    if bad.size:
        raise InvalidDatetimeFormat(
            f'invalid input syntax for type {kind}: "{arr[int(bad[0])].as_py()}"'
        )


def _special(arr: pa.Array, kind: str) -> pa.Array:
    """Replace 'epoch' / 'infinity' style specials PostgreSQL accepts for dates/timestamps."""
    low = pc.utf8_lower(pc.utf8_trim_whitespace(arr))
    if kind == "date":
        epoch = "1970-01-01"
    else:
        epoch = "1970-01-01 00:00:00+00" if kind.endswith("with time zone") else "1970-01-01 00:00:00"
    return pc.if_else(pc.equal(low, "epoch"), epoch, arr)


_FALLBACK_FORMATS = (
    "%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%Y%m%d", "%Y%m%d %H%M%S", "%Y%m%dT%H%M%S",
    "%b %d %Y", "%b %d, %Y", "%B %d %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S", "%b %d %Y %H:%M:%S", "%a %b %d %H:%M:%S %Y", "%d-%b-%Y", "%Y-%b-%d",
    "%Y.%m.%d", "%b %d %H:%M:%S %Y",
)


def _fallback_iso(text: str, kind: str) -> str | None:
    """Other spellings PostgreSQL accepts (DateStyle ISO, MDY; 'today', 'now', 'Jan 2 2024')
    rewritten to ISO text, or None."""
    import datetime as dt
    import time as _time
    t = " ".join(text.strip().split())
    low = t.lower()
    if low in ("now", "today", "tomorrow", "yesterday"):
        now = dt.datetime.fromtimestamp(_time.time(), dt.UTC).replace(tzinfo=None)
        if low != "now":
            now = now.replace(hour=0, minute=0, second=0, microsecond=0)
            now += dt.timedelta(days={"today": 0, "tomorrow": 1, "yesterday": -1}[low])
        return now.isoformat(sep=" ")
    zone = ""
    m = re.search(r"\s*(Z|UTC|GMT|[+-]\d{1,2}(?::?\d{2})?)$", t)
    if m and kind != "date":
        zone, t = m.group(1), t[:m.start()]
    for fmt in _FALLBACK_FORMATS:
        try:
            v = dt.datetime.strptime(t, fmt)
        except ValueError:
            continue
        return v.isoformat(sep=" ") + zone
    return None


def _split_ts(arr: pa.Array, kind: str) -> tuple[pa.StructArray, pa.Array]:
    """Regex fields of ISO date/timestamp text; other accepted spellings are rewritten to
    ISO first (once per distinct value). Returns the fields and the (rewritten) input."""
    arr = _special(arr, kind)
    parts = pc.extract_regex(arr, _TS_RE)
    ok = ~(np.asarray(pc.is_null(parts)) & np.asarray(pc.is_valid(arr)))
    if not ok.all():
        bad = np.flatnonzero(~ok)
        texts = arr.take(pa.array(bad)).to_pylist()
        fixed = {x: _fallback_iso(x, kind) for x in set(texts)}
        if all(v is not None for v in fixed.values()):
            vals = np.array(arr.to_pylist(), dtype=object)
            vals[bad] = [fixed[x] for x in texts]
            arr = pa.array(vals, pa.string())
            parts = pc.extract_regex(arr, _TS_RE)
            ok = ~(np.asarray(pc.is_null(parts)) & np.asarray(pc.is_valid(arr)))
    _raise_first_bad(arr, ok, kind)
    return parts, arr


def _date_days(parts: pa.StructArray, arr: pa.Array, kind: str) -> np.ndarray:
    y, m, d = _field(parts, "y", 1970), _field(parts, "m", 1), _field(parts, "d", 1)
    bc = np.asarray(pc.equal(pc.utf8_upper(pc.fill_null(parts.field("bc"), "")), "BC"))
    y = np.where(bc, 1 - y, y)
    valid = np.asarray(pc.is_valid(arr))
    bad = valid & ((m < 1) | (m > 12) | (d < 1) | (d > _days_in_month(y, m)))
    if bad.any():
        raise DatetimeFieldOverflow(
            f'date/time field value out of range: "{arr[int(np.flatnonzero(bad)[0])].as_py()}"'
        )
    return days_from_civil(y, m, d)


def _time_us(parts: pa.StructArray, arr: pa.Array) -> np.ndarray:
    hh, mi, ss = _field(parts, "H"), _field(parts, "M"), _field(parts, "S")
    frac = pc.fill_null(parts.field("f"), "")
    frac = pc.utf8_slice_codeunits(pc.binary_join_element_wise(frac, "000000", ""), 0, 7)
    fus = pc.cast(pc.utf8_slice_codeunits(frac, 0, 6), pa.int64()).to_numpy(zero_copy_only=False)
    round_up = np.asarray(pc.greater_equal(pc.utf8_slice_codeunits(frac, 6, 7), "5"))
    valid = np.asarray(pc.is_valid(arr))
    bad = valid & ((hh > 24) | (mi > 59) | (ss > 60) | ((hh == 24) & ((mi > 0) | (ss > 0) | (fus > 0))))
    if bad.any():
        raise DatetimeFieldOverflow(
            f'date/time field value out of range: "{arr[int(np.flatnonzero(bad)[0])].as_py()}"'
        )
    return ((hh * 60 + mi) * 60 + ss) * US_PER_SEC + fus + round_up


def _tz_offset_us(parts: pa.StructArray) -> tuple[np.ndarray, np.ndarray]:
    """(offset in microseconds east of UTC, whether a zone was given) per row."""
    tz = pc.fill_null(parts.field("tz"), "")
    given = np.asarray(pc.not_equal(tz, ""))
    sign = np.where(np.asarray(pc.starts_with(tz, "-")), -1, 1)
    digits = pc.replace_substring_regex(tz, r"[^0-9]", "")
    digits = pc.if_else(pc.equal(digits, ""), "0", digits)
    # '+5' / '+05' hours; '+0530' hhmm; '+053000' hhmmss
    n = pc.utf8_length(digits).to_numpy(zero_copy_only=False)
    v = pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)
    secs = np.where(n <= 2, v * 3600, np.where(n <= 4, (v // 100) * 3600 + (v % 100) * 60,
                    (v // 10000) * 3600 + (v // 100 % 100) * 60 + v % 100))
    return sign * secs * US_PER_SEC, given


def _with_nulls(values: np.ndarray, arr: pa.Array, typ: pa.DataType) -> pa.Array:
    mask = np.asarray(pc.is_null(arr))
    return pa.array(values, type=typ, mask=mask if mask.any() else None)


def _infinities(arr: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """Masks of 'infinity' / '-infinity' inputs (None when there are none)."""
    low = pc.utf8_lower(pc.utf8_trim_whitespace(arr))
    pos = np.asarray(pc.fill_null(pc.is_in(low, pa.array(["infinity", "+infinity"])), False))
    neg = np.asarray(pc.fill_null(pc.equal(low, "-infinity"), False))
    return (pos, neg) if pos.any() or neg.any() else None


def _with_infinities(parse, arr: pa.Array, hi: int, lo: int, typ: pa.DataType) -> pa.Array:
    inf = _infinities(arr)
    if inf is None:
        return parse(arr)
    pos, neg = inf
    rest = pc.if_else(pa.array(pos | neg), pa.scalar(None, pa.string()), arr)
    parsed = parse(rest)
    storage = pa.int32() if pa.types.is_date32(typ) else pa.int64()
    base = pc.cast(parsed.view(storage) if pa.types.is_date32(typ) else parsed, storage)
    vals = np.where(pos, hi, np.where(neg, lo, base.fill_null(0).to_numpy(zero_copy_only=False)))
    mask = np.asarray(pc.is_null(arr))
    out = pa.array(vals.astype(np.int32 if storage == pa.int32() else np.int64), storage,
                   mask=mask if mask.any() else None)
    return out.view(typ) if pa.types.is_date32(typ) else pc.cast(out, typ)


def parse_date(arr: pa.Array) -> pa.Array:
    """Text to date32: 'YYYY-MM-DD' (a time part is accepted and dropped, as PostgreSQL)."""
    def parse(a: pa.Array) -> pa.Array:
        parts, a = _split_ts(a, "date")
        return _with_nulls(_date_days(parts, a, "date").astype(np.int32), a, pa.date32())
    return _with_infinities(parse, arr, DATE_INFINITY, DATE_NEG_INFINITY, pa.date32())


def _fast_iso(arr: pa.Array, tz: bool) -> pa.Array | None:
    """Arrow's ISO-8601 parser for the common canonical forms (None when it declines)."""
    try:
        if not tz:
            return pc.cast(arr, pa.timestamp("us"))
        try:
            return pc.cast(arr, pa.timestamp("us", tz="UTC"))
        except pa.ArrowInvalid:
            return pc.cast(pc.cast(arr, pa.timestamp("us")), pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def parse_timestamp(arr: pa.Array, *, tz: bool, timezone: str = "UTC") -> pa.Array:
    """Text to timestamp[us] (tz=False: a zone is ignored) or timestamp[us, UTC] (tz=True;
    text without a zone is local time in the session's TimeZone)."""
    typ = pa.timestamp("us", tz="UTC") if tz else pa.timestamp("us")
    if _infinities(arr) is not None:
        return _with_infinities(lambda a: _parse_timestamp(a, tz=tz, timezone=timezone), arr,
                                TS_INFINITY, TS_NEG_INFINITY, typ)
    return _parse_timestamp(arr, tz=tz, timezone=timezone)


def _parse_timestamp(arr: pa.Array, *, tz: bool, timezone: str = "UTC") -> pa.Array:
    fast = _fast_iso(arr, tz) if _is_utc(timezone) or not tz else None
    if fast is not None:
        return fast
    kind = "timestamp with time zone" if tz else "timestamp"
    parts, arr = _split_ts(arr, kind)
    us = _date_days(parts, arr, kind) * US_PER_DAY + _time_us(parts, arr)
    if tz:
        off, given = _tz_offset_us(parts)
        if not _is_utc(timezone) and not given.all():  # no zone written: session TimeZone
            local_off = zone_offsets(timezone, us, local=True)
            off = np.where(given, off, local_off)
        us = us - off
    return _with_nulls(us, arr, pa.timestamp("us", tz="UTC") if tz else pa.timestamp("us"))


def parse_time(arr: pa.Array) -> pa.Array:
    """Text to time64[us]: 'HH:MM[:SS[.ffffff]]'."""
    parts = pc.extract_regex(arr, _TIME_RE)
    ok = ~(np.asarray(pc.is_null(parts)) & np.asarray(pc.is_valid(arr)))
    _raise_first_bad(arr, ok, "time without time zone")
    return _with_nulls(_time_us(parts, arr), arr, pa.time64("us"))


def _pad(a: pa.Array | np.ndarray, width: int) -> pa.Array:
    s = pc.cast(pa.array(a) if isinstance(a, np.ndarray) else a, pa.string())
    return pc.utf8_lpad(s, width, "0")


def _frac_text(us_in_sec: np.ndarray) -> pa.Array:
    """'.123' style fraction with trailing zeros trimmed ('' when zero)."""
    frac = pc.binary_join_element_wise(".", _pad(us_in_sec, 6), "")
    frac = pc.replace_substring_regex(frac, r"0+$", "")
    return pc.if_else(pc.equal(frac, "."), "", frac)


def _hms_text(us: np.ndarray) -> pa.Array:
    secs = us // US_PER_SEC
    hh, mi, ss = secs // 3600, secs // 60 % 60, secs % 60
    return pc.binary_join_element_wise(
        _pad(hh, 2), ":", _pad(mi, 2), ":", _pad(ss, 2), _frac_text(us % US_PER_SEC), ""
    )


def _date_text(days: np.ndarray) -> pa.Array:
    y, m, d = civil_from_days(days)
    bc = y <= 0
    yy = np.where(bc, 1 - y, y)
    out = pc.binary_join_element_wise(_pad(yy, 4), "-", _pad(m, 2), "-", _pad(d, 2), "")
    if bc.any():
        out = pc.if_else(pa.array(bc), pc.binary_join_element_wise(out, " BC", ""), out)
    return out


def _restore_nulls(out: pa.Array, arr: pa.Array) -> pa.Array:
    if arr.null_count:
        return pc.if_else(pc.is_null(arr), pa.scalar(None, pa.string()), out)
    return out


def _mark_infinities(out: pa.Array, raw: np.ndarray, hi: int, lo: int) -> pa.Array:
    if (raw == hi).any() or (raw == lo).any():
        out = pc.if_else(pa.array(raw == hi), "infinity", out)
        out = pc.if_else(pa.array(raw == lo), "-infinity", out)
    return out


def format_date(arr: pa.Array) -> pa.Array:
    days = arr.view(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    special = (days == DATE_INFINITY) | (days == DATE_NEG_INFINITY)
    out = _date_text(np.where(special, 0, days))
    return _restore_nulls(_mark_infinities(out, days, DATE_INFINITY, DATE_NEG_INFINITY), arr)


def format_time(arr: pa.Array) -> pa.Array:
    us = pc.cast(arr, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    return _restore_nulls(_hms_text(us), arr)


_MIN_FAST_US = -62135596800000000  # 0001-01-01
_MAX_FAST_US = 253402300799999999  # 9999-12-31 23:59:59.999999


def zone_offsets(name: str, us: np.ndarray, *, local: bool) -> np.ndarray:
    """UTC offsets (microseconds east) of a time zone name or '+05'-style POSIX offset at each
    instant (local=False) or local wall time (local=True); looked up once per distinct hour."""
    import datetime as _dt
    import re as _re
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from sqlvec.core.errors import InvalidParameterValue

    m = _re.fullmatch(r"\s*(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?\s*", name or "")
    if m:  # POSIX sign convention: 'UTC+5' / '+5' means 5 hours WEST of Greenwich
        sec = (int(m.group(2)) * 3600 + int(m.group(3) or 0) * 60) * (1 if m.group(1) == "-" else -1)
        return np.full(len(us), sec * US_PER_SEC, np.int64)
    if (name or "").upper() in ("UTC", "GMT", "Z", "ZULU", "ETC/UTC", "UCT"):
        return np.zeros(len(us), np.int64)
    try:
        tz = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidParameterValue(f'time zone "{name}" not recognized') from None
    hours = np.floor_divide(us, 3600 * US_PER_SEC)
    uniq, inv = np.unique(hours, return_inverse=True)
    offs = []
    for h in uniq.tolist():  # once per distinct hour
        when = _dt.datetime(1970, 1, 1) + _dt.timedelta(hours=h)
        if local:
            off = when.replace(tzinfo=tz).utcoffset()
        else:
            off = when.replace(tzinfo=_dt.UTC).astimezone(tz).utcoffset()
        offs.append(int(off.total_seconds()) * US_PER_SEC if off else 0)
    return np.array(offs, np.int64)[inv]


def _is_utc(timezone: str | None) -> bool:
    return not timezone or timezone.upper() in ("UTC", "GMT", "ETC/UTC", "Z", "ZULU", "UCT")


def _offset_text(off_us: np.ndarray) -> pa.Array:
    """'+01', '-05', '+05:30', '+00:09:21' as PostgreSQL prints UTC offsets."""
    secs = off_us // US_PER_SEC
    sign = np.where(secs < 0, "-", "+")
    a = np.abs(secs)
    hh, mm, ss = a // 3600, a // 60 % 60, a % 60
    txt = pc.binary_join_element_wise(pa.array(sign), _pad(hh, 2), "")
    with_m = pc.binary_join_element_wise(txt, ":", _pad(mm, 2), "")
    with_s = pc.binary_join_element_wise(with_m, ":", _pad(ss, 2), "")
    return pc.if_else(pa.array(ss != 0), with_s, pc.if_else(pa.array(mm != 0), with_m, txt))


def format_timestamp(arr: pa.Array, timezone: str = "UTC") -> pa.Array:
    """timestamp[unit, tz?] to PostgreSQL text; timestamptz is shown in the session's
    TimeZone with its offset ('+00' for UTC, '+02' for Europe/Paris in summer)."""
    raw = pc.cast(arr, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False) \
        if arr.type.unit == "us" else None
    if raw is not None and ((raw == TS_INFINITY) | (raw == TS_NEG_INFINITY)).any():
        special = (raw == TS_INFINITY) | (raw == TS_NEG_INFINITY)
        finite = pa.array(np.where(special, 0, raw), arr.type,
                          mask=np.asarray(pc.is_null(arr)) if arr.null_count else None)
        out = _mark_infinities(format_timestamp(finite, timezone), raw, TS_INFINITY, TS_NEG_INFINITY)
        return _restore_nulls(out, arr)
    tz = arr.type.tz is not None
    if tz and not _is_utc(timezone):
        us = pc.cast(pc.cast(arr, pa.timestamp("us", tz=arr.type.tz)), pa.int64())
        us = us.fill_null(0).to_numpy(zero_copy_only=False)
        off = zone_offsets(timezone, us, local=False)
        local = pa.array(us + off, pa.timestamp("us"),
                         mask=np.asarray(pc.is_null(arr)) if arr.null_count else None)
        out = pc.binary_join_element_wise(format_timestamp(local), _offset_text(off), "")
        return _restore_nulls(out, arr)
    us_arr = pc.cast(pc.cast(arr, pa.timestamp("us", tz=arr.type.tz)), pa.int64())
    mm = pc.min_max(us_arr)
    lo, hi = mm["min"].as_py(), mm["max"].as_py()
    if lo is None or (lo >= _MIN_FAST_US and hi <= _MAX_FAST_US):
        # years 1..9999: Arrow's strftime, then trim the fraction's trailing zeros
        txt = pc.cast(pc.cast(arr, pa.timestamp("us")), pa.string())  # 'YYYY-MM-DD HH:MM:SS.ffffff'
        txt = pc.replace_substring_regex(txt, r"\.?0+$", "")
        if tz:
            txt = pc.binary_join_element_wise(txt, "+00", "")
        return txt
    us = pc.cast(pc.cast(arr, pa.timestamp("us", tz=arr.type.tz)), pa.int64())
    us = us.fill_null(0).to_numpy(zero_copy_only=False)
    days = np.floor_divide(us, US_PER_DAY)
    tod = us - days * US_PER_DAY
    y, _m, _d = civil_from_days(days)
    date = _date_text(days)
    bc = y <= 0
    if bc.any():  # ' BC' goes after the time
        date = pc.replace_substring(date, " BC", "")
    out = pc.binary_join_element_wise(date, " ", _hms_text(tod), "+00" if tz else "", "")
    if bc.any():
        out = pc.if_else(pa.array(bc), pc.binary_join_element_wise(out, " BC", ""), out)
    return _restore_nulls(out, arr)


# ---- intervals -------------------------------------------------------------------

_UNITS = {
    "microsecond": ("us", 1), "microseconds": ("us", 1), "us": ("us", 1), "usec": ("us", 1),
    "usecs": ("us", 1),
    "millisecond": ("us", 1000), "milliseconds": ("us", 1000), "ms": ("us", 1000),
    "msec": ("us", 1000), "msecs": ("us", 1000),
    "second": ("us", US_PER_SEC), "seconds": ("us", US_PER_SEC), "sec": ("us", US_PER_SEC),
    "secs": ("us", US_PER_SEC), "s": ("us", US_PER_SEC),
    "minute": ("us", 60 * US_PER_SEC), "minutes": ("us", 60 * US_PER_SEC),
    "min": ("us", 60 * US_PER_SEC), "mins": ("us", 60 * US_PER_SEC), "m": ("us", 60 * US_PER_SEC),
    "hour": ("us", 3600 * US_PER_SEC), "hours": ("us", 3600 * US_PER_SEC),
    "hr": ("us", 3600 * US_PER_SEC), "hrs": ("us", 3600 * US_PER_SEC),
    "h": ("us", 3600 * US_PER_SEC),
    "day": ("d", 1), "days": ("d", 1), "d": ("d", 1),
    "week": ("d", 7), "weeks": ("d", 7), "w": ("d", 7),
    "month": ("mon", 1), "months": ("mon", 1), "mon": ("mon", 1), "mons": ("mon", 1),
    "year": ("mon", 12), "years": ("mon", 12), "y": ("mon", 12), "yr": ("mon", 12),
    "yrs": ("mon", 12),
    "decade": ("mon", 120), "decades": ("mon", 120),
    "century": ("mon", 1200), "centuries": ("mon", 1200),
    "millennium": ("mon", 12000), "millennia": ("mon", 12000),
}
_TOKEN = re.compile(r"(?P<t>[+-]?\d+:\d+(?::\d+(?:\.\d*)?)?)|(?P<n>[+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*(?P<u>[a-z]+)?")
_ISO = re.compile(
    r"^P(?:(?P<Y>-?\d+(?:\.\d+)?)Y)?(?:(?P<Mo>-?\d+(?:\.\d+)?)M)?(?:(?P<W>-?\d+(?:\.\d+)?)W)?"
    r"(?:(?P<D>-?\d+(?:\.\d+)?)D)?(?:T(?:(?P<H>-?\d+(?:\.\d+)?)H)?(?:(?P<Mi>-?\d+(?:\.\d+)?)M)?"
    r"(?:(?P<S>-?\d+(?:\.\d+)?)S)?)?$"
)


_SPACED_SIGN = re.compile(r"(?<![\d.])([+-])\s+(?=\d)")


def parse_interval_value(text: str) -> tuple[int, int, int]:
    """One interval literal to (months, days, microseconds), PostgreSQL's lenient syntax.

    >>> parse_interval_value('1 day 02:00:00')
    (0, 1, 7200000000)
    """
    s = text.strip().lower()
    bad = InvalidDatetimeFormat(f'invalid input syntax for type interval: "{text}"')
    if not s:
        raise bad
    iso = _ISO.match(s.upper())
    if iso and s.startswith("p"):
        g = {k: float(v) if v else 0.0 for k, v in iso.groupdict().items()}
        months = g["Y"] * 12 + g["Mo"]
        days = g["W"] * 7 + g["D"] + (months - int(months)) * 30
        us = (days - int(days)) * US_PER_DAY + (g["H"] * 3600 + g["Mi"] * 60 + g["S"]) * US_PER_SEC
        return int(months), int(days), round(us)
    ago = False
    if s.startswith("@"):
        s = s[1:].strip()
    if s.endswith(" ago"):
        ago, s = True, s[:-4].strip()
    s = _SPACED_SIGN.sub(r"\1", s)  # '1 month - 1 day': a sign may stand apart from its number
    months = days = 0
    us = 0.0
    pos = 0
    while pos < len(s):
        if s[pos].isspace() or s[pos] == ",":
            pos += 1
            continue
        m = _TOKEN.match(s, pos)
        if not m:
            raise bad
        pos = m.end()
        if m.group("t"):  # [-]HH:MM[:SS[.f]]
            t = m.group("t")
            neg = t.startswith("-")
            bits = t.lstrip("+-").split(":")
            val = int(bits[0]) * 3600 + int(bits[1]) * 60 + (float(bits[2]) if len(bits) > 2 else 0)
            us += (-val if neg else val) * US_PER_SEC
            continue
        num = float(m.group("n"))
        unit = m.group("u")
        if unit is None:  # bare number: seconds
            us += num * US_PER_SEC
            continue
        if unit not in _UNITS:
            raise bad
        kind, mult = _UNITS[unit]
        if kind == "mon":
            whole = num * mult
            months += int(whole)
            frac_days = (whole - int(whole)) * 30
            days += int(frac_days)
            us += (frac_days - int(frac_days)) * US_PER_DAY
        elif kind == "d":
            whole = num * mult
            days += int(whole)
            us += (whole - int(whole)) * US_PER_DAY
        else:
            us += num * mult
    if ago:
        return -months, -days, -round(us)
    return months, days, round(us)


def parse_interval(arr: pa.Array) -> pa.Array:
    """Text to month_day_nano_interval; parsed once per distinct value."""
    enc = pc.dictionary_encode(arr).combine_chunks() if isinstance(arr, pa.ChunkedArray) else pc.dictionary_encode(arr)
    values = [pa.MonthDayNano([mo, d, us * 1000]) for mo, d, us in
              (parse_interval_value(v) for v in enc.dictionary.to_pylist())]
    dict_arr = pa.array(values, type=pa.month_day_nano_interval())
    return dict_arr.take(enc.indices)


def interval_fields(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(months int32, days int32, nanoseconds int64) numpy views of an interval array."""
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    dt = np.dtype([("m", "<i4"), ("d", "<i4"), ("ns", "<i8")])
    buf = arr.buffers()[1] if len(arr) else None
    if buf is None or buf.size < (len(arr) + arr.offset) * 16:
        z = np.zeros(len(arr), np.int64)
        if not len(arr) or arr.null_count == len(arr):
            return z, z.copy(), z.copy()
        arr = pa.concat_arrays([arr])  # a fresh, fully materialised copy
        buf = arr.buffers()[1]
    rec = np.frombuffer(buf, dtype=dt, count=len(arr) + arr.offset)[arr.offset:]
    return rec["m"].astype(np.int64), rec["d"].astype(np.int64), rec["ns"].astype(np.int64)


def make_intervals(months: np.ndarray, days: np.ndarray, ns: np.ndarray,
                   mask: np.ndarray | None = None) -> pa.Array:
    """Build a month_day_nano_interval array from numpy fields (no per-row Python)."""
    n = len(months)
    rec = np.empty(n, dtype=[("m", "<i4"), ("d", "<i4"), ("ns", "<i8")])
    rec["m"], rec["d"], rec["ns"] = months, days, ns
    validity = None
    null_count = 0
    if mask is not None and mask.any():
        validity = pa.py_buffer(np.packbits(~mask, bitorder="little"))
        null_count = int(mask.sum())
    return pa.Array.from_buffers(pa.month_day_nano_interval(), n,
                                 [validity, pa.py_buffer(rec.tobytes())], null_count=null_count)


def _unit_text(v: np.ndarray, unit: str) -> pa.Array:
    """'N unit' / 'N units' pieces ('' where v == 0), PostgreSQL plural rules."""
    txt = pc.binary_join_element_wise(
        pc.cast(pa.array(v), pa.string()), " " + unit, pa.array(np.where(v == 1, "", "s")), "")
    return pc.if_else(pa.array(v != 0), txt, "")


def format_interval(arr: pa.Array) -> pa.Array:
    """Interval to PostgreSQL 'postgres' style: '1 year 2 mons 3 days 04:05:06.5'.

    As EncodeInterval: a positive field right after a negative one gets a '+' sign."""
    months, days, ns = interval_fields(arr)
    us = ns // 1000
    years = np.fix(months / 12).astype(np.int64)
    mons = months - years * 12
    before_mons = years < 0
    before_days = np.where(mons != 0, mons < 0, before_mons)
    before_time = np.where(days != 0, days < 0, before_days)
    y_txt = _unit_text(years, "year")
    m_txt = pc.if_else(pa.array(mons != 0), pc.binary_join_element_wise(
        pa.array(np.where(before_mons & (mons > 0), "+", "")),
        pc.cast(pa.array(mons), pa.string()), pa.array(np.where(mons == 1, " mon", " mons")), ""), "")
    d_txt = pc.binary_join_element_wise(pa.array(np.where(before_days & (days > 0), "+", "")),
                                        _unit_text(days, "day"), "")
    neg = us < 0
    t_txt = _hms_text(np.abs(us))
    sign = np.where(neg, "-", np.where(before_time, "+", ""))
    t_txt = pc.binary_join_element_wise(pa.array(sign), t_txt, "")
    has_date = (years != 0) | (mons != 0) | (days != 0)
    t_txt = pc.if_else(pa.array((us == 0) & has_date), "", t_txt)
    out = pc.binary_join_element_wise(y_txt, m_txt, d_txt, t_txt, " ")
    out = pc.utf8_trim(pc.replace_substring_regex(out, r" +", " "), " ")
    return _restore_nulls(out, arr)
