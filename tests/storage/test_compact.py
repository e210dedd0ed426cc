"""VACUUM, automatic compaction, CLUSTER, min/max pruning, memory budget on rewrites."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pytest

from sqlvec.core.errors import OutOfMemory, SerializationFailure
from sqlvec.storage import Store
from sqlvec.storage.compact import seg_bytes
from sqlvec.storage.state import SEAL_ROWS

SCHEMA = pa.schema([("id", pa.int64()), ("g", pa.int64())])


def fill(s, n_commits, per, tid=1):
    for i in range(n_commits):
        t = s.begin()
        ids = np.arange(i * per, (i + 1) * per)
        t.insert(tid, pa.table({"id": ids, "g": ids % 7}))
        t.commit()


def content(txn, tid=1):
    t = txn.scan_table(tid)
    return sorted(zip(t.column("_rowid").to_pylist(), t.column("id").to_pylist()))


@pytest.fixture(params=["memory", "disk"])
def store(request, tmp_path):
    s = Store.open(None if request.param == "memory" else str(tmp_path))
    s.auto_compact = False
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    yield s
    s.close()


def test_vacuum_drops_deleted_rows_and_keeps_rowids(store):
    fill(store, 3, SEAL_ROWS)  # three full segments
    t = store.begin()
    ids = t.scan_table(1, []).column(0).to_numpy()
    t.delete(1, ids[ids % 2 == 0])
    t.commit()
    before = content(store.begin())
    reader = store.begin()
    dropped = store.vacuum(1)
    assert dropped == len(ids) // 2
    tv = store.version.tables[1]
    assert sum(v.n_deleted for v in tv.views) == 0
    assert content(store.begin()) == before
    assert content(reader) == before  # an older snapshot still reads its segments
    # deletes by row id still work after the rewrite, and conflicts are still found
    a, b = store.begin(), store.begin()
    a.delete(1, np.array([before[0][0]]))
    b.delete(1, np.array([before[0][0]]))
    a.commit()
    with pytest.raises(SerializationFailure):
        b.commit()


def test_vacuum_merges_small_segments(store):
    fill(store, 6, SEAL_ROWS)
    t = store.begin()
    ids = t.scan_table(1, []).column(0).to_numpy()
    t.delete(1, ids[ids % 4 != 0])
    t.commit()
    t = store.begin()
    before = content(t)
    t.rollback()
    n_before = len(store.version.tables[1].views)
    store.vacuum(1)
    assert len(store.version.tables[1].views) < n_before / 2
    assert content(store.begin()) == before


def test_vacuum_keeps_concurrent_deletes(store):
    fill(store, 2, SEAL_ROWS)
    t = store.begin()
    ids = t.scan_table(1, []).column(0).to_numpy()
    t.delete(1, ids[:1000])
    t.commit()
    tv = store.version.tables[1]
    from sqlvec.storage import compact

    views = compact.pick(tv, full=True)
    segs = store._materialize(1, compact.rewrite(views), bulk=True)
    t = store.begin()  # a delete that lands between the rewrite and the swap
    t.delete(1, ids[5000:5010])
    t.commit()
    assert store._swap(tv, views, segs)
    assert store.begin().row_count(1) == len(ids) - 1010


def test_vacuum_full_survives_reopen(tmp_path):
    s = Store.open(str(tmp_path))
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    fill(s, 4, 1000)
    s.checkpoint()
    t = s.begin()
    ids = t.scan_table(1, []).column(0).to_numpy()
    t.delete(1, ids[::3])
    t.commit()
    s.vacuum(1, full=True)
    before = content(s.begin())
    s.abandon()  # the rewrite was never checkpointed: the old files must still be there
    s = Store.open(str(tmp_path))
    assert content(s.begin()) == before
    s.vacuum(1, full=True)
    s.close()
    s = Store.open(str(tmp_path))
    assert content(s.begin()) == before
    files = os.listdir(tmp_path / "segments" / "1")
    assert len([f for f in files if f.endswith(".seg")]) == 1
    s.close()


def test_automatic_compaction_bounds_segment_count(tmp_path):
    s = Store.open(None)
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    fill(s, 20, SEAL_ROWS)
    s.wait_background()
    # size tiers: fewer than `fanout` segments in each tier below the target, plus full
    # ones (1M + 4 x 64k rows when compaction keeps up with the commits; a compaction that
    # lagged them can leave e.g. 589,824 + 2 x 262,144 + 3 x 65,536, as settled)
    policy = s.compaction
    tiers = 1 + policy.tier(policy.target_rows - 1)
    bound = (policy.fanout - 1) * tiers + 20 * SEAL_ROWS // policy.target_rows
    assert len(s.version.tables[1].views) <= bound
    t = s.begin()
    ids = t.scan_table(1, []).column(0).to_numpy()
    t.delete(1, ids[ids % 10 != 0])  # 90% of every segment deleted
    t.commit()
    s.wait_background()
    assert len(s.version.tables[1].views) <= 3
    assert s.begin().row_count(1) == len(ids) // 10
    s.close()


def test_cluster_and_prune(store):
    rng = np.random.default_rng(0)
    n = 4 * SEAL_ROWS
    t = store.begin()
    vals = rng.permutation(n)
    t.insert(1, pa.table({"id": vals, "g": vals % 7}))
    t.commit()
    before = content(store.begin())
    store.cluster(1, ["id"])
    assert content(store.begin()) == before
    seen = []

    def prune(stats):
        lo, hi = stats["id"]
        seen.append((lo, hi))
        return not (lo <= 123 <= hi)

    t = store.begin()
    batches = list(t.scan(1, ["id"], prune=prune))
    got = pa.Table.from_batches(batches).column("id").to_numpy()
    assert 123 in got
    assert len(got) <= SEAL_ROWS  # every other segment was skipped
    assert len(seen) >= 4


def test_rewrites_respect_memory_budget():
    s = Store.open(None, memory_limit=1000)
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.insert(1, pa.table({"id": np.arange(10_000), "g": np.zeros(10_000, np.int64)}))
    t.commit()
    with pytest.raises(OutOfMemory) as e:
        s.cluster(1, ["id"])
    assert e.value.code == "53200" and "cluster" in e.value.detail
    assert s.memory.used == 0


def test_truncate_is_constant_time(store):
    fill(store, 2, SEAL_ROWS)
    t = store.begin()
    t.truncate(1)
    assert t.row_count(1) == 0
    t.rollback()
    assert store.begin().row_count(1) == 2 * SEAL_ROWS


def test_old_files_go_when_no_snapshot_uses_them(tmp_path):
    import gc

    s = Store.open(str(tmp_path))
    s.auto_compact = False
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    fill(s, 3, 1000)
    s.checkpoint()
    segdir = tmp_path / "segments" / "1"
    old = {p.name for p in segdir.iterdir() if p.suffix == ".seg"}
    reader = s.begin()
    assert reader.row_count(1) == 3000
    t = s.begin()
    t.delete(1, t.scan_table(1, []).column(0).to_numpy()[:10])
    t.commit()
    del t
    s.vacuum(1, full=True)
    s.checkpoint()
    now = {p.name for p in segdir.iterdir() if p.suffix == ".seg"}
    assert old <= now  # the reader's snapshot still needs them
    assert reader.scan_table(1).num_rows == 3000
    reader.rollback()
    del reader
    gc.collect()
    now = {p.name for p in segdir.iterdir() if p.suffix == ".seg"}
    assert not (old & now)
    assert s.begin().row_count(1) == 2990
    s.close()


def test_vacuum_full_of_table_larger_than_budget(tmp_path):
    s = Store.open(str(tmp_path))
    s.auto_compact = False
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    fill(s, 8, SEAL_ROWS)  # 8 segments x 1.5 MiB
    s.checkpoint()
    before = content(s.begin())
    s.memory.limit = 7 << 20  # less than the 12 MiB table; a group of 4 segments fits
    with pytest.raises(OutOfMemory):
        s.cluster(1, ["id"])  # needs the whole table at once
    s.vacuum(1, full=True)
    assert s.memory.used == 0
    assert len(s.version.tables[1].views) == 2
    assert content(s.begin()) == before
    s.close()


def sealed(s, tid=1):
    return [v for v in s.version.tables[tid].views if not v.seg.growing]


@pytest.fixture
def small_seal(monkeypatch):
    """Segments seal at 2,048 rows, so a few hundred small commits build many of them."""
    from sqlvec.storage import state, store

    monkeypatch.setattr(state, "SEAL_ROWS", 2048)
    monkeypatch.setattr(store, "SEAL_ROWS", 2048)
    return compact_policy(target_rows=32768, base_rows=2048)


def compact_policy(**kw):
    from sqlvec.storage.compact import Policy

    return Policy(**kw)


@pytest.mark.parametrize("kind", ["memory", "disk"])
def test_tiered_compaction_bounds_many_small_commits(tmp_path, small_seal, kind):
    policy = small_seal
    s = Store.open(None if kind == "memory" else str(tmp_path))
    s.compaction = policy
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    reader = None
    for i in range(300):  # 300 commits of 1,000 rows: 146 sealed segments without merging
        fill_one(s, i, 1000)
        if kind == "disk" and i % 25 == 24:
            s.checkpoint()
        if i == 149:
            s.wait_background()
            reader = s.begin()
            expect_reader = content(reader)
    s.wait_background()
    views = sealed(s)
    n = 300 * 1000
    # per tier fewer than `fanout` segments below the limit, plus full-size ones
    tiers = 1 + policy.tier(policy.target_rows - 1)
    bound = (policy.fanout - 1) * tiers + n // policy.target_rows
    assert len(views) <= bound, sorted(v.live for v in views)
    small = [v for v in views if v.live < policy.target_rows]
    for tier in {policy.tier(v.live) for v in small}:
        assert sum(1 for v in small if policy.tier(v.live) == tier) < policy.fanout
    assert len(s.version.tables[1].views) <= bound + 17  # growing segments are few too
    got = content(s.begin())
    assert [r[1] for r in got] == list(range(n))
    assert len({r[0] for r in got}) == n
    if kind == "disk":
        s.checkpoint()  # replaced files go once no snapshot uses them; the reader's stay
    assert content(reader) == expect_reader and len(expect_reader) == 150_000
    reader.rollback()
    if kind == "disk":
        s.close()
        s = Store.open(str(tmp_path))
        assert content(s.begin()) == got
    s.close()


def fill_one(s, i, per, tid=1):
    t = s.begin()
    ids = np.arange(i * per, (i + 1) * per)
    t.insert(tid, pa.table({"id": ids, "g": ids % 7}))
    t.commit()


def test_tiered_compaction_merges_full_segments():
    # full 65,536-row segments were never merged before: a growing table kept one per 64k
    s = Store.open(None)
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    fill(s, 24, SEAL_ROWS)
    s.wait_background()
    lives = sorted(v.live for v in sealed(s))
    # 24 x 64k rows: 1M-row segments plus fewer than 4 per tier (64k.., 256k..) below 1M;
    # a segment of settled_bytes or more (a 768k-row merge when compaction lagged the
    # commits) is left as it is
    policy = s.compaction
    small = [v.live for v in sealed(s)
             if v.live < policy.target_rows and seg_bytes(v.seg) < policy.settled_bytes]
    for tier in (0, 1):
        assert sum(1 for n in small if policy.tier(n) == tier) < policy.fanout, lives
    assert len(lives) <= 7 and sum(lives) == 24 * SEAL_ROWS
    assert s.begin().row_count(1) == 24 * SEAL_ROWS
    s.close()


def test_tiered_policy_respects_target_bytes():
    s = Store.open(None)
    s.compaction = compact_policy(target_bytes=3 * SEAL_ROWS * 24)  # 24 bytes a row
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    fill(s, 8, SEAL_ROWS)
    s.wait_background()
    lives = sorted(v.live for v in sealed(s))
    assert max(lives) <= 3 * SEAL_ROWS and len(lives) < 8
    assert sum(lives) == 8 * SEAL_ROWS
    s.close()


def test_manual_vacuum_tests_keep_auto_compaction_off(store):
    fill(store, 6, SEAL_ROWS)
    assert len(sealed(store)) == 6  # auto_compact False: nothing merged behind the test


def test_commits_go_on_while_compaction_rewrites(tmp_path):
    import threading

    s = Store.open(str(tmp_path))
    s.auto_compact = False
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    fill(s, 4, SEAL_ROWS)
    reader = s.begin()
    real = s._materialize
    finished = []

    def materialize(table_id, tables, bulk=False):
        # a commit from another thread while the rewrite is under way must not wait for it
        w = threading.Thread(target=lambda: (fill_one(s, 10_000, 10), finished.append(1)))
        w.start()
        w.join(10)
        return real(table_id, tables, bulk)

    s._materialize = materialize
    assert s.compact(1) == 1
    assert finished == [1]
    del s._materialize
    assert len(sealed(s)) == 1 and sealed(s)[0].live == 4 * SEAL_ROWS
    assert s.begin().row_count(1) == 4 * SEAL_ROWS + 10  # the concurrent commit survived
    assert reader.row_count(1) == 4 * SEAL_ROWS
    s.close()
