"""Start the databases the runner talks to: a sqlvec server process, or PostgreSQL 15."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_LISTENING = re.compile(r"sqlvec listening on (\S+):(\d+)")


def _wait_listening(proc: subprocess.Popen, log: Path, deadline: float) -> tuple[str, int]:
    """Wait for the server's 'sqlvec listening on HOST:PORT' line; return (host, port)."""
    while time.monotonic() < deadline:
        m = _LISTENING.search(log.read_text(errors="replace"))
        if m:
            return m.group(1), int(m.group(2))
        if proc.poll() is not None:
            raise RuntimeError(f"sqlvec server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    raise RuntimeError(f"sqlvec server did not start:\n{log.read_text(errors='replace')[-3000:]}")


@contextmanager
def sqlvec_server(data: str = ":memory:", timeout: float = 60.0) -> Iterator[str]:
    """Run `python -m sqlvec serve --port 0 --data DATA` on 127.0.0.1; yield its DSN."""
    with tempfile.TemporaryDirectory(prefix="sqlvec-slt-") as tmp:
        log = Path(tmp) / "server.log"
        with open(log, "w") as logf:
            env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
            proc = subprocess.Popen(
                [sys.executable, "-m", "sqlvec", "serve", "--host", "127.0.0.1", "--port", "0",
                 "--data", data],
                cwd=REPO, stdout=logf, stderr=subprocess.STDOUT, env=env,
            )
            try:
                host, port = _wait_listening(proc, log, time.monotonic() + timeout)
                yield f"host={host} port={port} user=postgres dbname=postgres sslmode=disable"
            finally:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def postgres_server() -> AbstractContextManager[str]:
    """A throw-away PostgreSQL 15 cluster (tests/support/pg.py); yields its DSN."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.support.pg import postgres_server as start

    return start()
