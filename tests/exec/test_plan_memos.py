"""Per-node memos of the executor (schemas, projection picks, constant scalars, lookups):
worked out once for a cached plan, and never keeping a plan alive once it is dropped."""

from __future__ import annotations

import gc
import weakref

from sqlvec.exec import evaluate, key_lookup, operators
from sqlvec.session import Database, Session


def _rows(result) -> list[tuple]:
    return [r for b in result.batches for r in zip(*[c.to_pylist() for c in b.columns])]


def test_memos_reused_by_a_cached_plan_and_released_with_it():
    s = Session(Database.open(None))
    for q in ["create table kv (id int primary key, v text, n int)",
              "insert into kv select g, 'v' || g, g * 2 from generate_series(1, 50) g"]:
        list(s.execute(q))
    lookup = s.prepare("select v, n, v from kv where id = $1", [], "lookup")
    calc = s.prepare("select $1::int * 3 + 1, lower($2)", [], "calc")
    values = s.prepare("select * from (values (1, 'a'), (2, 'b')) as t(x, y) where x >= $1", [], "values")
    for i in (1, 7, 50, 51):
        assert _rows(s.execute_prepared(lookup, [i])) == ([] if i == 51 else [(f"v{i}", 2 * i, f"v{i}")])
        assert _rows(s.execute_prepared(calc, [i, "AbC"])) == [(3 * i + 1, "abc")]
        assert _rows(s.execute_prepared(values, [i])) == [(x, y) for x, y in ((1, "a"), (2, "b")) if x >= i]
    plans = [weakref.ref(st.plan_cache["generic"][1]) for st in (lookup, calc, values)]
    sizes = (len(operators._SCHEMAS), len(operators._PICKS), len(evaluate._SCALARS), len(key_lookup._PICKED),
             len(key_lookup._POINT_KEY))
    assert all(sizes)
    for name in ("lookup", "calc", "values"):
        s.close_statement(name)
    del lookup, calc, values
    gc.collect()
    assert [r() for r in plans] == [None, None, None]  # the memos hold their nodes weakly
