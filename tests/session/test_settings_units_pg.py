"""Memory-sized and planner settings that pgvector's documentation and tuning scripts SET
(maintenance_work_mem, max_parallel_maintenance_workers, ...): values, units, SHOW and
errors as PostgreSQL 15's, side by side."""

from __future__ import annotations

import os

import pytest

import sqlvec
from tests.support.conftest_pg import assert_steps_as_postgresql

STEPS = [
    "show work_mem", "show maintenance_work_mem", "show effective_cache_size",
    "show max_parallel_workers",
    "show max_parallel_workers_per_gather", "show random_page_cost",
    "set maintenance_work_mem = '8GB'", "show maintenance_work_mem",
    "set maintenance_work_mem = '1.5GB'", "show maintenance_work_mem",
    "set maintenance_work_mem = 65536", "show maintenance_work_mem",
    "set maintenance_work_mem = '2048 MB'", "show maintenance_work_mem",
    "set maintenance_work_mem = '1048577B'", "show maintenance_work_mem",
    "set maintenance_work_mem = '1000kB'", "set maintenance_work_mem = '8gb'",
    "set maintenance_work_mem = 'banana'", "set maintenance_work_mem = ''",
    "set work_mem = '10kB'", "set work_mem = -1", "set work_mem = '3TB'",
    "set work_mem = 1025", "show work_mem", "reset work_mem", "show work_mem",
    "set max_parallel_maintenance_workers = 7", "show max_parallel_maintenance_workers",
    "set max_parallel_maintenance_workers = 2000", "set max_parallel_maintenance_workers = -1",
    "set max_parallel_maintenance_workers = '1.5'", "show max_parallel_maintenance_workers",
    "set max_parallel_workers = 9999", "set max_parallel_workers_per_gather = 0",
    "show max_parallel_workers_per_gather",
    "set effective_cache_size = '8GB'", "show effective_cache_size",
    "set effective_cache_size = 1000", "show effective_cache_size",
    "set effective_cache_size = '100kB'", "show effective_cache_size",
    "set effective_cache_size = 0",
    "set random_page_cost = 1.1", "show random_page_cost", "set random_page_cost = -1",
    "set random_page_cost = 'x'",
    "begin", "set local maintenance_work_mem = '1GB'", "show maintenance_work_mem", "commit",
    "show maintenance_work_mem", "set work_mem = '8MB'", "set jit = maybe", "set jit = true",
    "show jit",
    # the planner's method switches (pgvector's documentation sets two of them)
    "set enable_indexscan = off", "show enable_indexscan", "set enable_seqscan = 'false'",
    "show enable_seqscan", "set enable_hashjoin = maybe", "set enable_nestloop = 0",
    "show enable_nestloop", "show enable_partitionwise_join", "reset enable_indexscan",
    "show enable_indexscan", "begin", "set local enable_bitmapscan = off",
    "show enable_bitmapscan", "commit", "show enable_bitmapscan",
    "select name, setting, unit, vartype, min_val, max_val, boot_val from pg_settings where "
    "name in ('work_mem', 'maintenance_work_mem', 'effective_cache_size', 'random_page_cost', "
    "'max_parallel_workers', 'statement_timeout', 'enable_seqscan') order by name",
    "select name, setting, vartype, boot_val from pg_settings where name like 'enable%' "
    "order by name",
]


def test_memory_and_planner_settings_as_postgresql(pg15_dsn):
    assert_steps_as_postgresql(pg15_dsn, STEPS)


def test_start_up_booleans_kept_as_set_keeps_them():
    """`options=-c enable_seqscan=false` is read as SET reads it (the planner sees off)."""
    from sqlvec.session.settings import Settings

    s = Settings({"enable_seqscan": "false", "enable_indexscan": "YES"})
    assert (s.values["enable_seqscan"], s.values["enable_indexscan"]) == ("off", "on")


def test_index_builds_use_every_cpu_by_default():
    """max_parallel_maintenance_workers defaults to the CPUs less the leader (PostgreSQL's
    default is 2): a CREATE INDEX uses the whole machine unless told otherwise."""
    cur = sqlvec.connect().cursor()
    cur.execute("show max_parallel_maintenance_workers")
    assert cur.fetchall() == [(str(max(0, (os.cpu_count() or 1) - 1)),)]


@pytest.mark.parametrize("workers", [0, 1, 7])
def test_pgvectors_index_build_settings(tmp_path, monkeypatch, workers):
    """pgvector's README builds an index after SET maintenance_work_mem and
    max_parallel_maintenance_workers: both are taken, and the graph is built on that many
    workers + 1 (the leader) of usearch's threads, at most the CPUs."""
    from usearch.index import Index

    from sqlvec.index import hnsw

    seen = []
    add, search = Index.add, Index.search

    def spy_add(self, *args, threads=0, **kw):
        seen.append(threads)
        return add(self, *args, threads=threads, **kw)

    def spy_search(self, *args, threads=0, **kw):
        seen.append(threads)
        return search(self, *args, threads=threads, **kw)
    monkeypatch.setattr(Index, "add", spy_add)
    monkeypatch.setattr(Index, "search", spy_search)
    monkeypatch.setattr(hnsw, "SERIAL_ROWS", 100)  # (a small table builds in parallel too)
    con = sqlvec.connect(str(tmp_path / "db"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute("create table items (id int, embedding vector(3))")
    cur.execute("insert into items select g, array[g % 7, g % 5, g % 3]::vector(3) "
                "from generate_series(1, 3000) g")
    cur.execute("set maintenance_work_mem = '8GB'")
    cur.execute(f"set max_parallel_maintenance_workers = {workers}")
    seen.clear()
    cur.execute("create index on items using hnsw (embedding vector_l2_ops)")
    limit = min(workers + 1, hnsw.THREADS)
    assert limit in seen and set(seen) <= {1, limit}  # (1: a step over a few rows)
    cur.execute("select id from items order by embedding <-> '[1,1,1]' limit 3")
    assert len(cur.fetchall()) == 3
    con.close()
