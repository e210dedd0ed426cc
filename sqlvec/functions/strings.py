"""String functions with PostgreSQL semantics, vectorised with pyarrow.compute.

Constant arguments (the usual case: `substr(col, 2, 3)`, `replace(col, 'a', 'b')`) use
Arrow kernels directly; when such an argument varies per row the function falls back to
map_distinct (once per distinct argument tuple). format(), md5(), chr(), translate() and
friends run once per distinct value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import textio
from sqlvec.core import types as T
from sqlvec.core.errors import (
    DataException,
    InvalidParameterValue,
    ProgramLimitExceeded,
)
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry
from sqlvec.functions.vec import arr, is_scalar, map_distinct

TXT, I4, I8, BOOL = T.TEXT, T.INT4, T.INT8, T.BOOL
Impl = Callable[[CallContext, list[Arg]], Arg]


def _i32(x: Arg) -> Arg:
    return pc.cast(x, pa.int32())


def _length(ctx: CallContext, args: list[Arg]) -> Arg:
    s = args[0]
    if ctx.arg_types[0].short == "bpchar":
        s = pc.utf8_rtrim(s, " ")
    return _i32(pc.utf8_length(s))


def _octet_length(ctx: CallContext, args: list[Arg]) -> Arg:
    return _i32(pc.binary_length(args[0]))


def _bit_length(ctx: CallContext, args: list[Arg]) -> Arg:
    return _i32(pc.multiply(pc.binary_length(args[0]), 8))


def _substr_py(s: str, start: int, count: int | None = None) -> str:
    if count is not None and count < 0:
        raise DataException("negative substring length not allowed")
    begin = start - 1
    end = None if count is None else begin + count
    if end is not None and end <= 0:
        return ""
    return s[max(begin, 0):end]


def _substr(ctx: CallContext, args: list[Arg]) -> Arg:
    s = args[0]
    rest = args[1:]
    if all(is_scalar(a) for a in rest):
        vals = [a.as_py() for a in rest]
        if any(v is None for v in vals):
            return pa.nulls(ctx.n, pa.string())
        start = vals[0]
        count = vals[1] if len(vals) > 1 else None
        if count is not None and count < 0:
            raise DataException("negative substring length not allowed")
        begin = start - 1
        if count is None:
            return pc.utf8_slice_codeunits(s, max(begin, 0))
        end = begin + count
        if end <= 0:
            return pc.if_else(pc.is_valid(s), "", pa.scalar(None, pa.string()))
        return pc.utf8_slice_codeunits(s, max(begin, 0), end)
    return map_distinct(_substr_py, args, ctx.n, pa.string())


def _upper(ctx: CallContext, args: list[Arg]) -> Arg:
    """upper() by simple (one-to-one) case mapping, as the C.UTF-8 locale does: 'ß' has no
    simple uppercase and stays (utf8proc maps it to 'ẞ', Python's str.upper to 'SS')."""
    x = args[0]
    sharp = pc.match_substring(x, "ß")
    if not pc.any(sharp).as_py():
        return pc.utf8_upper(x)
    marker = "\uE000"  # a private-use character no case mapping touches
    if pc.any(pc.match_substring(x, marker)).as_py():
        return map_distinct(lambda v: "ß".join(p.upper() for p in v.split("ß")), [x], ctx.n, pa.string())
    up = pc.utf8_upper(pc.replace_substring(x, "ß", marker))
    return pc.replace_substring(up, marker, "ß")


def _strpos(ctx: CallContext, args: list[Arg]) -> Arg:
    s, sub = args
    if not is_scalar(sub):
        return map_distinct(lambda a, b: a.find(b) + 1, args, ctx.n, pa.int32())
    if not sub.is_valid:
        return pa.nulls(ctx.n, pa.int32())
    needle = sub.as_py()
    if needle == "":
        return pc.if_else(pc.is_valid(s), pa.scalar(1, pa.int32()), pa.scalar(None, pa.int32()))
    parts = pc.split_pattern(s, needle, max_splits=1)
    found = pc.greater(pc.list_value_length(parts), 1)
    pos = pc.add(pc.utf8_length(pc.list_element(parts, 0)), 1)
    return _i32(pc.if_else(found, pos, 0))


def _position(ctx: CallContext, args: list[Arg]) -> Arg:
    sub, s = args  # position(sub IN s) is bound as position(sub, s)? PostgreSQL: position(s, sub)
    return _strpos(ctx, [s, sub])


def _replace(ctx: CallContext, args: list[Arg]) -> Arg:
    s, a, b = args
    if is_scalar(a) and is_scalar(b):
        if not a.is_valid or not b.is_valid:
            return pa.nulls(ctx.n, pa.string())
        if a.as_py() == "":
            return s
        return pc.replace_substring(s, a.as_py(), b.as_py())
    return map_distinct(lambda x, y, z: x.replace(y, z) if y else x, args, ctx.n, pa.string())


def _trim(side: str) -> Impl:
    kern = {"both": pc.utf8_trim, "left": pc.utf8_ltrim, "right": pc.utf8_rtrim}[side]
    py = {"both": str.strip, "left": str.lstrip, "right": str.rstrip}[side]

    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        if len(args) == 1:
            return kern(args[0], " ")
        chars = args[1]
        if is_scalar(chars):
            if not chars.is_valid:
                return pa.nulls(ctx.n, pa.string())
            if chars.as_py() == "":
                return args[0]
            return kern(args[0], chars.as_py())
        return map_distinct(lambda s, c: py(s, c), args, ctx.n, pa.string())
    return impl


def _pad_py(left: bool) -> Callable[..., str]:
    def one(s: str, n: int, fill: str = " ") -> str:
        _check_length(n)
        if n <= 0:
            return ""
        if len(s) >= n:
            return s[:n]
        if not fill:
            return s
        need = n - len(s)
        pad = (fill * (need // len(fill) + 1))[:need]
        return pad + s if left else s + pad
    return one


def _pad(left: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        s, n = args[0], args[1]
        fill = args[2] if len(args) > 2 else pa.scalar(" ")
        if is_scalar(n) and is_scalar(fill) and n.is_valid and fill.is_valid \
                and len(fill.as_py()) == 1 and n.as_py() > 0:
            width = n.as_py()
            _check_length(width * max(ctx.n, 1))
            cut = pc.utf8_slice_codeunits(s, 0, width)
            return (pc.utf8_lpad if left else pc.utf8_rpad)(cut, width, fill.as_py())
        return map_distinct(_pad_py(left), [s, n, fill], ctx.n, pa.string())
    return impl


def _left(ctx: CallContext, args: list[Arg]) -> Arg:
    s, n = args
    if is_scalar(n) and n.is_valid:
        k = n.as_py()
        return pc.utf8_slice_codeunits(s, 0, k) if k >= 0 else pc.utf8_slice_codeunits(s, 0, k)
    return map_distinct(lambda x, k: x[:k], args, ctx.n, pa.string())


def _right(ctx: CallContext, args: list[Arg]) -> Arg:
    s, n = args
    if is_scalar(n) and n.is_valid:
        k = n.as_py()
        if k == 0:
            return pc.utf8_slice_codeunits(s, 0, 0)
        return pc.utf8_slice_codeunits(s, -k) if k > 0 else pc.utf8_slice_codeunits(s, -k)
    return map_distinct(lambda x, k: (x[-k:] if k > 0 else x[-k:]) if k else "", args, ctx.n,
                        pa.string())


_MAX_LEN = (1 << 30) - 1  # PostgreSQL's 1 GB varlena limit


def _check_length(total: int) -> None:
    if total > _MAX_LEN:
        raise ProgramLimitExceeded("requested length too large")


def _repeat(ctx: CallContext, args: list[Arg]) -> Arg:
    s, n = args
    n = pc.max_element_wise(pc.cast(n, pa.int64()), 0)
    lens = pc.multiply(pc.cast(pc.binary_length(s), pa.int64()), n)
    biggest = pc.max(lens).as_py() if not isinstance(lens, pa.Scalar) else lens.as_py()
    _check_length(biggest or 0)
    total = pc.sum(lens).as_py() if not isinstance(lens, pa.Scalar) else (biggest or 0) * ctx.n
    if (total or 0) > _MAX_LEN:
        raise ProgramLimitExceeded("requested length too large")
    return pc.binary_repeat(s, n)


def _reverse(ctx: CallContext, args: list[Arg]) -> Arg:
    return pc.utf8_reverse(args[0])


def _split_part(ctx: CallContext, args: list[Arg]) -> Arg:
    s, d, k = args
    if is_scalar(d) and is_scalar(k) and d.is_valid and k.is_valid and d.as_py() != "":
        idx = k.as_py()
        if idx == 0:
            raise InvalidParameterValue("field position must not be zero")
        parts = arr(pc.split_pattern(s, d.as_py()), ctx.n) if not is_scalar(s) else \
            pc.split_pattern(pa.array([s.as_py()], pa.string()), d.as_py())
        lens = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
        lens = np.nan_to_num(lens.astype(float)).astype(np.int64)
        pos = idx - 1 if idx > 0 else lens + idx
        ok = (pos >= 0) & (pos < lens)
        offsets = parts.offsets.to_numpy()[:-1]
        flat = parts.values
        take = np.where(ok, offsets + pos, 0)
        out = flat.take(pa.array(take)) if len(flat) else pa.nulls(len(parts), pa.string())
        out = pc.if_else(pa.array(ok), out, "")
        out = pc.if_else(pc.is_valid(parts), out, pa.scalar(None, pa.string()))
        return out[0] if is_scalar(s) else out

    def one(x: str, delim: str, i: int) -> str:
        if i == 0:
            raise InvalidParameterValue("field position must not be zero")
        bits = x.split(delim) if delim else [x]
        j = i - 1 if i > 0 else len(bits) + i
        return bits[j] if 0 <= j < len(bits) else ""
    return map_distinct(one, args, ctx.n, pa.string())


def _as_text(x: Arg, t: T.SqlType, n: int) -> pa.Array:
    a = arr(x, n)
    if t.short in ("text", "varchar", "name", "unknown", "json", "jsonb"):
        return pc.cast(a, pa.string())
    if t.short == "bpchar":
        return pc.utf8_rtrim(a, " ")
    return textio.format_text(a, t)


def _concat(ctx: CallContext, args: list[Arg]) -> Arg:
    if not args:
        return pa.repeat(pa.scalar(""), ctx.n)
    parts = [pc.fill_null(_as_text(a, t, ctx.n), "") for a, t in zip(args, ctx.arg_types)]
    return pc.binary_join_element_wise(*parts, "")


def _concat_ws(ctx: CallContext, args: list[Arg]) -> Arg:
    sep = args[0]
    parts = [_as_text(a, t, ctx.n) for a, t in zip(args[1:], ctx.arg_types[1:])]
    if not parts:
        return pc.if_else(pc.is_valid(arr(sep, ctx.n)), "", pa.scalar(None, pa.string()))
    # built without null_handling="skip", which mis-sizes its output in pyarrow
    sep_arr = pc.fill_null(arr(sep, ctx.n), "")
    out = pa.repeat(pa.scalar(""), ctx.n)
    started = pa.repeat(pa.scalar(False), ctx.n)
    for p in parts:
        valid = pc.is_valid(p)
        txt = pc.fill_null(p, "")
        piece = pc.if_else(started, pc.binary_join_element_wise(sep_arr, txt, ""), txt)
        out = pc.binary_join_element_wise(out, pc.if_else(valid, piece, ""), "")
        started = pc.or_(started, valid)
    return pc.if_else(pc.is_valid(arr(sep, ctx.n)), out, pa.scalar(None, pa.string()))


def _initcap_py(s: str) -> str:
    out = []
    prev_alnum = False
    for ch in s:
        out.append(ch.lower() if prev_alnum else ch.upper())
        prev_alnum = ch.isalnum()
    return "".join(out)


def _md5(ctx: CallContext, args: list[Arg]) -> Arg:
    def one(v: str | bytes) -> str:
        return hashlib.md5(v.encode() if isinstance(v, str) else v).hexdigest()
    return map_distinct(one, args, ctx.n, pa.string())


def _sha(name: str) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        return map_distinct(lambda v: hashlib.new(name, v).digest(), args, ctx.n, pa.binary())
    return impl


def _ascii(ctx: CallContext, args: list[Arg]) -> Arg:
    return map_distinct(lambda s: ord(s[0]) if s else 0, args, ctx.n, pa.int32())


def _chr_py(code: int) -> str:
    if code == 0:
        raise ProgramLimitExceeded("null character not permitted")
    if code < 0:
        raise ProgramLimitExceeded("character number must be positive")
    if code > 0x10FFFF:
        raise ProgramLimitExceeded(f"requested character too large for encoding: {code}")
    return chr(code)


def _to_hex(ctx: CallContext, args: list[Arg]) -> Arg:
    bits = 64 if ctx.arg_types[0].short == "int8" else 32
    return map_distinct(lambda v: format(v & ((1 << bits) - 1), "x"), args, ctx.n, pa.string())


def _translate_py(s: str, frm: str, to: str) -> str:
    table: dict[int, int | None] = {}
    for i, ch in enumerate(frm):
        if ord(ch) not in table:
            table[ord(ch)] = ord(to[i]) if i < len(to) else None
    return s.translate(table)


def quote_ident(s: str) -> str:
    """PostgreSQL's quote_ident: quote unless a plain lowercase identifier."""
    import re
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", s) and s not in _RESERVED:
        return s
    return '"' + s.replace('"', '""') + '"'


_RESERVED = frozenset("""all analyse analyze and any array as asc asymmetric both case cast check
collate column constraint create current_catalog current_date current_role current_time
current_timestamp current_user default deferrable desc distinct do else end except false fetch
for foreign from grant group having in initially intersect into lateral leading limit localtime
localtimestamp not null offset on only or order placing primary references returning select
session_user some symmetric table then to trailing true union unique user using variadic when
where window with""".split())


def quote_literal(s: str) -> str:
    body = s.replace("'", "''")
    if "\\" in s:
        return "E'" + body.replace("\\", "\\\\") + "'"
    return "'" + body + "'"


def _format_py(fmt: str, *vals: str | None) -> str:
    """format(): %s, %I, %L, %% with optional n$ positions and - / width flags."""
    import re
    out: list[str] = []
    pos = 0
    arg_i = 0
    spec = re.compile(r"%(?:(\d+)\$)?(-)?(\d+)?([sIL%])")
    while True:
        m = spec.search(fmt, pos)
        if not m:
            if "%" in fmt[pos:]:
                raise InvalidParameterValue("unterminated format() type specifier")
            out.append(fmt[pos:])
            break
        out.append(fmt[pos:m.start()])
        pos = m.end()
        if m.group(4) == "%":
            out.append("%")
            continue
        if m.group(1):
            arg_i = int(m.group(1)) - 1
        if arg_i >= len(vals):
            raise DataException("too few arguments for format()")
        v = vals[arg_i]
        arg_i += 1
        kind = m.group(4)
        if kind == "I":
            if v is None:
                raise InvalidParameterValue("null values cannot be formatted as an SQL identifier")
            txt = quote_ident(v)
        elif kind == "L":
            txt = "NULL" if v is None else quote_literal(v)
        else:
            txt = "" if v is None else v
        if m.group(3):
            w = int(m.group(3))
            txt = txt.ljust(w) if m.group(2) else txt.rjust(w)
        out.append(txt)
    return "".join(out)


def _format(ctx: CallContext, args: list[Arg]) -> Arg:
    texts = [args[0]] + [_as_text(a, t, ctx.n) for a, t in zip(args[1:], ctx.arg_types[1:])]
    fmt_null = not args[0].is_valid if is_scalar(args[0]) else False
    if fmt_null:
        return pa.nulls(ctx.n, pa.string())
    return map_distinct(lambda f, *v: None if f is None else _format_py(f, *v), texts, ctx.n,
                        pa.string(), strict=False)


def _starts_with(ctx: CallContext, args: list[Arg]) -> Arg:
    s, p = args
    if is_scalar(p) and p.is_valid:
        return pc.starts_with(s, p.as_py())
    return map_distinct(lambda a, b: a.startswith(b), args, ctx.n, pa.bool_())


def _encode(ctx: CallContext, args: list[Arg]) -> Arg:
    import base64

    def one(b: bytes, fmt: str) -> str:
        f = fmt.lower()
        if f == "hex":
            return b.hex()
        if f == "base64":
            txt = base64.b64encode(b).decode()
            return "\n".join(txt[i:i + 76] for i in range(0, len(txt), 76))
        if f == "escape":
            return "".join(chr(c) if 32 <= c < 127 and c != 92 else ("\\\\" if c == 92 else
                           f"\\{c:03o}") for c in b)
        raise InvalidParameterValue(f'unrecognized encoding: "{fmt}"')
    return map_distinct(one, args, ctx.n, pa.string())


def _decode(ctx: CallContext, args: list[Arg]) -> Arg:
    import base64
    import binascii

    def one(s: str, fmt: str) -> bytes:
        f = fmt.lower()
        try:
            if f == "hex":
                return bytes.fromhex(s)
            if f == "base64":
                return base64.b64decode("".join(s.split()), validate=True)
            if f == "escape":
                return textio.parse_text_value(s, T.BYTEA)
        except (ValueError, binascii.Error):
            raise DataException(f"invalid {f} data") from None
        raise InvalidParameterValue(f'unrecognized encoding: "{fmt}"')
    return map_distinct(one, args, ctx.n, pa.binary())


def _substring_regex(ctx: CallContext, args: list[Arg]) -> Arg:
    """substring(s FROM pattern): the first parenthesised group's match, else the match."""
    from sqlvec.functions.regex import compile_re

    def one(s: str, p: str) -> str | None:
        m = compile_re(p).search(s)
        if m is None:
            return None
        return m.group(1) if m.re.groups else m.group(0)
    return map_distinct(one, args, ctx.n, pa.string())


def _overlay(ctx: CallContext, args: list[Arg]) -> Arg:
    def one(s: str, r: str, start: int, count: int | None = None) -> str:
        n = len(r) if count is None else count
        return s[:max(start - 1, 0)] + r + s[max(start - 1 + n, 0):]
    return map_distinct(one, args, ctx.n, pa.string())


def _bytea_concat(ctx: CallContext, args: list[Arg]) -> Arg:
    return pc.binary_join_element_wise(*args, pa.scalar(b"", pa.binary()))


def _get_byte(b: bytes, i: int) -> int:
    if not 0 <= i < len(b):
        from sqlvec.core.errors import ArraySubscriptError
        raise ArraySubscriptError(f"index {i} out of valid range, 0..{len(b) - 1}")
    return b[i]


def _py_encoding(name: str) -> str:
    enc = {"utf8": "utf-8", "utf-8": "utf-8", "latin1": "latin-1", "sql_ascii": "ascii",
           "win1252": "cp1252"}.get(name.lower().replace("_", "") if name.lower() != "sql_ascii"
                                    else "sql_ascii")
    if enc is None:
        raise InvalidParameterValue(f'invalid source encoding name "{name}"')
    return enc


def register(fr: FunctionRegistry) -> None:
    """The PostgreSQL string function catalogue (text in, text out unless noted)."""
    add = fr.add
    for name in ("length", "char_length", "character_length"):
        add(name, [TXT], I4, _length)
        add(name, [T.BPCHAR], I4, _length)
    add("length", [T.BYTEA], I4, _octet_length)
    add("octet_length", [TXT], I4, _octet_length)
    add("octet_length", [T.BYTEA], I4, _octet_length)
    add("bit_length", [TXT], I4, _bit_length)
    add("lower", [TXT], TXT, lambda c, a: pc.utf8_lower(a[0]))
    add("upper", [TXT], TXT, _upper)
    for name in ("substr", "substring"):
        add(name, [TXT, I4, I4], TXT, _substr, min_args=2)
    add("strpos", [TXT, TXT], I4, _strpos)
    add("substring", [TXT, TXT], TXT, _substring_regex)
    add("overlay", [TXT, TXT, I4, I4], TXT, _overlay, min_args=3)
    add("||", [T.BYTEA, T.BYTEA], T.BYTEA, _bytea_concat)
    add("position", [TXT, TXT], I4, _strpos)
    add("replace", [TXT, TXT, TXT], TXT, _replace)
    add("btrim", [TXT, TXT], TXT, _trim("both"), min_args=1)
    add("trim", [TXT, TXT], TXT, _trim("both"), min_args=1)
    add("ltrim", [TXT, TXT], TXT, _trim("left"), min_args=1)
    add("rtrim", [TXT, TXT], TXT, _trim("right"), min_args=1)
    add("lpad", [TXT, I4, TXT], TXT, _pad(True), min_args=2)
    add("rpad", [TXT, I4, TXT], TXT, _pad(False), min_args=2)
    add("left", [TXT, I4], TXT, _left)
    add("right", [TXT, I4], TXT, _right)
    add("repeat", [TXT, I4], TXT, _repeat)
    add("reverse", [TXT], TXT, _reverse)
    add("split_part", [TXT, TXT, I4], TXT, _split_part)
    add("concat", [T.ANY], TXT, _concat, variadic=True, min_args=1, strict=False)
    add("concat_ws", [TXT, T.ANY], TXT, _concat_ws, variadic=True, min_args=1, strict=False)
    add("initcap", [TXT], TXT, lambda c, a: map_distinct(_initcap_py, a, c.n, pa.string()))
    add("md5", [TXT], TXT, _md5)
    add("md5", [T.BYTEA], TXT, _md5)
    for h in ("sha224", "sha256", "sha384", "sha512"):
        add(h, [T.BYTEA], T.BYTEA, _sha(h))
    add("ascii", [TXT], I4, _ascii)
    add("chr", [I4], TXT, lambda c, a: map_distinct(_chr_py, a, c.n, pa.string()))
    add("format", [TXT, T.ANY], TXT, _format, variadic=True, min_args=1, strict=False)
    add("starts_with", [TXT, TXT], BOOL, _starts_with)
    add("^@", [TXT, TXT], BOOL, _starts_with)
    add("to_hex", [I4], TXT, _to_hex)
    add("to_hex", [I8], TXT, _to_hex)
    add("translate", [TXT, TXT, TXT], TXT,
        lambda c, a: map_distinct(_translate_py, a, c.n, pa.string()))
    add("quote_ident", [TXT], TXT, lambda c, a: map_distinct(quote_ident, a, c.n, pa.string()))
    add("quote_literal", [TXT], TXT, lambda c, a: map_distinct(quote_literal, a, c.n, pa.string()))
    add("quote_nullable", [TXT], TXT, lambda c, a: map_distinct(
        lambda s: "NULL" if s is None else quote_literal(s), a, c.n, pa.string(), strict=False),
        strict=False)
    # quote_literal(anyelement) / quote_nullable(anyelement): of the value's text form
    add("quote_literal", [T.ANYELEMENT], TXT, lambda c, a: map_distinct(
        quote_literal, [_as_text(a[0], c.arg_types[0], c.n)], c.n, pa.string()))
    add("quote_nullable", [T.ANYELEMENT], TXT, lambda c, a: map_distinct(
        lambda s: "NULL" if s is None else quote_literal(s), [_as_text(a[0], c.arg_types[0], c.n)],
        c.n, pa.string(), strict=False), strict=False)
    add("encode", [T.BYTEA, TXT], TXT, _encode)
    add("decode", [TXT, TXT], T.BYTEA, _decode)
    add("convert_to", [TXT, TXT], T.BYTEA, lambda c, a: map_distinct(
        lambda s, enc: s.encode(_py_encoding(enc)), a, c.n, pa.binary()))
    add("convert_from", [T.BYTEA, TXT], TXT, lambda c, a: map_distinct(
        lambda b, enc: b.decode(_py_encoding(enc)), a, c.n, pa.string()))
    add("get_byte", [T.BYTEA, I4], I4, lambda c, a: map_distinct(_get_byte, a, c.n, pa.int32()))
