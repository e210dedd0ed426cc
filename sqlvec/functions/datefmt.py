"""to_char / to_date / to_timestamp with PostgreSQL template patterns.

to_char(timestamp, fmt) tokenises the (constant) template once and builds each piece as a
vectorised string column from numpy calendar fields. to_char(number, fmt) and the parsing
functions run once per distinct value. Supported: YYYY YYY YY Y MM DD DDD D HH HH12 HH24
MI SS MS US AM PM A.M. P.M. Month MONTH month Mon MON mon Day DAY day Dy DY dy Q WW IW
IYYY J TZ, the FM and TH modifiers and "quoted text"; numbers: 9 0 . , D G S MI PR FM.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import FeatureNotSupported, InvalidDatetimeFormat
from sqlvec.core.textio_datetime import US_PER_DAY, US_PER_SEC, days_from_civil
from sqlvec.functions.datetimefns import _iso_week, fields, from_us, session_tz, to_local, to_us
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry
from sqlvec.functions.vec import any_null_mask, arr, map_distinct

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_TOKENS = sorted([
    "HH24", "HH12", "HH", "MI", "SS", "MS", "US", "YYYY", "YYY", "YY", "Y", "IYYY", "MONTH",
    "Month", "month", "MON", "Mon", "mon", "MM", "DAY", "Day", "day", "DY", "Dy", "dy", "DDD",
    "DD", "D", "AM", "PM", "am", "pm", "A.M.", "P.M.", "a.m.", "p.m.", "Q", "WW", "IW", "J",
    "TZ", "tz", "OF",
], key=len, reverse=True)


def tokenize(fmt: str) -> list[tuple[str, str, bool, bool]]:
    """Template to [(kind, text, fill_mode, th_suffix)]; kind 'lit' or a pattern name."""
    out: list[tuple[str, str, bool, bool]] = []
    i = 0
    bare = False
    while i < len(fmt):
        if fmt[i] == '"':
            j = fmt.find('"', i + 1)
            j = len(fmt) if j < 0 else j
            out.append(("lit", fmt[i + 1:j], False, False))
            i = j + 1
            continue
        fm = False
        if fmt.startswith(("FM", "TM"), i) and not bare:  # TM (translation mode): no padding too
            fm, i = True, i + 2
        bare = False
        for tok in _TOKENS:
            if fmt.startswith(tok, i):
                i += len(tok)
                th = fmt.startswith(("TH", "th"), i)
                text = tok
                if th:
                    text = fmt[i:i + 2]  # the suffix's case decides 'TH' / 'th'
                    i += 2
                out.append((tok, text, fm, th))
                break
        else:
            if fm:  # a prefix without a keyword: what follows is read without prefixes
                bare = True
                continue
            out.append(("lit", fmt[i], False, False))
            i += 1
    return out


def _num(v: np.ndarray, width: int, fm: bool) -> pa.Array:
    s = pc.cast(pa.array(v.astype(np.int64)), pa.string())
    return s if fm else pc.utf8_lpad(s, width, "0")


def _name(v: np.ndarray, names: list[str], style: str, fm: bool, short: bool) -> pa.Array:
    table = [n[:3] if short else n for n in names]
    if style.isupper():
        table = [n.upper() for n in table]
    elif style.islower():
        table = [n.lower() for n in table]
    if not short and not fm:
        table = [n.ljust(9) for n in table]
    return pa.array(np.array(table, dtype=object)[v])


def _ordinal(s: pa.Array, v: np.ndarray, upper: bool) -> pa.Array:
    suf = np.where((v % 100 >= 11) & (v % 100 <= 13), "th",
                   np.choose(np.clip(v % 10, 0, 4), ["th", "st", "nd", "rd", "th"]))
    suf = np.where(v % 10 > 3, "th", suf)
    if upper:
        suf = np.char.upper(suf.astype(str))
    return pc.binary_join_element_wise(s, pa.array(suf.astype(str)), "")


def format_timestamps(us: np.ndarray, fmt: str, is_tz: bool, offsets: np.ndarray | None = None,
                      zone: str = "UTC") -> pa.Array:
    f = fields(us)
    pieces: list[pa.Array | str] = []
    hour12 = np.where(f["hour"] % 12 == 0, 12, f["hour"] % 12)
    for kind, text, fm, th in tokenize(fmt):
        if kind == "lit":
            pieces.append(text)
            continue
        val: np.ndarray | None = None
        if kind == "YYYY":
            val, piece = f["year"], _num(f["year"], 4, fm)
        elif kind in ("YYY", "YY", "Y"):
            k = len(kind)
            val = f["year"] % (10 ** k)
            piece = _num(val, k, fm)
        elif kind == "IYYY":
            val = _iso_week(f["days"])[0]
            piece = _num(val, 4, fm)
        elif kind == "MM":
            val, piece = f["month"], _num(f["month"], 2, fm)
        elif kind == "DD":
            val, piece = f["day"], _num(f["day"], 2, fm)
        elif kind == "DDD":
            jan1 = days_from_civil(f["year"], np.ones_like(f["year"]), np.ones_like(f["year"]))
            val = f["days"] - jan1 + 1
            piece = _num(val, 3, fm)
        elif kind == "D":
            val = f["dow"] + 1
            piece = _num(val, 1, True)
        elif kind in ("HH", "HH12"):
            val, piece = hour12, _num(hour12, 2, fm)
        elif kind == "HH24":
            val, piece = f["hour"], _num(f["hour"], 2, fm)
        elif kind == "MI":
            val, piece = f["minute"], _num(f["minute"], 2, fm)
        elif kind == "SS":
            val, piece = f["second"], _num(f["second"], 2, fm)
        elif kind == "MS":
            piece = _num(f["us"] // 1000, 3, fm)
        elif kind == "US":
            piece = _num(f["us"], 6, fm)
        elif kind in ("AM", "PM", "am", "pm", "A.M.", "P.M.", "a.m.", "p.m."):
            pm = f["hour"] >= 12
            dotted = "." in kind
            a, p = ("A.M.", "P.M.") if dotted else ("AM", "PM")
            if kind.islower() or kind[0].islower():
                a, p = a.lower(), p.lower()
            piece = pa.array(np.where(pm, p, a))
        elif kind.lower() == "month":
            piece = _name(f["month"] - 1, MONTHS, kind if kind != "Month" else "Xx", fm, False)
        elif kind.lower() == "mon":
            piece = _name(f["month"] - 1, MONTHS, kind if kind != "Mon" else "Xx", fm, True)
        elif kind.lower() == "day":
            piece = _name(f["dow"], DAYS, kind if kind != "Day" else "Xx", fm, False)
        elif kind.lower() == "dy":
            piece = _name(f["dow"], DAYS, kind if kind != "Dy" else "Xx", fm, True)
        elif kind == "Q":
            val = (f["month"] - 1) // 3 + 1
            piece = _num(val, 1, True)
        elif kind == "WW":
            jan1 = days_from_civil(f["year"], np.ones_like(f["year"]), np.ones_like(f["year"]))
            val = (f["days"] - jan1) // 7 + 1
            piece = _num(val, 2, fm)
        elif kind == "IW":
            val = _iso_week(f["days"])[1]
            piece = _num(val, 2, fm)
        elif kind == "J":
            val = f["days"] + 2440588
            piece = _num(val, 1, True)
        elif kind in ("TZ", "tz"):
            name = _zone_abbrev(zone, us, offsets) if is_tz else pa.array([""] * len(us))
            piece = name if kind == "TZ" else pc.utf8_lower(name)
        elif kind == "OF":
            if is_tz:
                from sqlvec.core.textio_datetime import _offset_text
                piece = _offset_text(offsets if offsets is not None else np.zeros(len(us), np.int64))
            else:
                piece = ""
        else:
            raise FeatureNotSupported(f'template pattern "{kind}" is not supported')
        if th and val is not None and not isinstance(piece, str):
            piece = _ordinal(piece, val, text == "TH")
        pieces.append(piece)
    if not pieces:
        return pa.array([""] * len(us))
    return pc.binary_join_element_wise(*pieces, "")


def _zone_abbrev(zone: str, local_us: np.ndarray, offsets: np.ndarray | None) -> pa.Array:
    """Zone abbreviations ('UTC', 'CEST', 'EST') per row, looked up once per distinct hour."""
    import datetime as _dt
    from zoneinfo import ZoneInfo

    if zone.upper() in ("UTC", "GMT", "ETC/UTC"):
        return pa.array(["UTC"] * len(local_us))
    try:
        tz = ZoneInfo(zone)
    except (ValueError, KeyError, OSError):
        return pa.array([""] * len(local_us))
    utc = local_us - (offsets if offsets is not None else 0)
    hours = np.floor_divide(utc, 3600 * US_PER_SEC)
    uniq, inv = np.unique(hours, return_inverse=True)
    names = [(_dt.datetime(1970, 1, 1, tzinfo=_dt.UTC) + _dt.timedelta(hours=h)).astimezone(tz).tzname()
             or "" for h in uniq.tolist()]
    return pa.array(np.array(names, dtype=object)[inv] if len(names) else [], pa.string())


def _to_char_ts(ctx: CallContext, args: list[Arg]) -> Arg:
    fmt = args[1]
    if not isinstance(fmt, pa.Scalar):
        raise FeatureNotSupported("to_char with a per-row template is not supported")
    if not fmt.is_valid:
        return pa.nulls(ctx.n, pa.string())
    t = ctx.arg_types[0]
    us, mask = to_us(args[0], t, ctx.n)
    local, off = to_local(us, t, ctx)
    out = format_timestamps(local, fmt.as_py(), t.short == "timestamptz", off, session_tz(ctx))
    return pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), out) if mask.any() else out


def to_char_number(v: Decimal | float | int, fmt: str) -> str:
    """One number through a numeric template ('999.99', 'FM9,999', '000', 'S999')."""
    fm = "FM" in fmt
    f = fmt.replace("FM", "")
    pr = f.endswith("PR")
    f = f.replace("PR", "")
    sign_lead = f.startswith("S")
    mi = f.endswith("MI")
    f = f.replace("S", "").replace("MI", "")
    f = f.replace("D", ".").replace("G", ",")
    int_part, _, frac_part = f.partition(".")
    n_int = sum(c in "90" for c in int_part)
    n_frac = sum(c in "90" for c in frac_part)
    d = Decimal(str(v)) if not isinstance(v, Decimal) else v
    if not d.is_finite():  # NaN / Infinity fill the field with '#'
        return " " + "#" * len(f.replace(",", "").replace(".", "")) + ("." if "." in f else "")
    neg = d < 0
    q = abs(d).quantize(Decimal(1).scaleb(-n_frac), rounding=ROUND_HALF_UP)
    ip, _, fp = format(q, "f").partition(".")
    if len(ip.lstrip("0")) > n_int:
        body = "#" * len(int_part.replace(",", "")) + ("." + "#" * n_frac if "." in f else "")
        return (" " if not fm else "") + body
    digits = ip.rjust(n_int, " ")
    out_int = []
    k = 0
    zero_from = int_part.find("0") if "0" in int_part else len(int_part)
    started = False
    for i, c in enumerate(int_part):
        if c in "90":
            ch = digits[k]
            k += 1
            if ch == " " or (ch == "0" and not started and i < zero_from and (k < n_int or n_frac)):
                ch = "0" if i >= zero_from else " "
            else:
                started = True
            if ch == "0" and i >= zero_from:
                started = True
            out_int.append(ch)
        elif c == ",":
            out_int.append("," if started else " ")
        else:
            out_int.append(c)
    # FM: digit and group positions left blank take no room ('FM$9,999.00' -> '$10.00')
    text = "".join(c for c in out_int if c != " ") if fm and n_int else "".join(out_int)
    if n_int and not text.strip() and not n_frac:
        text = text[:-1] + "0"
    if "." in f:
        frac = (fp + "0" * n_frac)[:n_frac]
        if fm:  # FM drops trailing zeros in '9' positions only ('FM999.00' keeps '.50')
            pattern = [c for c in frac_part if c in "90"]
            while frac and frac[-1] == "0" and pattern[len(frac) - 1] == "9":
                frac = frac[:-1]
        text += "." + frac
    if fm:
        text = text.strip()
    if pr:  # the angle brackets hug the digits: ' <12>'
        stripped = text.lstrip()
        return " " * (len(text) - len(stripped)) + f"<{stripped}>" if neg else f" {text} "
    if mi:
        return text + ("-" if neg else " ")
    if sign_lead:
        stripped = text.lstrip()
        return (" " * (len(text) - len(stripped))) + ("-" if neg else "+") + stripped
    # the sign (a blank when positive, none under FM) stands just before the first digit,
    # after a literal prefix such as '$' ('$    10.00', 'FM$9.99' of -1 -> '$-1.00')
    at = next((k for k, c in enumerate(text) if c.isdigit() or c in ".#"), len(text))
    sign = "-" if neg else ("" if fm else " ")
    return text[:at] + sign + text[at:]


def _to_char_num(ctx: CallContext, args: list[Arg]) -> Arg:
    return map_distinct(to_char_number, args, ctx.n, pa.string())


_PARSE = {
    "YYYY": r"(?P<year>\d{4})", "YYY": r"(?P<year>\d{3})", "YY": r"(?P<yy>\d{2})",
    "MM": r"(?P<month>\d{1,2})", "DD": r"(?P<day>\d{1,2})", "HH24": r"(?P<hour>\d{1,2})",
    "HH12": r"(?P<h12>\d{1,2})", "HH": r"(?P<h12>\d{1,2})", "MI": r"(?P<minute>\d{1,2})",
    "SS": r"(?P<second>\d{1,2})", "MS": r"(?P<ms>\d{1,3})", "US": r"(?P<us>\d{1,6})",
    "AM": r"(?P<ampm>[AaPp][Mm])", "PM": r"(?P<ampm>[AaPp][Mm])",
    "Mon": r"(?P<monname>[A-Za-z]{3})", "MON": r"(?P<monname>[A-Za-z]{3})",
    "mon": r"(?P<monname>[A-Za-z]{3})", "Month": r"(?P<monname>[A-Za-z]+)",
    "MONTH": r"(?P<monname>[A-Za-z]+)", "month": r"(?P<monname>[A-Za-z]+)",
    "DDD": r"(?P<doy>\d{1,3})", "Dy": r"[A-Za-z]{3}", "DY": r"[A-Za-z]{3}", "dy": r"[A-Za-z]{3}",
    "Day": r"[A-Za-z]+", "DAY": r"[A-Za-z]+", "day": r"[A-Za-z]+", "TZ": r"[A-Za-z]+",
}


def parse_with_template(s: str, fmt: str, kind: str) -> int:
    """One string through a template to microseconds since the epoch (UTC)."""
    parts = []
    for tok, text, _fm, _th in tokenize(fmt):
        if tok == "lit":
            parts.append(r"\s*" if text.isspace() else re.escape(text))
        elif tok in _PARSE:
            parts.append(r"\s*" + _PARSE[tok])
        else:
            raise FeatureNotSupported(f'template pattern "{tok}" is not supported in {kind}')
    m = re.match("".join(parts), s.strip())
    if not m:
        raise InvalidDatetimeFormat(f'invalid value "{s}" for "{fmt}"')
    g = {k: v for k, v in m.groupdict().items() if v is not None}
    year = int(g.get("year", 1))
    if "yy" in g:
        yy = int(g["yy"])
        year = 2000 + yy if yy < 70 else 1900 + yy
    month = int(g.get("month", 1))
    if "monname" in g:
        names = [mn.lower() for mn in MONTHS]
        key = g["monname"].lower()
        idx = [i for i, mn in enumerate(names) if mn.startswith(key[:3])]
        if not idx:
            raise InvalidDatetimeFormat(f'invalid value "{g["monname"]}" for "Mon"')
        month = idx[0] + 1
    day = int(g.get("day", 1))
    hour = int(g.get("hour", 0))
    if "h12" in g:
        hour = int(g["h12"]) % 12
        if g.get("ampm", "am").lower() == "pm":
            hour += 12
    frac = int(g.get("us", "0").ljust(6, "0")) if "us" in g else int(g.get("ms", "0").ljust(3, "0")) * 1000
    from sqlvec.functions.datetimefns import days_in_month
    if not (1 <= month <= 12) or not (1 <= day <= int(days_in_month(np.array([year]), np.array([month]))[0])):
        from sqlvec.core.errors import DatetimeFieldOverflow

        raise DatetimeFieldOverflow(f'date/time field value out of range: "{s}"')
    days = int(days_from_civil(np.array([year]), np.array([month]), np.array([day]))[0])
    if "doy" in g:
        days = int(days_from_civil(np.array([year]), np.array([1]), np.array([1]))[0]) + int(g["doy"]) - 1
    return days * US_PER_DAY + ((hour * 60 + int(g.get("minute", 0))) * 60 + int(g.get("second", 0))) \
        * US_PER_SEC + frac


def _parser(kind: str) -> Callable[[CallContext, list[Arg]], Arg]:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        us = map_distinct(lambda s, f: parse_with_template(s, f, kind), args, ctx.n, pa.int64())
        vals = us.fill_null(0).to_numpy(zero_copy_only=False)
        mask = any_null_mask(args, ctx.n) | np.asarray(pc.is_null(us))
        if kind == "to_date":
            return from_us(vals, T.DATE, mask)
        return from_us(vals, T.TIMESTAMPTZ, mask)
    return impl


def to_number_value(s: str, fmt: str) -> Decimal:
    """to_number(text, template): the digits, decimal point and sign the template allows."""
    dec_pos = fmt.upper().replace("FM", "").find("D")
    if dec_pos < 0:
        dec_pos = fmt.find(".")
    digits = "".join(ch for ch in s if ch.isdigit() or ch == ".")
    if dec_pos < 0:
        digits = digits.replace(".", "")
    neg = "-" in s or ("PR" in fmt.upper() and s.strip().startswith("<"))
    if not digits.strip("."):
        raise InvalidDatetimeFormat('invalid input syntax for type numeric: " "')
    v = Decimal(digits)
    return -v if neg else v


def _to_number(ctx: CallContext, args: list[Arg]) -> Arg:
    return map_distinct(to_number_value, args, ctx.n, pa.decimal128(38, 16))


def _signed(v: np.ndarray, width: int, fm: bool) -> pa.Array:
    """C's %0*d: zero-padded to width (one more for a minus sign), no padding under FM."""
    s = pc.cast(pa.array(np.abs(v).astype(np.int64)), pa.string())
    if fm:
        padded = s
    else:
        padded = pc.utf8_lpad(s, width, "0")
    return pc.if_else(pa.array(v < 0), pc.binary_join_element_wise("-", padded, ""), padded)


def format_intervals(a: pa.Array, fmt: str) -> pa.Array:
    """to_char(interval, fmt) as PostgreSQL's interval_to_char: fields are the interval's
    own (years, months, days, hours beyond 24, ...); DDD is the span in days (30-day
    months); calendar patterns (month and day names, week numbers, ...) are errors."""
    from sqlvec.core.textio_datetime import interval_fields

    months, days, ns = interval_fields(a)
    us = ns // 1000 if not (ns < 0).any() else -((-ns) // 1000)
    sec_total = np.sign(us) * (np.abs(us) // US_PER_SEC)
    f = {"year": np.sign(months) * (np.abs(months) // 12), "month": np.sign(months) * (np.abs(months) % 12),
         "day": days, "hour": np.sign(sec_total) * (np.abs(sec_total) // 3600),
         "minute": np.sign(sec_total) * (np.abs(sec_total) // 60 % 60),
         "second": np.sign(sec_total) * (np.abs(sec_total) % 60),
         "us": np.sign(us) * (np.abs(us) % US_PER_SEC)}
    pieces: list[pa.Array | str] = []
    for kind, text, fm, _th in tokenize(fmt):
        if kind == "lit":
            pieces.append(text)
        elif kind == "HH24":
            pieces.append(_signed(f["hour"], 2, fm))
        elif kind in ("HH", "HH12"):
            h = f["hour"] % 12
            pieces.append(_signed(np.where(h == 0, 12, h), 2, fm))
        elif kind in ("MI", "SS"):
            pieces.append(_signed(f["minute" if kind == "MI" else "second"], 2, fm))
        elif kind in ("MS", "US"):
            pieces.append(_signed(f["us"] // 1000 if kind == "MS" else f["us"], 3 if kind == "MS" else 6, fm))
        elif kind in ("YYYY", "YYY", "YY", "Y"):
            k = len(kind)
            y = f["year"] if k == 4 else np.sign(f["year"]) * (np.abs(f["year"]) % 10 ** k)
            pieces.append(_signed(y, k, fm))
        elif kind == "MM":
            pieces.append(_signed(f["month"], 2, fm))
        elif kind == "DD":
            pieces.append(_signed(f["day"], 2, fm))
        elif kind == "DDD":
            pieces.append(_signed((f["year"] * 12 + f["month"]) * 30 + f["day"], 3, fm))
        elif kind in ("AM", "PM", "am", "pm", "A.M.", "P.M.", "a.m.", "p.m."):
            a_, p_ = ("A.M.", "P.M.") if "." in kind else ("AM", "PM")
            if kind[0].islower():
                a_, p_ = a_.lower(), p_.lower()
            pieces.append(pa.array(np.where(f["hour"] % 24 >= 12, p_, a_)))
        elif kind == "Q":  # empty for an interval without months
            q = pc.cast(pa.array((f["month"] - 1) // 3 + 1), pa.string())
            pieces.append(pc.if_else(pa.array(f["month"] == 0), "", q))
        else:
            raise InvalidDatetimeFormat("invalid format specification for an interval value",
                                        hint="Intervals are not tied to specific calendar dates.")
    if not pieces:
        return pa.array([""] * len(a))
    return pc.binary_join_element_wise(*pieces, "")


def _to_char_interval(ctx: CallContext, args: list[Arg]) -> Arg:
    fmt = args[1]
    if not isinstance(fmt, pa.Scalar):
        raise FeatureNotSupported("to_char with a per-row template is not supported")
    if not fmt.is_valid:
        return pa.nulls(ctx.n, pa.string())
    a = arr(args[0], ctx.n)
    out = format_intervals(a, fmt.as_py())
    return pc.if_else(pc.is_valid(a), out, pa.scalar(None, pa.string())) if a.null_count else out


def register(fr: FunctionRegistry) -> None:
    """to_char for timestamps, intervals and numbers, to_date, to_timestamp(text, text)."""
    for t in (T.TIMESTAMP, T.TIMESTAMPTZ):
        fr.add("to_char", [t, T.TEXT], T.TEXT, _to_char_ts)
    fr.add("to_char", [T.INTERVAL, T.TEXT], T.TEXT, _to_char_interval)
    for t in (T.INT4, T.INT8, T.NUMERIC, T.FLOAT8):
        fr.add("to_char", [t, T.TEXT], T.TEXT, _to_char_num)
    fr.add("to_date", [T.TEXT, T.TEXT], T.DATE, _parser("to_date"))
    fr.add("to_number", [T.TEXT, T.TEXT], T.NUMERIC, _to_number)
    fr.add("to_timestamp", [T.TEXT, T.TEXT], T.TIMESTAMPTZ, _parser("to_timestamp"))


__all__ = ["arr", "format_intervals", "format_timestamps", "register", "to_char_number"]
