"""The project's own logic tests (sqllogic/tests/*.slt), run on sqlvec both over the wire
and embedded. Expected results come from PostgreSQL 15 (`python -m sqllogic project --pg
--complete`); records sqlvec cannot pass yet are listed in sqllogic/known_failures.json
(`python -m sqllogic project [--embedded] --update-known-failures`)."""

from __future__ import annotations

import pytest

from sqllogic import corpus, run_file
from sqllogic.backends import embedded_factory, wire_factory
from sqllogic.servers import sqlvec_server
from tests.support.engine import ENGINE_MISSING, engine_available

FILES = corpus.project_files()


def test_every_area_has_a_file():
    areas = {"types", "nulls", "joins", "aggregates", "windows", "subqueries", "ctes", "upsert",
             "ddl", "errors", "setops", "strings", "datetime", "json", "arrays"}
    assert areas <= {f.rsplit("/", 1)[-1].removesuffix(".slt") for f in FILES}


@pytest.mark.parametrize("name", FILES)
def test_project_file_on_postgres(pg15_dsn, name):
    """The expected results are PostgreSQL's: every record passes on PostgreSQL 15."""
    rep = run_file(corpus.PROJECT_DIR / name, wire_factory(pg15_dsn), display_path=name)
    assert rep.failures == [], "\n".join(f"{f.line}: {f.reason}" for f in rep.failures)


@pytest.fixture(scope="module")
def sqlvec_dsn():
    if not engine_available():
        pytest.skip(ENGINE_MISSING)
    with sqlvec_server() as dsn:
        yield dsn


def _check(rep, section: str) -> None:
    known = set(corpus.load_known(section).get(rep.path, ()))
    new = [f for f in rep.failures if f.line not in known]
    print(f"{section} {rep.path}: {rep.passed}/{rep.passed + rep.failed} pass, {len(known)} known failures")
    assert not new, "\n".join(f"{rep.path}:{f.line}: {f.sql[:100]!r}\n    {f.reason[:300]}" for f in new)


@pytest.mark.parametrize("name", FILES)
def test_project_file_wire(sqlvec_dsn, name):
    rep = run_file(corpus.PROJECT_DIR / name, wire_factory(sqlvec_dsn, "schema", timeout=30),
                   display_path=name)
    _check(rep, "project")


@pytest.mark.skipif(not engine_available(), reason=ENGINE_MISSING)
@pytest.mark.parametrize("name", FILES)
def test_project_file_embedded(name):
    rep = run_file(corpus.PROJECT_DIR / name, embedded_factory(), display_path=name)
    _check(rep, "project-embedded")
