"""Every catalog/introspection statement the clients were seen sending to PostgreSQL 15 runs.

The statements come from /work/shared/clients/driver_queries_pg15_pgvector.txt (or the copy
beside this file); parameterised ones are prepared and executed with NULL parameters. The
objects they name do not exist here, so this checks that sqlvec answers every shape
without an error; tests/clients/test_psql.py and test_drivers.py compare actual answers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sqlvec.session import Database, Session

SOURCES = [Path(__file__).parent / "driver_queries_pg15.txt",
           Path("/work/shared/clients/driver_queries_pg15_pgvector.txt")]
SKIP = re.compile(r"(?i)^(FETCH|CLOSE|SAVEPOINT|ROLLBACK|RELEASE|DEALLOCATE|SET |BEGIN|COMMIT)")
# gaps outside the catalog, owned by the engine (reported in issue 6)
ENGINE_GAPS = {
    "dependent_namespace": "engine: join scoping of pg_depend chains (dbt)",
}


def _statements() -> list[tuple[str, str]]:
    src = next((p for p in SOURCES if p.exists()), None)
    if src is None:
        return []
    out: list[tuple[str, str]] = []
    client = ""
    for line in src.read_text().splitlines():
        if line.startswith("=== "):
            client = line.split()[1].rstrip(":")
        m = re.match(r"\[\d+x\] (.*)", line)
        if m and not SKIP.match(m.group(1)) and " -- " not in m.group(1):
            out.append((client, m.group(1)))
    return out


STATEMENTS = _statements()


def _marks(sql: str) -> list:
    return [pytest.mark.xfail(reason=why, strict=True) for key, why in ENGINE_GAPS.items() if key in sql]


@pytest.fixture(scope="module")
def db():
    d = Database.open(None)
    s = Session(d)
    for stmt in ("create table cc_items (id int primary key, name text not null, emb vector(3))",
                 "create index cc_items_name on cc_items (name)"):
        list(s.execute(stmt))
    return d


@pytest.mark.skipif(not STATEMENTS, reason="captured client statements are not available")
@pytest.mark.parametrize("client,sql", [pytest.param(c, q, id=f"{c}-{i}", marks=_marks(q))
                                        for i, (c, q) in enumerate(STATEMENTS)])
def test_captured_statement_runs(db, client, sql):
    s = Session(db)
    nparams = max((int(n) for n in re.findall(r"\$(\d+)", sql)), default=0)
    if nparams:
        stmt = s.prepare(sql, [])
        portal = s.bind(stmt, [None] * nparams, [])
        res, _ = s.execute_portal(portal)
        list(getattr(res, "batches", []))
        return
    for res in s.execute(sql):
        list(getattr(res, "batches", []))
