"""COPY TO STDOUT follows the session as query results do (TimeZone for timestamptz)."""

from __future__ import annotations

import psycopg
import pytest


def _copy_out(con: psycopg.Connection, sql: str) -> str:
    with con.cursor().copy(sql) as cp:
        return b"".join(bytes(chunk) for chunk in cp).decode()


def test_copy_to_stdout_prints_timestamptz_in_the_session_time_zone(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE TABLE sem_copy_tz (id int, at timestamptz, d date, ts timestamp)")
        con.execute("INSERT INTO sem_copy_tz SELECT g, timestamptz '2024-01-02 03:04:05+00' + g * interval '1 day',"
                    " date '2024-07-01', timestamp '2024-07-01 12:00:00' FROM generate_series(1, 3) g")
        con.execute("INSERT INTO sem_copy_tz VALUES (4, NULL, NULL, NULL)")
        con.execute("SET TimeZone = 'America/New_York'")
        sql = "SELECT at FROM sem_copy_tz WHERE id = 1"
        assert con.execute(sql).fetchone()[0].utcoffset().total_seconds() == -5 * 3600
        text = _copy_out(con, "COPY (SELECT * FROM sem_copy_tz ORDER BY id) TO STDOUT")
        assert text.splitlines() == [
            "1\t2024-01-02 22:04:05-05\t2024-07-01\t2024-07-01 12:00:00",
            "2\t2024-01-03 22:04:05-05\t2024-07-01\t2024-07-01 12:00:00",
            "3\t2024-01-04 22:04:05-05\t2024-07-01\t2024-07-01 12:00:00",
            "4\t\\N\t\\N\t\\N",
        ]
        csv = _copy_out(con, "COPY sem_copy_tz (id, at) TO STDOUT WITH (FORMAT csv)")
        assert "1,2024-01-02 22:04:05-05" in csv.splitlines()
        con.execute("SET TimeZone = 'Asia/Kolkata'")
        text = _copy_out(con, "COPY (SELECT at FROM sem_copy_tz WHERE id = 1) TO STDOUT")
        assert text == "2024-01-03 08:34:05+05:30\n"
        con.execute("RESET TimeZone")
        text = _copy_out(con, "COPY (SELECT at FROM sem_copy_tz WHERE id = 1) TO STDOUT")
        assert text == "2024-01-03 03:04:05+00\n"


def test_copy_from_invalid_utf8_is_22021_and_loads_nothing(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE TABLE sem_copy_u8 (id int, t text)")
        for fmt in ("text", "csv"):
            sep = b"\t" if fmt == "text" else b","
            with pytest.raises(psycopg.errors.CharacterNotInRepertoire) as ei:
                with con.cursor().copy(f"COPY sem_copy_u8 FROM STDIN WITH (FORMAT {fmt})") as cp:
                    cp.write(b"1" + sep + b"ok\n2" + sep + b"bad \xc3\x28 byte\n")
            assert ei.value.diag.message_primary == 'invalid byte sequence for encoding "UTF8": 0xc3 0x28'
            assert con.execute("SELECT count(*) FROM sem_copy_u8").fetchone() == (0,)
