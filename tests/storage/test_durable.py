"""Data directory: persistence, locking, WAL recovery, torn tails, corruption, disk full."""

from __future__ import annotations

import errno
import os
import threading

import numpy as np
import pyarrow as pa
import pytest

from sqlvec.core.errors import DataCorrupted, DiskFull, ObjectInUse
from sqlvec.storage import Store

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string())])


def rows(ids):
    return pa.table({"id": pa.array(ids, pa.int64()), "name": [f"n{i}" for i in ids]})


def ids_of(store, tid=1):
    return sorted(store.begin().scan_table(tid).column("id").to_pylist())


def make(path, **kw):
    s = Store.open(str(path), **kw)
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.catalog_put("table/1", {"name": "t"})
    t.commit()
    return s


def test_reopen_after_clean_close(tmp_path):
    s = make(tmp_path)
    t = s.begin()
    ids = t.insert(1, rows([1, 2, 3]))
    t.commit()
    t = s.begin()
    t.delete(1, ids[1:2])
    t.commit()
    oid = s.counter_next("oid")
    s.close()
    s = Store.open(str(tmp_path))
    assert ids_of(s) == [1, 3]
    assert s.begin().catalog_get("table/1") == {"name": "t"}
    assert s.counter_next("oid") > oid
    assert s.allocate_rowids(1, 1) > ids.max()
    s.close()


def test_recovery_from_wal_without_checkpoint(tmp_path):
    s = make(tmp_path)
    for i in range(5):
        t = s.begin()
        t.insert(1, rows([i]))
        t.commit()
    s.abandon()  # no checkpoint: everything comes back from the WAL
    s = Store.open(str(tmp_path))
    assert ids_of(s) == [0, 1, 2, 3, 4]
    s.checkpoint()
    t = s.begin()
    t.insert(1, rows([5]))
    t.commit()
    s.abandon()
    s = Store.open(str(tmp_path))
    assert ids_of(s) == [0, 1, 2, 3, 4, 5]
    s.close()


def test_second_opener_gets_object_in_use(tmp_path):
    s = make(tmp_path)
    with pytest.raises(ObjectInUse) as e:
        Store.open(str(tmp_path))
    assert e.value.code == "55006"
    assert f'data directory "{tmp_path}" is in use by another process' == e.value.message
    s.close()
    Store.open(str(tmp_path)).close()


def test_torn_wal_tail_is_ignored(tmp_path):
    s = make(tmp_path)
    for i in range(3):
        t = s.begin()
        t.insert(1, rows([i]))
        t.commit()
    wal = s._wal.path
    s.abandon()
    size = os.path.getsize(wal)
    with open(wal, "r+b") as f:  # cut the last record in half
        f.truncate(size - 20)
    s = Store.open(str(tmp_path))
    assert ids_of(s) == [0, 1]
    assert os.path.getsize(wal) < size - 20  # the torn record was cut off at recovery
    t = s.begin()
    t.insert(1, rows([9]))
    t.commit()
    wal = s._wal.path  # the log continues in a new file after recovery
    s.abandon()
    with open(wal, "ab") as f:  # garbage after a complete log is a torn tail too
        f.write(b"\x07" * 100)
    s = Store.open(str(tmp_path))
    assert ids_of(s) == [0, 1, 9]
    s.close()


def _record_offsets(path):
    """Offsets of the records of a WAL file, read from their frames."""
    from sqlvec.storage.wal import FILE_HEADER, FRAME

    data = open(path, "rb").read()
    pos, out = FILE_HEADER.size, []
    while pos + FRAME.size <= len(data):
        length = FRAME.unpack_from(data, pos)[0]
        out.append(pos)
        pos += FRAME.size + length + (8 - length % 8) % 8
    return out


def _snapshot(root):
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != "LOCK"}


@pytest.mark.parametrize("where", ["payload", "length", "type"])
def test_damaged_record_in_the_middle_of_the_wal_refuses_to_open(tmp_path, where):
    s = make(tmp_path)
    for i in range(6):
        t = s.begin()
        t.insert(1, rows([i]))
        t.commit()
    wal = s._wal.path
    s.abandon()
    offs = _record_offsets(wal)
    victim = offs[3]  # acknowledged commits follow it
    raw = bytearray(open(wal, "rb").read())
    if where == "payload":
        raw[victim + 16 + 5] ^= 0xFF
    elif where == "length":
        raw[victim + 2] ^= 0x40  # the frame now claims a far longer record
    else:
        raw[victim + 8] = 0x07
    open(wal, "wb").write(bytes(raw))
    before = _snapshot(tmp_path)
    with pytest.raises(DataCorrupted) as e:
        Store.open(str(tmp_path))
    msg = e.value.message
    assert e.value.code == "XX001"
    assert f'write-ahead log file "{wal}" is damaged at offset {victim}' in msg, msg
    assert "not a torn tail" in msg
    assert _snapshot(tmp_path) == before  # nothing was cut, replayed or checkpointed
    with pytest.raises(DataCorrupted):  # and it stays refused, the lock released
        Store.open(str(tmp_path))


def test_damaged_tail_of_an_older_wal_file_is_corruption(tmp_path):
    s = make(tmp_path)
    t = s.begin()
    t.insert(1, rows([1]))
    t.commit()
    old = s._wal.path
    s.abandon()
    s = Store.open(str(tmp_path))  # recovery starts a new WAL file after `old`
    t = s.begin()
    t.insert(1, rows([2]))
    t.commit()
    s.abandon()
    raw = bytearray(open(old, "rb").read())
    raw[-3] ^= 0xFF  # the last record of a file that later files follow
    open(old, "wb").write(bytes(raw))
    with pytest.raises(DataCorrupted) as e:
        Store.open(str(tmp_path))
    assert f'write-ahead log file "{old}" is damaged' in e.value.message
    assert "later write-ahead log files follow it" in e.value.message


def test_wal_file_without_header_from_a_crash_is_dropped(tmp_path):
    s = make(tmp_path)
    t = s.begin()
    t.insert(1, rows([1]))
    t.commit()
    wal = s._wal.path
    s.abandon()
    empty = wal[: -len("0001.wal")] + f"{int(wal[-8:-4]) + 1:04d}.wal"
    open(empty, "wb").close()  # a crash right after the file was created
    s = Store.open(str(tmp_path))
    assert ids_of(s) == [1] and not os.path.exists(empty)
    t = s.begin()
    t.insert(1, rows([2]))
    t.commit()
    s.abandon()
    s = Store.open(str(tmp_path))
    assert ids_of(s) == [1, 2]
    s.close()


def test_flipped_bytes_in_segment_is_data_corrupted(tmp_path):
    s = make(tmp_path)
    t = s.begin()
    t.insert(1, rows(list(range(1000))))
    t.commit()
    s.close()
    segdir = tmp_path / "segments" / "1"
    seg = next(p for p in segdir.iterdir() if p.suffix == ".seg")
    data = bytearray(seg.read_bytes())
    data[len(data) // 2] ^= 0xFF
    seg.write_bytes(bytes(data))
    s = Store.open(str(tmp_path))
    s.describe_table = lambda tid: f'relation "t{tid}"'
    with pytest.raises(DataCorrupted) as e:
        s.begin().scan_table(1)
    assert e.value.code == "XX001"
    assert 'relation "t1"' in e.value.message and "checksum" in e.value.message
    s.abandon()


def test_missing_segment_is_data_corrupted(tmp_path):
    s = make(tmp_path)
    t = s.begin()
    t.insert(1, rows([1]))
    t.commit()
    s.close()
    for p in (tmp_path / "segments" / "1").iterdir():
        p.unlink()
    s = Store.open(str(tmp_path))
    with pytest.raises(DataCorrupted, match="table 1"):
        list(s.begin().scan(1))
    s.abandon()


def test_disk_full_on_wal_write(tmp_path):
    full = {"on": False}

    def write(fd, data):
        if full["on"]:
            n = os.write(fd, data[: min(len(data), 10)])  # a partial write, then ENOSPC
            if n:
                raise OSError(errno.ENOSPC, "No space left on device")
        return os.write(fd, data)

    s = make(tmp_path, write_fn=write)
    t = s.begin()
    t.insert(1, rows([1]))
    t.commit()
    full["on"] = True
    t = s.begin()
    t.insert(1, rows([2]))
    with pytest.raises(DiskFull) as e:
        t.commit()
    assert e.value.code == "53100"
    assert ids_of(s) == [1]  # not applied
    full["on"] = False
    t = s.begin()
    t.insert(1, rows([3]))
    t.commit()
    assert ids_of(s) == [1, 3]
    s.abandon()
    s = Store.open(str(tmp_path))
    assert ids_of(s) == [1, 3]
    s.close()


def test_snapshot_survives_checkpoint(tmp_path):
    s = make(tmp_path)
    t = s.begin()
    ids = t.insert(1, rows(list(range(100))))
    t.commit()
    reader = s.begin()
    first = reader.scan_table(1)
    t = s.begin()
    t.delete(1, ids[:50])
    t.insert(1, rows([500]))
    t.commit()
    s.checkpoint()
    t = s.begin()
    t.truncate(1)
    t.commit()
    s.checkpoint()
    assert reader.scan_table(1).equals(first)
    assert reader.row_count(1) == 100
    assert ids_of(s) == []
    s.close()


def test_lazy_reader_snapshot_survives_truncate_checkpoint(tmp_path):
    s = make(tmp_path)
    t = s.begin()
    t.insert(1, rows(list(range(10))))
    t.commit()
    s.close()
    s = Store.open(str(tmp_path))
    reader = s.begin()  # nothing of table 1 read yet
    t = s.begin()
    t.truncate(1)
    t.commit()
    s.checkpoint()
    assert sorted(reader.scan_table(1).column("id").to_pylist()) == list(range(10))
    s.close()


def test_group_commit_shares_fsyncs(tmp_path):
    calls = []

    def slow_fsync(fd):
        calls.append(fd)
        threading.Event().wait(0.01)
        os.fsync(fd)

    s = make(tmp_path, fsync_fn=slow_fsync)
    calls.clear()

    def work(k):
        for i in range(10):
            t = s.begin()
            t.insert(1, rows([k * 100 + i]))
            t.commit()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(ids_of(s)) == 60
    assert len(calls) < 60  # leaders fsynced for several waiting commits
    s.close()


def test_sync_off_commits_without_waiting(tmp_path):
    calls = []
    s = make(tmp_path, fsync_fn=lambda fd: calls.append(fd))
    calls.clear()
    t = s.begin()
    t.insert(1, rows([1]))
    t.commit(sync=False)
    assert calls == [] and ids_of(s) == [1]
    s.close()


def test_auto_checkpoint_bounds_wal(tmp_path):
    s = make(tmp_path, checkpoint_bytes=30_000)
    for i in range(30):
        t = s.begin()
        t.insert(1, rows(list(range(i * 100, i * 100 + 100))))
        t.commit()
    if s._ckpt_thread is not None:
        s._ckpt_thread.join()
    assert os.path.exists(tmp_path / "CHECKPOINT")
    assert s._wal.size < 90_000
    s.abandon()
    s = Store.open(str(tmp_path))
    assert ids_of(s) == list(range(3000))
    s.close()


def test_catalog_drop_and_recreate_survive(tmp_path):
    s = make(tmp_path)
    t = s.begin()
    t.create_table(2, SCHEMA)
    t.insert(2, rows([7]))
    t.commit()
    s.checkpoint()
    t = s.begin()
    t.drop_table(2)
    t.catalog_delete("table/1")
    t.commit()
    s.close()
    s = Store.open(str(tmp_path))
    assert not (tmp_path / "segments" / "2").exists()
    t = s.begin()
    assert not t.has_table(2) and t.catalog_get("table/1") is None
    s.close()


def test_vector_column_roundtrip(tmp_path):
    s = Store.open(str(tmp_path))
    vt = pa.list_(pa.float32(), 4)
    t = s.begin()
    t.create_table(1, pa.schema([("v", vt)]))
    vals = np.arange(40, dtype=np.float32)
    t.insert(1, pa.table({"v": pa.FixedSizeListArray.from_arrays(pa.array(vals), 4)}))
    t.commit()
    s.close()
    s = Store.open(str(tmp_path))
    got = s.begin().scan_table(1).column("v").combine_chunks()
    assert np.array_equal(got.values.to_numpy(), vals)
    s.close()


def test_sealed_segments_are_served_from_mmap(tmp_path):
    s = Store.open(str(tmp_path))
    t = s.begin()
    t.create_table(1, pa.schema([("v", pa.list_(pa.float32(), 64))]))
    n = 100_000
    vals = pa.array(np.zeros(n * 64, dtype=np.float32))
    t.insert(1, pa.table({"v": pa.FixedSizeListArray.from_arrays(vals, 64)}))
    t.commit()
    del vals, t
    s.close()
    s = Store.open(str(tmp_path))
    before = pa.total_allocated_bytes()
    t = s.begin()
    total = 0
    for b in t.scan(1):
        total += b.num_rows
    assert total == n
    assert pa.total_allocated_bytes() - before < 1 << 20  # 25 MB of vectors, none on the heap
    s.close()


def test_disk_full_during_checkpoint_loses_nothing(tmp_path, monkeypatch):
    from sqlvec.storage import manifest

    s = make(tmp_path)
    t = s.begin()
    t.insert(1, rows([1, 2]))
    t.commit()

    def full(*a, **k):
        raise DiskFull("could not write to file: No space left on device")

    monkeypatch.setattr(manifest, "write_segment", full)
    with pytest.raises(DiskFull):
        s.checkpoint()
    t = s.begin()
    t.insert(1, rows([3]))
    t.commit()
    monkeypatch.undo()
    s.abandon()
    s = Store.open(str(tmp_path))
    assert ids_of(s) == [1, 2, 3]
    s.checkpoint()
    s.close()
    s = Store.open(str(tmp_path))
    assert ids_of(s) == [1, 2, 3]
    s.close()
