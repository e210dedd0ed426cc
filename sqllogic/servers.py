"""Start the databases the runner talks to: a sqlvec server process, or PostgreSQL 15."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(dsn: str, proc: subprocess.Popen, log: Path, deadline: float) -> None:
    """Poll until a psycopg connection succeeds, the process dies, or time runs out."""
    import psycopg

    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"sqlvec server exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            psycopg.connect(dsn, connect_timeout=2).close()
            return
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(0.1)
    raise RuntimeError(
        f"sqlvec server did not accept connections: {last}\n{log.read_text()[-3000:]}"
    )


@contextmanager
def sqlvec_server(data: str = ":memory:", timeout: float = 60.0) -> Iterator[str]:
    """Run `python -m sqlvec serve --port N --data DATA` on 127.0.0.1; yield its DSN."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="sqlvec-slt-") as tmp:
        log = Path(tmp) / "server.log"
        with open(log, "w") as logf:
            env = dict(
                os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
            )
            proc = subprocess.Popen(
                [sys.executable, "-m", "sqlvec", "serve", "--port", str(port), "--data", data],
                cwd=REPO,
                stdout=logf,
                stderr=subprocess.STDOUT,
                env=env,
            )
            try:
                dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=disable"
                _wait_ready(dsn, proc, log, time.monotonic() + timeout)
                yield dsn
            finally:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def postgres_server() -> AbstractContextManager[str]:
    """A throw-away PostgreSQL 15 cluster (tests/support/pg.py); yields its DSN."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.support.pg import postgres_server as start

    return start()
