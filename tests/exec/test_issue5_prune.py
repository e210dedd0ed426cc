"""Min/max segment pruning sees through widening casts: `WHERE small = 3` on an int2 column
(bound as `small::integer = 3`) skips segments as `WHERE k = 3` on an int4 one does."""

from __future__ import annotations

import pytest

from sqlvec.core import types as T
from sqlvec.exec.prune import pruner
from sqlvec.plan import expr as E
from sqlvec.session import Database, Session


def test_widening_casts_prune_and_others_do_not():
    col = E.ColRef(0, T.INT2, "s")
    as_int = E.Cast(col, T.INT4, explicit=False)
    prune = pruner(E.Func("=", (as_int, E.Const(3, T.INT4)), T.BOOL), ["s"])
    assert prune({"s": (10, 20)}) and not prune({"s": (0, 20)})
    prune = pruner(E.Func("<", (E.Const(15, T.INT8), E.Cast(as_int, T.INT8, explicit=False)),
                          T.BOOL), ["s"])  # 15 < s: flipped, two casts deep
    assert prune({"s": (0, 15)}) and not prune({"s": (0, 16)})
    prune = pruner(E.InList(as_int, (E.Const(1, T.INT4), E.Const(2, T.INT4)), False, T.BOOL), ["s"])
    assert prune({"s": (3, 9)}) and not prune({"s": (2, 9)})
    # text order is not numeric order, and int8 -> float8 rounds: no pruning through these
    big = E.ColRef(0, T.INT8, "b")
    assert pruner(E.Func("=", (E.Cast(col, T.TEXT), E.Const("3", T.TEXT)), T.BOOL), ["s"]) is None
    assert pruner(E.Func("=", (E.Cast(big, T.FLOAT8), E.Const(1.0, T.FLOAT8)), T.BOOL), ["b"]) is None


def _rows(s: Session, sql: str) -> list[tuple]:
    r = list(s.execute(sql))[-1]
    return [tuple(c.as_py() for c in row) for b in r.batches for row in zip(*b.columns)]


@pytest.mark.parametrize("where,want", [("small = 3", 1), ("small < 3", 1), ("small >= 2007", 1),
                                        ("small in (2, 1005)", 2), ("small = 3.0", 1)])
def test_int2_filter_skips_segments(tmp_path, where, want):
    db = Database.open(str(tmp_path / "d"))
    s = Session(db)
    list(s.execute("create table t (id int, small int2, v vector(2))"))
    for lo in (0, 1000, 2000):  # three sealed segments with disjoint ranges of small
        list(s.execute(f"insert into t select g, (g / 10 + {lo})::int2, array[g, 1]::real[]::vector "
                       f"from generate_series(0, 99) g"))
        db.store.checkpoint()
    lines = [r[0] for r in _rows(s, f"explain analyze select id from t where {where}")]
    assert f"Segments Skipped by Min/Max: {3 - want} of 3" in "\n".join(lines), lines
    plain = _rows(s, f"select id from t where {where.replace('small', 'small::text::int')} order by id")
    assert _rows(s, f"select id from t where {where} order by id") == plain and plain
    db.close()
