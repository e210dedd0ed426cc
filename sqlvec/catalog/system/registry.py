"""The system relations (pg_catalog.*, information_schema.*) as read-only TableDefs.

A SystemTable looks like a base table to the binder (columns with PostgreSQL 15's names
and types) and is scanned by generating its rows from a Snapshot of the live catalog:

    rel = system_relation("pg_catalog", "pg_class")   # binder: FROM pg_class
    table = rel.generate(snapshot)                       # executor: a pa.Table of its rows
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import pyarrow as pa

from sqlvec.catalog.objects import ColumnDef, TableDef
from sqlvec.catalog.system.columns import COLUMNS
from sqlvec.core import types as T
from sqlvec.core.types import SqlType, array_of

# PostgreSQL 15's OIDs of the system relations (views get theirs from initdb's order)
REL_OIDS = {
    "pg_tablespace": 1213, "pg_shdepend": 1214, "pg_type": 1247, "pg_attribute": 1249,
    "pg_proc": 1255, "pg_class": 1259, "pg_authid": 1260, "pg_auth_members": 1261,
    "pg_database": 1262, "pg_foreign_server": 1417, "pg_user_mapping": 1418,
    "pg_sequence": 2224, "pg_foreign_data_wrapper": 2328, "pg_shdescription": 2396,
    "pg_am": 2601, "pg_amop": 2602, "pg_amproc": 2603, "pg_attrdef": 2604, "pg_cast": 2605,
    "pg_constraint": 2606, "pg_conversion": 2607, "pg_depend": 2608, "pg_description": 2609,
    "pg_index": 2610, "pg_inherits": 2611, "pg_language": 2612, "pg_namespace": 2615,
    "pg_opclass": 2616, "pg_operator": 2617, "pg_rewrite": 2618, "pg_trigger": 2620,
    "pg_opfamily": 2753, "pg_extension": 3079, "pg_foreign_table": 3118, "pg_policy": 3256,
    "pg_partitioned_table": 3350, "pg_statistic_ext": 3381, "pg_collation": 3456,
    "pg_event_trigger": 3466, "pg_enum": 3501, "pg_range": 3541, "pg_publication": 6104,
    "pg_publication_rel": 6106, "pg_publication_namespace": 6237, "pg_roles": 12000,
    "pg_user": 12014, "pg_views": 12028, "pg_tables": 12033, "pg_matviews": 12038,
    "pg_indexes": 12043, "pg_sequences": 12048, "pg_locks": 12073,
    "pg_available_extensions": 12081, "pg_settings": 12104, "pg_timezone_names": 12126,
    "pg_stat_all_tables": 12142, "pg_stat_user_tables": 12161, "pg_statio_user_tables": 12179,
    "pg_stat_user_indexes": 12192, "pg_stat_activity": 12222, "pg_stat_database": 12266,
    "pg_stat_progress_create_index": 12390, "pg_stat_progress_copy": 12322,
    "character_sets": 13250, "check_constraints": 13260, "columns": 13295,
    "constraint_column_usage": 13300, "key_column_usage": 13329, "parameters": 13334,
    "referential_constraints": 13339, "routines": 13377, "schemata": 13382,
    "sequences": 13386, "table_constraints": 13411, "tables": 13425, "views": 13483,
}
VIEW_NAMES = frozenset(n for n, o in REL_OIDS.items() if o >= 12000)

_TYPES: dict[str, SqlType] = {
    "oid": T.OID, "name": T.NAME, "boolean": T.BOOL, "bigint": T.INT8, "integer": T.INT4,
    "smallint": T.INT2, "text": T.TEXT, "character varying": T.VARCHAR,
    "character varying(3)": T.VARCHAR.with_typmod(3 + 4), '"char"': T.CHAR,
    "timestamp with time zone": T.TIMESTAMPTZ, "timestamp(2) with time zone": T.TIMESTAMPTZ,
    "regproc": T.REGPROC, "regtype": T.REGTYPE, "pg_node_tree": T.PG_NODE_TREE,
    "xid": T.XID, "int2vector": T.INT2VECTOR, "oidvector": T.OIDVECTOR,
    "double precision": T.FLOAT8, "real": T.FLOAT4, "bytea": T.BYTEA, "interval": T.INTERVAL,
    "inet": T.TEXT, "text[]": array_of(T.TEXT), "aclitem[]": array_of(T.ACLITEM),
    "oid[]": array_of(T.OID), "smallint[]": array_of(T.INT2), '"char"[]': array_of(T.CHAR),
    "anyarray": array_of(T.TEXT), "real[]": array_of(T.FLOAT4),
}


@dataclass(frozen=True)
class SystemTable(TableDef):
    """A virtual catalog relation; `generate(snapshot)` returns its rows (a pa.Table)."""

    system: bool = True

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, _TYPES[_SPEC_TYPE[(self.schema, self.name, c.name)]].arrow)
                          for c in self.columns])

    def generate(self, snap: Any) -> pa.Table:
        """All rows, built from the snapshot by this relation's generator."""
        from sqlvec.catalog.system.generators import GENERATORS

        gen = GENERATORS.get((self.schema, self.name))
        data: dict[str, list] = gen(snap) if gen is not None else {}
        n = max((len(v) for v in data.values()), default=0)
        arrays = []
        for c, f in zip(self.columns, self.arrow_schema()):
            vals = data.get(c.name)
            if vals is None:
                arrays.append(pa.nulls(n, f.type))
            else:
                arrays.append(pa.array(vals, f.type))
        return pa.Table.from_arrays(arrays, schema=self.arrow_schema())


_SPEC_TYPE: dict[tuple[str, str, str], str] = {
    (s, r, c): t for (s, r), cols in COLUMNS.items() for c, t in cols
}


@cache
def system_relation(schema: str | None, name: str) -> SystemTable | None:
    """The system relation `schema.name` (schema None: pg_catalog), or None."""
    key = ("pg_catalog" if schema is None else schema, name)
    cols = COLUMNS.get(key)
    if cols is None:
        return None
    oid = REL_OIDS.get(name, 0)
    columns = tuple(ColumnDef(n, _TYPES[t].oid, _TYPES[t].typmod) for n, t in cols)
    return SystemTable(oid=oid, schema=key[0], name=name, columns=columns,
                       kind="table")


@cache
def system_relation_by_oid(oid: int) -> SystemTable | None:
    for (schema, name) in COLUMNS:
        if REL_OIDS.get(name) == oid:
            return system_relation(schema, name)
    return None


def all_system_relations() -> list[SystemTable]:
    return [r for r in (system_relation(s, n) for s, n in COLUMNS) if r is not None]
