"""Every registered overload, called with random typed batches (NULLs, scalars, edge values),
either answers n rows or raises a SqlError: never a bare Python/Arrow exception (XX000)."""

from __future__ import annotations

import datetime as dt
import random
import warnings
from decimal import Decimal

import pyarrow as pa
import pytest

from sqlvec.core import types as T
from sqlvec.core.errors import SqlError

SAMPLES = {
    "bool": [True, False, None], "int2": [1, -3, None, 32767], "int4": [0, 5, -7, None, 2**31 - 1],
    "int8": [3, None, -2**63, 10], "float4": [1.5, -0.0, None, float("nan")],
    "float8": [2.5, float("inf"), None, 0.0, -1.0],
    "numeric": [Decimal("1.5"), Decimal("-2"), None, Decimal("0")],
    "text": ["abc", "", None, "a,b,c", "{1,2}", '{"a":1}'], "bytea": [b"\x00\xff", b"", None],
    "date": [dt.date(2024, 1, 31), None], "time": [dt.time(1, 2, 3), None],
    "timestamp": [dt.datetime(2024, 2, 29, 10), None],
    "timestamptz": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC), None],
    "interval": [pa.MonthDayNano([1, 2, 3000]), None, pa.MonthDayNano([0, -1, 0])],
    "uuid": [b"0123456789abcdef", None], "json": ['{"a": [1, 2]}', '[1,"x"]', None, "3"],
    "jsonb": ['{"a": [1, 2]}', '[1, "x"]', None, '"s"'], "unknown": ["1", "abc", None],
}
CONCRETE = [T.BOOL, T.INT2, T.INT4, T.INT8, T.FLOAT4, T.FLOAT8, T.NUMERIC, T.TEXT, T.BYTEA, T.DATE,
            T.TIME, T.TIMESTAMP, T.TIMESTAMPTZ, T.INTERVAL, T.UUID, T.JSON, T.JSONB, T.UNKNOWN,
            T.array_of(T.INT4), T.array_of(T.TEXT)]


def _batch(rng: random.Random, t: T.SqlType, n: int) -> pa.Array | None:
    if t.is_array:
        base = SAMPLES.get(t.element.short, [None])
        return pa.array([[rng.choice(base) for _ in range(rng.randint(0, 3))]
                         if rng.random() > 0.2 else None for _ in range(n)], type=t.arrow)
    base = SAMPLES.get(t.short)
    if base is None:
        return None
    return pa.array([rng.choice(base) for _ in range(n)],
                    type=pa.string() if t.short == "unknown" else t.arrow)


@pytest.mark.parametrize("seed", [1, 2])
def test_no_bare_exceptions(regs, seed):
    rng = random.Random(seed)
    fr = regs.functions
    failures = []
    for name in fr.names():
        for d in fr.overloads(name):
            if d.volatile and not d.args:
                continue
            nargs = len(d.args) + (1 if d.variadic else 0)
            types = [rng.choice(CONCRETE) if p.category == "P" else
                     (p if rng.random() < 0.7 else rng.choice(CONCRETE)) for p in d.declared_for(nargs)]
            try:
                bf = fr.resolve(name, types)
            except SqlError:
                continue
            n = rng.choice([0, 1, 3])
            args = [_batch(rng, t, n) for t in types]
            if any(a is None for a in args):
                continue
            args = [a[0] if n and rng.random() < 0.3 else a for a in args]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out = bf.call(args, n)
                if len(out) != n:
                    failures.append(f"{name}{[t.display() for t in types]}: {len(out)} rows")
            except SqlError:
                pass
            except Exception as e:  # noqa: BLE001 - the point of the test
                failures.append(f"{name}{[t.display() for t in types]}: {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures[:20])


@pytest.mark.parametrize("seed", [1, 2])
def test_aggregates_and_windows_no_bare_exceptions(regs, seed):
    import numpy as np

    from sqlvec.functions.windows import WindowFrame

    rng = random.Random(seed)
    fr = regs.functions
    failures = []
    for name, defs in sorted(fr.aggregates.items()):
        for d in defs:
            types = [rng.choice(CONCRETE) if p.category == "P" else p
                     for p in d.declared_for(len(d.args))]
            for distinct in (False, True):
                try:
                    agg = fr.aggregate(name, types, distinct)
                except SqlError:
                    continue
                n = rng.choice([0, 1, 5])
                args = [_batch(rng, t, n) for t in types]
                if any(a is None for a in args):
                    continue
                gid = np.array([rng.randrange(3) for _ in range(n)], np.int64)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        out = agg.evaluate(args, gid, 3)
                        assert len(out) == 3
                        if not distinct:
                            w = fr.window(name, types).evaluate(
                                args, np.sort(gid), np.arange(n),
                                WindowFrame("rows", "preceding", 1, "following", 1))
                            assert len(w) == n
                except SqlError:
                    pass
                except Exception as e:  # noqa: BLE001
                    failures.append(f"{name}{[t.display() for t in types]}: {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures[:20])
