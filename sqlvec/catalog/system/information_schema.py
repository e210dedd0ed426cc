"""Row generators for the information_schema views (SQL standard metadata).

Same shape as PostgreSQL 15's views for the objects sqlvec has; `register` adds them to
the generator table of generators.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlvec.catalog.system.snapshot import Snapshot, default_text, generation_text
from sqlvec.core.types import numeric_precision_scale

_NUMERIC_PRECISION = {"int2": 16, "int4": 32, "int8": 64, "float4": 24, "float8": 53}


def _extension(t: Any) -> bool:
    """A type CREATE EXTENSION made (pgvector's: OIDs past the built-in range)."""
    return (t.element if t.element is not None else t).oid >= 16384


def _data_type(t: Any) -> str:
    """information_schema's data_type: 'integer', 'ARRAY', 'USER-DEFINED' for extension types."""
    if t is None:
        return "USER-DEFINED"
    if t.is_array:
        return "ARRAY"
    if _extension(t):
        return "USER-DEFINED"
    return t.name.strip('"')


def _schemata(s: Snapshot) -> list[dict]:
    return [{"catalog_name": s.database, "schema_name": n.name,
             "schema_owner": s.role_name.get(10)} for n in s.schemas]


def _tables(s: Snapshot) -> list[dict]:
    from sqlvec.catalog.system.registry import all_system_relations

    out = []
    for r in [*s.relations, *all_system_relations()]:
        if getattr(r, "kind", "") == "matview":  # not in the SQL standard's tables
            continue
        is_view = r.__class__.__name__ == "ViewDef" or (getattr(r, "system", False) and r.oid >= 12000)
        out.append({"table_catalog": s.database, "table_schema": r.schema, "table_name": r.name,
                    "table_type": "VIEW" if is_view else "BASE TABLE",
                    "is_insertable_into": "NO" if is_view or getattr(r, "system", False) else "YES",
                    "is_typed": "NO"})
    return out


class _ViewColumn:
    """A view's output column seen as a table column (no default, nullable)."""

    def __init__(self, name: str, t: Any) -> None:
        self.name, self.type = name, t
        self.not_null, self.default, self.identity, self.sequence = False, None, None, None


def _columns(s: Snapshot) -> list[dict]:
    out = []
    rels: list[tuple[Any, list]] = [(r, list(r.visible)) for r in s.tables if r.kind != "matview"]
    rels += [(v, [_ViewColumn(n, t) for n, t in s.view_columns(v)]) for v in s.views]
    for r, columns in rels:
        for i, c in enumerate(columns):
            t = c.type if isinstance(c, _ViewColumn) else s.column_type(c)
            short = t.short if t is not None else ""
            prec = scale = radix = None
            if short in _NUMERIC_PRECISION:
                prec, radix, scale = _NUMERIC_PRECISION[short], 2, (0 if short.startswith("int") else None)
            elif short == "numeric":
                ps = numeric_precision_scale(t)
                radix = 10
                if ps:
                    prec, scale = ps
            char_len = t.typmod - 4 if t is not None and short in ("varchar", "bpchar") and t.typmod > 4 else None
            udt = (t.element.short if t is not None and t.element is not None else short)
            out.append({"table_catalog": s.database, "table_schema": r.schema, "table_name": r.name,
                        "column_name": c.name, "ordinal_position": i + 1,
                        "column_default": default_text(c, t),
                        "is_nullable": "NO" if c.not_null else "YES", "data_type": _data_type(t),
                        "character_maximum_length": char_len,
                        "character_octet_length": char_len * 4 if char_len else (
                            1073741824 if short in ("text", "varchar", "bpchar") else None),
                        "numeric_precision": prec, "numeric_precision_radix": radix,
                        "numeric_scale": scale, "udt_catalog": s.database,
                        "udt_schema": "public" if t is not None and _extension(t) else "pg_catalog",
                        "udt_name": ("_" + udt) if t is not None and t.is_array else udt,
                        "dtd_identifier": str(i + 1), "is_self_referencing": "NO",
                        "is_identity": "YES" if c.identity in ("always", "by default") else "NO",
                        "identity_generation": c.identity.upper() if c.identity in ("always", "by default") else None,
                        "is_generated": "ALWAYS" if getattr(c, "generated", None) else "NEVER",
                        "generation_expression": generation_text(c.generated)
                        if getattr(c, "generated", None) else None,
                        "is_updatable": "NO" if isinstance(c, _ViewColumn) else "YES"})
    return out


def _views(s: Snapshot) -> list[dict]:
    return [{"table_catalog": s.database, "table_schema": v.schema, "table_name": v.name,
             "view_definition": " " + v.sql.strip() + ";",
             "check_option": (getattr(v, "check_option", None) or "none").upper(),
             "is_updatable": "NO", "is_insertable_into": "NO", "is_trigger_updatable": "NO",
             "is_trigger_deletable": "NO", "is_trigger_insertable_into": "NO"} for v in s.views]


_CTYPE = {"p": "PRIMARY KEY", "u": "UNIQUE", "c": "CHECK", "f": "FOREIGN KEY"}


def _table_constraints(s: Snapshot) -> list[dict]:
    out = []
    for c in s.constraints:
        out.append({"constraint_catalog": s.database, "constraint_schema": c.table.schema,
                    "constraint_name": c.name, "table_catalog": s.database,
                    "table_schema": c.table.schema, "table_name": c.table.name,
                    "constraint_type": _CTYPE[c.kind], "is_deferrable": "YES" if c.fk is not None and c.fk.deferrable else "NO",
                    "initially_deferred": "YES" if c.fk is not None and c.fk.deferred else "NO", "enforced": "YES",
                    "nulls_distinct": "YES" if c.kind == "u" else None})
    return out


def _key_column_usage(s: Snapshot) -> list[dict]:
    out = []
    for c in s.constraints:
        for i, col in enumerate(c.columns):
            pos = None
            if c.kind == "f" and c.ref is not None:  # position of the referenced column in its key
                key = next((k for k in ([c.ref.primary_key] + [u for _, u in c.ref.uniques])
                            if set(k) == set(c.fk.ref_columns)), c.fk.ref_columns)
                pos = key.index(c.fk.ref_columns[i]) + 1
            out.append({"constraint_catalog": s.database, "constraint_schema": c.table.schema,
                        "constraint_name": c.name, "table_catalog": s.database,
                        "table_schema": c.table.schema, "table_name": c.table.name,
                        "column_name": col, "ordinal_position": i + 1,
                        "position_in_unique_constraint": pos})
    return out


def _check_constraints(s: Snapshot) -> list[dict]:
    return [{"constraint_catalog": s.database, "constraint_schema": c.table.schema,
             "constraint_name": c.name, "check_clause": c.definition()[len("CHECK "):]}
            for c in s.constraints if c.kind == "c"]


def _routines(s: Snapshot) -> list[dict]:
    from sqlvec.catalog.system.generators import GENERATORS

    procs = GENERATORS[("pg_catalog", "pg_proc")](s)
    out = []
    for oid, name, kind in zip(procs.get("oid", []), procs.get("proname", []), procs.get("prokind", [])):
        out.append({"specific_catalog": s.database, "specific_schema": "pg_catalog",
                    "specific_name": f"{name}_{oid}", "routine_catalog": s.database,
                    "routine_schema": "pg_catalog", "routine_name": name,
                    "routine_type": "FUNCTION" if kind != "p" else "PROCEDURE",
                    "routine_body": "EXTERNAL", "external_language": "INTERNAL",
                    "parameter_style": "GENERAL", "is_deterministic": "NO",
                    "sql_data_access": "MODIFIES", "is_null_call": "NO",
                    "schema_level_routine": "YES", "is_user_defined_cast": "NO",
                    "is_implicitly_invocable": "NO", "security_type": "INVOKER",
                    "as_locator": "NO", "is_udt_dependent": "NO"})
    return out


def _sequences(s: Snapshot) -> list[dict]:
    from sqlvec.catalog.system.generators import seq_max

    out = []
    for q in s.sequences:
        t = s.sequence_type(q)
        out.append({"sequence_catalog": s.database, "sequence_schema": q.schema,
                    "sequence_name": q.name, "data_type": t.name,
                    "numeric_precision": _NUMERIC_PRECISION[t.short], "numeric_precision_radix": 2,
                    "numeric_scale": 0, "start_value": str(q.start), "minimum_value": str(q.min_value),
                    "maximum_value": str(seq_max(s, q)), "increment": str(q.increment),
                    "cycle_option": "NO"})
    return out


_RULE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def _referential_constraints(s: Snapshot) -> list[dict]:
    by_cols = {(c.table.oid, frozenset(c.columns)): c for c in s.constraints if c.kind in ("p", "u")}
    out = []
    for c in s.constraints:
        if c.kind != "f":
            continue
        uc = by_cols.get((c.fk.ref_oid, frozenset(c.fk.ref_columns)))
        out.append({"constraint_catalog": s.database, "constraint_schema": c.table.schema,
                    "constraint_name": c.name, "unique_constraint_catalog": s.database,
                    "unique_constraint_schema": uc.table.schema if uc else None,
                    "unique_constraint_name": uc.name if uc else None,
                    "match_option": "FULL" if c.fk.match == "f" else "NONE",
                    "update_rule": _RULE[c.fk.on_update], "delete_rule": _RULE[c.fk.on_delete]})
    return out


def _character_sets(s: Snapshot) -> list[dict]:
    return [{"character_set_name": "UTF8", "character_repertoire": "UCS",
             "form_of_use": "UTF8", "default_collate_catalog": s.database,
             "default_collate_name": "C.UTF-8"}]


_ALL = {"schemata": _schemata, "tables": _tables, "columns": _columns, "views": _views,
        "table_constraints": _table_constraints, "key_column_usage": _key_column_usage,
        "check_constraints": _check_constraints, "routines": _routines,
        "sequences": _sequences, "referential_constraints": _referential_constraints,
        "character_sets": _character_sets}


def register(generators: dict, to_columns: Callable[[list[dict]], dict[str, list]]) -> None:
    """Add the information_schema generators to `generators`."""
    for name, fn in _ALL.items():
        generators[("information_schema", name)] = (lambda f: lambda snap: to_columns(f(snap)))(fn)
