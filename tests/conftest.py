"""Shared fixtures: a real `python -m sqlvec serve` process on a free 127.0.0.1 port, an
embedded connection (`db`), PostgreSQL 15 (`pg15_dsn`, `pg`: tests/support/conftest_pg.py).

    def test_x(server):                      # one server per test module, data in a tmp dir
        psycopg.connect(server.dsn)

    def test_y(server_factory):              # a server with its own options
        srv = server_factory("--auth", "scram-sha-256", "--user", "u", "--password", "p")
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.support.conftest_pg"]  # pg15_dsn and pg (PostgreSQL 15 as the oracle)
_LISTENING = re.compile(r"sqlvec listening on (\S+):(\d+), data in (.*)")


@dataclass
class ServerProcess:
    """A running sqlvec server: where it listens, its data directory, process and log."""

    host: str
    port: int
    data: str
    proc: subprocess.Popen
    log: Path
    user: str = "sqlvec"  # the engine's bootstrap superuser
    database: str = "sqlvec"  # the engine's default database
    extra: dict = field(default_factory=dict)

    @property
    def dsn(self) -> str:
        return (f"host={self.host} port={self.port} user={self.user} "
                f"dbname={self.database} sslmode=disable")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Signal the server and wait for it to exit; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_server(data: str, log: Path, *args: str, timeout: float = 120) -> ServerProcess:
    """Start `python -m sqlvec serve --port 0 --data DATA ARGS...`; wait for its start-up line."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with open(log, "w") as logf:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sqlvec", "serve", "--host", "127.0.0.1", "--port", "0",
             "--data", data, *args],
            cwd=REPO, stdout=logf, stderr=subprocess.STDOUT, env=env,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = _LISTENING.search(log.read_text(errors="replace"))
        if m:
            return ServerProcess(m.group(1), int(m.group(2)), data, proc, log)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"sqlvec server did not start:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture
def server_factory(tmp_path):
    """Start servers with custom arguments; each is stopped (SIGTERM, then kill) at the end."""
    started: list[ServerProcess] = []

    def factory(*args: str, data: str | None = None) -> ServerProcess:
        n = len(started)
        path = data if data is not None else str(tmp_path / f"data{n}")
        srv = start_server(path, tmp_path / f"server{n}.log", *args)
        started.append(srv)
        return srv

    yield factory
    for srv in started:
        srv.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One trust-auth server per test module, with its data in a temporary directory."""
    tmp = tmp_path_factory.mktemp("sqlvec-server")
    srv = start_server(str(tmp / "data"), tmp / "server.log")
    yield srv
    srv.stop()


@pytest.fixture()
def db():
    """An embedded in-memory connection in autocommit mode; run(sql) -> rows."""
    import sqlvec

    con = sqlvec.connect(":memory:")
    con.autocommit = True
    cur = con.cursor()

    def run(sql: str, params=None):
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None

    yield run
    con.close()
