"""Per-table manifests: which segment and delete files make up a table at a version.

`manifests/<table>.<phys>.json` lists the table's schema and, per segment, its file,
row count, row id range, size, CRC, delete file and min/max statistics. A manifest is
written once (atomically) and never changed; the checkpoint file names the current one
of every table, so a crash between writing manifests and the checkpoint leaves the old
checkpoint pointing at old, complete manifests.
"""

from __future__ import annotations

import base64
import datetime
import os
from collections.abc import Callable

import pyarrow as pa

from sqlvec.storage.fileio import (
    Name,
    SyncBatch,
    deletes_size,
    dump_json_file,
    load_json_file,
    read_deletes,
    read_segment,
    write_atomic,
    write_deletes,
    write_segment,
)
from sqlvec.storage.segment import Segment, SegView, column_stats
from sqlvec.storage.state import TableVersion

MANIFEST_MAGIC = "SQLVMAN"

Register = Callable[[Segment], None]


def table_dir(root: str, table_id: int) -> str:
    return os.path.join(root, "segments", str(table_id))


def manifest_name(table_id: int, phys: int) -> str:
    return f"{table_id}.{phys}.json"


def seal(
    root: str, tv: TableVersion, what: Name, register: Register, batch: SyncBatch | None = None
) -> None:
    """Write every segment of `tv` that has no file yet and serve it from the file."""
    tdir = table_dir(root, tv.table_id)
    for v in tv.views:
        seg = v.seg
        if seg.path is not None or seg.num_rows == 0:
            continue
        if not os.path.isdir(tdir):
            os.makedirs(tdir, exist_ok=True)
            if batch is not None:
                batch.dirs.add(os.path.dirname(tdir))
        path = os.path.join(tdir, f"{seg.seg_id}.seg")
        if seg.stats is None:
            seg.stats = column_stats(seg.data)
        size, crc = write_segment(path, seg.data, tv.table_id, seg.seg_id, batch)
        data = read_segment(path, what, verify=False)
        seg.attach_file(path, size, crc, _loader(path, what), data)
        register(seg)


def write_manifest(root: str, tv: TableVersion, batch: SyncBatch | None = None) -> str:
    """Write the manifest of a sealed table version (and its delete files); returns its name."""
    tdir = table_dir(root, tv.table_id)
    segs = []
    for v in tv.views:
        seg = v.seg
        if seg.num_rows == 0:
            continue
        assert seg.path is not None and seg.file_info is not None
        entry = {
            "id": seg.seg_id,
            "file": os.path.relpath(seg.path, root),
            "rows": seg.num_rows,
            "min": seg.min_rowid,
            "max": seg.max_rowid,
            "size": seg.file_info[0],
            "crc": seg.file_info[1],
            "growing": seg.growing,
        }
        if seg.stats:
            entry["stats"] = _stats_to_json(seg.stats)
        if v.n_deleted:
            assert v.deleted is not None
            dpath = os.path.join(tdir, f"{seg.seg_id}.{v.n_deleted}.del")
            if not _complete(dpath, deletes_size(len(v.deleted))):
                write_deletes(dpath, v.deleted, tv.table_id, seg.seg_id, batch)
            entry["del"] = os.path.relpath(dpath, root)
            entry["deleted"] = v.n_deleted
        segs.append(entry)
    body = {
        "table": tv.table_id,
        "epoch": tv.epoch,
        "mod_seq": tv.mod_seq,
        "schema": base64.b64encode(tv.schema.serialize().to_pybytes()).decode(),
        "segments": segs,
    }
    name = manifest_name(tv.table_id, tv.phys)
    data = dump_json_file(MANIFEST_MAGIC, body)
    write_atomic(os.path.join(root, "manifests", name), data, batch)
    return name


def lazy_table(
    root: str, table_id: int, epoch: int, mod_seq: int, phys: int, name: str,
    what: Name,
    register: Register,
) -> TableVersion:
    """A TableVersion whose manifest is read on first use (segments later still)."""

    def load() -> tuple[pa.Schema, tuple[SegView, ...]]:
        w = what
        m = load_json_file(os.path.join(root, "manifests", name), MANIFEST_MAGIC, w)
        schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(m["schema"])))
        views = []
        for e in m["segments"]:
            path = os.path.join(root, e["file"])
            stats = _stats_from_json(e.get("stats"), schema)
            seg = Segment(
                e["id"], None, num_rows=e["rows"], min_rowid=e["min"], max_rowid=e["max"],
                growing=e.get("growing", False), path=path, loader=_loader(path, w),
                stats=stats,
            )
            seg.file_info = (e["size"], e["crc"])
            register(seg)
            if "del" in e:
                mask = read_deletes(os.path.join(root, e["del"]), w)
                views.append(SegView(seg, mask, int(mask.sum())))
            else:
                views.append(SegView(seg))
        return schema, tuple(views)

    return TableVersion(table_id, None, epoch, mod_seq, None, phys=phys, loader=load)


def _complete(path: str, size: int) -> bool:
    """Whether `path` exists with the size of a complete file (one a crash cut short is not)."""
    try:
        return os.path.getsize(path) == size
    except OSError:
        return False


def manifest_files(root: str, name: str, what: Name) -> set[str]:
    """The files (relative to root) a manifest refers to."""
    m = load_json_file(os.path.join(root, "manifests", name), MANIFEST_MAGIC, what)
    out = set()
    for e in m["segments"]:
        out.add(e["file"])
        if "del" in e:
            out.add(e["del"])
    return out


def _loader(path: str, what: Name) -> Callable[[], pa.Table]:
    return lambda: read_segment(path, what)


# -- statistics ---------------------------------------------------------------------------

def _stats_to_json(stats: dict[str, tuple[object, object]]) -> dict:
    out = {}
    for k, (lo, hi) in stats.items():
        if isinstance(lo, datetime.date | datetime.time):
            out[k] = ["iso", lo.isoformat(), hi.isoformat()]  # type: ignore[union-attr]
        else:
            out[k] = [lo, hi]
    return out


def _stats_from_json(raw: dict | None, schema: pa.Schema) -> dict | None:
    if raw is None:
        return None
    out = {}
    for k, v in raw.items():
        if len(v) == 3:
            typ = schema.field(k).type
            try:
                lo, hi = (pa.scalar(x).cast(typ).as_py() for x in v[1:])
            except (pa.ArrowException, ValueError):
                continue
            out[k] = (lo, hi)
        else:
            out[k] = (v[0], v[1])
    return out
