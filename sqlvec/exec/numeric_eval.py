"""Evaluate a numeric expression with PostgreSQL's display scale per value (its text form).

The operators and functions that choose a scale per value (functions/numeric_scale.py) are
computed on `Scaled` values all the way down; CASE (NULLIF, GREATEST, LEAST), COALESCE and
casts to unconstrained numeric pass each value's scale through, as PostgreSQL does; any
other node is evaluated as usual and shows its Arrow scale. A CASE branch runs only on the
rows that reach it, as in the evaluator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core.errors import NumericValueOutOfRange
from sqlvec.core.textio_numeric import is_numeric_text
from sqlvec.functions.numeric_scale import Scaled, from_text, scaled_op, scatter
from sqlvec.plan import expr as E

_NUMERIC_ARGS = ("numeric", "int2", "int4", "int8")
_TEXT_ARGS = ("text", "varchar", "bpchar", "unknown")
_PLAIN = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)\s*$"  # numeric text without an exponent


def _op(x: E.Expr) -> Any:
    fn = getattr(x, "fn", None)
    if not isinstance(x, E.Func) or x.type.short != "numeric" or not hasattr(fn, "definition"):
        return None
    ok = all(a.type.short in _NUMERIC_ARGS for a in x.args)
    return scaled_op(fn.name, len(x.args)) if ok else None


def _passes(x: E.Expr) -> bool:
    """A node that keeps its numeric operand's value and scale."""
    if x.type.short != "numeric":
        return False
    if isinstance(x, E.Cast):
        return x.type.typmod < 0 and x.arg.type.short in _NUMERIC_ARGS
    return isinstance(x, E.Case | E.Coalesce)


def _reads_text(x: E.Expr) -> bool:
    """A cast of text to unconstrained numeric: each value keeps the scale its text shows."""
    return isinstance(x, E.Cast) and x.type.short == "numeric" and x.type.typmod < 0 and \
        x.arg.type.short in _TEXT_ARGS


def scaled_capable(e: E.Expr) -> bool:
    """Whether e (or what it passes through) picks a scale per value."""
    if _op(e) is not None or _reads_text(e) or is_numeric_text(e.type.arrow):
        return True
    if not _passes(e):
        return False
    if isinstance(e, E.Case):
        vals = [v for _, v in e.whens] + ([e.default] if e.default is not None else [])
    else:
        vals = list(e.args) if isinstance(e, E.Coalesce) else [e.arg]  # type: ignore[attr-defined]
    return any(scaled_capable(v) for v in vals)


def scaled(ev: Any, x: E.Expr, b: pa.RecordBatch) -> Scaled:
    """x over batch b as values with their display scale."""
    f = _op(x)
    if f is not None:
        return f([scaled(ev, a, b) for a in x.args])  # type: ignore[attr-defined]
    if _reads_text(x):
        return _from_text(ev, x, b)  # type: ignore[arg-type]
    if _passes(x):
        if isinstance(x, E.Cast):
            return scaled(ev, x.arg, b)
        if isinstance(x, E.Coalesce):
            return _coalesce([scaled(ev, a, b) for a in x.args])
        return _case(ev, x, b)  # type: ignore[arg-type]
    return Scaled.of(ev.eval(x, b))


def _from_text(ev: Any, x: E.Cast, b: pa.RecordBatch) -> Scaled:
    """text::numeric with the scale each text shows ('0.00033333333333333333' keeps its 20
    digits, '1.50' two); the cast itself checks the text (22P02) and gives the rows written
    with an exponent or beyond 76 digits, which show that value's own digits."""
    values = ev.eval(x, b)
    text = ev.eval(x.arg, b)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if not pa.types.is_string(text.type):
        text = pc.cast(text, pa.string())
    plain = pc.fill_null(pc.match_substring_regex(text, _PLAIN), False)
    if not pc.any(plain).as_py():
        return Scaled.of(values)
    body = pc.replace_substring_regex(pc.utf8_trim_whitespace(text), r"^\+", "")
    whole = pc.all(plain).as_py()
    idx = None if whole else np.flatnonzero(plain.to_numpy(zero_copy_only=False))
    try:
        exact = from_text(body if whole else body.take(pa.array(idx)))
    except NumericValueOutOfRange:
        return Scaled.of(values)
    if whole:
        return exact
    rest = np.flatnonzero(~plain.to_numpy(zero_copy_only=False))
    return scatter([(idx, exact), (rest, Scaled.of(values).take(rest))], len(text))


def _coalesce(vals: list[Scaled]) -> Scaled:
    n = len(vals[0].values)
    pieces = []
    rest = np.ones(n, dtype=bool)
    for v in vals:
        ok = rest & v.values.is_valid().to_numpy(zero_copy_only=False)
        idx = np.flatnonzero(ok)
        if len(idx):
            pieces.append((idx, v.take(idx)))
        rest &= ~ok
    return scatter(pieces, n)


def _case(ev: Any, e: E.Case, b: pa.RecordBatch) -> Scaled:
    n = b.num_rows
    pieces: list[tuple[np.ndarray, Scaled]] = []
    rest: np.ndarray | None = None
    sub = b
    for cond, val in e.whens:
        if sub.num_rows == 0:
            break
        c = np.asarray(pc.fill_null(ev.eval(cond, sub), False), dtype=bool)
        if not c.any():
            continue
        hit = np.flatnonzero(c)
        pieces.append((hit if rest is None else rest[hit], scaled(ev, val, sub.take(pa.array(hit)))))
        miss = np.flatnonzero(~c)
        rest = miss if rest is None else rest[miss]
        sub = sub.take(pa.array(miss))
    if e.default is not None and sub.num_rows:
        pieces.append((np.arange(n) if rest is None else rest, scaled(ev, e.default, sub)))
    return scatter(pieces, n)


def scaled_text(ev: Any, e: E.Expr, b: pa.RecordBatch) -> pa.Array | None:
    """The text of e with a display scale per value; None when nothing in e picks one, or
    when a value needs more than decimal256's 76 digits on the way (PostgreSQL's numeric has
    no such bound): the caller then evaluates e with one scale per column, as before."""
    if not scaled_capable(e):
        return None
    try:
        return scaled(ev, e, b).text()
    except NumericValueOutOfRange:
        return None


__all__ = ["scaled", "scaled_capable", "scaled_text"]
