"""pg_relation_size of a vector index is its files on disk (pgvector's docs measure an
index with it); pg_indexes_size / pg_total_relation_size add the table's vector indexes;
pg_database_size is the data directory's."""

from __future__ import annotations

import os

import pytest

import sqlvec


def test_vector_index_sizes_are_their_files(tmp_path):
    data = tmp_path / "db"
    con = sqlvec.connect(str(data))
    con.autocommit = True
    cur = con.cursor()
    cur.execute("create table items (id int, embedding vector(8))")
    cur.execute("insert into items select g, array_fill(g::real, array[8])::vector(8) "
                "from generate_series(1, 70000) g")  # (a sealed segment: a graph of its own)
    cur.execute("create index items_idx on items using hnsw (embedding vector_l2_ops)")
    cur.execute("create index items_ivf on items using ivfflat (embedding vector_l2_ops) "
                "with (lists = 10)")
    cur.execute("create index items_id on items (id)")
    cur.execute("select oid, relname from pg_class where relname in ('items_idx', 'items_ivf')")
    files = {}
    for oid, name in cur.fetchall():
        files[name] = sum(e.stat().st_size for e in os.scandir(data / "indexes")
                          if e.name.startswith(f"{oid}."))
    assert all(v > 0 for v in files.values())
    cur.execute("select pg_relation_size('items_idx'), pg_relation_size('items_ivf'), "
                "pg_total_relation_size('items_idx'), pg_relation_size('items_id')")
    assert cur.fetchall() == [(files["items_idx"], files["items_ivf"], files["items_idx"], 0)]
    cur.execute("select pg_indexes_size('items'), "
                "pg_total_relation_size('items') - pg_relation_size('items')")
    assert cur.fetchall() == [(sum(files.values()), sum(files.values()))]
    cur.execute("select pg_database_size(current_database()), "
                "pg_database_size((select oid from pg_database where datname = current_database())),"
                " pg_database_size(0::oid)")
    size, by_oid, none = cur.fetchall()[0]
    assert size == by_oid >= sum(files.values()) and none is None
    with pytest.raises(sqlvec.Error) as e:
        cur.execute("select pg_database_size('no_such_db')")
    assert e.value.sqlstate == "3D000"
    cur.execute("drop index items_ivf")
    cur.execute("select pg_indexes_size('items')")
    assert cur.fetchall() == [(files["items_idx"],)]
    con.close()
