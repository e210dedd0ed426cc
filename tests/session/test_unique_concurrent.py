"""Unique keys across concurrent transactions: the second commit of a key gets 23505."""

from __future__ import annotations

import json

import pytest

from sqlvec.core.errors import SqlError
from sqlvec.session import Session


def _run(s: Session, sql: str):
    return list(s.execute(sql))[-1]


def _commit_fails(q, setup: str, first: str, second: str) -> SqlError:
    q(setup)
    a, b = Session(q.db), Session(q.db)
    _run(a, "begin")
    _run(b, "begin")
    _run(a, first)
    _run(b, second)  # each sees only its own snapshot: no conflict yet
    _run(a, "commit")
    with pytest.raises(SqlError) as err:
        _run(b, "commit")
    assert b.txn_status == "I"  # the failed commit ended the block
    return err.value


def test_primary_key_second_commit_is_23505(q):
    e = _commit_fails(q, "create table t (id int primary key, v text)",
                      "insert into t values (5, 'a')", "insert into t values (5, 'b')")
    assert e.sqlstate.value == "23505"
    assert 'unique constraint "t_pkey"' in str(e) and "Key (id)=(5) already exists." == e.detail
    assert q("select * from t") == [(5, "a")]


def test_multi_column_unique_and_unique_index(q):
    e = _commit_fails(q, "create table m (a int, b text, unique (a, b))",
                      "insert into m values (1, 'x'), (2, 'y')", "insert into m values (3, 'z'), (1, 'x')")
    assert e.sqlstate.value == "23505" and "m_a_b_key" in str(e)
    q("create table u (k text)")
    q("create unique index u_k on u (k)")
    e = _commit_fails(q, "select 1", "insert into u values ('p')", "insert into u values ('p')")
    assert e.sqlstate.value == "23505" and "u_k" in str(e)
    assert q("select count(*) from u") == [(1,)]


def test_different_keys_both_commit(q):
    q("create table t (id int primary key)")
    a, b = Session(q.db), Session(q.db)
    for s, k in ((a, 1), (b, 2)):
        _run(s, "begin")
        _run(s, f"insert into t values ({k})")
    _run(a, "commit")
    _run(b, "commit")
    assert q("select id from t order by id") == [(1,), (2,)]


def test_schema_metadata_names_the_keys(q):
    q("create table k (id int primary key, e text unique, x int)")
    q("alter table k add constraint k_x_e unique (x, e)")
    oid = q("select oid::int from pg_class where relname = 'k'")[0][0]
    txn = q.db.store.begin()
    try:
        meta = txn.table_schema(oid).metadata or {}
    finally:
        txn.rollback()
    assert json.loads(meta[b"sqlvec.unique"]) == {"k_pkey": ["id"], "k_e_key": ["e"], "k_x_e": ["x", "e"]}
