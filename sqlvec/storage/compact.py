"""Compaction: choose segments worth rewriting and rewrite them (live rows only, row ids kept).

Pure functions over table versions; the store swaps the result in (see Store._swap).
A rewrite never changes what a query sees, only how rows are laid out: small segments
merge, deleted rows disappear, and CLUSTER orders rows by a key so a segment's min/max
statistics become tight enough to skip it.

Automatic compaction is size-tiered (`Policy`, `tiered`): sealed segments below the target
size (and below `settled_bytes`, unless they have deleted rows) fall into tiers by live
rows (base, base*fanout, base*fanout^2, ...); once a tier holds `fanout` segments, a run
of them (in row id order) merges into one. Each tier then keeps fewer than `fanout`
segments, so a table holds about n/target full-size segments (at most size/settled_bytes
where bulk loads wrote big files) plus O(fanout * log(target/base)) smaller ones, however
many small commits built it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.storage.segment import ROWID, Segment, SegView
from sqlvec.storage.state import SEAL_ROWS, TableVersion

TARGET_ROWS = 4 * SEAL_ROWS  # rows per segment written by compaction
SMALL_ROWS = SEAL_ROWS // 2  # full segments below this are merged with their neighbours
DEAD_FRACTION = 0.2  # a segment with this share of deleted rows is rewritten
MAX_SMALL = 8  # automatic compaction starts at this many small full segments
SETTLED_BYTES = 16 << 20  # a segment file this big is not "small", whatever its row count


@dataclass
class Policy:
    """Settings of size-tiered automatic compaction (Store.compaction)."""

    target_rows: int = 1 << 20  # merged segments stop growing at this many rows ...
    target_bytes: int = 64 << 20  # ... or at about this many bytes, whichever comes first
    fanout: int = 4  # segments of one tier merged at once
    base_rows: int = SEAL_ROWS  # segments below base_rows * fanout form the lowest tier
    # segments of at least this many bytes are left as they are (a bulk load's files: a
    # merge would rewrite them for little gain; the count stays within table size / this)
    settled_bytes: int = SETTLED_BYTES

    def limit(self, views: list[SegView]) -> int:
        """Rows per merged segment: target_rows, fewer where rows are wide."""
        rows = sum(v.seg.num_rows for v in views)
        size = sum(seg_bytes(v.seg) for v in views)
        if not rows or not size:
            return self.target_rows
        return max(1, min(self.target_rows, self.target_bytes * rows // size))

    def tier(self, live: int) -> int:
        """The size tier of a segment with `live` rows (0 for the smallest)."""
        t, x = 0, live // max(1, self.base_rows)
        while x >= self.fanout:
            x //= self.fanout
            t += 1
        return t


def seg_bytes(seg: Segment) -> int:
    """A segment's size in bytes without reading it: its file, else its loaded data."""
    if seg.file_info is not None:
        return seg.file_info[0]
    return seg.data.nbytes if seg.loaded else 0


def tiered(tv: TableVersion, policy: Policy) -> list[SegView]:
    """The next run of sealed segments the size-tiered policy merges ([] when settled).

    Candidates are sealed segments below the size limit, in row id order; the lowest tier
    holding `fanout` of them gives its first `fanout`, extended while the run stays within
    the limit. Metadata only: no segment data is read.
    """
    if not tv.loaded or policy.fanout < 2:
        return []
    sealed = [v for v in tv.views if not v.seg.growing and v.seg.num_rows]
    limit = policy.limit(sealed)
    cands = sorted((v for v in sealed if v.live < limit and (
        v.n_deleted or seg_bytes(v.seg) < policy.settled_bytes)), key=lambda v: v.seg.min_rowid)
    tiers: dict[int, list[SegView]] = {}
    for v in cands:
        tiers.setdefault(policy.tier(v.live), []).append(v)
    for t in sorted(tiers):
        members = tiers[t]
        if len(members) < policy.fanout:
            continue
        run = members[: policy.fanout]
        rows = sum(v.live for v in run)
        for v in members[policy.fanout :]:
            if rows + v.live > limit:
                break
            run.append(v)
            rows += v.live
        return run
    return []


def pick(tv: TableVersion, *, full: bool = False) -> list[SegView]:
    """The views VACUUM rewrites: everything (full), else small or mostly-deleted ones."""
    views = [v for v in tv.views if v.seg.num_rows]
    if full:
        return views
    dead = [v for v in views if v.n_deleted > DEAD_FRACTION * v.seg.num_rows or v.live == 0]
    small = [v for v in views if _small(v) and v not in dead]
    chosen = dead + (small if len(small) > 1 else [])
    return chosen


def _small(v: SegView) -> bool:
    """A segment worth merging with its neighbours: few rows and not a big file."""
    return v.live < SMALL_ROWS and seg_bytes(v.seg) < SETTLED_BYTES


def needs_compaction(tv: TableVersion, policy: Policy | None = None) -> bool:
    """Whether automatic compaction should run on this table (cheap: no data touched)."""
    if not tv.loaded:
        return False
    if policy is not None and tiered(tv, policy):
        return True
    # growing segments are merged (dropping deleted rows) by the commits themselves
    full = [v for v in tv.views if not v.seg.growing]
    small = sum(1 for v in full if _small(v))
    dead = sum(1 for v in full if v.n_deleted > DEAD_FRACTION * v.seg.num_rows)
    return small >= MAX_SMALL or dead >= 1


def groups(views: list[SegView], target_rows: int = TARGET_ROWS) -> list[list[SegView]]:
    """Consecutive views in groups of about `target_rows` live rows, rewritten one by one."""
    out: list[list[SegView]] = []
    cur: list[SegView] = []
    rows = 0
    for v in views:
        cur.append(v)
        rows += v.live
        if rows >= target_rows:
            out.append(cur)
            cur, rows = [], 0
    if cur:
        out.append(cur)
    return out


def rewrite(
    views: list[SegView],
    *,
    key: list[str] | None = None,
    target_rows: int = TARGET_ROWS,
    exact: bool = False,
) -> list[pa.Table]:
    """Live rows of `views` cut into segments of about `target_rows`, each sorted by row id.

    With `key`, rows are first ordered by the key columns, so each output segment holds a
    narrow key range (then re-sorted by row id inside, as every segment is). With `exact`,
    every segment but the last holds exactly `target_rows` (so it leaves the tiered policy).
    """
    parts = [v.table() for v in views if v.live]
    if not parts:
        return []
    t = pa.concat_tables(parts)
    n = t.num_rows
    pieces = max(1, -(-n // target_rows))
    size = target_rows if exact else -(-n // pieces)
    if not key:
        rowids = t.column(0).to_numpy()
        if (rowids[1:] > rowids[:-1]).all():  # already in row id order: slice, no copy
            return [_compact_chunks(t.slice(s, size)) for s in range(0, n, size)]
        order = pc.sort_indices(t, sort_keys=[(ROWID, "ascending")]).to_numpy()
    else:
        order = pc.sort_indices(t, sort_keys=[(k, "ascending") for k in key]).to_numpy()
    out = []
    for start in range(0, n, size):
        idx = order[start : start + size]
        if key:  # rows stay sorted by row id inside a segment
            rowids = t.column(0).take(pa.array(idx)).to_numpy()
            idx = idx[np.argsort(rowids, kind="stable")]
        out.append(t.take(pa.array(idx)).combine_chunks())
    return out


def _compact_chunks(t: pa.Table) -> pa.Table:
    """Combine a table's chunks when they are many and small (cheap scans later)."""
    return t.combine_chunks() if t.num_rows < 4096 * t.column(0).num_chunks else t
