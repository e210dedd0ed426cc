"""The write-ahead log: checksummed records in numbered files, fsynced with group commit.

File `wal/<number>.wal` = 32-byte header (magic, format version, file number), then
records. A record is a 16-byte frame (payload length, CRC-32 of type + payload, type)
and the payload padded to 8 bytes, so Arrow buffers read back from a memory map stay
aligned. Recovery reads records until the first one that is short or fails its checksum.
At the end of the last file that is a torn tail from a crash: it is ignored, and cut off
so the next file starts after a clean end. Followed by an intact record, or in a file
that is not the last, it is corruption: start-up fails naming the file and offset.

Commit payload: u32 JSON length, JSON (seq, catalog writes, row id high-water marks,
per-table lengths), then per table its reset schema, deleted row ids (int64) and one
Arrow IPC stream per inserted piece.
"""

from __future__ import annotations

import json
import os
import struct
import threading
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa

from sqlvec.core.errors import DataCorrupted, IoError
from sqlvec.storage.fileio import FORMAT_VERSION, crc32, fsync_dir, os_error
from sqlvec.storage.state import CommitRecord, TableChange

WAL_MAGIC = b"SQLVWAL\x01"
FILE_HEADER = struct.Struct("<8sIIQ8x")
FRAME = struct.Struct("<IIB7x")
REC_COMMIT = 1
REC_COUNTERS = 2
_PAD = b"\0" * 8

WriteFn = Callable[[int, memoryview], int]


def _pad(n: int) -> int:
    return (8 - n % 8) % 8


def wal_path(directory: str, number: int) -> str:
    return os.path.join(directory, f"{number:016d}.wal")


def wal_numbers(directory: str) -> list[int]:
    """The numbers of the WAL files present, ascending."""
    out = []
    for name in os.listdir(directory):
        if name.endswith(".wal") and name[:-4].isdigit():
            out.append(int(name[:-4]))
    return sorted(out)


# -- encoding -----------------------------------------------------------------------------


def encode_tables(rec: CommitRecord) -> tuple[list[dict], list[object]]:
    """The table part of a commit payload: per-table entries and the buffers they describe.

    Done outside the commit lock: serialising big inserts must not block other commits.
    """
    blobs: list[object] = []
    tables = []
    for ch in rec.tables:
        entry: dict = {"t": ch.table_id}
        if ch.drop:
            entry["drop"] = True
        if ch.reset_schema is not None:
            buf = ch.reset_schema.serialize()
            entry["schema"] = buf.size
            blobs.append(buf)
        if ch.deletes is not None and len(ch.deletes):
            d = np.ascontiguousarray(ch.deletes, dtype="<i8")
            entry["deletes"] = d.nbytes
            blobs.append(d)
        if ch.segments:
            entry["files"] = [
                {
                    "id": g.seg_id,
                    "name": os.path.basename(g.path or ""),
                    "rows": g.num_rows,
                    "min": g.min_rowid,
                    "max": g.max_rowid,
                    "size": g.file_info[0] if g.file_info else 0,
                    "crc": g.file_info[1] if g.file_info else 0,
                }
                for g in ch.segments
            ]
        lens = []
        for t in ch.inserts:
            sink = _Collect()
            with pa.ipc.new_stream(pa.PythonFile(sink, mode="w"), t.schema) as w:
                w.write_table(t)
            lens.append(sink.size)
            blobs.append(sink.parts)
        if lens:
            entry["ipc"] = lens
        tables.append(entry)
    return tables, blobs


def commit_pieces(
    rec: CommitRecord, tables: list[dict], blobs: list[object], rowids: dict[int, int]
) -> list[object]:
    """The payload pieces of a commit record (buffers are not copied)."""
    head: dict = {"seq": rec.seq, "tables": tables}
    if rowids:
        head["rowids"] = {str(k): v for k, v in rowids.items()}
    if rec.catalog_put:
        head["put"] = rec.catalog_put
    if rec.catalog_del:
        head["del"] = rec.catalog_del
    text = json.dumps(head, separators=(",", ":")).encode()
    pieces: list[object] = [struct.pack("<I", len(text)), text]
    size = 4 + len(text)
    for b in blobs:
        if _pad(size):
            pieces.append(_PAD[: _pad(size)])
            size += _pad(size)
        for p in b if isinstance(b, list) else [b]:
            pieces.append(p)
            size += memoryview(p).nbytes  # type: ignore[arg-type]
    return pieces


class _Collect:
    """A write-only file that keeps what the Arrow IPC writer hands it (no copy of bodies)."""

    closed = False

    def __init__(self) -> None:
        self.parts: list[object] = []
        self.size = 0

    def write(self, data: object) -> int:
        n = memoryview(data).nbytes  # type: ignore[arg-type]
        self.parts.append(data)
        self.size += n
        return n

    def flush(self) -> None:
        pass

    def tell(self) -> int:
        return self.size


def decode_commit(payload: pa.Buffer) -> tuple[CommitRecord, dict[int, int]]:
    """A commit record read back from the WAL (inserted rows stay in the WAL's memory map)."""
    (n,) = struct.unpack("<I", payload[:4])
    head = json.loads(payload[4 : 4 + n].to_pybytes())
    pos = 4 + n
    rec = CommitRecord(head["seq"], catalog_put=head.get("put", {}),
                       catalog_del=head.get("del", []))

    def take(size: int) -> pa.Buffer:
        nonlocal pos
        pos += _pad(pos)
        b = payload.slice(pos, size)
        pos += size
        return b

    for entry in head["tables"]:
        ch = TableChange(entry["t"], drop=entry.get("drop", False), files=entry.get("files", []))
        if "schema" in entry:
            ch.reset_schema = pa.ipc.read_schema(take(entry["schema"]))
        if "deletes" in entry:
            ch.deletes = np.frombuffer(take(entry["deletes"]), dtype="<i8")
        for size in entry.get("ipc", []):
            ch.inserts.append(pa.ipc.open_stream(take(size)).read_all())
        rec.tables.append(ch)
    rowids = {int(k): v for k, v in head.get("rowids", {}).items()}
    return rec, rowids


class WalReader:
    """Iterates the intact records of one WAL file and tells a torn tail from corruption.

    A record that is short, of an unknown type or fails its checksum ends the file's
    good part. If it is the last file and no intact record follows the bad one, it is a
    torn tail from a crash (`end` then marks where the good part stops, `size` the file
    size). Anything else is corruption: a record in the middle of the log is damaged and
    replaying past it, or stopping there, would lose acknowledged commits, so it raises
    DataCorrupted (XX001) naming the file and offset.
    """

    def __init__(self, path: str, *, last: bool = True) -> None:
        self.path = path
        self.last = last
        self.end = 0  # offset just past the last intact record (0: no usable header)
        self.size = 0

    def __iter__(self) -> Iterator[tuple[int, pa.Buffer]]:
        buf = pa.memory_map(self.path).read_buffer()
        self.size = buf.size
        if buf.size < FILE_HEADER.size:
            if buf.size and not self.last:
                self._damaged(0, "the file header is truncated", 0)
            return  # created by a crash before its header was written: nothing lost
        magic, version, _r, _num = FILE_HEADER.unpack(buf[: FILE_HEADER.size])
        if magic != WAL_MAGIC:
            self._damaged(0, "the file header is not a write-ahead log header", 0)
        if version != FORMAT_VERSION:
            raise DataCorrupted(
                f'write-ahead log file "{self.path}" has unsupported format version {version}'
            )
        pos = self.end = FILE_HEADER.size
        while pos < buf.size:
            why = "a record frame is truncated"
            if pos + FRAME.size <= buf.size:
                length, crc, rtype = FRAME.unpack(buf[pos : pos + FRAME.size])
                start = pos + FRAME.size
                end = start + length
                if rtype not in (REC_COMMIT, REC_COUNTERS):
                    why = f"invalid record type {rtype}"
                elif end > buf.size:
                    why = f"record length {length} runs past the end of the file"
                else:
                    payload = buf.slice(start, length)
                    if crc32(payload, crc32(bytes([rtype]))) == crc:
                        yield rtype, payload
                        pos = self.end = min(end + _pad(length), buf.size)
                        continue
                    why = "record checksum mismatch"
            after = _intact_after(buf, pos)
            if after or not self.last:
                self._damaged(pos, why, after)
            return  # a torn tail: the crash cut the last record short

    def _damaged(self, pos: int, why: str, after: int) -> None:
        follows = (
            f"an intact record follows at offset {after}" if after
            else "later write-ahead log files follow it"
        )
        raise DataCorrupted(
            f'write-ahead log file "{self.path}" is damaged at offset {pos}: {why}; '
            f"{follows}, so this is not a torn tail and replaying would lose committed "
            "transactions. The data directory was left as it is: restore the file "
            "from a backup, or move it away to accept the loss",
            detail=f"file {self.path}, offset {pos}",
        )


def read_records(path: str, *, last: bool = True) -> Iterator[tuple[int, pa.Buffer]]:
    """(type, payload) of each intact record of a WAL file (see WalReader)."""
    return iter(WalReader(path, last=last))


def _intact_after(buf: pa.Buffer, pos: int) -> int:
    """The offset of the first intact record after the damaged one at `pos`, or 0.

    Records start on 8-byte boundaries; a frame is (length, crc) then the type byte and
    seven zero bytes, so candidates are found over the whole rest of the file with numpy
    and only those are checksummed (a random match needs a 32-bit CRC collision).
    """
    first = pos + 8
    n_words = (buf.size - first) // 8
    if n_words < 2:
        return 0
    words = np.frombuffer(buf, dtype="<u8", count=n_words, offset=first)
    kind = words[1:]
    cand = np.flatnonzero((kind == REC_COMMIT) | (kind == REC_COUNTERS))
    if not len(cand):
        return 0
    offs = first + cand.astype(np.int64) * 8
    lengths = (words[cand] & 0xFFFFFFFF).astype(np.int64)
    fits = offs + FRAME.size + lengths <= buf.size
    for off, length, head in zip(
        offs[fits].tolist(), lengths[fits].tolist(), (words[cand][fits] >> 32).tolist()
    ):
        rtype = buf[off + 8]
        payload = buf.slice(off + FRAME.size, length)
        if crc32(payload, crc32(bytes([rtype]))) == head:
            return off
    return 0


# -- writing ------------------------------------------------------------------------------


def _default_write(fd: int, data: memoryview) -> int:
    return os.write(fd, data)


class WalWriter:
    """Appends records to the current WAL file; `sync_to` makes them durable (group commit)."""

    def __init__(
        self,
        directory: str,
        number: int,
        *,
        write_fn: WriteFn | None = None,
        fsync_fn: Callable[[int], None] | None = None,
    ) -> None:
        self.directory = directory
        self.write_fn: WriteFn = write_fn or _default_write
        self.fsync_fn = fsync_fn or os.fsync
        self._cond = threading.Condition()
        self._written = 0  # bytes appended since open (all files): the LSN
        self._synced = 0
        self._syncing = False
        self._broken: str | None = None
        self.number = number
        self.size = 0
        self._fd = self._open(number)

    def _open(self, number: int) -> int:
        path = wal_path(self.directory, number)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(fd, FILE_HEADER.pack(WAL_MAGIC, FORMAT_VERSION, 0, number))
            os.fsync(fd)
            fsync_dir(self.directory)  # the new file itself must survive a crash
        except OSError as e:
            raise os_error(e, path) from e
        self.size = FILE_HEADER.size
        return fd

    @property
    def path(self) -> str:
        return wal_path(self.directory, self.number)

    def append(self, rtype: int, pieces: list[object]) -> int:
        """Write one record (not synced); returns its LSN. The caller serialises appends.

        A failed write is cut off again, so the log stays readable and the caller can
        report the error (DiskFull 53100) without the commit being applied.
        """
        if self._broken:
            raise IoError(f"could not write to the write-ahead log: {self._broken}")
        views = [memoryview(p).cast("B") for p in pieces]  # type: ignore[arg-type]
        length = sum(v.nbytes for v in views)
        crc = crc32(bytes([rtype]))
        for v in views:
            crc = crc32(v, crc)
        frame = FRAME.pack(length, crc, rtype)
        chunks = [memoryview(frame), *views]
        if _pad(length):
            chunks.append(memoryview(_PAD[: _pad(length)]))
        start = self.size
        try:
            for c in chunks:
                while c.nbytes:
                    n = self.write_fn(self._fd, c)
                    c = c[n:]
        except OSError as e:
            try:
                os.ftruncate(self._fd, start)
                os.lseek(self._fd, start, os.SEEK_SET)
            except OSError as e2:
                self._broken = str(e2)
            raise os_error(e, self.path) from e
        total = FRAME.size + length + _pad(length)
        self.size += total
        with self._cond:
            self._written += total
            return self._written

    def sync_to(self, lsn: int) -> None:
        """Return once everything up to `lsn` is fsynced; one caller fsyncs for all waiting."""
        with self._cond:
            while self._synced < lsn:
                if self._syncing:
                    self._cond.wait()
                    continue
                self._syncing = True
                target, fd = self._written, self._fd
                self._cond.release()
                err: OSError | None = None
                try:
                    self.fsync_fn(fd)
                except OSError as e:
                    err = e
                finally:
                    self._cond.acquire()
                    self._syncing = False
                    self._cond.notify_all()
                if err is not None:
                    self._broken = str(err)
                    raise IoError(f"could not fsync the write-ahead log: {err}") from err
                self._synced = max(self._synced, target)

    def sync_all(self) -> None:
        self.sync_to(self._written)

    def rotate(self) -> int:
        """Sync and close the current file and start the next one; returns its number."""
        self.sync_all()
        with self._cond:
            while self._syncing:
                self._cond.wait()
            os.close(self._fd)
            self.number += 1
            self._fd = self._open(self.number)
        return self.number

    def close(self) -> None:
        try:
            if not self._broken:
                self.sync_all()
        finally:
            os.close(self._fd)
