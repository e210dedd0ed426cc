"""Joins: hash-style equi-joins via dense key ids, nested loops for other conditions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.exec.budget import admit
from sqlvec.exec.evaluate import group_ids
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L

_CHUNK = 1 << 20
PROBE_STREAM_BUILD_ROWS = 65536  # inner/left equi-joins with a build side this small stream the probe
# (one integer key: any size; -1 switches streaming off)


def _split_equi(cond: E.Expr | None, lw: int) -> tuple[list[tuple[E.Expr, E.Expr]], list[E.Expr]]:
    """Equality pairs (left expr, right expr) and the residual conjuncts."""
    if cond is None:
        return [], []
    conj = list(cond.args) if isinstance(cond, E.BoolOp) and cond.op == "and" else [cond]
    pairs, rest = [], []
    for c in conj:
        if isinstance(c, E.Func) and c.name == "=" and len(c.args) == 2:
            a, b = c.args
            sa, sb = _side(a, lw), _side(b, lw)
            if sa == "l" and sb == "r":
                pairs.append((a, _shift(b, lw)))
                continue
            if sa == "r" and sb == "l":
                pairs.append((b, _shift(a, lw)))
                continue
        rest.append(c)
    return pairs, rest


def _side(e: E.Expr, lw: int) -> str | None:
    cols = [x.index for x in E.walk(e) if isinstance(x, E.ColRef)]
    if any(isinstance(x, E.Subquery | E.AggCall) for x in E.walk(e)) or not cols:
        return None
    if all(i < lw for i in cols):
        return "l"
    if all(i >= lw for i in cols):
        return "r"
    return None


def _shift(e: E.Expr, lw: int) -> E.Expr:
    if isinstance(e, E.ColRef):
        return E.ColRef(e.index - lw, e.type, e.name)
    return E.map_children(e, lambda c: _shift(c, lw))


def _one_batch(t: pa.Table) -> pa.RecordBatch:
    t = t.combine_chunks()
    bs = t.to_batches()
    if bs:
        return bs[0]
    return pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in t.schema], schema=t.schema)


def run_join(ex: Any, p: L.Join) -> Iterator[pa.RecordBatch]:
    right = None
    pairs = _split_equi(p.condition, len(p.left.fields))[0] if p.kind in ("inner", "left") else []
    if pairs and not p.lateral_cols:
        right = ex.table(p.right)
        rb = _one_batch(right)
        rkeys = [ex.ev.eval(b, rb) for _, b in pairs]
        # indexed once, probed batch by batch: any size for one integer key (sorted build
        # rows), small ones otherwise (Acero re-hashes the build side per probe batch)
        if right.num_rows <= PROBE_STREAM_BUILD_ROWS or (
                PROBE_STREAM_BUILD_ROWS >= 0 and len(rkeys) == 1 and _int_key(rkeys[0])):
            yield from _stream_probe(ex, p, rb, _Build(rkeys))
            return
    left = ex.table(p.left)
    if p.lateral_cols:
        yield from _lateral(ex, p, left)
        return
    right = ex.table(p.right) if right is None else right
    lw = left.num_columns
    nl, nr = left.num_rows, right.num_rows
    pairs, rest = _split_equi(p.condition, lw)
    kind = p.kind
    if not pairs:  # a nested loop materialises an index pair per row pair: 53200, not a crash
        admit(ex.ctx, 16 * nl * nr, "nested loop join")
    lb, rb = _one_batch(left), _one_batch(right)
    if pairs:
        lkeys = [ex.ev.eval(a, lb) for a, _ in pairs]
        rkeys = [ex.ev.eval(b, rb) for _, b in pairs]
        li, ri = _equi_pairs(lkeys, rkeys, ex)
    else:
        li = np.repeat(np.arange(nl, dtype=np.int64), nr)
        ri = np.tile(np.arange(nr, dtype=np.int64), nl)
    residual = rest if pairs else ([p.condition] if p.condition is not None else [])
    out_schema = pa.schema([pa.field(f"c{i}", f.type) for i, f in enumerate(list(left.schema) + list(right.schema))])
    matched_l: list[np.ndarray] = []
    matched_r: list[np.ndarray] = []
    for s in range(0, max(len(li), 1), _CHUNK):
        ex.ctx.check_cancel()
        cl, cr = li[s : s + _CHUNK], ri[s : s + _CHUNK]
        if len(cl) == 0:
            break
        batch = _combine(lb, rb, cl, cr, out_schema)
        if residual:
            mask = None
            for c in residual:
                m = ex.ev.eval(c, batch)
                mask = m if mask is None else pc.and_kleene(mask, m)
            mask = pc.fill_null(mask, False)
            keep = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
            cl, cr = cl[keep], cr[keep]
            batch = batch.filter(mask)
        matched_l.append(cl)
        matched_r.append(cr)
        if kind in ("inner", "cross"):
            if batch.num_rows:
                yield batch
        elif kind in ("semi", "anti"):
            pass
    if kind in ("inner", "cross"):
        yield pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in out_schema], schema=out_schema)
        return
    all_l = np.concatenate(matched_l) if matched_l else np.zeros(0, np.int64)
    all_r = np.concatenate(matched_r) if matched_r else np.zeros(0, np.int64)
    if kind in ("left", "full", "right"):
        yield _combine(lb, rb, all_l, all_r, out_schema)
    if kind in ("left", "full"):
        un = np.setdiff1d(np.arange(nl), all_l)
        if len(un):
            yield _combine(lb, rb, un, np.full(len(un), -1), out_schema)
    if kind in ("right", "full"):
        un = np.setdiff1d(np.arange(nr), all_r)
        if len(un):
            yield _combine(lb, rb, np.full(len(un), -1), un, out_schema)


def _stream_probe(ex: Any, p: L.Join, rb: pa.RecordBatch, build: _Build) -> Iterator[pa.RecordBatch]:
    """An inner or left equi-join batch by batch of the left (probe) side against a small
    right side indexed once, so a join's result streams like a scan. Inner joins give rows in
    the blocking join's order; a left join gives each probe row's matches, or the row once
    with NULLs, in probe order (as PostgreSQL's hash join does)."""
    from sqlvec.exec.operators import _conform, schema_of

    lschema = schema_of(p.left)
    pairs, rest = _split_equi(p.condition, len(lschema))
    out_schema = pa.schema([pa.field(f"c{i}", f.type) for i, f in enumerate(list(lschema) + list(rb.schema))])
    left_join = p.kind == "left"
    if rb.num_rows or left_join:
        for lb in ex.run(p.left):
            ex.ctx.check_cancel()
            if not lb.num_rows:
                continue
            lb = _conform(lb, lschema)
            li, ri = build.probe([ex.ev.eval(a, lb) for a, _ in pairs], ex)
            if rest or left_join:
                li, ri = _residual(ex, rest, lb, rb, li, ri, out_schema)
            if left_join:
                hit = np.zeros(lb.num_rows, bool)
                hit[li] = True
                if not hit.all():
                    un = np.flatnonzero(~hit)
                    li = np.concatenate([li, un])
                    ri = np.concatenate([ri, np.full(len(un), -1, np.int64)])
                    order = np.argsort(li, kind="stable")
                    li, ri = li[order], ri[order]
            for s in range(0, len(li), _CHUNK):
                batch = _combine(lb, rb, li[s : s + _CHUNK], ri[s : s + _CHUNK], out_schema)
                if batch.num_rows:
                    yield batch
    yield pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in out_schema], schema=out_schema)


def _residual(ex: Any, rest: list[E.Expr], lb: pa.RecordBatch, rb: pa.RecordBatch, li: np.ndarray,
              ri: np.ndarray, schema: pa.Schema) -> tuple[np.ndarray, np.ndarray]:
    """The (left, right) pairs whose combined row passes the non-equality conjuncts."""
    if not rest:
        return li, ri
    keep_l, keep_r = [], []
    for s in range(0, len(li), _CHUNK):
        cl, cr = li[s : s + _CHUNK], ri[s : s + _CHUNK]
        batch = _combine(lb, rb, cl, cr, schema)
        mask = None
        for c in rest:
            m = ex.ev.eval(c, batch)
            mask = m if mask is None else pc.and_kleene(mask, m)
        keep = np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)
        keep_l.append(cl[keep])
        keep_r.append(cr[keep])
    if not keep_l:
        return li, ri
    return np.concatenate(keep_l), np.concatenate(keep_r)


class _Build:
    """The build (right) side of an equi-join, indexed once for any number of probes.

    One integer key: the right rows sorted by key (a stable sort: equal keys keep row
    order), probed by a direct-address table when the key range is dense, else by binary
    search; both vectorised. Other keys go to Acero's hash join per probe.
    """

    def __init__(self, rkeys: list[pa.Array]) -> None:
        self.rkeys = rkeys
        self.sorted_keys: np.ndarray | None = None
        if len(rkeys) != 1 or not _int_key(rkeys[0]):
            return
        r = rkeys[0]
        rows = np.flatnonzero(np.asarray(pc.is_valid(r))) if r.null_count else np.arange(len(r))
        v = _int64(r)[rows]
        order = np.argsort(v, kind="stable")
        self.sorted_keys, self.sorted_rows = v[order], rows[order]
        self.direct: tuple[int, np.ndarray, np.ndarray] | None = None
        if len(v):
            lo, hi = int(self.sorted_keys[0]), int(self.sorted_keys[-1])
            if hi - lo < 4 * len(v) + 4096:  # dense keys: counts and starts by key offset
                cnt = np.bincount(self.sorted_keys - lo, minlength=hi - lo + 1)
                self.direct = (lo, np.cumsum(cnt) - cnt, cnt)

    def probe(self, lkeys: list[pa.Array], ex: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """(left row, right row) pairs with equal, non-NULL keys, in left then right order."""
        if self.sorted_keys is None or not _int_key(lkeys[0]):
            return _equi_pairs(lkeys, self.rkeys, ex)
        lk = lkeys[0]
        rows = np.flatnonzero(np.asarray(pc.is_valid(lk))) if lk.null_count else np.arange(len(lk))
        q = _int64(lk)[rows]
        if self.direct is not None:
            lo, starts, counts = self.direct
            off = q - lo
            inside = (off >= 0) & (off < len(counts))
            if not inside.all():
                rows, off = rows[inside], off[inside]
            first, n = starts[off], counts[off]
        else:
            first = np.searchsorted(self.sorted_keys, q, side="left")
            n = np.searchsorted(self.sorted_keys, q, side="right") - first
        if len(n) and n.max(initial=0) <= 1:  # unique build keys: at most one match per probe
            hit = n == 1
            return rows[hit].astype(np.int64), self.sorted_rows[first[hit]].astype(np.int64)
        li = np.repeat(rows, n)
        offs = np.arange(len(li)) - np.repeat(np.cumsum(n) - n, n)
        return li.astype(np.int64), self.sorted_rows[np.repeat(first, n) + offs].astype(np.int64)


def _int_key(a: pa.Array) -> bool:
    return pa.types.is_integer(a.type) and a.type != pa.uint64()


def _int64(a: pa.Array) -> np.ndarray:
    return np.asarray(a.fill_null(0).to_numpy(zero_copy_only=False) if a.null_count
                      else a.to_numpy(zero_copy_only=False), dtype=np.int64)


def _take(b: pa.RecordBatch, idx: np.ndarray) -> list[pa.Array]:
    mask = idx < 0
    ind = pa.array(np.where(mask, 0, idx), mask=mask) if mask.any() else pa.array(idx)
    if b.num_rows == 0:
        return [pa.nulls(len(idx), f.type) for f in b.schema]
    return [c.take(ind) for c in b.columns]


def _combine(lb: pa.RecordBatch, rb: pa.RecordBatch, li: np.ndarray, ri: np.ndarray,
             schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(_take(lb, li) + _take(rb, ri), schema=schema)


def _equi_pairs(lkeys: list[pa.Array], rkeys: list[pa.Array], ex: Any) -> tuple[np.ndarray, np.ndarray]:
    """(left row, right row) index pairs whose keys are equal and not NULL (Acero hash join)."""
    if any(isinstance(k.type, pa.ExtensionType) for k in (*lkeys, *rkeys)):
        lkeys, rkeys = _value_keys(lkeys, rkeys)
    if len(lkeys) == 1 and _int_key(lkeys[0]) and _int_key(rkeys[0]):
        return _Build(rkeys).probe(lkeys)
    try:
        names = [f"k{i}" for i in range(len(lkeys))]
        rk = [b.cast(a.type) if b.type != a.type else b for a, b in zip(lkeys, rkeys)]
        lt = pa.table([*lkeys, pa.array(np.arange(len(lkeys[0]), dtype=np.int64))], names=[*names, "li"])
        rt = pa.table([*rk, pa.array(np.arange(len(rk[0]), dtype=np.int64))], names=[*names, "ri"])
        joined = lt.join(rt, keys=names, join_type="inner", use_threads=False)
        li = np.asarray(joined.column("li").to_numpy(), dtype=np.int64)
        ri = np.asarray(joined.column("ri").to_numpy(), dtype=np.int64)
        order = np.lexsort((ri, li))  # deterministic: left order, then right order
        return li[order], ri[order]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return _equi_pairs_sorted(lkeys, rkeys)


def _value_keys(lkeys: list[pa.Array], rkeys: list[pa.Array]) -> tuple[list[pa.Array], list[pa.Array]]:
    """Key pairs with numeric held as its text (either side) compared by value: both sides'
    order keys (1.5 joins 1.50)."""
    from sqlvec.core.textio_numeric import numeric_text_of, order_key

    ls, rs = [], []
    for a, b in zip(lkeys, rkeys):
        if isinstance(a.type, pa.ExtensionType) or isinstance(b.type, pa.ExtensionType):
            ta, tb = numeric_text_of(a), numeric_text_of(b)  # one key of both sides' values
            both = order_key(pa.concat_arrays([ta.storage, tb.storage]))
            a, b = both.slice(0, len(ta)), both.slice(len(ta))
        ls.append(a)
        rs.append(b)
    return ls, rs


def _equi_pairs_sorted(lkeys: list[pa.Array], rkeys: list[pa.Array]) -> tuple[np.ndarray, np.ndarray]:
    """The same pairs by dense key ids and a sort (types Acero cannot hash)."""
    nl = len(lkeys[0])
    cols = []
    for a, b in zip(lkeys, rkeys):
        if a.type != b.type:
            try:
                b = b.cast(a.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                a, b = a.cast(pa.float64()), b.cast(pa.float64())
        cols.append(pa.concat_arrays([a, b]))
    keys = pa.table(cols, names=[f"k{i}" for i in range(len(cols))])
    valid = np.ones(keys.num_rows, bool)
    for c in cols:
        if c.null_count:
            valid &= np.asarray(pc.is_valid(c).to_numpy(zero_copy_only=False))
    gid, _ = group_ids(keys)
    lg, rg = gid[:nl], gid[nl:]
    lvalid, rvalid = valid[:nl], valid[nl:]
    r_idx = np.nonzero(rvalid)[0]
    r_sorted = r_idx[np.argsort(rg[r_idx], kind="stable")]
    rg_sorted = rg[r_sorted]
    l_idx = np.nonzero(lvalid)[0]
    lo = np.searchsorted(rg_sorted, lg[l_idx], side="left")
    hi = np.searchsorted(rg_sorted, lg[l_idx], side="right")
    counts = hi - lo
    li = np.repeat(l_idx, counts)
    starts = np.repeat(lo, counts)
    offs = np.arange(len(li)) - np.repeat(np.cumsum(counts) - counts, counts)
    ri = r_sorted[starts + offs]
    return li.astype(np.int64), ri.astype(np.int64)


def _lateral(ex: Any, p: L.Join, left: pa.Table) -> Iterator[pa.RecordBatch]:
    """Run the right side once per distinct value of the left columns it reads."""
    from sqlvec.exec.operators import schema_of, to_table

    lb = _one_batch(left)
    nl = lb.num_rows
    keys = pa.table([lb.column(i) for i in p.lateral_cols], names=[f"k{i}" for i in p.lateral_cols])
    gid, uniq = group_ids(keys) if nl else (np.zeros(0, np.int64), keys)
    rtables, lis, ris = [], [], []
    offset = 0
    for g, row in enumerate(uniq.to_pylist() if nl else []):
        ex.ctx.check_cancel()
        ex.ctx.outer.append(dict(zip(p.lateral_cols, row.values())))
        try:
            rt = to_table(p.right, ex.run(p.right))
        finally:
            ex.ctx.outer.pop()
        members = np.nonzero(gid == g)[0]
        m = rt.num_rows
        if m:
            rtables.append(rt)
            lis.append(np.repeat(members, m))
            ris.append(np.tile(np.arange(offset, offset + m), len(members)))
            offset += m
    rschema = schema_of(p.right)
    right = pa.concat_tables([t.cast(rschema) for t in rtables]) if rtables else rschema.empty_table()
    rb = _one_batch(right)
    li = np.concatenate(lis) if lis else np.zeros(0, np.int64)
    ri = np.concatenate(ris) if ris else np.zeros(0, np.int64)
    out_schema = pa.schema([pa.field(f"c{i}", f.type) for i, f in enumerate(list(left.schema) + list(right.schema))])
    batch = _combine(lb, rb, li, ri, out_schema)
    if p.condition is not None and len(li):
        mask = pc.fill_null(ex.ev.eval(p.condition, batch), False)
        keep = np.asarray(mask.to_numpy(zero_copy_only=False), bool)
        li = li[keep]
        batch = batch.filter(mask)
    yield batch
    if p.kind in ("left", "full"):
        un = np.setdiff1d(np.arange(nl), li)
        if len(un):
            yield _combine(lb, rb, un, np.full(len(un), -1), out_schema)
