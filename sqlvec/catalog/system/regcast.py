"""Casts between names and OIDs: 'items'::regclass, oid::regtype::text, 'public'::regnamespace.

PostgreSQL's reg* input and output functions look names up in the catalog, so they run
here (with the statement's Snapshot) rather than in the static cast registry.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.catalog.system.snapshot import Snapshot, quote_ident
from sqlvec.core.errors import UndefinedFunction, UndefinedObject, UndefinedTable

REGCLASS, REGTYPE, REGPROC, REGNAMESPACE, REGROLE = 2205, 2206, 24, 4089, 4096
STRING_SHORTS = ("text", "varchar", "bpchar", "name", "unknown")


def _lookup(snap: Snapshot, target: int, name: str) -> int:
    from sqlvec.functions.sysfns import lookup_type

    s = name.strip()
    if s.isdigit():
        return int(s)
    if s == "-":
        return 0
    if target == REGCLASS:
        oid = snap.lookup_relation(s)
        if oid is None:
            raise UndefinedTable(f'relation "{s}" does not exist')
        return oid
    if target == REGTYPE:
        oid = lookup_type(snap, s)
        if oid is None:
            raise UndefinedObject(f'type "{s}" does not exist')
        return oid
    if target == REGNAMESPACE:
        oid = snap.nsp_oid.get(s.strip('"'))
        if oid is None:
            raise UndefinedObject(f'schema "{s}" does not exist')
        return oid
    if target == REGROLE:
        oid = snap.role_oid.get(s.strip('"'))
        if oid is None:
            raise UndefinedObject(f'role "{s}" does not exist')
        return oid
    procs = snap.generate_rows("pg_proc")
    bare = s.split(".")[-1].split("(")[0].strip('"')
    for o, n in zip(procs["oid"], procs["proname"]):
        if n == bare:
            return o
    raise UndefinedFunction(f'function "{s}" does not exist')


def _name(snap: Snapshot, source: int, oid: int) -> str:
    from sqlvec.functions.sysfns import regtype_name

    if oid == 0:
        return "-"
    if source == REGCLASS:
        return snap.relation_name(oid) or str(oid)
    if source == REGTYPE:
        return regtype_name(snap, oid) or str(oid)
    if source == REGNAMESPACE:
        return next((quote_ident(n) for n, o in snap.nsp_oid.items() if o == oid), str(oid))
    if source == REGROLE:
        return snap.role_name.get(oid, str(oid))
    rows = snap.generate_rows("pg_proc")
    return next((n for o, n in zip(rows["oid"], rows["proname"]) if o == oid), str(oid))


REG_OIDS = (REGCLASS, REGTYPE, REGPROC, REGNAMESPACE, REGROLE)


def _is_reg_array(t: Any) -> bool:
    return t.element is not None and t.element.oid in REG_OIDS


def reg_cast(ctx: Any, a: pa.Array, src: Any, dst: Any) -> pa.Array | None:
    """string -> reg* (lookup) and reg* -> string (names); None when not such a cast.

    Arrays too: oid[] / oidvector -> regtype[] keeps the OIDs, regtype[] -> text[] names them
    (pgcli: COALESCE(proallargtypes::regtype[], proargtypes::regtype[])::text[]).
    """
    from sqlvec.catalog.system import snapshot_for

    if _is_reg_array(dst) and pa.types.is_list(a.type) and pa.types.is_integer(a.type.value_type):
        return a.cast(pa.list_(pa.uint32()))
    if _is_reg_array(src) and dst.element is not None and dst.element.short in STRING_SHORTS:
        flat = a.flatten() if len(a) else pa.array([], pa.uint32())
        names = reg_cast(ctx, flat, src.element, dst.element)
        offsets = pc.subtract(a.offsets, a.offsets[0]) if len(a) else pa.array([0], pa.int32())
        return pa.ListArray.from_arrays(offsets, names, mask=pc.is_null(a) if a.null_count else None)

    if dst.oid in (REGCLASS, REGTYPE, REGPROC, REGNAMESPACE, REGROLE) and src.short in STRING_SHORTS:
        snap = snapshot_for(ctx)
        vals = pc.cast(a, pa.string()).to_pylist()
        memo: dict[str, int] = {}
        out = []
        for v in vals:
            if v is None:
                out.append(None)
                continue
            if v not in memo:
                memo[v] = _lookup(snap, dst.oid, v)
            out.append(memo[v])
        return pa.array(out, pa.uint32())
    if src.oid in (REGCLASS, REGTYPE, REGPROC, REGNAMESPACE, REGROLE) and dst.short in STRING_SHORTS:
        snap = snapshot_for(ctx)
        names: dict[int, str] = {}
        res = []
        for v in pc.cast(a, pa.int64()).to_pylist():
            if v is None:
                res.append(None)
                continue
            if v not in names:
                names[v] = _name(snap, src.oid, v)
            res.append(names[v])
        return pa.array(res, pa.string())
    return None


def reg_output(session: Any, result: Any, formats: list[int]) -> Any:
    """Rows with reg* columns in text format get the names clients see ('items', 'integer')."""
    from sqlvec.catalog.system import snapshot_for
    from sqlvec.core.results import Rows

    cols = getattr(result, "columns", None) or []

    def text_format(i: int) -> bool:
        if not formats:
            return True
        return (formats[i] if len(formats) > 1 and i < len(formats) else formats[0]) == 0

    regs = [i for i, c in enumerate(cols)
            if c.type.oid in (REGCLASS, REGTYPE, REGPROC, REGNAMESPACE, REGROLE) and text_format(i)]
    if not isinstance(result, Rows) or not regs:
        return result
    txn = session.txn if session.txn is not None else session.db.store.begin()
    try:
        ctx = _Ctx(txn, session.db.regs, session)
        snap = snapshot_for(ctx)
        out = []
        for b in result.batches:
            arrays = list(b.columns)
            for i in regs:
                names: dict[int, str] = {}
                vals = []
                for v in pc.cast(arrays[i], pa.int64()).to_pylist():
                    if v is not None and v not in names:
                        names[v] = _name(snap, cols[i].type.oid, v)
                    vals.append(None if v is None else names[v])
                arrays[i] = pa.array(vals, pa.string())
            out.append(pa.RecordBatch.from_arrays(arrays, names=b.schema.names))
    finally:
        if session.txn is None:
            txn.rollback()
    return Rows(result.columns, iter(out), result.tag)


class _Ctx:
    """The parts of an execution context a Snapshot needs."""

    def __init__(self, txn: Any, regs: Any, session: Any) -> None:
        self.txn = txn
        self.regs = regs
        self.session = session
