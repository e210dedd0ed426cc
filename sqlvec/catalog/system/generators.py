"""Row generators for the pg_catalog relations, each `gen(snapshot) -> {column: values}`.

Columns a generator leaves out are NULL. Values follow PostgreSQL 15 for the same
objects: relkind 'r'/'v'/'i'/'S', attnum from 1, typmod -1 when absent, owner the
bootstrap superuser (OID 10), pg_catalog OID 11 and public OID 2200.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlvec.catalog.objects import IndexDef, SequenceDef, TableDef, ViewDef
from sqlvec.catalog.system.snapshot import (
    DATABASE_OWNER,
    EXTENSION_BASE,
    PG_CATALOG_OID,
    SUPERUSER_OID,
    TEMPLATE_DBS,
    Snapshot,
)
from sqlvec.core import types as T

CSTRING_OID = 2275

Gen = Callable[[Snapshot], dict[str, list]]
GENERATORS: dict[tuple[str, str], Gen] = {}


def rows_to_columns(rows: list[dict[str, Any]]) -> dict[str, list]:
    """[{col: v}, ...] -> {col: [v, ...]} (missing keys become None)."""
    keys: dict[str, None] = {}
    for r in rows:
        keys.update(dict.fromkeys(r))
    return {k: [r.get(k) for r in rows] for k in keys}


def pg(name: str, schema: str = "pg_catalog") -> Callable[[Callable[[Snapshot], list[dict]]], Gen]:
    def deco(fn: Callable[[Snapshot], list[dict]]) -> Gen:
        def gen(snap: Snapshot) -> dict[str, list]:
            return rows_to_columns(fn(snap))
        GENERATORS[(schema, name)] = gen
        return gen
    return deco


def _align(t: Any) -> str:
    return {1: "c", 2: "s", 4: "i", 8: "d"}.get(t.typlen, "i" if t.typlen == -1 else "c")


def _storage(t: Any) -> str:
    """typstorage / attstorage: plain for fixed width, main for numeric, else extended."""
    if t is None:
        return "x"
    if t.typlen > 0:
        return "p"
    return "m" if t.short == "numeric" else "x"


# -- namespaces, classes, attributes -----------------------------------------------------
@pg("pg_namespace")
def _namespace(s: Snapshot) -> list[dict]:
    return [{"oid": n.oid, "nspname": n.name,
             "nspowner": DATABASE_OWNER[0] if n.name == "public" else s.role_oid.get(n.owner, SUPERUSER_OID)}
            for n in s.schemas]


def _class_row(s: Snapshot, rel: Any) -> dict:
    ns = s.nsp_oid.get(rel.schema, 2200)
    row = {"oid": rel.oid, "relname": rel.name, "relnamespace": ns, "reltype": 0, "reloftype": 0,
           "relowner": SUPERUSER_OID, "relam": 0, "relfilenode": rel.oid, "reltablespace": 0,
           "relpages": 0, "reltuples": -1.0, "relallvisible": 0, "reltoastrelid": 0,
           "relhasindex": False, "relisshared": False, "relpersistence": "p", "relnatts": 0,
           "relchecks": 0, "relhasrules": False, "relhastriggers": False,
           "relhassubclass": False, "relrowsecurity": False, "relforcerowsecurity": False,
           "relispopulated": True, "relreplident": "n", "relispartition": False,
           "relrewrite": 0, "relfrozenxid": 0, "relminmxid": 0}
    if isinstance(rel, TableDef):
        row.update(relkind="r", relam=2, relnatts=len(rel.columns), relchecks=len(rel.checks),
                   relreplident="d", relhasindex=bool(s.indexes_by_table.get(rel.oid)))
        if rel.foreign_keys or rel.referenced_by:  # PostgreSQL's RI triggers (psql shows the keys then)
            row.update(relhastriggers=True)
        if rel.kind == "matview":
            row.update(relkind="m", relreplident="n", relispopulated=rel.populated)
        if getattr(rel, "system", False) and rel.oid >= 12000:
            row.update(relkind="v", relam=0, relreplident="n")
    elif isinstance(rel, ViewDef):
        row.update(relkind="v", relnatts=len(s.view_columns(rel)), relhasrules=True)
    elif isinstance(rel, IndexDef):
        row.update(relkind="i", relam=s.am_oid.get(rel.method, 403), relnatts=len(rel.columns))
    elif isinstance(rel, SequenceDef):
        row.update(relkind="S", relnatts=3)
    return row


@pg("pg_class")
def _class(s: Snapshot) -> list[dict]:
    from sqlvec.catalog.system.registry import all_system_relations

    rels = [*s.relations, *s.indexes, *s.sequences, *all_system_relations()]
    return [_class_row(s, r) for r in rels]


def _attr_row(rel_oid: int, num: int, name: str, t: Any, not_null: bool, has_def: bool,
              identity: str = "", storage: str | None = None, generated: str = "") -> dict:
    return {"attrelid": rel_oid, "attname": name, "atttypid": t.oid if t else 0,
            "attstattarget": -1, "attlen": t.typlen if t else -1, "attnum": num,
            "attndims": 1 if t is not None and t.is_array else 0, "attcacheoff": -1,
            "atttypmod": t.typmod if t else -1, "attbyval": bool(t and 0 < t.typlen <= 8),
            "attalign": _align(t) if t else "i", "attstorage": storage or _storage(t),
            "attcompression": "", "attnotnull": not_null, "atthasdef": has_def,
            "atthasmissing": False, "attidentity": identity, "attgenerated": generated,
            "attisdropped": False, "attislocal": True, "attinhcount": 0,
            "attcollation": 100 if t is not None and t.category == "S" else 0}


@pg("pg_attribute")
def _attribute(s: Snapshot) -> list[dict]:
    from sqlvec.catalog.system.registry import all_system_relations

    out = []
    defs = {(d.table_oid, d.attnum) for d in s.attrdefs}
    for rel in [*s.tables, *all_system_relations()]:
        for i, c in enumerate(rel.columns):
            if getattr(c, "hidden", False):  # (an expression index's values: its own attribute below)
                continue
            ident = {"always": "a", "by default": "d"}.get(c.identity or "", "")
            out.append(_attr_row(rel.oid, i + 1, c.name, s.column_type(c), c.not_null,
                                 (rel.oid, i + 1) in defs, ident, getattr(c, "storage", None),
                                 "s" if getattr(c, "generated", None) else ""))
    for v in s.views:
        for i, (name, t) in enumerate(s.view_columns(v)):
            out.append(_attr_row(v.oid, i + 1, name, t, False, False))
    for idx in s.indexes:
        table = s.rel_by_oid.get(idx.table_oid)
        for i, col in enumerate(idx.columns):
            base = col.split()[0] if col else col
            ci = table.column_index(base) if isinstance(table, TableDef) else None
            t = s.column_type(table.columns[ci]) if ci is not None else None
            named = ci is not None and idx.expr is None
            out.append(_attr_row(idx.oid, i + 1, base if named else "expr", t, False, False))
    return out


@pg("pg_attrdef")
def _attrdef(s: Snapshot) -> list[dict]:
    return [{"oid": d.oid, "adrelid": d.table_oid, "adnum": d.attnum, "adbin": d.expr}
            for d in s.attrdefs]


@pg("pg_index")
def _index(s: Snapshot) -> list[dict]:
    out = []
    for idx in s.indexes:
        table = s.rel_by_oid.get(idx.table_oid)
        keys = []
        for col in idx.columns:
            ci = table.column_index(col.split()[0]) if isinstance(table, TableDef) and col else None
            keys.append(ci + 1 if ci is not None and idx.expr is None else 0)
        n = len(keys)
        out.append({"indexrelid": idx.oid, "indrelid": idx.table_oid, "indnatts": n,
                    "indnkeyatts": n, "indisunique": idx.unique, "indnullsnotdistinct": idx.nulls_not_distinct,
                    "indisprimary": idx.primary, "indisexclusion": False, "indimmediate": True,
                    "indisclustered": False, "indisvalid": True, "indcheckxmin": False,
                    "indisready": True, "indislive": True, "indisreplident": False,
                    "indkey": keys, "indcollation": [0] * n, "indclass": [0] * n,
                    "indoption": [0] * n,
                    "indexprs": None if all(keys) else "expr", "indpred": idx.where})
    return out


@pg("pg_constraint")
def _constraint(s: Snapshot) -> list[dict]:
    out = []
    for c in s.constraints:
        t = c.table
        keys = [t.column_index(n) + 1 for n in c.columns if t.column_index(n) is not None]
        fk, ref = c.fk, c.ref
        fkeys = [ref.column_index(n) + 1 for n in fk.ref_columns if ref.column_index(n) is not None] \
            if fk is not None and ref is not None else None
        out.append({"oid": c.oid, "conname": c.name, "connamespace": s.nsp_oid.get(t.schema, 2200),
                    "contype": c.kind, "condeferrable": bool(fk is not None and fk.deferrable),
                    "condeferred": bool(fk is not None and fk.deferred),
                    "convalidated": True, "conrelid": t.oid, "contypid": 0,
                    "conindid": c.index_oid, "conparentid": 0,
                    "confrelid": fk.ref_oid if fk is not None else 0,
                    "confupdtype": fk.on_update if fk is not None else " ",
                    "confdeltype": fk.on_delete if fk is not None else " ",
                    "confmatchtype": fk.match if fk is not None else " ",
                    "conislocal": True, "coninhcount": 0, "connoinherit": False,
                    "conkey": keys or None, "confkey": fkeys, "conbin": c.expr or None})
    return out


_TYPE_MAX = {"int2": 2**15 - 1, "int4": 2**31 - 1, "int8": 2**63 - 1}


def seq_max(s: Snapshot, q: Any) -> int:
    """The sequence's maximum, within its type's range (serial: 2147483647)."""
    return min(q.max_value, _TYPE_MAX[s.sequence_type(q).short])


@pg("pg_sequence")
def _sequence(s: Snapshot) -> list[dict]:
    return [{"seqrelid": q.oid, "seqtypid": s.sequence_type(q).oid, "seqstart": q.start,
             "seqincrement": q.increment, "seqmax": seq_max(s, q), "seqmin": q.min_value,
             "seqcache": 1, "seqcycle": False} for q in s.sequences]


@pg("pg_depend")
def _depend(s: Snapshot) -> list[dict]:
    """Sequences owned by columns ('a'), indexes of tables and their constraints ('a'/'i')."""
    out = []
    for q in s.sequences:
        owner = s.sequence_owner(q)
        if owner is not None:
            out.append({"classid": 1259, "objid": q.oid, "objsubid": 0, "refclassid": 1259,
                        "refobjid": owner[0].oid, "refobjsubid": owner[1], "deptype": "a"})
    for i in s.indexes:
        out.append({"classid": 1259, "objid": i.oid, "objsubid": 0, "refclassid": 1259,
                    "refobjid": i.table_oid, "refobjsubid": 0, "deptype": "a"})
    return out


# -- types, functions, operators -------------------------------------------------------
@pg("pg_type")
def _type(s: Snapshot) -> list[dict]:
    out = []
    for t in s.types:
        pseudo = t.category in ("P", "X")
        out.append({"oid": t.oid, "typname": t.short or t.name, "typnamespace": s.type_namespace(t),
                    "typowner": SUPERUSER_OID, "typlen": t.typlen,
                    "typbyval": 0 < t.typlen <= 8, "typtype": "p" if pseudo else "b",
                    "typcategory": t.category, "typispreferred": t.preferred,
                    "typisdefined": True, "typdelim": ",", "typrelid": 0, "typsubscript": 0,
                    "typelem": t.element.oid if t.element is not None else 0,
                    "typarray": t.array_oid if not pseudo else 0,
                    "typinput": 750 if t.element is not None else 0,
                    "typoutput": 751 if t.element is not None else 0, "typreceive": 0, "typsend": 0,
                    "typmodin": 0, "typmodout": 0, "typanalyze": 0, "typalign": _align(t),
                    "typstorage": _storage(t), "typnotnull": False,
                    "typbasetype": 0, "typtypmod": -1, "typndims": 0,
                    "typcollation": 100 if t.category == "S" else 0})
    return out


def _functions(s: Snapshot) -> list[tuple[str, Any, str]]:
    """(name, definition, kind) for every function, aggregate and window function."""
    fns = s.regs.functions
    primary = getattr(fns, "primary", fns)
    out: list[tuple[str, Any, str]] = []
    names = primary.names() if hasattr(primary, "names") else []
    for name in names:
        for d in primary.overloads(name):
            out.append((name, d, "f"))
    for kind, table in (("a", getattr(primary, "aggregates", {})), ("w", getattr(primary, "windows", {}))):
        for name, defs in table.items():
            for d in defs:
                out.append((name, d, kind))
    return out


def _ret_oid(d: Any) -> int:
    ret = getattr(d, "ret", None)
    return ret.oid if isinstance(ret, T.SqlType) else T.ANYELEMENT.oid


# PostgreSQL's I/O functions clients compare with (pgJDBC: typinput = 'array_in'::regproc)
IO_PROCS = {"array_in": (750, 2277, CSTRING_OID), "array_out": (751, CSTRING_OID, 2277),
            "record_in": (2290, 2249, CSTRING_OID), "record_out": (2291, CSTRING_OID, 2249)}


@pg("pg_proc")
def _proc(s: Snapshot) -> list[dict]:
    out = [{"oid": oid, "proname": name, "pronamespace": PG_CATALOG_OID, "proowner": SUPERUSER_OID,
            "prolang": 12, "procost": 1.0, "prorows": 0.0, "provariadic": 0, "prosupport": 0,
            "prokind": "f", "prosecdef": False, "proleakproof": False, "proisstrict": True,
            "proretset": False, "provolatile": "s", "proparallel": "s", "pronargs": 1,
            "pronargdefaults": 0, "prorettype": ret, "proargtypes": [arg], "prosrc": name}
           for name, (oid, ret, arg) in IO_PROCS.items()]
    for i, (name, d, kind) in enumerate(_functions(s)):
        if not (name[:1].isalpha() or name[:1] == "_"):
            continue
        args = [a.oid for a in getattr(d, "args", ())]
        out.append({"oid": EXTENSION_BASE + 0x10000 + i, "proname": name,
                    "pronamespace": PG_CATALOG_OID, "proowner": SUPERUSER_OID, "prolang": 12,
                    "procost": 1.0, "prorows": 1000.0 if getattr(d, "set_returning", False) else 0.0,
                    "provariadic": args[-1] if getattr(d, "variadic", False) and args else 0,
                    "prosupport": 0, "prokind": kind, "prosecdef": False, "proleakproof": False,
                    "proisstrict": bool(getattr(d, "strict", True)),
                    "proretset": bool(getattr(d, "set_returning", False)),
                    "provolatile": "v" if getattr(d, "volatile", False) else "i",
                    "proparallel": "s", "pronargs": len(args), "pronargdefaults": 0,
                    "prorettype": _ret_oid(d), "proargtypes": args, "prosrc": name})
    return out


@pg("pg_operator")
def _operator(s: Snapshot) -> list[dict]:
    out = []
    for i, (name, d, kind) in enumerate(_functions(s)):
        if kind != "f" or name[:1].isalpha() or name[:1] == "_":
            continue
        args = list(getattr(d, "args", ()))
        left, right = (args[0].oid, args[1].oid) if len(args) == 2 else (0, args[0].oid if args else 0)
        out.append({"oid": EXTENSION_BASE + 0x20000 + i, "oprname": name,
                    "oprnamespace": PG_CATALOG_OID, "oprowner": SUPERUSER_OID,
                    "oprkind": "b" if len(args) == 2 else "l", "oprcanmerge": False,
                    "oprcanhash": False, "oprleft": left, "oprright": right,
                    "oprresult": _ret_oid(d), "oprcom": 0, "oprnegate": 0, "oprcode": 0,
                    "oprrest": 0, "oprjoin": 0})
    return out


@pg("pg_am")
def _am(s: Snapshot) -> list[dict]:
    return [{"oid": o, "amname": n, "amhandler": 0, "amtype": k} for n, o, k in s.ams]


def _opclasses(s: Snapshot) -> list[tuple[int, str, str, int]]:
    """(oid, access method, name, input type oid) of every vector operator class: each of
    index/base.OPCLASSES under hnsw and ivfflat (sqlvec takes them all under both). Each
    is alone in an operator family of its name, as pgvector's CREATE OPERATOR CLASS makes."""
    from sqlvec.index.base import OPCLASSES

    out = []
    for j, am in enumerate(("hnsw", "ivfflat")):
        for i, oc in enumerate(OPCLASSES.values()):
            t = s.regs.types.by_name(oc.type_short)
            out.append((EXTENSION_BASE + 0x100 + 0x40 * j + i, am, oc.name, t.oid if t else 0))
    return out


def _opclass_namespace(s: Snapshot) -> int:
    return s.nsp_oid.get(s.vector_schema or "public", 2200)


@pg("pg_opclass")
def _opclass(s: Snapshot) -> list[dict]:
    nsp = _opclass_namespace(s)
    return [{"oid": oid, "opcmethod": s.am_oid[am], "opcname": name, "opcnamespace": nsp,
             "opcowner": SUPERUSER_OID, "opcfamily": oid + 0x80, "opcintype": typ,
             "opcdefault": name.endswith("l2_ops"), "opckeytype": 0}
            for oid, am, name, typ in _opclasses(s)]


@pg("pg_opfamily")
def _opfamily(s: Snapshot) -> list[dict]:
    nsp = _opclass_namespace(s)
    return [{"oid": oid + 0x80, "opfmethod": s.am_oid[am], "opfname": name, "opfnamespace": nsp,
             "opfowner": SUPERUSER_OID} for oid, am, name, _typ in _opclasses(s)]


@pg("pg_collation")
def _collation(s: Snapshot) -> list[dict]:
    return [{"oid": oid, "collname": name, "collnamespace": PG_CATALOG_OID,
             "collowner": SUPERUSER_OID, "collprovider": prov, "collisdeterministic": True,
             "collencoding": enc, "collcollate": cc, "collctype": cc}
            for oid, name, prov, enc, cc in ((100, "default", "d", -1, None),
                                             (950, "C", "c", -1, "C"),
                                             (951, "POSIX", "c", -1, "POSIX"))]


# -- databases, roles, extensions, settings -------------------------------------------
@pg("pg_database")
def _database(s: Snapshot) -> list[dict]:
    dbs = [*s.databases, *TEMPLATE_DBS]
    return [{"oid": oid, "datname": name, "datdba": SUPERUSER_OID, "encoding": 6,
             "datlocprovider": "c", "datistemplate": name.startswith("template"),
             "datallowconn": name != "template0", "datconnlimit": -1, "dattablespace": 1663,
             "datcollate": "C.UTF-8", "datctype": "C.UTF-8", "datfrozenxid": 0, "datminmxid": 1}
            for name, oid in dbs]


def _role_rows(s: Snapshot, secret: bool) -> list[dict]:
    return [{"oid": r.oid, "rolname": r.name, "rolsuper": r.superuser, "rolinherit": True,
             "rolcreaterole": r.createrole or r.superuser, "rolcreatedb": r.createdb or r.superuser,
             "rolcanlogin": r.login, "rolreplication": r.superuser, "rolbypassrls": r.superuser,
             "rolconnlimit": -1, "rolpassword": (r.password if secret else "********") if r.password else None}
            for r in s.roles]


@pg("pg_roles")
def _roles(s: Snapshot) -> list[dict]:
    return _role_rows(s, False)


@pg("pg_authid")
def _authid(s: Snapshot) -> list[dict]:
    return _role_rows(s, True)


@pg("pg_user")
def _user(s: Snapshot) -> list[dict]:
    return [{"usename": r.name, "usesysid": r.oid, "usecreatedb": r.createdb or r.superuser,
             "usesuper": r.superuser, "userepl": r.superuser, "usebypassrls": r.superuser,
             "passwd": "********"} for r in s.roles if r.login]


@pg("pg_tablespace")
def _tablespace(s: Snapshot) -> list[dict]:
    return [{"oid": 1663, "spcname": "pg_default", "spcowner": SUPERUSER_OID},
            {"oid": 1664, "spcname": "pg_global", "spcowner": SUPERUSER_OID}]


@pg("pg_extension")
def _extension(s: Snapshot) -> list[dict]:
    return [{"oid": e["oid"], "extname": e["name"], "extowner": SUPERUSER_OID,
             "extnamespace": s.nsp_oid.get(e.get("schema", "public"), 2200),
             "extrelocatable": e["name"] != "plpgsql", "extversion": e.get("version", "1.0")}
            for e in s.extensions]


@pg("pg_available_extensions")
def _available_extensions(s: Snapshot) -> list[dict]:
    installed = {e["name"]: e.get("version") for e in s.extensions}
    return [{"name": n, "default_version": v, "installed_version": installed.get(n), "comment": c}
            for n, v, c in (("plpgsql", "1.0", "PL/pgSQL procedural language"),
                            ("vector", VECTOR_EXTENSION_VERSION,
                             "vector data type and ivfflat and hnsw access methods"))]


VECTOR_EXTENSION_VERSION = "0.8.0"


@pg("pg_settings")
def _settings(s: Snapshot) -> list[dict]:
    rows = s.settings_rows if s.settings_rows is not None else [
        {"name": k, "setting": v, "vartype": "string", "boot_val": v, "reset_val": v}
        for k, v in sorted(s.settings.items())]
    return [{**r, "category": "Customized Options" if "." in r["name"] else "Ungrouped",
             "short_desc": "", "context": "user",
             "source": "default" if r["setting"] == r["boot_val"] else "session",
             "pending_restart": False} for r in rows]


@pg("pg_description")
def _description(s: Snapshot) -> list[dict]:
    return [{"objoid": o, "classoid": 1259 if sub or o in s.rel_by_oid else 3079, "objsubid": sub,
             "description": d} for (o, sub), d in s.comments.items()]


# -- statistics and activity -------------------------------------------------------------
@pg("pg_stat_activity")
def _stat_activity(s: Snapshot) -> list[dict]:
    import datetime

    out = []
    for sess in s.sessions or [None]:
        me = sess is None or sess is s.current
        user = getattr(sess, "user", s.user)
        if me:
            state = "active"
        elif getattr(sess, "txn", None) is None:
            state = "idle"
        else:
            state = "idle in transaction (aborted)" if getattr(sess, "failed", False) else "idle in transaction"
        started = getattr(sess, "backend_start", None)
        out.append({"datid": s.database_oid, "datname": getattr(sess, "database", s.database),
                    "pid": int(getattr(sess, "backend_pid", 0) or 0) or s.backend_pid,
                    "usesysid": s.role_oid.get(user), "usename": user,
                    "application_name": sess.settings.values.get("application_name", "") if sess else "",
                    "backend_start": datetime.datetime.fromtimestamp(started, datetime.UTC)
                    if started else None,
                    "state": state, "query": getattr(sess, "current_query", s.query_text),
                    "backend_type": "client backend"})
    return out


@pg("pg_locks")
def _locks(s: Snapshot) -> list[dict]:
    """The database's advisory locks, held and awaited (session/advisory.py's rows)."""
    out = []
    table = getattr(getattr(s.current, "db", None), "advisory", None)
    for r in table.rows() if table is not None else []:
        owner = r.pop("owner")
        out.append({**r, "database": s.database_oid,
                    "pid": int(getattr(owner, "backend_pid", 0) or 0) or s.backend_pid})
    return out


@pg("pg_stat_progress_create_index")
def _progress_create_index(s: Snapshot) -> list[dict]:
    """One row per session building an index now (`session.index_progress`, set by
    exec/ddl's CREATE INDEX; its build updates tuples_done as segments are done)."""
    out = []
    for sess in s.sessions:
        p = getattr(sess, "index_progress", None)
        if not p:
            continue
        out.append({"pid": int(getattr(sess, "backend_pid", 0) or 0) or s.backend_pid,
                    "datid": s.database_oid, "datname": getattr(sess, "database", s.database),
                    "lockers_total": 0, "lockers_done": 0, "current_locker_pid": 0,
                    "blocks_total": 0, "blocks_done": 0, "partitions_total": 0,
                    "partitions_done": 0, **p})
    return out


@pg("pg_stat_progress_copy")
def _progress_copy(s: Snapshot) -> list[dict]:
    """One row per session running COPY FROM now (`session.copy_progress`, kept by
    wire/copy.py's CopyIn and the server-file COPY: bytes and rows loaded so far)."""
    out = []
    for sess in s.sessions:
        p = getattr(sess, "copy_progress", None)
        if not p:
            continue
        out.append({"pid": int(getattr(sess, "backend_pid", 0) or 0) or s.backend_pid,
                    "datid": s.database_oid, "datname": getattr(sess, "database", s.database),
                    **p})
    return out


def _table_stats(s: Snapshot) -> list[dict]:
    out = []
    for t in s.tables:
        try:
            n = s.catalog.txn.row_count(t.oid)
        except Exception:  # noqa: BLE001 - statistics are best effort
            n = None
        out.append({"relid": t.oid, "schemaname": t.schema, "relname": t.name, "seq_scan": 0,
                    "n_live_tup": n, "n_dead_tup": 0, "n_tup_ins": n, "n_tup_upd": 0,
                    "n_tup_del": 0, "n_mod_since_analyze": 0, "n_ins_since_vacuum": 0,
                    "vacuum_count": 0, "autovacuum_count": 0, "analyze_count": 0,
                    "autoanalyze_count": 0})
    return out


@pg("pg_stat_user_tables")
def _stat_user_tables(s: Snapshot) -> list[dict]:
    return _table_stats(s)


@pg("pg_stat_all_tables")
def _stat_all_tables(s: Snapshot) -> list[dict]:
    return _table_stats(s)


@pg("pg_stat_user_indexes")
def _stat_user_indexes(s: Snapshot) -> list[dict]:
    return [{"relid": i.table_oid, "indexrelid": i.oid, "schemaname": i.schema,
             "relname": getattr(s.rel_by_oid.get(i.table_oid), "name", None),
             "indexrelname": i.name, "idx_scan": 0, "idx_tup_read": 0, "idx_tup_fetch": 0}
            for i in s.indexes]


# -- convenience views -----------------------------------------------------------------
@pg("pg_tables")
def _tables(s: Snapshot) -> list[dict]:
    return [{"schemaname": t.schema, "tablename": t.name, "tableowner": s.role_name.get(SUPERUSER_OID),
             "hasindexes": bool(s.indexes_by_table.get(t.oid)), "hasrules": False,
             "hastriggers": False, "rowsecurity": False} for t in s.tables if t.kind != "matview"]


@pg("pg_matviews")
def _matviews(s: Snapshot) -> list[dict]:
    return [{"schemaname": t.schema, "matviewname": t.name, "matviewowner": s.role_name.get(SUPERUSER_OID),
             "tablespace": None, "hasindexes": bool(s.indexes_by_table.get(t.oid)),
             "ispopulated": t.populated, "definition": " " + (t.query or "").strip() + ";"}
            for t in s.tables if t.kind == "matview"]


@pg("pg_views")
def _views(s: Snapshot) -> list[dict]:
    return [{"schemaname": v.schema, "viewname": v.name, "viewowner": s.role_name.get(SUPERUSER_OID),
             "definition": " " + v.sql.strip() + ";"} for v in s.views]


@pg("pg_indexes")
def _indexes(s: Snapshot) -> list[dict]:
    return [{"schemaname": i.schema, "tablename": getattr(s.rel_by_oid.get(i.table_oid), "name", None),
             "indexname": i.name, "indexdef": s.index_definition(i)} for i in s.indexes]


@pg("pg_sequences")
def _sequences(s: Snapshot) -> list[dict]:
    return [{"schemaname": q.schema, "sequencename": q.name,
             "sequenceowner": s.role_name.get(SUPERUSER_OID), "data_type": s.sequence_type(q).oid,
             "start_value": q.start, "min_value": q.min_value, "max_value": seq_max(s, q),
             "increment_by": q.increment, "cycle": False, "cache_size": 1} for q in s.sequences]


@pg("pg_timezone_names")
def _timezone_names(s: Snapshot) -> list[dict]:
    return [{"name": "UTC", "abbrev": "UTC", "utc_offset": None, "is_dst": False}]


from sqlvec.catalog.system import information_schema as _info  # noqa: E402  (registers)

_info.register(GENERATORS, rows_to_columns)
