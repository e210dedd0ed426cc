"""Physical execution of logical plans over Arrow record batches.

`Executor.run(plan)` yields RecordBatches whose column i is plan.fields[i]. Streaming
operators (scan, filter, project, limit) go batch by batch; blocking ones (sort,
aggregate, join, distinct, set ops) materialise their input as one Arrow table.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core.errors import (
    FeatureNotSupported,
    InvalidRowCountInLimitClause,
    InvalidRowCountInResultOffsetClause,
    QueryCanceled,
)
from sqlvec.exec.evaluate import Evaluator, group_ids
from sqlvec.exec.recursive_cte import RecursiveCte
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L

SCAN_BATCH_ROWS = 65536  # rows per scanned batch: what a streamed result holds in flight
ONE_ROW = pa.RecordBatch.from_arrays([pa.array([0])], names=["_"])  # constants evaluate over it
_NO_COLUMNS: dict[int, pa.RecordBatch] = {}  # VALUES/SELECT without columns, by row count


def names(n: int) -> list[str]:
    return [f"c{i}" for i in range(n)]


def schema_of(plan: L.Plan) -> pa.Schema:
    return pa.schema([pa.field(f"c{i}", f.type.arrow if f.type.short != "unknown" else pa.string())
                      for i, f in enumerate(plan.fields)])


# id(plan node) -> (weak ref to the node, its schema_of, its column types): plans are
# immutable and cached plans run again and again, so a node's output schema is worked out
# once, not per execution. The node is held weakly (a plan that goes away, a big VALUES
# list, takes nothing with it) and checked by identity, so a reused id never matches.
_SCHEMAS: dict[int, tuple[Any, pa.Schema, list[pa.DataType]]] = {}


def node_schema(plan: L.Plan) -> pa.Schema:
    """schema_of(plan), remembered per plan node across executions."""
    hit = _SCHEMAS.get(id(plan))
    if hit is None or hit[0]() is not plan:
        hit = _node_schema(plan)
    return hit[1]


def node_types(plan: L.Plan) -> list[pa.DataType]:
    """The Arrow types of node_schema(plan), remembered with it."""
    hit = _SCHEMAS.get(id(plan))
    if hit is None or hit[0]() is not plan:
        hit = _node_schema(plan)
    return hit[2]


def _node_schema(plan: L.Plan) -> tuple[L.Plan, pa.Schema, list[pa.DataType]]:
    """The cache entry of node_schema: the node, its schema and its column types."""
    if len(_SCHEMAS) > 4096:
        _SCHEMAS.clear()
    schema = schema_of(plan)
    hit = _SCHEMAS[id(plan)] = (weakref.ref(plan), schema, [f.type for f in schema])
    return hit


# id(Project node) -> (node, plain column picks or None, whether the picks keep their input's
# Arrow types): worked out once per node, not per execution
_PICKS: dict[int, tuple[Any, list[int] | None, bool]] = {}  # (node held weakly)
_RUNNERS: dict[type, Any] = {}  # plan node class -> Executor._r_<name>
_KEY_LOOKUP: list[Any] = []  # exec.key_lookup.run_key_lookup, imported on first use


def _picks(p: L.Project) -> tuple[list[int] | None, bool]:
    """A projection of plain columns (SELECT a, b): their input positions, and whether the
    input's Arrow types are already the output's (then arrays pass through untouched)."""
    hit = _PICKS.get(id(p))
    if hit is None or hit[0]() is not p:
        picks = [e.index for e in p.exprs] if all(type(e) is E.ColRef for e in p.exprs) else None
        same = False
        if picks is not None:
            ins, outs = node_schema(p.input), node_schema(p)
            same = len(ins) > max(picks, default=-1) and \
                all(ins.field(i).type == f.type for i, f in zip(picks, outs))
        if len(_PICKS) > 4096:
            _PICKS.clear()
        hit = _PICKS[id(p)] = (weakref.ref(p), picks, same)
    return hit[1], hit[2]


def empty_batch(plan: L.Plan) -> pa.RecordBatch:
    return schema_of(plan).empty_table().to_batches() and schema_of(plan).empty_table().to_batches()[0] or \
        pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema_of(plan)], schema=schema_of(plan))


def to_table(plan: L.Plan, batches: Iterator[pa.RecordBatch]) -> pa.Table:
    bs = list(batches)
    schema = schema_of(plan)
    if not bs:
        return schema.empty_table()
    fixed = [_conform(b, schema) for b in bs]
    return pa.Table.from_batches(fixed, schema=schema)


def _conform(b: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if b.schema.equals(schema):
        return b
    cols = []
    for i, f in enumerate(schema):
        c = b.column(i)
        if c.type != f.type:
            c = c.cast(f.type)
        cols.append(c)
    return pa.RecordBatch.from_arrays(cols, schema=schema)


def _fit(a: pa.Array, t: pa.DataType) -> pa.Array:
    """A VALUES cell as its column's Arrow type; a decimal (also in an array) is rounded half
    away from zero to the column's scale, as PostgreSQL's numeric assignment does (0.333...3
    into an unconstrained numeric held at scale 16), and is 22003 when it does not fit."""
    from sqlvec.core.textio_numeric import fit_to

    return fit_to(a, t)


class ExecContext:
    """Per-execution state: transaction, registries, params, outer-row stack, CTE results."""

    def __init__(self, txn: Any, regs: Any, params: list[Any] | None = None,
                 cancel: Any = None, session: Any = None) -> None:
        self.txn = txn
        self.regs = regs
        self.params = params or []
        self.outer: list[dict[int, Any]] = []
        self.cte_results: dict[int, Any] = {}  # pa.Table, or a RecursiveCte read lazily
        self.subq_cache: dict[Any, Any] = {}
        self.decorrelate = True  # off with SET sqlvec.disabled_rules = 'decorrelate_subqueries'
        self.cancel = cancel
        self.session = session
        self.evaluator = Evaluator(self)
        self.executor = Executor(self)

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            self.cancel.clear()
            reason = getattr(self.session, "cancel_reason", None) or "user request"
            raise QueryCanceled(f"canceling statement due to {reason}")

    def decorrelated(self, e: E.Subquery) -> Any:
        """The join form of a correlated subquery (cached per statement), or None."""
        key = ("analysis", e.uid)
        if key not in self.subq_cache:
            from sqlvec.exec.decorrelate import analyse

            self.subq_cache[key] = analyse(e) if self.decorrelate else None
        return self.subq_cache[key]

    def subquery_result(self, e: E.Subquery, frame: dict[int, Any] | None) -> pa.Table:
        if frame is None:
            if e.uid not in self.subq_cache:
                self.subq_cache[e.uid] = to_table(e.plan, self.executor.run(e.plan))
            return self.subq_cache[e.uid]
        self.outer.append(frame)
        try:
            return to_table(e.plan, self.executor.run(e.plan))
        finally:
            self.outer.pop()


class Executor:
    """Runs plan nodes; one method per node type."""

    def __init__(self, ctx: ExecContext) -> None:
        self.ctx = ctx
        self.ev = ctx.evaluator

    def run(self, plan: L.Plan) -> Iterator[pa.RecordBatch]:
        m = _RUNNERS.get(type(plan))
        if m is not None:
            return m(self, plan)
        m = getattr(self, "_r_" + type(plan).__name__, None)
        if m is not None:
            _RUNNERS[type(plan)] = getattr(Executor, "_r_" + type(plan).__name__)
        if m is None and type(plan).__name__ == "VectorSearch":  # ANN top-k (vector engineer)
            from sqlvec.exec.vector_search import run_vector_search

            return run_vector_search(self.ctx, plan)
        if m is None and type(plan).__name__ == "BatchedVectorJoin":  # multi-target LATERAL search
            from sqlvec.exec.multi_search import run_batched_join

            return run_batched_join(self, plan)
        if m is None and type(plan).__name__ == "KeyLookup":  # unique-key point lookup
            from sqlvec.exec.key_lookup import run_key_lookup

            return run_key_lookup(self.ctx, plan)
        if m is None:
            raise FeatureNotSupported(f"plan node {type(plan).__name__} is not supported")
        return m(plan)

    def table(self, plan: L.Plan) -> pa.Table:
        bs = list(self.run(plan))
        schema = self.schema(plan)
        if not bs:
            return schema.empty_table()
        return pa.Table.from_batches([_conform(b, schema) for b in bs], schema=schema)

    def schema(self, plan: L.Plan) -> pa.Schema:
        """schema_of(plan), once per plan node (cached plans and correlated subqueries re-run it)."""
        return node_schema(plan)

    def _batch(self, plan: L.Plan, arrays: list[pa.Array]) -> pa.RecordBatch:
        hit = _SCHEMAS.get(id(plan))
        if hit is None or hit[0]() is not plan:
            hit = _node_schema(plan)
        cols = []
        for a, t in zip(arrays, hit[2]):
            if isinstance(a, pa.ChunkedArray):
                a = a.combine_chunks()
            if a.type != t:
                a = _fit(a, t)
            cols.append(a)
        return pa.RecordBatch.from_arrays(cols, schema=hit[1])

    # -- leaves -------------------------------------------------------------------
    def _r_Scan(self, p: L.Scan) -> Iterator[pa.RecordBatch]:
        fields = p.fields[1:] if p.with_rowid else p.fields
        cols = [f.name for f in fields]
        first = 0 if p.with_rowid else 1
        if getattr(p.table, "system", False):  # pg_catalog / information_schema (catalog/system)
            from sqlvec.catalog.system import scan_system

            t = scan_system(p.table, self.ctx).select(cols)
            out = self._batch(p, [t.column(i) for i in range(len(cols))])
            if p.filter is not None:
                out = out.filter(pc.fill_null(self.ev.eval(p.filter, out), False))
            yield out
            return
        from sqlvec.exec.prune import counted, pruner

        prune = pruner(p.filter, [f.name for f in p.fields], self.ctx.params)
        if prune is not None and getattr(self.ctx, "segment_stats", None) is not None:  # EXPLAIN ANALYZE
            prune = counted(prune, self.ctx.segment_stats, id(p))
        batches = self.ctx.txn.scan(p.table.oid, cols, prune=prune) if prune is not None \
            else self.ctx.txn.scan(p.table.oid, cols)
        for whole in batches:
            for off in range(0, max(whole.num_rows, 1), SCAN_BATCH_ROWS):  # bounded batches stream
                b = whole.slice(off, SCAN_BATCH_ROWS) if whole.num_rows > SCAN_BATCH_ROWS else whole
                self.ctx.check_cancel()
                out = self._batch(p, [b.column(i) for i in range(first, len(cols) + 1)])
                if p.filter is not None:
                    mask = pc.fill_null(self.ev.eval(p.filter, out), False)
                    out = out.filter(mask)
                yield out

    def _r_Values(self, p: L.Values) -> Iterator[pa.RecordBatch]:
        one = ONE_ROW
        if not p.fields:  # `SELECT <exprs>` without FROM: rows without columns (immutable, shared)
            hit = _NO_COLUMNS.get(len(p.rows))
            if hit is None:
                hit = pa.RecordBatch.from_arrays([], schema=pa.schema([])) if len(p.rows) == 0 else \
                    pa.RecordBatch.from_struct_array(pa.array([{}] * len(p.rows), type=pa.struct([])))
                if len(_NO_COLUMNS) < 64:
                    _NO_COLUMNS[len(p.rows)] = hit
            yield hit
            return
        cols: list[list[pa.Array]] = [[] for _ in p.fields]
        for row in p.rows:
            for i, e in enumerate(row):
                cols[i].append(self.ev.eval(e, one))
        arrays = [pa.concat_arrays([_fit(a, f.type.arrow) if a.type != f.type.arrow else a for a in c])
                  for c, f in zip(cols, p.fields)]
        yield self._batch(p, arrays)

    def _r_CteRef(self, p: L.CteRef) -> Iterator[pa.RecordBatch]:
        t = self.ctx.cte_results[p.cte_id]
        produced = False
        for part in t.read() if isinstance(t, RecursiveCte) else (t,):
            if part.num_columns > len(p.fields):  # text copies another reference shows (plan/numeric_display)
                part = part.select(list(range(len(p.fields))))
            for b in part.to_batches():
                produced = True
                yield b
        if not produced:
            yield empty_batch(p)

    def _r_WithCtes(self, p: L.WithCtes) -> Iterator[pa.RecordBatch]:
        self.materialize_ctes(p)
        yield from self.run(p.body)

    def materialize_ctes(self, p: L.WithCtes) -> None:
        """Run every WITH query once (data-modifying ones included) and keep its rows."""
        for cid, plan, rec, union_all in p.ctes:
            if isinstance(plan, L.Insert | L.Update | L.Delete):
                from sqlvec.exec import dml

                runner = {L.Insert: dml.run_insert, L.Update: dml.run_update, L.Delete: dml.run_delete}[type(plan)]
                _, ret = runner(self, plan)
                schema = pa.schema([pa.field(f"c{i}", f.type.arrow) for i, f in enumerate(plan.fields)])
                self.ctx.cte_results[cid] = ret.cast(schema) if ret is not None else schema.empty_table()
                continue
            base = self.table(plan)
            if rec is None:
                self.ctx.cte_results[cid] = base
                continue
            # evaluated as it is read (exec/recursive_cte): LIMIT bounds the iterations
            self.ctx.cte_results[cid] = RecursiveCte(self, rec, base, union_all, _distinct_table, _table_except)

    def _r_FunctionScan(self, p: L.FunctionScan) -> Iterator[pa.RecordBatch]:
        one = ONE_ROW
        args = [self.ev.eval(a, one) for a in p.args]
        out = p.fn.call(args, 1)
        if isinstance(out, pa.ListArray | pa.LargeListArray):
            out = out.flatten()
        if pa.types.is_struct(out.type) and len(p.fields) == out.type.num_fields:
            yield self._batch(p, [out.field(i) for i in range(out.type.num_fields)])
            return
        yield self._batch(p, [out])

    # -- streaming ----------------------------------------------------------------
    def _r_Filter(self, p: L.Filter) -> Iterator[pa.RecordBatch]:
        for b in self.run(p.input):
            self.ctx.check_cancel()
            if b.num_rows == 0:
                continue
            mask = pc.fill_null(self.ev.eval(p.predicate, b), False)
            yield b.filter(mask)

    def _r_Project(self, p: L.Project) -> Iterator[pa.RecordBatch]:
        produced = False
        picks, same_types = _picks(p)
        if same_types and type(p.input).__name__ == "KeyLookup" and "run" not in self.__dict__:
            # SELECT a, b ... WHERE key = $1 (not under EXPLAIN ANALYZE, which counts per node)
            if not _KEY_LOOKUP:
                from sqlvec.exec.key_lookup import run_key_lookup  # (it imports this module)

                _KEY_LOOKUP.append(run_key_lookup)
            yield from _KEY_LOOKUP[0](self.ctx, p.input, picks, p)  # only those columns
            return
        inp = p.input
        if type(inp) is L.Values and not inp.fields and len(inp.rows) == 1:  # SELECT <exprs>, no FROM
            b = _NO_COLUMNS.get(1)  # the row _r_Values gives (made by its first run)
            if b is not None:
                self.ctx.check_cancel()
                yield self._batch(p, [self.ev.eval(e, b) for e in p.exprs])
                return
        for b in self.run(inp):
            self.ctx.check_cancel()
            if b.num_rows == 0 and produced:
                continue
            produced = True
            if picks is not None:
                schema = node_schema(p)
                arrays = [b.column(i) for i in picks]
                if all(a.type == f.type for a, f in zip(arrays, schema)):
                    yield pa.RecordBatch.from_arrays(arrays, schema=schema)
                    continue
            yield self._batch(p, [self.ev.eval(e, b) for e in p.exprs])

    def _r_Limit(self, p: L.Limit) -> Iterator[pa.RecordBatch]:
        limit = _row_count(self, p.limit, None)
        offset = _row_count(self, p.offset, 0) or 0
        if limit is not None and limit < 0:
            raise InvalidRowCountInLimitClause("LIMIT must not be negative")
        if offset < 0:
            raise InvalidRowCountInResultOffsetClause("OFFSET must not be negative")
        if limit == 0:
            return
        if p.with_ties and limit is not None:
            t = self.table(p.input).combine_chunks()
            t = t.slice(offset)
            if t.num_rows > limit:
                bs = t.to_batches()
                keys = pa.table([self.ev.eval(k.expr, bs[0]) for k in p.with_ties],
                                names=[f"k{i}" for i in range(len(p.with_ties))])
                gid, _ = group_ids(keys)
                end = limit
                while end < t.num_rows and gid[end] == gid[limit - 1]:
                    end += 1
                t = t.slice(0, end)
            yield from t.to_batches() or [empty_batch(p)]
            return
        if isinstance(p.input, L.Sort) and limit is not None:  # top-N, streamed (exec/topk)
            from sqlvec.exec.topk import run_topn

            yield from run_topn(self, p.input, offset, limit)
            return
        for b in self.run(p.input):
            if offset:
                if b.num_rows <= offset:
                    offset -= b.num_rows
                    continue
                b = b.slice(offset)
                offset = 0
            if limit is not None:
                if b.num_rows >= limit:
                    yield b.slice(0, limit)
                    return
                limit -= b.num_rows
            yield b

    # -- blocking -----------------------------------------------------------------
    def _r_Sort(self, p: L.Sort) -> Iterator[pa.RecordBatch]:
        t = self.table(p.input)
        if t.num_rows <= 1:
            yield from t.to_batches() or [empty_batch(p)]
            return
        idx = sort_indices(self.ev, t, p.keys)
        yield from t.take(idx).combine_chunks().to_batches() or [empty_batch(p)]

    def _r_DistinctNode(self, p: L.DistinctNode) -> Iterator[pa.RecordBatch]:
        t = self.table(p.input)
        if p.on is None:
            out = _distinct_table(t)
        else:
            b = t.combine_chunks().to_batches()
            if not b:
                yield empty_batch(p)
                return
            keys = pa.table([self.ev.eval(k, b[0]) for k in p.on], names=names(len(p.on)))
            _, uniq_first = _first_rows(keys)
            out = t.take(pa.array(uniq_first))
        yield from out.to_batches() or [empty_batch(p)]

    def _r_SetOp(self, p: L.SetOp) -> Iterator[pa.RecordBatch]:
        left = self.table(p.left)
        right = self.table(p.right).cast(left.schema)
        if p.kind == "union":
            t = pa.concat_tables([left, right])
            out = t if p.all else _distinct_table(t)
        elif p.kind == "intersect":
            out = _intersect(left, right, p.all)
        else:
            out = _except(left, right, p.all)
        yield from out.combine_chunks().to_batches() or [empty_batch(p)]

    def _r_Join(self, p: L.Join) -> Iterator[pa.RecordBatch]:
        from sqlvec.exec.join import run_join

        yield from run_join(self, p)

    def _r_ProjectSet(self, p: L.ProjectSet) -> Iterator[pa.RecordBatch]:
        from sqlvec.exec.builtins import srf_lists

        for b in self.run(p.input):
            self.ctx.check_cancel()
            lists = [x.fn.call([self.ev.eval(a, b) for a in x.args], b.num_rows) if x.fn is not None
                     else srf_lists(x.name, [self.ev.eval(a, b) for a in x.args], x.type) for x in p.srfs]
            lens = [np.asarray(pc.fill_null(pc.list_value_length(lst), 0).to_numpy(zero_copy_only=False), np.int64)
                    for lst in lists]
            rows = np.max(np.stack(lens), axis=0) if lens else np.zeros(b.num_rows, np.int64)
            owner = np.repeat(np.arange(b.num_rows), rows)
            j = np.arange(len(owner)) - np.repeat(np.cumsum(rows) - rows, rows)
            cols = [c.take(pa.array(owner)) for c in b.columns]
            for lst, ln in zip(lists, lens):
                ok = j < ln[owner]
                offs = np.asarray(lst.offsets.to_numpy(zero_copy_only=False), np.int64)[:-1]
                pos = np.where(ok, offs[owner] + j, 0)
                vals = lst.values
                cols.append(vals.take(pa.array(pos, mask=~ok)) if len(vals) else pa.nulls(len(owner), vals.type))
            yield self._batch(p, cols)

    def _r_Window(self, p: L.Window) -> Iterator[pa.RecordBatch]:
        from sqlvec.exec.window import run_window

        yield from run_window(self, p)

    def _r_Aggregate(self, p: L.Aggregate) -> Iterator[pa.RecordBatch]:
        from sqlvec.exec.aggregate import run_aggregate

        yield from run_aggregate(self, p)


def sort_indices(ev: Evaluator, t: pa.Table, keys: tuple[L.SortKey, ...]) -> pa.Array:
    """Row order for ORDER BY keys with PostgreSQL NULL placement (NULLS LAST for ASC)."""
    b = t.combine_chunks().to_batches()
    if not b:
        return pa.array([], pa.int64())
    batch = b[0] if len(b) == 1 else pa.Table.from_batches(b).combine_chunks().to_batches()[0]
    n = batch.num_rows
    if len(keys) == 1:
        fast = _numeric_order(ev.eval(keys[0].expr, batch), keys[0])
        if fast is not None:
            return fast
    idx = np.arange(n)
    # stable sort by keys from last to first
    for k in reversed(keys):
        col = sort_key(ev.eval(k.expr, batch).take(pa.array(idx)), k.expr.type)
        order = "descending" if k.desc else "ascending"
        nulls_first = k.effective_nulls_first()
        place = "at_start" if nulls_first else "at_end"
        if nan_flag_needed(col, k.desc, nulls_first):  # NaN is the greatest number, not a NULL
            sub = pc.sort_indices(pa.table({"n": pc.is_nan(col).cast(pa.int8()), "k": col}),
                                  sort_keys=[("n", order, place), ("k", order, place)])
        else:
            sub = pc.sort_indices(pa.table({"k": col}), sort_keys=[("k", order, place)])
        idx = idx[np.asarray(sub)]
    return pa.array(idx)


_VECTORS = frozenset({"vector", "halfvec", "bf16vec", "int8vec", "sparsevec", "bit", "varbit"})


def sort_key(col: pa.Array, t: Any) -> pa.Array:
    """A column as Arrow can sort it in the SQL type's order: numeric held as its text by
    value, booleans as int8, pgvector's and bit types in their btree order, arrays element
    by element; anything else as it is."""
    if isinstance(col.type, pa.ExtensionType):  # numeric held as its text: by value
        from sqlvec.core.textio_numeric import order_key

        return order_key(col)
    if pa.types.is_boolean(col.type):
        return col.cast(pa.int8())
    if getattr(t, "short", None) in _VECTORS:  # pgvector's / bit's btree order
        from sqlvec.functions.vectors.compare import order_key as vector_key

        return vector_key(col, t.short)
    if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):  # arrays: element-wise
        from sqlvec.functions.compare import list_order_key

        return list_order_key(col)
    return col


def nan_flag_needed(col: pa.Array, desc: bool, nulls_first: bool) -> bool:
    """Whether a float key needs an is-NaN key before it: Arrow sorts NaN next to the NULLs,
    PostgreSQL as the greatest number (ASC NULLS FIRST and DESC NULLS LAST differ)."""
    return pa.types.is_floating(col.type) and nulls_first != desc and bool(pc.any(pc.is_nan(col)).as_py())


def _numeric_order(col: pa.Array, key: L.SortKey) -> pa.Array | None:
    """One integer/float key without NULLs or NaNs: a stable numpy argsort (the same order as
    the Arrow path, without building a table per call). None when it does not apply."""
    if col.null_count or not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        return None
    v = col.to_numpy(zero_copy_only=False)
    if v.dtype.kind == "f" and np.isnan(v).any():
        return None
    if key.desc:  # stable descending: reverse of the stable ascending order of the reversed
        n = len(v)
        return pa.array(n - 1 - np.argsort(v[::-1], kind="stable")[::-1])
    return pa.array(np.argsort(v, kind="stable"))


def _first_rows(keys: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    gid, _ = group_ids(keys)
    _, first = np.unique(gid, return_index=True)
    return gid, np.sort(first)


def _distinct_table(t: pa.Table) -> pa.Table:
    if t.num_rows == 0 or t.num_columns == 0:
        return t.slice(0, min(t.num_rows, 1)) if t.num_columns == 0 else t
    _, first = _first_rows(t)
    return t.take(pa.array(first))


def _row_keys(left: pa.Table, right: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    both = pa.concat_tables([left, right.cast(left.schema)])
    gid, _ = group_ids(both)
    return gid[: left.num_rows], gid[left.num_rows :]


def _intersect(left: pa.Table, right: pa.Table, all_: bool) -> pa.Table:
    lk, rk = _row_keys(left, right)
    if not all_:
        keep = np.isin(lk, rk)
        _, first = np.unique(lk, return_index=True)
        mask = np.zeros(len(lk), bool)
        mask[first] = True
        return left.filter(pa.array(keep & mask))
    rc = np.bincount(rk, minlength=(max(lk.max(initial=-1), rk.max(initial=-1)) + 1))
    seen: dict[int, int] = {}
    keep = np.zeros(len(lk), bool)
    for i, g in enumerate(lk):
        c = seen.get(int(g), 0)
        if c < rc[g]:
            keep[i] = True
        seen[int(g)] = c + 1
    return left.filter(pa.array(keep))


def _except(left: pa.Table, right: pa.Table, all_: bool) -> pa.Table:
    lk, rk = _row_keys(left, right)
    if not all_:
        keep = ~np.isin(lk, rk)
        _, first = np.unique(lk, return_index=True)
        mask = np.zeros(len(lk), bool)
        mask[first] = True
        return left.filter(pa.array(keep & mask))
    rc = np.bincount(rk, minlength=(max(lk.max(initial=-1), rk.max(initial=-1)) + 1))
    seen: dict[int, int] = {}
    keep = np.zeros(len(lk), bool)
    for i, g in enumerate(lk):
        c = seen.get(int(g), 0)
        if c >= rc[g]:
            keep[i] = True
        seen[int(g)] = c + 1
    return left.filter(pa.array(keep))


def _table_except(new: pa.Table, total: pa.Table) -> pa.Table:
    if new.num_rows == 0 or total.num_rows == 0:
        return new
    nk, tk = _row_keys(new, total)
    return new.filter(pa.array(~np.isin(nk, tk)))


_INT_CONST = frozenset({"int2", "int4", "int8"})


def _row_count(ex: Any, e: E.Expr | None, default: int | None) -> int | None:
    """A LIMIT / OFFSET count: an integer constant's own value (no evaluator round trip per
    execution of a cached plan), else the expression evaluated once."""
    if e is None:
        return default
    if type(e) is E.Const and type(e.value) is int and e.type.short in _INT_CONST:
        return e.value
    return ex.ev.eval(e, ONE_ROW)[0].as_py()
