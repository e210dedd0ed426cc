"""DEFERRABLE foreign keys: checks held until COMMIT (or SET CONSTRAINTS ... IMMEDIATE).

A deferred constraint's checks are queued on the transaction (`txn.fk_deferred`) instead of
run at the end of the statement: the keys each statement wrote to the child (child side),
or removed from the parent under NO ACTION (parent side). Cascading actions and RESTRICT
are never deferred, as in PostgreSQL. At COMMIT (a `txn.before_commit` hook) each
constraint's queued keys are checked in one vectorised probe against the state the
transaction then sees: a child key must be in the parent (or no longer in the child); a
parent key that is gone must not be referenced any more. A failure is 23503 and the commit
rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from sqlvec.catalog.catalog import Catalog
from sqlvec.catalog.objects import ForeignKeyDef, TableDef
from sqlvec.core.errors import UndefinedObject, WrongObjectType


@dataclass
class DeferredState:
    regs: Any
    all_mode: bool | None = None  # SET CONSTRAINTS ALL DEFERRED (True) / IMMEDIATE (False)
    names: dict[str, bool] = field(default_factory=dict)  # SET CONSTRAINTS name ...
    child: dict[tuple[int, str], list[pa.Table]] = field(default_factory=dict)
    parent: dict[tuple[int, int, str], list[pa.Table]] = field(default_factory=dict)


def _state(txn: Any, regs: Any) -> DeferredState:
    st = getattr(txn, "fk_deferred", None)
    if st is None:
        st = txn.fk_deferred = DeferredState(regs)
        txn.before_commit.append(lambda: run_pending(txn, None))
    return st


def is_deferred(txn: Any, fk: ForeignKeyDef) -> bool:
    """Whether fk's check waits for COMMIT in this transaction."""
    if not fk.deferrable:
        return False
    st = getattr(txn, "fk_deferred", None)
    if st is None:
        return fk.deferred
    if fk.name in st.names:
        return st.names[fk.name]
    return fk.deferred if st.all_mode is None else st.all_mode


def defer_child(ex: Any, child: TableDef, fk: ForeignKeyDef, keys: pa.Table) -> None:
    """Queue the child keys (no NULLs, columns fk.columns) a statement wrote."""
    _state(ex.ctx.txn, ex.ctx.regs).child.setdefault((child.oid, fk.name), []).append(keys)


def defer_parent(ex: Any, parent: TableDef, child: TableDef, fk: ForeignKeyDef, keys: pa.Table) -> None:
    """Queue the parent keys (columns fk.ref_columns) a DELETE / UPDATE removed (NO ACTION)."""
    _state(ex.ctx.txn, ex.ctx.regs).parent.setdefault((parent.oid, child.oid, fk.name), []).append(keys)


def _concat(parts: list[pa.Table]) -> list[pa.Table]:
    """The queued key tables as one (distinct rows), or several when their types differ."""
    from sqlvec.exec.foreign_keys import _cast_like, _unique_keys

    first, rest = parts[0], []
    same = [first]
    for p in parts[1:]:
        c = _cast_like(p.rename_columns(first.column_names), first.schema)
        (same if c is not None else rest).append(c if c is not None else p)
    out = [_unique_keys(pa.concat_tables([t.combine_chunks() for t in same]).combine_chunks())]
    return out + [_unique_keys(p) for p in rest]


def run_pending(txn: Any, only: set[str] | None) -> None:
    """Check the queued keys of every deferred constraint (only: those names)."""
    st = getattr(txn, "fk_deferred", None)
    if st is None or not (st.child or st.parent):
        return
    from sqlvec.exec.foreign_keys import _present, _referencing, missing_parent, still_referenced

    cat = Catalog(txn, getattr(txn, "store", None))
    for (coid, name) in list(st.child):
        if only is not None and name not in only:
            continue
        parts = st.child.pop((coid, name))
        child = cat.relation_by_oid(coid)
        fk = next((f for f in child.foreign_keys if f.name == name), None) if isinstance(child, TableDef) else None
        if fk is None:  # the table or the constraint was dropped since
            continue
        for keys in _concat(parts):
            ok = _present(txn, fk.ref_oid, fk.ref_columns, keys.rename_columns(list(fk.ref_columns)))
            if ok.all():
                continue
            keys = keys.filter(pa.array(~ok))  # missing parents: do child rows still hold them?
            still = _present(txn, coid, fk.columns, keys)
            if still.any():
                bad = int(np.flatnonzero(still)[0])
                parent = cat.relation_by_oid(fk.ref_oid)
                raise missing_parent(child, fk, keys, bad, getattr(parent, "name", fk.ref_table),
                                     st.regs)
    for (poid, coid, name) in list(st.parent):
        if only is not None and name not in only:
            continue
        parts = st.parent.pop((poid, coid, name))
        child, parent = cat.relation_by_oid(coid), cat.relation_by_oid(poid)
        fk = next((f for f in child.foreign_keys if f.name == name and f.ref_oid == poid), None) \
            if isinstance(child, TableDef) and isinstance(parent, TableDef) else None
        if fk is None:
            continue
        for keys in _concat(parts):
            gone = ~_present(txn, poid, fk.ref_columns, keys)  # a key put back is fine
            if not gone.any():
                continue
            keys = keys.filter(pa.array(gone))
            refs, which = _referencing(txn, child, fk.columns, keys.rename_columns(list(fk.columns)))
            if refs.num_rows:
                raise still_referenced(parent, child, fk, keys, int(which[0]), st.regs)


def _find(cat: Catalog, name: str, search_path: list[str]) -> list[tuple[TableDef, Any]]:
    """(table, ForeignKeyDef or None for another kind) of each constraint called `name`
    ('schema.name' or in the search path's schemas)."""
    from sqlvec.exec.ddl_fk import constraint_names

    schema, _, bare = name.rpartition(".")
    schemas = [schema] if schema else search_path
    out: list[tuple[TableDef, Any]] = []
    for sch in schemas:
        for t in cat.relations(sch):
            if not isinstance(t, TableDef) or bare not in constraint_names(t):
                continue
            out.append((t, next((f for f in t.foreign_keys if f.name == bare), None)))
        if out:
            break
    return out


def set_constraints(txn: Any, regs: Any, search_path: list[str], names: tuple[str, ...] | None,
                    deferred: bool) -> None:
    """SET CONSTRAINTS ALL | name, ... DEFERRED | IMMEDIATE in transaction txn; IMMEDIATE
    runs the queued checks of the constraints it names at once."""
    cat = Catalog(txn, getattr(txn, "store", None))
    bare: set[str] = set()
    for name in names or ():
        found = _find(cat, name, search_path)
        if not found:
            raise UndefinedObject(f'constraint "{name.rpartition(".")[2]}" does not exist')
        for _, fk in found:
            if fk is None or not fk.deferrable:
                raise WrongObjectType(f'constraint "{name.rpartition(".")[2]}" is not deferrable')
        bare.add(name.rpartition(".")[2])
    st = _state(txn, regs)
    if names is None:
        st.all_mode = deferred
        st.names.clear()
    else:
        for n in bare:
            st.names[n] = deferred
    if not deferred:
        run_pending(txn, None if names is None else bare)
