"""String operators: || (concatenation) and LIKE / ILIKE / NOT LIKE (~~ ~~* !~~ !~~*).

LIKE uses pyarrow's match_like for a constant pattern; a per-row pattern column is
evaluated once per distinct pattern (each a vectorised match over its rows).
Backslash is the escape character, as in PostgreSQL's default.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import textio
from sqlvec.core import types as T
from sqlvec.functions.registry import ANYNONARRAY, Arg, CallContext, FunctionRegistry, as_array


def _concat(ctx: CallContext, args: list[Arg]) -> Arg:
    a, b = args
    return pc.binary_join_element_wise(a, b, "")


def _to_text(x: Arg, t: T.SqlType, n: int) -> Arg:
    if t.short in ("text", "varchar", "name", "unknown"):
        return x
    if t.short == "bpchar":
        return pc.utf8_rtrim(x, " ")
    if t.short == "bool":  # || casts to text: 'true' / 'false'
        return pc.if_else(x, "true", "false")
    if isinstance(x, pa.Scalar):
        return textio.format_text(pa.array([x.as_py()], x.type), t)[0]
    return textio.format_text(x, t)


def _concat_any(ctx: CallContext, args: list[Arg]) -> Arg:
    a, b = (_to_text(x, t, ctx.n) for x, t in zip(args, ctx.arg_types))
    return pc.binary_join_element_wise(a, b, "")


def _check_pattern(p: str) -> str:
    """PostgreSQL 15 lets a pattern end in a lone escape (it then matches nothing)."""
    if p.endswith("\\") and (len(p) - len(p.rstrip("\\"))) % 2 == 1:
        return p + "\\\x00"
    return p


def like(s: Arg, pattern: Arg, n: int, *, ignore_case: bool) -> Arg:
    """Vectorised LIKE: constant pattern directly, a pattern column per distinct value."""
    if isinstance(pattern, pa.Scalar):
        if not pattern.is_valid:
            return pa.scalar(None, pa.bool_())
        p = pattern.as_py()
        p = _check_pattern(p)
        if isinstance(s, pa.Scalar):
            return pc.match_like(pa.array([s.as_py()], pa.string()), p, ignore_case=ignore_case)[0]
        return pc.match_like(s, p, ignore_case=ignore_case)
    s_arr = as_array(s, n)
    enc = pc.dictionary_encode(pattern)
    idx = enc.indices.to_numpy(zero_copy_only=False)
    out = np.zeros(n, dtype=bool)
    for k, p in enumerate(enc.dictionary.to_pylist()):
        rows = np.flatnonzero(idx == k)
        p = _check_pattern(p)
        m = pc.match_like(s_arr.take(pa.array(rows)), p, ignore_case=ignore_case)
        out[rows] = np.asarray(pc.fill_null(m, False))
    mask = np.asarray(pc.or_(pc.is_null(s_arr), pc.is_null(pattern)))
    return pa.array(out, pa.bool_(), mask=mask if mask.any() else None)


def _like(ignore_case: bool, negate: bool) -> Callable[[CallContext, list[Arg]], Arg]:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        s, p = args
        if ctx.arg_types[0].short == "bpchar":
            s = pc.utf8_rtrim(s, " ")
        res = like(s, p, ctx.n, ignore_case=ignore_case)
        return pc.invert(res) if negate else res
    return impl


def like_escape_pattern(pattern: str, escape: str) -> str:
    """Rewrite a LIKE pattern written with ESCAPE e into the backslash-escaped form
    (PostgreSQL's like_escape(); an empty escape disables escaping)."""
    if escape == "\\":
        return pattern
    if len(escape) > 1:
        from sqlvec.core.errors import InvalidEscapeSequence
        raise InvalidEscapeSequence("invalid escape string",
                                    hint="Escape string must be empty or one character.")
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if escape and ch == escape and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append("\\" + nxt if nxt in "%_\\" else nxt)
            i += 2
            continue
        out.append("\\\\" if ch == "\\" else ch)
        i += 1
    return "".join(out)


def _like_escape(ctx: CallContext, args: list[Arg]) -> Arg:
    from sqlvec.functions.vec import map_distinct
    return map_distinct(like_escape_pattern, args, ctx.n, pa.string())


def register(fr: FunctionRegistry) -> None:
    """|| for text (and text with any non-array type), LIKE/ILIKE and their negations."""
    fr.add("||", [T.TEXT, T.TEXT], T.TEXT, _concat)
    fr.add("||", [T.TEXT, ANYNONARRAY], T.TEXT, _concat_any)
    fr.add("||", [ANYNONARRAY, T.TEXT], T.TEXT, _concat_any)
    for sym, ic, neg in (("~~", False, False), ("~~*", True, False), ("!~~", False, True),
                         ("!~~*", True, True)):
        fr.add(sym, [T.TEXT, T.TEXT], T.BOOL, _like(ic, neg))
        fr.add(sym, [T.BPCHAR, T.TEXT], T.BOOL, _like(ic, neg))
        fr.add(sym, [T.NAME, T.TEXT], T.BOOL, _like(ic, neg))
    fr.add("like_escape", [T.TEXT, T.TEXT], T.TEXT, _like_escape)
    fr.add("like", [T.TEXT, T.TEXT], T.BOOL, _like(False, False))
    fr.add("ilike", [T.TEXT, T.TEXT], T.BOOL, _like(True, False))
