"""The KeyLookup operator: find rows by a unique key through storage, not a table scan.

The key values (constants / parameters) are converted exactly to the column's Arrow type;
`txn.lookup` answers their row ids from the transaction's view (its own inserts and
deletes included), `txn.fetch` reads those rows, and the plan's whole predicate is
re-applied to them (unless it is just the key condition, which the fetched rows hold by
construction). A key that does not convert exactly (1.5 for an int column, a value
out of range) makes the operator run the equivalent sequential scan instead.

    >>> # KeyLookup(t, id = $1) with $1 = 7 -> lookup(t, "id", [7]) -> fetch -> filter
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.exec.operators import node_schema, node_types
from sqlvec.plan import expr as E
from sqlvec.plan.key_lookup import KeyLookup
from sqlvec.storage.point_lookup import NO_INDEX, row_values

_INTS = ("int2", "int4", "int8")
_ONE_ROW = pa.RecordBatch.from_arrays([pa.array([0], pa.int8())], names=["_"])


def _key_value(ctx: Any, k: E.Expr) -> pa.Array:
    """One key as a 1-element array of its expression type (constants and params)."""
    if isinstance(k, E.Param) and k.type.short != "unknown":
        if ctx.params[k.index] is not None:  # the execution's Arrow value (42804 if it does not convert)
            return pa.repeat(ctx.evaluator.param_scalar(k.index, k.type.arrow, k.type.name), 1)
        return ctx.evaluator._e_Param(k, _ONE_ROW, 1)
    if isinstance(k, E.Cast) and isinstance(k.arg, E.Param) and k.type.short in _INTS \
            and k.arg.type.short in _INTS:  # a driver's int2/int8 $1 cast to the key's type
        v = ctx.params[k.arg.index]
        if v is None or type(v) is int:
            try:
                return pa.array([v], k.type.arrow)
            except (OverflowError, pa.ArrowInvalid):
                pass  # out of range: the evaluator raises PostgreSQL's error
    return ctx.evaluator.eval(k, _ONE_ROW)


def key_values(ctx: Any, keys: tuple[E.Expr, ...], typ: pa.DataType) -> pa.Array | None:
    """The non-NULL keys converted exactly to `typ`, or None when one does not convert."""
    parts = []
    for k in keys:
        a = _key_value(ctx, k)
        if a.null_count == len(a):
            continue  # NULL never equals a key
        if a.type != typ:
            try:
                a = a.cast(typ, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError):
                return None
        parts.append(a)
    if not parts:
        return pa.array([], typ)
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)


def run_key_lookup(ctx: Any, p: KeyLookup, picks: list[int] | None = None,
                   project: Any = None) -> Iterator[pa.RecordBatch]:
    """Rows of `p.table` whose key equals one of `p.keys` and that pass `p.filter`.

    With `picks` (positions in p.fields whose Arrow types are the output's): only those
    columns, as batches of `project`'s schema (a Project of plain columns over the lookup)."""
    ex = ctx.executor
    schema = node_schema(project) if project is not None else None
    fields = p.fields
    txn = ctx.txn
    point = _point_key(p) if picks is not None and p.residual is None else None
    if point is not None:
        k = ctx.params[point[0]]
        if type(k) is int and -point[1] <= k < point[1]:
            hit = txn.find_row(p.table.oid, fields[p.column].name, k)
            if hit is not NO_INDEX:
                yield _point_batch(txn, p, picks, project, schema, hit)
                return
    keys = key_values(ctx, p.keys, fields[p.column].type.arrow)
    if keys is None:  # a key the column cannot hold exactly: the scan decides
        for b in ex.run(p.as_scan()):
            yield b if picks is None else pa.RecordBatch.from_arrays([b.column(i) for i in picks], schema=schema)
        return
    # a projection over a lookup whose predicate is just the key condition reads only its columns
    narrow = picks is not None and p.residual is None
    if narrow:
        cols, at = _narrow(p, picks, project)
    else:
        cols = [f.name for f in fields]
    rows = None
    if len(keys):
        found, rowids = txn.lookup(p.table.oid, fields[p.column].name, keys)
        if len(found) == 1:  # one key: no mask to reduce or apply
            if found[0]:
                rows = txn.fetch(p.table.oid, rowids, cols)
        elif found.any():
            rows = txn.fetch(p.table.oid, rowids[found], cols)
    if rows is None or rows.num_rows == 0:
        out_schema = schema if picks is not None else ex.schema(p)
        yield pa.RecordBatch.from_arrays([pa.array([], f.type) for f in out_schema], schema=out_schema)
        return
    if narrow:
        arrays = [_one_chunk(rows.column(j)) for j in at]
        types = node_types(project)
        if any(a.type != t for a, t in zip(arrays, types)):  # storage's type differs
            arrays = [a.cast(t) if a.type != t else a for a, t in zip(arrays, types)]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)
        return
    out = _as_batch(ex, p, rows)
    if p.residual is not None:  # else the predicate is the key condition: every fetched row holds it
        mask = pc.fill_null(ctx.evaluator.eval(p.filter, out), False)
        if not (mask.null_count == 0 and np.asarray(mask).all()):
            out = out.filter(mask)
    yield out if picks is None else pa.RecordBatch.from_arrays([out.column(i) for i in picks], schema=schema)


_INT_RANGE = {"int2": 1 << 15, "int4": 1 << 31, "int8": 1 << 63}


def _int_param(p: KeyLookup) -> tuple[int, int] | None:
    """(parameter index, bound) when the lookup's one key is an integer parameter ($n, or $n
    cast between integer types) over an integer column: a value v of it with -bound <= v <
    bound fits the parameter's type, the cast's and the column's, and is the key as it is.
    None otherwise (a constant, another type: key_values decides)."""
    typ = p.fields[p.column].type.arrow
    if len(p.keys) != 1 or not pa.types.is_integer(typ):
        return None
    k, bound = p.keys[0], 1 << (typ.bit_width - 1)
    if type(k) is E.Cast:
        if k.type.short not in _INTS:
            return None
        bound = min(bound, _INT_RANGE[k.type.short])
        k = k.arg
    if type(k) is not E.Param or k.type.short not in _INTS:
        return None
    return k.index, min(bound, _INT_RANGE[k.type.short])


_POINT_KEY: dict[int, tuple[Any, tuple[int, int] | None]] = {}  # id(KeyLookup) -> _int_param


def _point_key(p: KeyLookup) -> tuple[int, int] | None:
    """_int_param(p), worked out once per plan node."""
    hit = _POINT_KEY.get(id(p))
    if hit is None or hit[0]() is not p:
        if len(_POINT_KEY) > 4096:
            _POINT_KEY.clear()
        hit = _POINT_KEY[id(p)] = (weakref.ref(p), _int_param(p))
    return hit[1]


def _point_batch(txn: Any, p: KeyLookup, picks: list[int], project: Any, schema: pa.Schema,
                 hit: Any) -> pa.RecordBatch:
    """The projected row `txn.find_row` found (`hit`: segment, position; None: no row)."""
    if hit is None:
        return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)
    names = _picked_names(p, picks, project)
    batch = txn.fetch_batch(hit[0], hit[1], names, schema)
    if batch is not None:
        if len(_POINT_ROWS) >= 64:  # (rows no one asked for: the embedded API's)
            _POINT_ROWS.clear()
        _POINT_ROWS[id(batch)] = (batch, weakref.ref(hit[0]), hit[1], names)
        return batch
    cols, at = _narrow(p, picks, project)
    fetched = txn.fetch_at(hit[0], hit[1], cols)
    arrays = [fetched[j - 1] for j in at]
    types = node_types(project)
    if any(a.type != t for a, t in zip(arrays, types)):  # storage's type differs
        arrays = [a.cast(t) if a.type != t else a for a, t in zip(arrays, types)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# id(Project) -> (Project, lookup (both held weakly), the columns to fetch, each output
# column's position in the fetched table): worked out once per plan, not per execution
_NARROW: dict[int, tuple[Any, Any, list[str], list[int]]] = {}


def _narrow(p: KeyLookup, picks: list[int], project: Any) -> tuple[list[str], list[int]]:
    """The distinct columns a projection over `p` fetches, and where each pick lands in the
    fetched table (`_rowid` is its column 0)."""
    hit = _NARROW.get(id(project))
    if hit is None or hit[0]() is not project or hit[1]() is not p:
        cols = [p.fields[i].name for i in dict.fromkeys(picks)]
        at = {name: j for j, name in enumerate(cols, 1)}
        if len(_NARROW) > 4096:
            _NARROW.clear()
        hit = _NARROW[id(project)] = (weakref.ref(project), weakref.ref(p), cols,
                                      [at[p.fields[i].name] for i in picks])
    return hit[2], hit[3]


# id(batch) -> (batch, segment (held weakly: an unread entry keeps no old segment alive),
# position, columns) of the latest rows the point path made: where `point_row_values` reads
# a one-row answer's values without Arrow (wire/rows.py)
_POINT_ROWS: dict[int, tuple[pa.RecordBatch, Any, int, tuple[str, ...]]] = {}


def point_row_values(batch: pa.RecordBatch) -> list | None:
    """The Python values of a one-row batch the point path answered (what its columns'
    `to_pylist()[0]` give), read from the segment (numpy `.item` for numbers); None for any
    other batch, or when a column is of another type. Each answer is read once."""
    hit = _POINT_ROWS.pop(id(batch), None)
    if hit is None or hit[0] is not batch:
        return None
    seg = hit[1]()
    return None if seg is None else row_values(seg, hit[2], hit[3])


_PICKED: dict[int, tuple[Any, Any, tuple[str, ...]]] = {}  # id(Project) -> its columns' names


def _picked_names(p: KeyLookup, picks: list[int], project: Any) -> tuple[str, ...]:
    """The stored column of each output column of a projection over `p`, in output order."""
    hit = _PICKED.get(id(project))
    if hit is None or hit[0]() is not project or hit[1]() is not p:
        if len(_PICKED) > 4096:
            _PICKED.clear()
        hit = _PICKED[id(project)] = (weakref.ref(project), weakref.ref(p),
                                      tuple(p.fields[i].name for i in picks))
    return hit[2]


def _one_chunk(col: pa.ChunkedArray) -> pa.Array:
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


def _as_batch(ex: Any, p: KeyLookup, rows: pa.Table) -> pa.RecordBatch:
    """The fetched rows (without `_rowid`) as one batch of the node's schema."""
    schema = ex.schema(p)
    batches = rows.to_batches()
    if len(batches) == 1:
        arrays = batches[0].columns[1:]
        if all(a.type == f.type for a, f in zip(arrays, schema)):
            return pa.RecordBatch.from_arrays(arrays, schema=schema)
    return ex._batch(p, [rows.column(i) for i in range(1, rows.num_columns)])
