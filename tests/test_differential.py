"""Differential test: seeded random tables and queries on PostgreSQL 15 and on sqlvec.

Results are compared as sorted multisets (in order when ORDER BY ... LIMIT fixes it),
floats with a relative tolerance, errors by SQLSTATE. SQLVEC_DIFF_COUNT (default 200)
and SQLVEC_DIFF_SEED (default 20251125) make longer or different runs; SQLVEC_DIFF_SHOW
(default 15) is how many differences are printed.

Query classes listed in KNOWN_FAILING_CLASSES are features the engine cannot do yet; a
query that fails and uses one of them is reported LOUDLY but does not fail the test.
Every other mismatch fails it.
"""

from __future__ import annotations

import decimal
import math
import os

import pytest

from tests.support.conftest_pg import pg15_dsn  # noqa: F401 - fixture
from tests.support.engine import ENGINE_MISSING, engine_available
from tests.support.querygen import QueryGen, table_data

psycopg = pytest.importorskip("psycopg")

COUNT = int(os.environ.get("SQLVEC_DIFF_COUNT", "200"))
SEED = int(os.environ.get("SQLVEC_DIFF_SEED", "20251125"))

SHOW = int(os.environ.get("SQLVEC_DIFF_SHOW", "15"))  # differences printed per kind

# Feature classes (see tests/support/querygen.py) sqlvec does not answer like PostgreSQL yet.
# (cast:numeric_text, `(n / 3)::text`, passes since the text of a numeric expression takes
# each value's display scale: functions/numeric_scale.py.)
KNOWN_FAILING_CLASSES: set[str] = set()


def _norm(v: object) -> object:
    """A comparable form of one value: numbers as float, everything else as is."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int | float | decimal.Decimal):
        return float(v)
    return str(v)


def _key(row: tuple) -> tuple:
    """A total sort key for a row of normalised values (NULLs first, numbers rounded)."""
    out = []
    for v in row:
        if v is None:
            out.append((0, 0.0, ""))
        elif isinstance(v, bool):
            out.append((1, float(v), ""))
        elif isinstance(v, float):
            out.append((2, 0.0 if math.isnan(v) else round(v, 6), ""))
        else:
            out.append((3, 0.0, str(v)))
    return tuple(out)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b and type(a) is type(b)


def run(conn, sql: str) -> tuple[str, object]:
    """('rows', normalised rows) or ('error', SQLSTATE)."""
    try:
        cur = conn.execute(sql)
        rows = cur.fetchall() if cur.description is not None else []
        return "rows", [tuple(_norm(v) for v in r) for r in rows]
    except psycopg.Error as exc:
        return "error", exc.sqlstate


def compare(pg: tuple[str, object], sv: tuple[str, object], ordered: bool) -> str | None:
    """None when sqlvec answered like PostgreSQL, else a short description."""
    if pg[0] != sv[0]:
        return f"PostgreSQL gave {pg[0]} {_brief(pg[1])}, sqlvec gave {sv[0]} {_brief(sv[1])}"
    if pg[0] == "error":
        return None if pg[1] == sv[1] else f"SQLSTATE {pg[1]} != {sv[1]}"
    a, b = list(pg[1]), list(sv[1])
    if len(a) != len(b):
        return f"{len(a)} rows != {len(b)} rows: {_brief(a)} vs {_brief(b)}"
    if not ordered:
        a.sort(key=_key)
        b.sort(key=_key)
    for ra, rb in zip(a, b):
        if len(ra) != len(rb) or not all(_same(x, y) for x, y in zip(ra, rb)):
            return f"row {ra!r} != {rb!r}"
    return None


def _brief(v: object) -> str:
    text = repr(v)
    return text if len(text) < 200 else text[:200] + "..."


@pytest.fixture(scope="module")
def connections(pg15_dsn, server):  # noqa: F811 - pytest fixture injection
    """Autocommit connections to PostgreSQL and to sqlvec, both loaded with the same data."""
    pg = psycopg.connect(pg15_dsn, autocommit=True)
    sv = psycopg.connect(server.dsn, autocommit=True)
    pg.execute("DROP SCHEMA IF EXISTS diff CASCADE")
    pg.execute("CREATE SCHEMA diff")
    pg.execute("SET search_path TO diff")
    for stmt in table_data(SEED):
        pg.execute(stmt)
        sv.execute(stmt)
    yield pg, sv
    pg.close()
    sv.close()


@pytest.mark.skipif(not engine_available(), reason=ENGINE_MISSING)
def test_differential(connections):
    pg, sv = connections
    gen = QueryGen(SEED)
    unexpected, known = [], []
    for i in range(COUNT):
        q = gen.query()
        problem = compare(run(pg, q.sql), run(sv, q.sql), q.ordered)
        if problem is None:
            continue
        entry = f"#{i} [{', '.join(sorted(q.classes))}]\n    {q.sql}\n    {problem}"
        (known if q.classes & KNOWN_FAILING_CLASSES else unexpected).append(entry)
    print(f"\ndifferential: seed {SEED}, {COUNT} queries, {COUNT - len(known) - len(unexpected)} "
          f"agree, {len(known)} known-class failures, {len(unexpected)} unexpected")
    if known:
        print("!!!! KNOWN FAILING CLASSES (engine gaps, not hidden): "
              f"{sorted(KNOWN_FAILING_CLASSES)}: {len(known)} queries")
        for e in known[:SHOW]:
            print("  known:", e)
    assert not unexpected, f"{len(unexpected)} of {COUNT} queries differ:\n" + "\n".join(unexpected[:SHOW])


def test_compare_catches_differences():
    """The comparison itself: order, multiplicity, float tolerance, SQLSTATE."""
    rows = ("rows", [(1.0, "a"), (2.0, None)])
    assert compare(rows, ("rows", [(2.0, None), (1.0, "a")]), ordered=False) is None
    assert compare(rows, ("rows", [(2.0, None), (1.0, "a")]), ordered=True) is not None
    assert compare(rows, ("rows", [(1.0, "a")]), ordered=False) is not None
    assert compare(("rows", [(0.1 + 0.2,)]), ("rows", [(0.3,)]), ordered=False) is None
    assert compare(("rows", [(1.0,)]), ("rows", [(1.001,)]), ordered=False) is not None
    assert compare(("error", "22012"), ("error", "22012"), ordered=False) is None
    assert compare(("error", "22012"), ("error", "22003"), ordered=False) is not None
    assert compare(("error", "22012"), ("rows", []), ordered=False) is not None
    assert compare(("rows", [("1",)]), ("rows", [(1.0,)]), ordered=False) is not None
