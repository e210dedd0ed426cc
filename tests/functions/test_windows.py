"""Window functions over sorted input; expectations from PostgreSQL 15 for
`(values (1),(2),(2),(5)) t(x) window w as (order by x)`."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sqlvec.core import types as T
from sqlvec.core.textio import format_text
from sqlvec.functions.windows import WindowFrame

X = pa.array([1, 2, 2, 5], pa.int32())
PARTS = np.zeros(4, np.int64)
PEERS = np.array([0, 1, 1, 2])


def win(regs, name, types, args, frame=None, key=None):
    w = regs.functions.window(name, types)
    out = w.evaluate(args, PARTS, PEERS, frame, order_key=key)
    return format_text(out, w.return_type).to_pylist()


def test_ranking(regs):
    assert win(regs, "row_number", [], []) == ["1", "2", "3", "4"]
    assert win(regs, "rank", [], []) == ["1", "2", "2", "4"]
    assert win(regs, "dense_rank", [], []) == ["1", "2", "2", "3"]
    assert win(regs, "percent_rank", [], []) == ["0", "0.3333333333333333", "0.3333333333333333", "1"]
    assert win(regs, "cume_dist", [], []) == ["0.25", "0.75", "0.75", "1"]
    assert win(regs, "ntile", [T.INT4], [pa.scalar(3, pa.int32())]) == ["1", "1", "2", "3"]


def test_offsets_and_values(regs):
    assert win(regs, "lag", [T.INT4], [X]) == [None, "1", "2", "2"]
    three = [X, pa.scalar(2, pa.int32()), pa.scalar(0, pa.int32())]
    assert win(regs, "lead", [T.INT4, T.INT4, T.INT4], three) == ["2", "5", "0", "0"]
    assert win(regs, "first_value", [T.INT4], [X]) == ["1", "1", "1", "1"]
    assert win(regs, "last_value", [T.INT4], [X]) == ["1", "2", "2", "5"]
    assert win(regs, "nth_value", [T.INT4, T.INT4], [X, pa.scalar(2, pa.int32())]) == \
        [None, "2", "2", "2"]


def test_aggregates_default_frame_includes_peers(regs):
    assert win(regs, "sum", [T.INT4], [X]) == ["1", "5", "5", "10"]
    assert win(regs, "avg", [T.INT4], [X])[1:] == ["1.6666666666666667", "1.6666666666666667",
                                                    "2.5000000000000000"]
    assert win(regs, "max", [T.INT4], [X]) == ["1", "2", "2", "5"]
    assert win(regs, "string_agg", [T.TEXT, T.TEXT], [pa.array(list("abcd")), pa.scalar(",")]) == \
        ["a", "a,b,c", "a,b,c", "a,b,c,d"]


def test_explicit_frames(regs):
    rows = WindowFrame("rows", "preceding", 1, "following", 1)
    assert win(regs, "sum", [T.INT4], [X], rows) == ["3", "5", "9", "7"]
    rng = WindowFrame("range", "preceding", 1, "current row")
    assert win(regs, "sum", [T.INT4], [X], rng, key=X) == ["1", "5", "5", "5"]
    groups = WindowFrame("groups", "preceding", 1, "current row")
    assert win(regs, "sum", [T.INT4], [X], groups) == ["1", "5", "5", "9"]
    whole = WindowFrame("rows", "unbounded preceding", None, "unbounded following")
    assert win(regs, "last_value", [T.INT4], [X], whole) == ["5", "5", "5", "5"]
    assert win(regs, "count", [], [], whole) == ["4", "4", "4", "4"]
