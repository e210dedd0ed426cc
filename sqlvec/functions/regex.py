"""Regular expressions: ~ ~* !~ !~*, regexp_replace, regexp_match, regexp_count,
regexp_split_to_array and SIMILAR TO.

A constant pattern runs through pyarrow's RE2 kernels over the whole column; a pattern
column, or a pattern RE2 rejects (back-references, look-around), runs per distinct value
with Python's re. PostgreSQL's replacement syntax (\\1, \\&) is translated.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import InvalidParameterValue, InvalidRegularExpression
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry
from sqlvec.functions.vec import arr, is_scalar, map_distinct

TXT = T.TEXT
Impl = Callable[[CallContext, list[Arg]], Arg]


def compile_re(p: str, flags: int = 0) -> re.Pattern[str]:
    try:
        return re.compile(_pg_to_python(p), flags)
    except re.error as e:
        raise InvalidRegularExpression(f"invalid regular expression: {e}") from None


def _pg_to_python(p: str) -> str:
    """A few ARE escapes Python lacks: \\m \\M (word start/end), \\y (boundary)."""
    return p.replace("\\m", r"\b(?=\w)").replace("\\M", r"\b(?<=\w)").replace("\\y", r"\b")


def _flags(f: str | None) -> tuple[int, bool]:
    flags, glob = 0, False
    for ch in f or "":
        if ch == "i":
            flags |= re.IGNORECASE
        elif ch == "g":
            glob = True
        elif ch in "cnpwsqxtbe":
            if ch == "x":
                flags |= re.VERBOSE
        else:
            raise InvalidParameterValue(f'invalid regular expression option: "{ch}"')
    return flags, glob


def _match(ignore_case: bool, negate: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        s, p = args
        if is_scalar(p) and p.is_valid and not is_scalar(s):
            pat = p.as_py()
            compile_re(pat)  # PostgreSQL-style error for a bad pattern
            try:
                res = pc.match_substring_regex(s, _pg_to_python(pat), ignore_case=ignore_case)
            except pa.ArrowInvalid:
                rx = compile_re(pat, re.IGNORECASE if ignore_case else 0)
                res = map_distinct(lambda v: rx.search(v) is not None, [s], ctx.n, pa.bool_())
        else:
            fl = re.IGNORECASE if ignore_case else 0
            res = map_distinct(lambda v, q: compile_re(q, fl).search(v) is not None, args, ctx.n,
                               pa.bool_())
        return pc.invert(res) if negate else res
    return impl


def _pg_repl_to_python(r: str) -> str:
    out = []
    i = 0
    while i < len(r):
        ch = r[i]
        if ch == "\\" and i + 1 < len(r):
            nxt = r[i + 1]
            if nxt.isdigit():
                out.append(f"\\g<{nxt}>")
            elif nxt == "&":
                out.append("\\g<0>")
            else:
                out.append(nxt.replace("\\", "\\\\"))
            i += 2
            continue
        out.append("\\\\" if ch == "\\" else ch)
        i += 1
    return "".join(out)


def _regexp_replace(ctx: CallContext, args: list[Arg]) -> Arg:
    flags_arg = args[3] if len(args) > 3 else pa.scalar("")

    def one(s: str, p: str, r: str, f: str) -> str:
        fl, glob = _flags(f)
        return compile_re(p, fl).sub(_pg_repl_to_python(r), s, count=0 if glob else 1)
    return map_distinct(one, [args[0], args[1], args[2], flags_arg], ctx.n, pa.string())


def _regexp_match(ctx: CallContext, args: list[Arg]) -> Arg:
    flags_arg = args[2] if len(args) > 2 else pa.scalar("")

    def one(s: str, p: str, f: str) -> list[str | None] | None:
        fl, glob = _flags(f)
        if glob:
            raise InvalidParameterValue("regexp_match() does not support the \"global\" option",
                                        hint="Use the regexp_matches function instead.")
        m = compile_re(p, fl).search(s)
        if m is None:
            return None
        return list(m.groups()) if m.re.groups else [m.group(0)]
    return map_distinct(one, [args[0], args[1], flags_arg], ctx.n, pa.list_(pa.string()))


def _regexp_count(ctx: CallContext, args: list[Arg]) -> Arg:
    """regexp_count(string, pattern [, start [, flags]])."""
    def one(s: str, p: str, start: int = 1, f: str = "") -> int:
        _check_start(start)
        return sum(1 for _ in _matches(s, p, start, f))
    return map_distinct(one, args, ctx.n, pa.int32())


def _check_start(start: int) -> None:
    if start < 1:
        raise InvalidParameterValue(f'invalid value for parameter "start": {start}')


def _matches(s: str, p: str, start: int, f: str):
    """Non-overlapping matches of p in s from 1-based position start, with PostgreSQL flags."""
    fl, glob = _flags(f)
    if glob:
        raise InvalidParameterValue('regexp functions do not support the "global" option')
    return compile_re(p, fl).finditer(s, start - 1)


def _nth(s: str, p: str, start: int, n: int, f: str):
    _check_start(start)
    if n < 1:
        raise InvalidParameterValue(f'invalid value for parameter "n": {n}')
    for i, m in enumerate(_matches(s, p, start, f), 1):
        if i == n:
            return m
    return None


def _regexp_instr(ctx: CallContext, args: list[Arg]) -> Arg:
    """regexp_instr(string, pattern [, start [, N [, endoption [, flags [, subexpr]]]]])."""
    def one(s: str, p: str, start: int = 1, n: int = 1, end: int = 0, f: str = "", sub: int = 0) -> int:
        m = _nth(s, p, start, n, f)
        if m is None or sub > (m.re.groups or 0) or sub < 0:
            if sub < 0:
                raise InvalidParameterValue(f'invalid value for parameter "subexpr": {sub}')
            return 0
        if m.start(sub) < 0:
            return 0
        return (m.end(sub) if end else m.start(sub)) + 1
    return map_distinct(one, args, ctx.n, pa.int32())


def _regexp_substr(ctx: CallContext, args: list[Arg]) -> Arg:
    """regexp_substr(string, pattern [, start [, N [, flags [, subexpr]]]])."""
    def one(s: str, p: str, start: int = 1, n: int = 1, f: str = "", sub: int = 0) -> str | None:
        m = _nth(s, p, start, n, f)
        if sub < 0:
            raise InvalidParameterValue(f'invalid value for parameter "subexpr": {sub}')
        if m is None or sub > (m.re.groups or 0):
            return None
        return m.group(sub)
    return map_distinct(one, args, ctx.n, pa.string())


def _regexp_like(ctx: CallContext, args: list[Arg]) -> Arg:
    """regexp_like(string, pattern [, flags])."""
    def one(s: str, p: str, f: str = "") -> bool:
        fl, glob = _flags(f)
        if glob:
            raise InvalidParameterValue('regexp_like() does not support the "global" option')
        return compile_re(p, fl).search(s) is not None
    return map_distinct(one, args, ctx.n, pa.bool_())


def _regexp_split(ctx: CallContext, args: list[Arg]) -> Arg:
    flags_arg = args[2] if len(args) > 2 else pa.scalar("")

    def one(s: str, p: str, f: str) -> list[str]:
        fl, _ = _flags(f)
        if p == "":
            return list(s)
        return compile_re(p, fl).split(s) if compile_re(p, fl).groups == 0 else \
            re.split(f"(?:{_pg_to_python(p)})", s, flags=fl)
    return map_distinct(one, [args[0], args[1], flags_arg], ctx.n, pa.list_(pa.string()))


def similar_to_regex(pattern: str, escape: str | None = "\\") -> str:
    """Translate a SQL SIMILAR TO pattern into an anchored regular expression."""
    out = []
    i = 0
    in_bracket = False
    while i < len(pattern):
        ch = pattern[i]
        if escape and ch == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if in_bracket:
            out.append(ch)
            in_bracket = ch != "]"
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        elif ch == "[":
            out.append(ch)
            in_bracket = True
        elif ch in "|*+?{}()":
            out.append(ch)
        else:
            out.append(re.escape(ch))
        i += 1
    return "^(?:" + "".join(out) + ")$"


def _similar(negate: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        s, p = args[0], args[1]
        esc = args[2].as_py() if len(args) > 2 and is_scalar(args[2]) else "\\"
        if is_scalar(p) and p.is_valid and not is_scalar(s):
            rx = similar_to_regex(p.as_py(), esc)
            compile_re(rx)
            res = pc.match_substring_regex(s, rx)
        else:
            res = map_distinct(lambda v, q: compile_re(similar_to_regex(q, esc), re.S).match(v)
                               is not None, [s, p], ctx.n, pa.bool_())
        return pc.invert(res) if negate else res
    return impl


def register(fr: FunctionRegistry) -> None:
    """Regex operators and functions; SIMILAR TO as similar_to(text, text[, escape])."""
    for sym, ic, neg in (("~", False, False), ("~*", True, False), ("!~", False, True),
                         ("!~*", True, True)):
        fr.add(sym, [TXT, TXT], T.BOOL, _match(ic, neg))
        fr.add(sym, [T.BPCHAR, TXT], T.BOOL, _match(ic, neg))
    fr.add("regexp_like", [TXT, TXT], T.BOOL, _match(False, False))
    fr.add("regexp_like", [TXT, TXT, TXT], T.BOOL, _regexp_like)
    fr.add("regexp_instr", [TXT, TXT, T.INT4, T.INT4, T.INT4, TXT, T.INT4], T.INT4, _regexp_instr, min_args=2)
    fr.add("regexp_substr", [TXT, TXT, T.INT4, T.INT4, TXT, T.INT4], TXT, _regexp_substr, min_args=2)
    fr.add("regexp_replace", [TXT, TXT, TXT, TXT], TXT, _regexp_replace, min_args=3)
    fr.add("regexp_match", [TXT, TXT, TXT], T.array_of(TXT), _regexp_match, min_args=2)
    fr.add("regexp_count", [TXT, TXT, T.INT4, TXT], T.INT4, _regexp_count, min_args=2)
    fr.add("regexp_split_to_array", [TXT, TXT, TXT], T.array_of(TXT), _regexp_split, min_args=2)
    fr.add("similar_to", [TXT, TXT, TXT], T.BOOL, _similar(False), min_args=2)
    fr.add("not_similar_to", [TXT, TXT, TXT], T.BOOL, _similar(True), min_args=2)


__all__ = ["arr", "np", "register", "similar_to_regex"]
