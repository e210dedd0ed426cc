"""Bulk-loaded segment files are full segments; big ones are left alone by tiered compaction."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sqlvec.storage import Store
from sqlvec.storage.compact import Policy, tiered

SCHEMA = pa.schema([("id", pa.int64()), ("pad", pa.string())])


def load(s: Store, first: int, n: int) -> None:
    ids = np.arange(first, first + n)
    t = s.begin()
    t.bulk_load(1, [pa.table({"id": ids, "pad": pa.array(["x" * 100] * n)})])
    t.commit()


def test_bulk_files_are_full_segments_and_settled_ones_stay(tmp_path):
    path = str(tmp_path)
    s = Store.open(path)
    s.auto_compact = False
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    for i in range(4):
        load(s, i * 5000, 5000)  # ~0.5 MB files, far below SEAL_ROWS rows
    views = s.version.tables[1].views
    assert len(views) == 4 and not any(v.seg.growing for v in views)
    tv = s.version.tables[1]
    assert len(tiered(tv, Policy())) == 4  # small files: merged as before
    assert tiered(tv, Policy(settled_bytes=100_000)) == []  # big enough: left alone
    gone = np.concatenate([views[0].seg.rowids[:3000], views[1].seg.rowids[:10]])
    t = s.begin()
    t.delete(1, gone)  # ... unless rows were deleted from them
    t.commit()
    run = tiered(s.version.tables[1], Policy(settled_bytes=100_000, fanout=2))
    assert [v.seg.seg_id for v in run] == [views[0].seg.seg_id, views[1].seg.seg_id]
    s.abandon()
    s = Store.open(path)  # WAL replay opens the files as full segments too
    views = s.version.tables[1].views
    assert s.begin().row_count(1) == 20_000 - 3010 and not any(v.seg.growing for v in views)
    s.close()


def test_big_files_with_few_rows_are_not_small(tmp_path, monkeypatch):
    from sqlvec.storage import compact

    monkeypatch.setattr(compact, "SETTLED_BYTES", 100_000)
    s = Store.open(str(tmp_path))
    s.auto_compact = False
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    for i in range(compact.MAX_SMALL + 1):
        load(s, i * 2000, 2000)  # ~0.2 MB each: below SMALL_ROWS rows, above SETTLED_BYTES
    tv = s.version.tables[1]
    assert not compact.needs_compaction(tv) and compact.pick(tv) == []
    monkeypatch.setattr(compact, "SETTLED_BYTES", 16 << 20)
    assert compact.needs_compaction(tv) and len(compact.pick(tv)) == compact.MAX_SMALL + 1
    s.close()
