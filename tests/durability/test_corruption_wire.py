"""Flipped bytes: in a segment file XX001 over the wire, never wrong rows, the server lives on;
in a WAL record with commits after it, the server refuses to start and names file and offset."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.durability.harness import REPO, start_hooked
from tests.support.engine import ENGINE_MISSING, engine_available

pytestmark = pytest.mark.skipif(not engine_available(), reason=ENGINE_MISSING)

ROWS = 20_000


@pytest.fixture(scope="module")
def corrupted(tmp_path_factory):
    """A server whose table `victim` has one flipped byte in its biggest segment file."""
    tmp = tmp_path_factory.mktemp("corrupt")
    data, log, events = tmp / "data", tmp / "server.log", tmp / "events"
    srv = start_hooked(data, log, events)
    try:
        with psycopg.connect(srv.dsn, autocommit=True) as c:
            c.execute("CREATE TABLE victim (id int8 PRIMARY KEY, note text)")
            c.execute(
                "INSERT INTO victim SELECT g, 'note ' || g FROM generate_series(1::int8, %s) g",
                (ROWS,),
            )
            c.execute("CREATE TABLE bystander (id int8 PRIMARY KEY)")
            c.execute("INSERT INTO bystander VALUES (1), (2), (3)")
    finally:
        assert srv.stop() == 0  # clean shutdown: both tables sealed into segment files
    segs = sorted((data / "segments").rglob("*.seg"), key=lambda p: p.stat().st_size)
    assert segs, "no segment files after a clean shutdown"
    victim = segs[-1]  # 20,000 rows against 3
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    victim.write_bytes(bytes(raw))
    srv = start_hooked(data, log, events)
    yield srv
    srv.stop()


def test_reading_a_corrupted_segment_is_xx001_and_the_server_keeps_serving(corrupted) -> None:
    with psycopg.connect(corrupted.dsn, autocommit=True) as c:
        with pytest.raises(psycopg.errors.DataCorrupted) as e:
            c.execute("SELECT sum(id), max(note) FROM victim").fetchall()
        assert "checksum" in str(e.value)
        # the same session, another table, and a fresh connection all still work
        assert c.execute("SELECT sum(id) FROM bystander").fetchone() == (6,)
    with psycopg.connect(corrupted.dsn, autocommit=True) as c:
        with pytest.raises(psycopg.errors.DataCorrupted):
            c.execute("SELECT * FROM victim WHERE id = 17").fetchall()
        assert c.execute("SELECT count(*) FROM bystander").fetchone() == (3,)


def test_the_corruption_error_names_the_table(corrupted) -> None:
    with psycopg.connect(corrupted.dsn, autocommit=True) as c:
        with pytest.raises(psycopg.errors.DataCorrupted) as e:
            c.execute("SELECT sum(id) FROM victim").fetchall()
    assert 'relation "victim"' in str(e.value), str(e.value)


def _wal_records(path: Path) -> list[int]:
    """Offsets of the records of a WAL file, read from their frames."""
    from sqlvec.storage.wal import FILE_HEADER, FRAME

    data = path.read_bytes()
    pos, out = FILE_HEADER.size, []
    while pos + FRAME.size <= len(data):
        length = FRAME.unpack_from(data, pos)[0]
        out.append(pos)
        pos += FRAME.size + length + (8 - length % 8) % 8
    return out


def test_a_damaged_record_mid_wal_stops_startup_naming_file_and_offset(tmp_path) -> None:
    data, log, events = tmp_path / "data", tmp_path / "server.log", tmp_path / "events"
    srv = start_hooked(data, log, events)
    try:
        with psycopg.connect(srv.dsn, autocommit=True) as c:
            c.execute("CREATE TABLE acked (id int8 PRIMARY KEY, v text)")
            for i in range(20):  # one acknowledged commit (one WAL record) each
                c.execute("INSERT INTO acked VALUES (%s, %s)", (i, f"v{i}"))
    finally:
        srv.kill()  # no checkpoint: the rows live only in the WAL
    wal = max((data / "wal").glob("*.wal"))
    offs = _wal_records(wal)
    victim = offs[len(offs) // 2]
    raw = bytearray(wal.read_bytes())
    raw[victim + 40] ^= 0xFF  # inside the payload of a record with 10 commits after it
    wal.write_bytes(bytes(raw))
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file() and p.name != "LOCK"}
    proc = subprocess.run(
        [sys.executable, "-m", "sqlvec", "serve", "--host", "127.0.0.1", "--port", "0",
         "--data", str(data)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "listening" not in proc.stderr
    assert f'write-ahead log file "{wal}" is damaged at offset {victim}' in proc.stderr, (
        proc.stderr[-2000:]
    )
    after = {p: p.read_bytes() for p in data.rglob("*") if p.is_file() and p.name != "LOCK"}
    assert after == before  # the data directory is left as it was
