"""REINDEX INDEX / TABLE / SCHEMA / DATABASE / SYSTEM: vector indexes are built again (new
storage: files under a new oid, the old ones deleted once the commit is durable, kept by a
ROLLBACK), answers stay equal to the exact scan, names and errors as PostgreSQL's."""

from __future__ import annotations

import pytest

from sqlvec.dbapi.exceptions import Error
from tests.vectors.test_index_files import _connect, _files, _oid, _parts, _small, _table


@pytest.fixture()
def small(monkeypatch):
    _small(monkeypatch)


Q = "'[0.5,0.5,0.5,0.5]'"


def _answers(run):
    run("set sqlvec.exact_scan_threshold = 0")
    got = run(f"select id from t order by emb <-> {Q} limit 10")
    plan = [r[0] for r in run(f"explain analyze select id from t order by emb <-> {Q} limit 10")
            if "Strategy" in r[0]]
    run("set sqlvec.exact_scan_threshold = 1000000000")
    want = run(f"select id from t order by emb <-> {Q} limit 10")
    run("reset sqlvec.exact_scan_threshold")
    return got, want, plan


@pytest.mark.parametrize("stmt", ["reindex index t_idx", "reindex table t",
                                  "reindex (verbose) table public.t", "reindex schema public",
                                  "reindex database", "reindex database sqlvec",
                                  "reindex index concurrently t_idx"])
def test_reindex_builds_the_vector_index_again(tmp_path, small, stmt):
    path = str(tmp_path / "db")
    con, run = _connect(path)
    old = _table(run)
    assert len(_parts(path, old)) == 2
    run("set hnsw.ef_search = 200")
    before = _answers(run)
    cur = con.cursor()
    cur.execute(stmt)
    assert cur.statusmessage == "REINDEX"
    new = _oid(run, "t_idx")
    assert new != old and _files(path, old) == []  # the old storage went with the commit
    assert len(_parts(path, new)) == 2  # segment graphs built by the REINDEX itself
    assert run("select indexdef from pg_indexes where indexname = 't_idx'") == [
        ("CREATE INDEX t_idx ON public.t USING hnsw (emb vector_l2_ops)",)]
    got, want, plan = _answers(run)
    assert got == want == before[1] and plan == before[2]
    con.close()


def test_reindex_retrains_ivfflat_lists_and_rollback_keeps_the_old_index(tmp_path, small):
    path = str(tmp_path / "db")
    con, run = _connect(path)
    run("create table t (id int, emb vector(4))")
    run("insert into t select i, array[i % 7, i % 5, i % 3, 1]::real[]::vector "
        "from generate_series(1, 200) i")
    run("create index t_idx on t using ivfflat (emb vector_l2_ops) with (lists = 4)")
    run("insert into t select i, array[(i % 11) * 0.1, i % 13, 0.5, i % 2]::real[]::vector "
        "from generate_series(201, 3000) i")
    run("set ivfflat.probes = 4")
    got, want, _plan = _answers(run)
    assert got == want  # (full probes: exact)
    old = _oid(run, "t_idx")
    saved = _files(path, old)
    assert saved
    run("begin")
    run("reindex table t")
    assert _oid(run, "t_idx") != old
    run("rollback")
    assert _oid(run, "t_idx") == old and _files(path, old) == saved
    run("reindex index t_idx")
    new = _oid(run, "t_idx")
    assert _files(path, old) == [] and _files(path, new)
    run("set ivfflat.probes = 1")  # lists trained on all 3,000 rows now
    run("set ivfflat.probes = 4")
    got, want, plan = _answers(run)
    assert got == want and "ivfflat t_idx" in plan[0]
    con.close()


@pytest.mark.parametrize("stmt, state, message", [
    ("reindex index nope", "42P01", 'relation "nope" does not exist'),
    ("reindex index public.nope", "42P01", 'relation "public.nope" does not exist'),
    ("reindex index t", "42809", '"t" is not an index'),
    ("reindex table nope", "42P01", 'relation "nope" does not exist'),
    ("reindex table t_idx", "42809", '"t_idx" is not a table or materialized view'),
    ("reindex table v", "42809", '"v" is not a table or materialized view'),
    ("reindex schema nope", "3F000", 'schema "nope" does not exist'),
    ("reindex database other", "0A000", "can only reindex the currently open database"),
    ("reindex system concurrently", "0A000", "cannot reindex system catalogs concurrently"),
    ("reindex", "42601", "syntax error at end of input"),
    ("reindex index", "42601", "syntax error at end of input"),
    ("reindex view v", "42601", 'syntax error at or near "view"'),
    ("reindex table t t", "42601", 'syntax error at or near "t"'),
])
def test_reindex_errors(db, stmt, state, message):
    db("create table t (id int, emb vector(2))")
    db("create index t_idx on t using hnsw (emb vector_l2_ops)")
    db("create view v as select * from t")
    with pytest.raises(Error) as e:
        db(stmt)
    assert (e.value.sqlstate, str(e.value)) == (state, message)


@pytest.mark.parametrize("stmt, what", [
    ("reindex schema public", "SCHEMA"), ("reindex database", "DATABASE"),
    ("reindex system", "SYSTEM"), ("reindex table concurrently t", "CONCURRENTLY"),
    ("reindex (concurrently) index t_idx", "CONCURRENTLY")])
def test_reindex_outside_a_block_only(db, stmt, what):
    db("create table t (id int, emb vector(2))")
    db("insert into t values (1, '[1,2]')")
    db("create index t_idx on t using hnsw (emb vector_l2_ops)")
    db("begin")
    with pytest.raises(Error) as e:
        db(stmt)
    assert (e.value.sqlstate, str(e.value)) == (
        "25001", f"REINDEX {what} cannot run inside a transaction block")
    db("rollback")
    db("begin")
    db("reindex table t")  # INDEX and TABLE run in the block
    db("reindex index t_idx")
    db("commit")
    assert db("select id from t order by emb <-> '[1,2]' limit 1") == [(1,)]


def test_reindex_over_the_wire(server):
    import psycopg

    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("create extension if not exists vector")
        con.execute("create table rw (id int, emb vector(2))")
        con.execute("insert into rw values (1, '[1,2]'), (2, '[3,4]')")
        con.execute("create index rw_idx on rw using hnsw (emb vector_l2_ops)")
        cur = con.execute("reindex table rw")  # (extended protocol)
        assert cur.statusmessage == "REINDEX"
        with pytest.raises(psycopg.errors.UndefinedTable):
            con.execute("reindex index nope")
        con.execute("set sqlvec.exact_scan_threshold = 0")
        assert con.execute("select id from rw order by emb <-> '[3,4]' limit 1").fetchall() == [(2,)]
