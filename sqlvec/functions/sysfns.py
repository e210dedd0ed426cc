"""System information functions clients call: version(), current_setting(), format_type(),
pg_get_indexdef(), obj_description(), has_*_privilege(), to_regclass() ...

They read the live catalog and the session through the statement's environment:
`ctx.env.system()` returns the catalog Snapshot (sqlvec.catalog.system, duck-typed here
since functions sit below the catalog layer) and `ctx.env.session` the Session. Called
without an environment (standalone registries) they answer from defaults.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import FeatureNotSupported
from sqlvec.core.types import SqlType, array_of
from sqlvec.functions.registry import CallContext, EvalEnv, FunctionRegistry

SQLVEC_VERSION = "0.1.0"
ENCODINGS = {0: "SQL_ASCII", 6: "UTF8", 8: "LATIN1"}


@dataclass(frozen=True)
class SessionEnv(EvalEnv):
    """EvalEnv plus the statement's catalog snapshot (lazy) and session."""

    system: Callable[[], Any] | None = None
    session: Any = None
    txn: Any = None  # the statement's storage transaction


def _snap(ctx: CallContext) -> Any:
    fn = getattr(ctx.env, "system", None)
    return fn() if fn is not None else None


def _session(ctx: CallContext) -> Any:
    return getattr(ctx.env, "session", None)


def _setting(ctx: CallContext, name: str, default: str) -> str:
    s = _session(ctx)
    if s is not None:
        try:
            return s.settings.get(name)
        except Exception:  # noqa: BLE001 - unknown setting: the default
            return default
    return (getattr(ctx.env, "settings", None) or {}).get(name, default)


def _py(a: Any, n: int) -> list:
    """Argument values as a Python list of n rows (scalars broadcast)."""
    if isinstance(a, pa.Scalar):
        return [a.as_py()] * n
    return a.to_pylist()


def _map(ctx: CallContext, args: list, fn: Callable[..., Any]) -> pa.Array:
    """Apply fn per distinct argument tuple (catalog lookups), NULL in -> NULL out."""
    cols = [_py(a, ctx.n) for a in args]
    memo: dict[tuple, Any] = {}
    out = []
    for row in zip(*cols) if cols else [()] * ctx.n:
        if row not in memo:
            memo[row] = None if any(v is None for v in row) else fn(*row)
        out.append(memo[row])
    return pa.array(out, ctx.return_type.arrow)


def _const(value_fn: Callable[[CallContext], Any]) -> Callable[[CallContext, list], pa.Array]:
    def impl(ctx: CallContext, args: list) -> pa.Array:
        return pa.array([value_fn(ctx)] * ctx.n, ctx.return_type.arrow)
    return impl


def _per_row(fn: Callable[..., Any], *, need_snap: bool = True) -> Callable[[CallContext, list], pa.Array]:
    def impl(ctx: CallContext, args: list) -> pa.Array:
        snap = _snap(ctx) if need_snap else None
        return _map(ctx, args, lambda *a: fn(snap, ctx, *a))
    return impl


# -- session information -------------------------------------------------------------
def version_string(server_version: str) -> str:
    return (f"PostgreSQL {server_version} (sqlvec {SQLVEC_VERSION}) on x86_64-pc-linux-gnu, "
            "compiled by gcc, 64-bit")


def _user(ctx: CallContext) -> str:
    s = _session(ctx)
    return s.user if s is not None else "sqlvec"


def _search_path(ctx: CallContext, implicit: bool) -> list[str]:
    snap = _snap(ctx)
    path = snap.visible_schemas() if snap is not None else ["pg_catalog", "public"]
    return path if implicit else [p for p in path if p != "pg_catalog"]


def _current_setting(ctx: CallContext, args: list) -> pa.Array:
    from sqlvec.core.errors import UndefinedObject

    missing_ok = len(args) > 1

    def one(name: str, *rest: Any) -> str | None:
        s = _session(ctx)
        if s is None:
            return (ctx.env.settings if ctx.env else {}).get(name)
        try:
            return s.settings.get(name)
        except UndefinedObject:
            if missing_ok and rest and rest[0]:
                return None
            raise
    return _map(ctx, args, one)


def _set_config(ctx: CallContext, args: list) -> pa.Array:
    def one(name: str, value: str, is_local: bool) -> str:
        s = _session(ctx)
        if s is None:
            return value
        s.settings.set(name, value)
        return s.settings.get(name)
    return _map(ctx, args, one)


# -- catalog lookups ---------------------------------------------------------------------
def format_type(snap: Any, ctx: CallContext, oid: int, typmod: int | None = None) -> str | None:
    """format_type(oid, typmod): 'integer', 'character varying(10)', 'vector(3)'."""
    t = snap.type_by_oid(oid) if snap is not None else None
    if t is None:
        return "???"
    if typmod is not None and typmod >= 0:
        if t.element is not None:
            return t.element.with_typmod(typmod).display() + "[]"
        t = t.with_typmod(typmod)
    name = t.display()
    if t.oid == T.CHAR.oid:
        return '"char"'
    if snap.type_namespace(t.element or t) != 11 and "public" not in snap.visible_schemas():
        return "public." + name
    return name


def _format_type(ctx: CallContext, args: list) -> pa.Array:
    snap = _snap(ctx)
    cols = [_py(a, ctx.n) for a in args]
    if len(cols) == 1:
        cols.append([None] * ctx.n)
    memo: dict[tuple, Any] = {}
    out = []
    for oid, mod in zip(*cols):
        if (oid, mod) not in memo:
            memo[(oid, mod)] = None if oid is None else format_type(snap, ctx, oid, mod)
        out.append(memo[(oid, mod)])
    return pa.array(out, pa.string())


def _userbyid(snap: Any, ctx: CallContext, oid: int) -> str:
    if snap is None:
        return "sqlvec" if oid == 10 else f"unknown (OID={oid})"
    return snap.role_name.get(oid, f"unknown (OID={oid})")


def _indexdef(snap: Any, ctx: CallContext, oid: int, col: int = 0, pretty: bool = False) -> str | None:
    idx = snap.rel_by_oid.get(oid) if snap is not None else None
    if idx is None or not hasattr(idx, "method"):
        return None
    if col:
        return snap.index_column(idx, col)
    return snap.index_definition(idx, pretty=bool(pretty))


def _constraintdef(snap: Any, ctx: CallContext, oid: int, pretty: bool = False) -> str | None:
    c = snap.constraint_by_oid.get(oid) if snap is not None else None
    return c.definition() if c is not None else None


def _get_expr(snap: Any, ctx: CallContext, expr: str, rel: int, pretty: bool = False) -> str:
    return expr  # sqlvec keeps expressions as SQL text, not node trees


def _viewdef(snap: Any, ctx: CallContext, oid: int, pretty: bool = False) -> str | None:
    v = snap.rel_by_oid.get(oid) if snap is not None else None
    return " " + v.sql.strip() + ";" if v is not None and hasattr(v, "sql") else None


def _obj_description(snap: Any, ctx: CallContext, oid: int, catalog: str = "") -> str | None:
    return snap.comments.get((oid, 0)) if snap is not None else None


def _col_description(snap: Any, ctx: CallContext, oid: int, attnum: int) -> str | None:
    return snap.comments.get((oid, attnum)) if snap is not None else None


def _table_visible(snap: Any, ctx: CallContext, oid: int) -> bool:
    return bool(snap.relation_visible(oid)) if snap is not None else False


def _type_visible(snap: Any, ctx: CallContext, oid: int) -> bool:
    t = snap.type_by_oid(oid) if snap is not None else None
    return t is not None and snap.type_namespace(t) in {snap.nsp_oid[s] for s in snap.visible_schemas()}


def _relation_size(snap: Any, ctx: CallContext, oid: int) -> int | None:
    """Bytes of a table's live rows (an estimate from row count and column widths); of a
    vector index, its files on disk (every segment's graph and the delta's)."""
    rel = snap.rel_by_oid.get(oid) if snap is not None else None
    if rel is None:
        return None
    if getattr(rel, "method", None) in ("hnsw", "ivfflat"):
        return _index_files_size(snap, oid)
    if not hasattr(rel, "columns") or getattr(rel, "system", False) or not hasattr(rel, "primary_key"):
        return 0
    try:
        rows = snap.catalog.txn.row_count(oid)
    except Exception:  # noqa: BLE001 - not stored (view): no size
        return 0
    width = 0
    for c in rel.columns:
        t = snap.column_type(c)
        width += t.typlen if t is not None and t.typlen > 0 else 32
    return rows * (width + 24)


def _total_relation_size(snap: Any, ctx: CallContext, oid: int) -> int | None:
    """pg_total_relation_size: a table with its indexes (an index: itself)."""
    size = _relation_size(snap, ctx, oid)
    return None if size is None else size + _indexes_size(snap, ctx, oid)


def _indexes_size(snap: Any, ctx: CallContext, oid: int) -> int:
    """pg_indexes_size: the table's vector indexes' files (other indexes live in memory)."""
    if snap is None:
        return 0
    return sum(_index_files_size(snap, i.oid) for i in snap.indexes
               if i.table_oid == oid and i.method in ("hnsw", "ivfflat"))


def _index_files_size(snap: Any, oid: int) -> int:
    """Bytes of a vector index's files under <data>/indexes (0 in memory): exec/
    segment_index.py writes them there (`index_dir`), named by the index's oid."""
    root = getattr(getattr(snap.catalog, "store", None), "path", None)
    d = os.path.join(root, "indexes") if root else None
    try:
        entries = list(os.scandir(d)) if d else []
    except OSError:
        return 0
    stem = str(oid)
    return sum(_file_size(e.path) for e in entries
               if e.name == stem or e.name.startswith(stem + "."))


def _file_size(path: str) -> int:
    """A file's bytes; 0 once gone (a part rewritten or dropped meanwhile)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _database_size(snap: Any, ctx: CallContext, db: Any) -> int | None:
    """pg_database_size: the data directory's files, which the server's databases share (an
    in-memory database: its tables' estimates); an unknown name is 3D000, an unknown oid
    NULL, as in PostgreSQL."""
    if snap is None:
        return None
    known = dict(snap.databases) | {snap.database: snap.database_oid}
    if isinstance(db, str) and db not in known:
        from sqlvec.core.errors import InvalidCatalogName

        raise InvalidCatalogName(f'database "{db}" does not exist')
    if not isinstance(db, str) and db not in known.values():
        return None
    root = getattr(snap.catalog.store, "path", None)
    if not root:
        return sum(_total_relation_size(snap, ctx, r.oid) or 0 for r in snap.tables)
    return sum(_file_size(os.path.join(where, f)) for where, _dirs, files in os.walk(root)
               for f in files)


def _to_regclass(snap: Any, ctx: CallContext, name: str) -> int | None:
    return snap.lookup_relation(name) if snap is not None else None


def _to_regtype(snap: Any, ctx: CallContext, name: str) -> int | None:
    return lookup_type(snap, name)


def lookup_type(snap: Any, name: str) -> int | None:
    """regtype input: 'integer', 'character varying', 'int4[]', 'pg_catalog.text', 'vector'."""
    n = name.strip().lower()
    if n.startswith("pg_catalog.") or n.startswith("public."):
        n = n.split(".", 1)[1]
    n = n.strip('"')
    arr = n.endswith("[]")
    if arr:
        n = n[:-2].strip()
    if "(" in n:
        n = n[: n.index("(")].strip()
    regs_types = snap.regs.types if snap is not None else T.default_types()
    t = regs_types.by_name(n)
    if t is None and n == '"char"':
        t = T.CHAR
    if t is None:
        return None
    if arr:
        return t.array_oid or None
    return t.oid


def _serial_sequence(snap: Any, ctx: CallContext, table: str, column: str) -> str | None:
    if snap is None:
        return None
    oid = snap.lookup_relation(table)
    rel = snap.rel_by_oid.get(oid) if oid is not None else None
    if rel is None or not hasattr(rel, "columns"):
        return None
    for c in rel.columns:
        if c.name == column and c.sequence:
            seq = c.sequence
            return seq if "." in seq else f"{rel.schema}.{seq}"
    return None


def _function_args(snap: Any, ctx: CallContext, oid: int) -> str | None:
    p = _proc(snap, oid)
    if p is None:
        return None
    return ", ".join(format_type(snap, ctx, a) or "" for a in p[1])


def _function_result(snap: Any, ctx: CallContext, oid: int) -> str | None:
    p = _proc(snap, oid)
    if p is None:
        return None
    res = format_type(snap, ctx, p[2]) or ""
    return ("SETOF " + res) if p[3] else res


def _proc(snap: Any, oid: int) -> tuple[str, list[int], int, bool] | None:
    if snap is None:
        return None
    procs = getattr(snap, "_proc_cache", None)
    if procs is None:
        from_gen = snap.generate_rows("pg_proc")
        procs = {o: (n, a, r, s) for o, n, a, r, s in zip(
            from_gen["oid"], from_gen["proname"], from_gen["proargtypes"],
            from_gen["prorettype"], from_gen["proretset"])}
        snap._proc_cache = procs
    return procs.get(oid)


def _pg_notify(ctx: CallContext, args: list) -> pa.Array:
    """pg_notify(channel, payload): NOTIFY through the session (sent at commit in a block)."""
    s = _session(ctx)
    cols = [_py(a, ctx.n) for a in args]
    for channel, payload in zip(*cols):
        if s is not None and hasattr(s, "pg_notify"):
            s.pg_notify(channel or "", payload or "")
    return T.void_values(ctx.n)


def _lock_session(ctx: CallContext) -> Any:
    s = _session(ctx)
    if s is None or not hasattr(s, "advisory_lock"):
        raise FeatureNotSupported("advisory locks and pg_sleep need a session")
    return s


def _advisory(shared: bool, xact: bool, wait: bool) -> Callable[[CallContext, list], pa.Array]:
    """pg_[try_]advisory[_xact]_lock[_shared](key | key1, key2), row by row (NULL: NULL)."""
    def impl(ctx: CallContext, args: list) -> pa.Array:
        s = _lock_session(ctx)
        got = [None if None in keys else s.advisory_lock(keys, shared, xact, wait)
               for keys in zip(*(_py(a, ctx.n) for a in args))]
        return pa.array(got if not wait else ["" if g else None for g in got],
                        ctx.return_type.arrow)
    return impl


def _advisory_unlock(shared: bool) -> Callable[[CallContext, list], pa.Array]:
    def impl(ctx: CallContext, args: list) -> pa.Array:
        s = _lock_session(ctx)
        return pa.array([None if None in keys else s.advisory_unlock(keys, shared)
                         for keys in zip(*(_py(a, ctx.n) for a in args))], pa.bool_())
    return impl


def _advisory_unlock_all(ctx: CallContext, args: list) -> pa.Array:
    if ctx.n:
        _lock_session(ctx).advisory_unlock(None)
    return T.void_values(ctx.n)


def _sleep(seconds: Callable[[Any], float]) -> Callable[[CallContext, list], pa.Array]:
    """pg_sleep(seconds) / pg_sleep_for(interval) / pg_sleep_until(timestamptz): one wait
    per row (NULL: NULL, no wait), through the session (cancel, statement_timeout)."""
    def impl(ctx: CallContext, args: list) -> pa.Array:
        s = _lock_session(ctx)
        out = []
        for v in _py(args[0], ctx.n):
            if v is not None:
                s.sleep(seconds(v))
            out.append(None if v is None else "")
        return pa.array(out, pa.string())
    return impl


def _interval_seconds(v: Any) -> float:
    """Seconds from now to now + interval v, months counted on the calendar (as PostgreSQL's
    pg_sleep_for adds the interval to clock_timestamp())."""
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    months = now.year * 12 + now.month - 1 + v.months
    year, month = divmod(months, 12)
    month += 1
    last = (datetime.date(year + month // 12, month % 12 + 1, 1) - datetime.timedelta(days=1)).day
    then = now.replace(year=year, month=month, day=min(now.day, last)) \
        + datetime.timedelta(days=v.days, microseconds=v.nanoseconds / 1000)
    return (then - now).total_seconds()


def _until_seconds(v: Any) -> float:
    import datetime

    return (v - datetime.datetime.now(datetime.UTC)).total_seconds()


def _privilege(ctx: CallContext, args: list) -> pa.Array:
    """has_*_privilege: superusers have every privilege; others too until GRANT exists."""
    return pa.array([True] * ctx.n, pa.bool_())


# -- registration ---------------------------------------------------------------------
def register(fns: FunctionRegistry) -> None:
    """Install the system information functions."""
    name_t, text, oid, i4, b = T.NAME, T.TEXT, T.OID, T.INT4, T.BOOL
    add = fns.add
    add("version", [], text, _const(lambda c: version_string(_setting(c, "server_version", "15.0"))))
    add("current_database", [], name_t, _const(lambda c: getattr(_session(c), "database", "sqlvec")))
    add("current_catalog", [], name_t, _const(lambda c: getattr(_session(c), "database", "sqlvec")))
    for n in ("current_user", "session_user", "user", "current_role"):
        add(n, [], name_t, _const(_user))
    add("current_schema", [], name_t, _const(lambda c: next(iter(_search_path(c, False)), None)))
    add("current_schemas", [b], array_of(name_t),
        lambda c, a: _map(c, a, lambda implicit: _search_path(c, bool(implicit))))
    add("current_setting", [text], text, _current_setting)
    add("current_setting", [text, b], text, _current_setting)
    add("set_config", [text, text, b], text, _set_config, volatile=True, strict=False)
    add("pg_backend_pid", [], i4, _const(lambda c: getattr(_snap(c), "backend_pid", 0)))
    add("pg_get_userbyid", [oid], name_t, _per_row(_userbyid))
    add("format_type", [oid, i4], text, _format_type, strict=False)
    add("pg_table_is_visible", [oid], b, _per_row(_table_visible))
    add("pg_type_is_visible", [oid], b, _per_row(_type_visible))
    for n in ("pg_function_is_visible", "pg_collation_is_visible", "pg_opclass_is_visible",
              "pg_operator_is_visible", "pg_opfamily_is_visible"):
        add(n, [oid], b, _per_row(lambda s, c, o: True, need_snap=False))
    add("pg_get_indexdef", [oid], text, _per_row(_indexdef))
    add("pg_get_indexdef", [oid, i4, b], text, _per_row(_indexdef))
    add("pg_get_constraintdef", [oid], text, _per_row(_constraintdef))
    add("pg_get_constraintdef", [oid, b], text, _per_row(_constraintdef))
    for et in (T.PG_NODE_TREE, text):
        add("pg_get_expr", [et, oid], text, _per_row(_get_expr, need_snap=False))
        add("pg_get_expr", [et, oid, b], text, _per_row(_get_expr, need_snap=False))
    # sqlvec has no triggers (pg_trigger is empty): psql's \d binds this, never calls it on a row
    add("pg_get_triggerdef", [oid], text, _per_row(lambda s, c, o, p=False: None, need_snap=False))
    add("pg_get_triggerdef", [oid, b], text, _per_row(lambda s, c, o, p=False: None, need_snap=False))
    add("pg_get_viewdef", [oid], text, _per_row(_viewdef))
    add("pg_get_viewdef", [oid, b], text, _per_row(_viewdef))
    add("obj_description", [oid], text, _per_row(_obj_description))
    add("obj_description", [oid, name_t], text, _per_row(_obj_description))
    add("shobj_description", [oid, name_t], text, _per_row(_obj_description))
    add("col_description", [oid, i4], text, _per_row(_col_description))
    add("pg_encoding_to_char", [i4], name_t,
        _per_row(lambda s, c, e: ENCODINGS.get(e, ""), need_snap=False))
    for n in ("has_table_privilege", "has_schema_privilege", "has_database_privilege",
              "has_column_privilege", "has_function_privilege", "has_sequence_privilege",
              "has_any_column_privilege", "has_type_privilege", "has_tablespace_privilege"):
        for args in ([text, text], [oid, text], [name_t, text, text], [name_t, oid, text],
                     [oid, oid, text], [text, text, text], [oid, i4, text], [text, i4, text]):
            add(n, args, b, _privilege)
    for n in ("pg_relation_size", "pg_table_size"):
        add(n, [T.REGCLASS], T.INT8, _per_row(_relation_size))
    add("pg_total_relation_size", [T.REGCLASS], T.INT8, _per_row(_total_relation_size))
    add("pg_indexes_size", [T.REGCLASS], T.INT8, _per_row(_indexes_size))
    add("pg_database_size", [name_t], T.INT8, _per_row(_database_size))
    add("pg_database_size", [oid], T.INT8, _per_row(_database_size))
    add("to_regclass", [text], T.REGCLASS, _per_row(_to_regclass))
    add("to_regtype", [text], T.REGTYPE, _per_row(_to_regtype))
    add("to_regnamespace", [text], T.REGNAMESPACE,
        _per_row(lambda s, c, n: s.nsp_oid.get(n) if s is not None else None))
    add("pg_get_serial_sequence", [text, text], text, _per_row(_serial_sequence))
    add("pg_get_function_arguments", [oid], text, _per_row(_function_args))
    add("pg_get_function_identity_arguments", [oid], text, _per_row(_function_args))
    add("pg_get_function_result", [oid], text, _per_row(_function_result))
    add("pg_relation_is_publishable", [T.REGCLASS], b, _per_row(lambda s, c, o: False, need_snap=False))
    add("pg_is_other_temp_schema", [oid], b, _per_row(lambda s, c, o: False, need_snap=False))
    add("pg_get_statisticsobjdef_columns", [oid], text, _per_row(lambda s, c, o: None, need_snap=False))
    add("pg_is_in_recovery", [], b, _const(lambda c: False))
    add("pg_tablespace_location", [oid], text, _per_row(lambda s, c, o: "", need_snap=False))
    add("pg_size_pretty", [T.INT8], text, _per_row(lambda s, c, v: size_pretty(v), need_snap=False))
    # advisory locks (session/advisory.py): a bigint key or two int keys each
    for suffix, shared in (("", False), ("_shared", True)):
        for keys in ([T.INT8], [i4, i4]):
            for xact in (False, True):
                lvl = "_xact" if xact else ""
                add(f"pg_advisory{lvl}_lock{suffix}", keys, T.VOID,
                    _advisory(shared, xact, wait=True), volatile=True)
                add(f"pg_try_advisory{lvl}_lock{suffix}", keys, b,
                    _advisory(shared, xact, wait=False), volatile=True)
            add(f"pg_advisory_unlock{suffix}", keys, b, _advisory_unlock(shared), volatile=True)
    add("pg_advisory_unlock_all", [], T.VOID, _advisory_unlock_all, volatile=True)
    add("pg_sleep", [T.FLOAT8], T.VOID, _sleep(float), volatile=True)
    add("pg_sleep_for", [T.INTERVAL], T.VOID, _sleep(_interval_seconds), volatile=True)
    add("pg_sleep_until", [T.TIMESTAMPTZ], T.VOID, _sleep(_until_seconds), volatile=True)
    add("pg_notify", [text, text], T.VOID, _pg_notify, volatile=True, strict=False)
    add("unnest", [T.INT2VECTOR], T.INT2, _unnest_vector, set_returning=True)
    add("unnest", [T.OIDVECTOR], T.OID, _unnest_vector, set_returning=True)
    for t in (T.INT2VECTOR, T.OIDVECTOR, T.ANYARRAY):
        add("generate_subscripts", [t, i4], i4, _subscripts, set_returning=True)
    add("_pg_expandarray", [T.INT2VECTOR], expandarray_type(T.INT2), _expandarray, set_returning=True)
    add("_pg_expandarray", [T.OIDVECTOR], expandarray_type(T.OID), _expandarray, set_returning=True)


def _unnest_vector(ctx: CallContext, args: list) -> pa.Array:
    """unnest(int2vector / oidvector): each row's elements (the set as a list per row)."""
    a = args[0] if not isinstance(args[0], pa.Scalar) else pa.array([args[0].as_py()] * ctx.n, args[0].type)
    return a.cast(pa.list_(ctx.return_type.arrow))


def _subscripts(ctx: CallContext, args: list) -> pa.Array:
    """generate_subscripts(a, 1): 1..n for arrays, 0..n-1 for int2vector/oidvector."""
    import numpy as np

    a = args[0] if not isinstance(args[0], pa.Scalar) else pa.array([args[0].as_py()] * ctx.n, args[0].type)
    lengths = pc.list_value_length(a).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    first = 0 if ctx.arg_types[0].short in ("int2vector", "oidvector") else 1
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    values = np.arange(int(offsets[-1]), dtype=np.int64) - np.repeat(offsets[:-1], lengths) + first
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values.astype(np.int32)))


def expandarray_type(elem: SqlType) -> SqlType:
    """The record (x elem, n int4) information_schema._pg_expandarray returns."""
    from dataclasses import replace

    return replace(T.RECORD, arrow=pa.struct([("x", elem.arrow), ("n", pa.int32())]))


def _expandarray(ctx: CallContext, args: list) -> pa.Array:
    """_pg_expandarray(int2vector): one (x, n) record per element, n from 1 (pgJDBC keys)."""
    import numpy as np

    a = args[0] if not isinstance(args[0], pa.Scalar) else pa.array([args[0].as_py()] * ctx.n, args[0].type)
    lengths = pc.list_value_length(a).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    n = np.arange(int(offsets[-1]), dtype=np.int64) - np.repeat(offsets[:-1], lengths) + 1
    x = pc.list_flatten(a).cast(ctx.return_type.arrow.field("x").type)
    rec = pa.StructArray.from_arrays([x, pa.array(n.astype(np.int32))], ["x", "n"])
    return pa.ListArray.from_arrays(pa.array(offsets), rec)


def size_pretty(v: int) -> str:
    """pg_size_pretty: '8192 bytes', '16 kB', '10 MB' (PostgreSQL 15's rounding)."""
    limit, limit2 = 10 * 1024, 20 * 1024 - 1
    if abs(v) < limit:
        return f"{v} bytes"
    size = v >> 9  # one extra bit for rounding half away from zero
    for unit in ("kB", "MB", "GB", "TB"):
        if abs(size) < limit2 or unit == "TB":
            half = (abs(size) + 1) // 2
            return f"{half if size >= 0 else -half} {unit}"
        size >>= 10
    return f"{v} bytes"


def regtype_name(snap: Any, oid: int) -> str | None:
    """regtype output: the type's SQL name ('integer', 'character varying', 'vector')."""
    t = snap.type_by_oid(oid) if snap is not None else T.default_types().by_oid(oid)
    if t is None:
        return None
    return '"char"' if t.oid == T.CHAR.oid else t.display()


def reg_types() -> tuple[SqlType, ...]:
    return (T.REGCLASS, T.REGTYPE, T.REGPROC, T.REGNAMESPACE, T.REGROLE)
