"""Optimizer rules: plans before/after, and the same rows with the rules on and off."""

from __future__ import annotations

from sqlvec.plan import logical as L
from sqlvec.session import Database, Session


def _plan(s: Session, sql: str) -> list[str]:
    r = list(s.execute("explain " + sql))[-1]
    return [row for b in r.batches for row in b.column(0).to_pylist()]


def _rows(s: Session, sql: str) -> list:
    r = list(s.execute(sql))[-1]
    return [row for b in r.batches for row in zip(*[c.to_pylist() for c in b.columns])]


def _session() -> Session:
    s = Session(Database.open(None))
    for q in ["create table t (a int, b int)", "create table u (a int, c int)",
              "insert into t values (1, 10), (2, 20), (3, 30)", "insert into u values (1, 5), (3, 7)"]:
        list(s.execute(q))
    return s


def test_fold_constants_and_pushdown_in_explain():
    s = _session()
    assert _plan(s, "select * from t where a > 1 + 1") == ["Seq Scan on t", "  Filter: (a > 2)"]
    lines = _plan(s, "select * from t join u on t.a = u.a where t.b > 10 and u.c < 7")
    assert lines[0].startswith("Hash Join")
    assert any("Filter: (b > 10)" in x for x in lines) and any("Filter: (c < 7)" in x for x in lines)


def test_rules_off_give_the_same_rows():
    queries = ["select * from t where a > 1 + 1 and true order by a",
               "select t.a, u.c from t join u on t.a = u.a where t.b > 10 or u.c = 5 order by 1",
               "select t.a from t, u where t.a = u.a and u.c > 5 order by 1"]
    on = _session()
    off = _session()
    list(off.execute("set sqlvec.disabled_rules = 'fold_constants, push_filter_into_join, push_filter_into_scan'"))
    for q in queries:
        assert _rows(on, q) == _rows(off, q), q


def test_rule_functions_are_pure():
    from sqlvec.plan.fold import fold_constants
    from sqlvec.plan.optimizer import RULES

    assert fold_constants in RULES
    v = L.Values(((),), ())
    assert fold_constants(v) is None
