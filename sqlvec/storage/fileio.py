"""On-disk building blocks: atomic file replacement, checksummed headers, segment files.

Every file says what it is. Binary files start with a 64-byte header (8-byte magic,
format version, body length, CRC-32 of the body); JSON files (manifests, checkpoints)
start with one line "MAGIC VERSION CRC". A file that fails its checks raises
DataCorrupted (XX001) naming what it belonged to; it never yields wrong rows.
"""

from __future__ import annotations

import errno
import json
import os
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from sqlvec.core.errors import DataCorrupted, DiskFull, IoError

FORMAT_VERSION = 1
SEG_MAGIC = b"SQLVSEG\x01"
DEL_MAGIC = b"SQLVDEL\x01"
HEADER = struct.Struct("<8sIIQIIQQ16x")  # magic, version, flags, length, crc, table, seg, rows
assert HEADER.size == 64


class LazyName:
    """What a file belongs to (e.g. 'relation "t"'), looked up only when a message needs it.

    Naming a table may read the catalog; opening a table on first use must not pay for
    that unless it reports an error. `f"{name}"` calls it.
    """

    __slots__ = ("_fn",)

    def __init__(self, fn: Callable[[], str]) -> None:
        self._fn = fn

    def __str__(self) -> str:
        return self._fn()


Name = str | LazyName


def crc32(data: object, crc: int = 0) -> int:
    """CRC-32 of a bytes-like object (big buffers are hashed in 64 MiB steps)."""
    mv = memoryview(data).cast("B")  # type: ignore[arg-type]
    step = 1 << 26
    for i in range(0, len(mv), step):
        crc = zlib.crc32(mv[i : i + step], crc)
    return crc


def os_error(e: OSError, path: str) -> Exception:
    """The SqlError for a failed write: disk full (53100) or I/O error (58030)."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(f'could not write to file "{path}": No space left on device')
    return IoError(f'could not write to file "{path}": {e.strerror or e}')


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SyncBatch:
    """Files written without their own fsync, made durable together before they are used.

    A checkpoint writes many files; syncing each one costs a journal commit. They are
    only referenced once CHECKPOINT is replaced, so they can be synced in one pass first.
    """

    def __init__(self) -> None:
        self.files: list[str] = []
        self.dirs: set[str] = set()

    def add(self, path: str) -> None:
        self.files.append(path)
        self.dirs.add(os.path.dirname(path) or ".")

    def flush(self) -> None:
        try:
            if len(self.files) > 64:
                os.sync()
            else:
                for p in self.files:
                    fd = os.open(p, os.O_RDONLY)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
            for d in self.dirs:
                fsync_dir(d)
        except OSError as e:
            raise os_error(e, self.files[0] if self.files else ".") from e
        self.files.clear()
        self.dirs.clear()


def write_atomic(path: str, data: bytes, batch: SyncBatch | None = None) -> None:
    """Replace `path` with `data`: write a temporary file, fsync, rename, fsync the directory.

    With a batch the fsyncs are left to `batch.flush()`.
    """
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            if batch is None:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if batch is None:
            fsync_dir(os.path.dirname(path) or ".")
        else:
            batch.add(path)
    except OSError as e:
        raise os_error(e, path) from e


def dump_json_file(magic: str, obj: dict) -> bytes:
    body = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
    return f"{magic} {FORMAT_VERSION} {crc32(body):08x}\n".encode() + body


def load_json_file(path: str, magic: str, what: Name) -> dict:
    """Read a checksummed JSON file; DataCorrupted when missing, foreign or damaged."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataCorrupted(f'could not read file "{path}" of {what}: {e.strerror}') from e
    head, _, body = raw.partition(b"\n")
    parts = head.decode("latin-1").split()
    if len(parts) != 3 or parts[0] != magic:
        raise DataCorrupted(f'file "{path}" of {what} is not a {magic} file')
    if int(parts[1]) != FORMAT_VERSION:
        raise DataCorrupted(f'file "{path}" of {what} has unsupported format version {parts[1]}')
    if f"{crc32(body):08x}" != parts[2]:
        raise DataCorrupted(f'checksum mismatch in file "{path}" of {what}')
    return json.loads(body)


# -- segment files ------------------------------------------------------------------------


def write_segment(
    path: str, table: pa.Table, table_id: int, seg_id: int, batch: SyncBatch | None = None
) -> tuple[int, int]:
    """Write a segment file (header + Arrow IPC stream), fsynced; returns (size, crc)."""
    tmp = path + ".tmp"
    try:
        with pa.OSFile(tmp, "wb") as sink:
            sink.write(b"\0" * HEADER.size)
            with pa.ipc.new_stream(sink, table.schema) as w:
                w.write_table(table)
            length = sink.tell() - HEADER.size
        with pa.memory_map(tmp) as mm:
            crc = crc32(mm.read_buffer()[HEADER.size :]) if length else 0
        head = HEADER.pack(
            SEG_MAGIC, FORMAT_VERSION, 0, length, crc, table_id, seg_id, table.num_rows
        )
        with open(tmp, "r+b") as f:
            f.write(head)
            if batch is None:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if batch is not None:
            batch.add(path)
    except OSError as e:
        raise os_error(e, path) from e
    return length + HEADER.size, crc


def read_segment(path: str, what: Name, *, verify: bool = True) -> pa.Table:
    """Memory-map a segment file and return its rows without copying them into the heap."""
    try:
        mm = pa.memory_map(path)
        buf = mm.read_buffer()
    except (OSError, pa.ArrowIOError) as e:
        raise DataCorrupted(f'could not open segment file "{path}" of {what}: {e}') from e
    if buf.size < HEADER.size:
        raise DataCorrupted(f'segment file "{path}" of {what} is truncated')
    magic, version, _flags, length, crc, _t, _s, rows = HEADER.unpack(buf[: HEADER.size])
    if magic != SEG_MAGIC:
        raise DataCorrupted(f'file "{path}" of {what} is not a segment file')
    if version != FORMAT_VERSION:
        raise DataCorrupted(f'segment file "{path}" of {what} has unsupported version {version}')
    if length != buf.size - HEADER.size:
        raise DataCorrupted(f'segment file "{path}" of {what} is truncated')
    body = buf.slice(HEADER.size)
    if verify and crc32(body) != crc:
        raise DataCorrupted(f'checksum mismatch in segment file "{path}" of {what}')
    try:
        table = pa.ipc.open_stream(body).read_all()
    except pa.ArrowException as e:
        raise DataCorrupted(f'invalid data in segment file "{path}" of {what}: {e}') from e
    if table.num_rows != rows:
        raise DataCorrupted(f'segment file "{path}" of {what} has a wrong row count')
    return table


def write_deletes(
    path: str, mask: np.ndarray, table_id: int, seg_id: int, batch: SyncBatch | None = None
) -> tuple[int, int]:
    """Write a delete file (header + packed bits), fsynced; returns (size, crc).

    Written under a temporary name and renamed, so a crash never leaves a partial file
    under the final name (a later checkpoint reuses a delete file that exists).
    """
    body = np.packbits(mask).tobytes()
    crc = crc32(body)
    head = HEADER.pack(DEL_MAGIC, FORMAT_VERSION, 0, len(body), crc, table_id, seg_id, len(mask))
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(head + body)
            if batch is None:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if batch is not None:
            batch.add(path)
    except OSError as e:
        raise os_error(e, path) from e
    return len(head) + len(body), crc


def deletes_size(rows: int) -> int:
    """The size of a complete delete file for a segment of `rows` rows."""
    return HEADER.size + (rows + 7) // 8


def read_deletes(path: str, what: Name) -> np.ndarray:
    """The boolean delete mask stored in a delete file."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataCorrupted(f'could not open delete file "{path}" of {what}: {e.strerror}') from e
    if len(raw) < HEADER.size:
        raise DataCorrupted(f'delete file "{path}" of {what} is truncated')
    magic, version, _flags, length, crc, _t, _s, rows = HEADER.unpack(raw[: HEADER.size])
    body = raw[HEADER.size :]
    if magic != DEL_MAGIC or version != FORMAT_VERSION or len(body) != length:
        raise DataCorrupted(f'delete file "{path}" of {what} is damaged')
    if crc32(body) != crc:
        raise DataCorrupted(f'checksum mismatch in delete file "{path}" of {what}')
    mask = np.unpackbits(np.frombuffer(body, dtype=np.uint8), count=rows).astype(bool)
    mask.flags.writeable = False
    return mask
