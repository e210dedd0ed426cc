"""Scans pass their filter to storage as min/max segment pruning; results do not change."""

from __future__ import annotations

from sqlvec.core import types as T
from sqlvec.exec.prune import pruner
from sqlvec.plan import expr as E
from sqlvec.session import Database, Session


def test_pruner_logic():
    a = E.ColRef(0, T.INT4, "a")
    pred = E.BoolOp("and", (E.Func(">", (a, E.Const(100, T.INT4)), T.BOOL),
                            E.Func("=", (E.Const(5, T.INT4), E.ColRef(1, T.INT4, "b")), T.BOOL)), T.BOOL)
    prune = pruner(pred, ["a", "b"])
    assert prune({"a": (0, 50), "b": (0, 10)})
    assert not prune({"a": (0, 150), "b": (0, 10)})
    assert prune({"a": (0, 150), "b": (6, 10)})
    assert not prune({"b": (0, 10)})
    assert pruner(E.Func("<>", (a, E.Const(1, T.INT4)), T.BOOL), ["a"]) is None


def test_pruned_scan_gives_same_rows(tmp_path):
    db = Database.open(str(tmp_path / "d"))
    s = Session(db)
    list(s.execute("create table t (a int, b text)"))
    for lo in (0, 1000, 2000):
        list(s.execute(f"insert into t select g, 'v' || g from generate_series({lo}, {lo + 999}) g"))
        db.store.checkpoint()
    r = list(s.execute("select count(*), min(a), max(a) from t where a >= 1500 and a < 2100"))[-1]
    assert [tuple(c[0].as_py() for c in b.columns) for b in r.batches] == [(600, 1500, 2099)]
    r = list(s.execute("select b from t where a = 2500"))[-1]
    assert [v for b in r.batches for v in b.column(0).to_pylist()] == ["v2500"]
    db.close()
