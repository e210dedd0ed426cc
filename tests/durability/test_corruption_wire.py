"""A flipped byte in a segment file is XX001 over the wire, never wrong rows; the server lives on."""

from __future__ import annotations

import psycopg
import pytest

from tests.durability.harness import start_hooked
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
