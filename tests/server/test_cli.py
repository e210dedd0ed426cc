"""`sqlvec serve` command line: sizes, the start-up line, SIGINT."""

from __future__ import annotations

import os
import signal

import psycopg

from sqlvec.server.cli import build_parser, parse_size


def test_parse_size():
    assert parse_size("256MB") == 256 << 20
    assert parse_size("64kB") == 64 << 10
    assert parse_size("1g") == 1 << 30
    assert parse_size("4096") == 4096


def test_defaults():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.data, args.auth) == ("127.0.0.1", 5433, "./sqlvec-data",
                                                            "trust")


def test_startup_line_and_sigint(server_factory, tmp_path):
    srv = server_factory(data=str(tmp_path / "d"))
    first = srv.log_text().splitlines()[0]
    assert first == f"sqlvec listening on 127.0.0.1:{srv.port}, data in {tmp_path / 'd'}"
    assert os.path.isdir(tmp_path / "d")
    with psycopg.connect(srv.dsn) as con:
        assert con.execute("SELECT 1").fetchone() == (1,)
    assert srv.stop(signal.SIGINT) == 0
