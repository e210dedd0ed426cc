"""Objects users create never get an OID of a built-in type (vector types sit at 16385+)."""

from __future__ import annotations

from sqlvec.catalog.catalog import FIRST_USER_OID, RESERVED_USER_OIDS
from sqlvec.functions import default_registries


def test_reserved_block_covers_every_fixed_user_range_oid():
    regs = default_registries()
    fixed = set()
    for name in ("vector", "halfvec", "sparsevec", "bf16vec", "int8vec", "bit"):
        t = regs.types.by_name(name)
        fixed |= {t.oid, t.array_oid}
    fixed = {o for o in fixed if o >= FIRST_USER_OID}
    assert fixed and max(fixed) < RESERVED_USER_OIDS


def test_created_objects_do_not_collide_with_type_oids(db):
    db("create extension if not exists vector")
    db("create schema s")
    db("create table t (id serial primary key, emb vector(3), u int unique)")
    db("create index on t using hnsw (emb vector_l2_ops)")
    db("create view v as select id from t")
    objs = db("select oid::int8 from pg_class union all select oid::int8 from pg_namespace "
              "union all select oid::int8 from pg_extension")
    types = db("select oid::int8 from pg_type")
    user = {o for (o,) in objs if o >= FIRST_USER_OID}
    assert len(user) >= 7
    assert not user & {o for (o,) in types}
    assert db("select typname from pg_type where oid = 16385") == [("vector",)]
