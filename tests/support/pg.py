"""A throw-away PostgreSQL 15 cluster for tests that compare sqlvec with the real thing.

    with postgres_server() as dsn:
        psycopg.connect(dsn)

initdb + pg_ctl from `pg_config --bindir`, in a temporary directory, listening on a free
127.0.0.1 port with trust authentication; run as the `postgres` OS user when we are root
(PostgreSQL refuses to run as root). Stopped and deleted on exit. `pg_available()` tells
tests whether to skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Settings that make a test cluster fast and small; durability does not matter here.
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "40",
    "listen_addresses": "'127.0.0.1'",
    "log_min_messages": "warning",
    "logging_collector": "off",
}


def pg_bindir() -> Path | None:
    """The directory of initdb/pg_ctl (from `pg_config --bindir`), None when absent."""
    env = os.environ.get("SQLVEC_PG_BINDIR")
    if env:
        return Path(env)
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
    path = Path(out.stdout.strip())
    return path if (path / "initdb").exists() else None


def pg_available() -> bool:
    """True when a PostgreSQL installation we can start is on this machine."""
    bindir = pg_bindir()
    if bindir is None:
        return False
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], user: str | None, log: Path | None = None) -> None:
    """Run a PostgreSQL tool (as `user` when given), raising with its output on failure."""
    res = subprocess.run(args, user=user, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        extra = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise RuntimeError(f"{' '.join(args)} failed:\n{res.stdout}\n{res.stderr}\n{extra}")


def _start(bindir: Path, data: Path, log: Path, user: str | None) -> int:
    """pg_ctl start on a free port; returns it. The port is free when chosen, and another
    process on a busy machine can bind it before PostgreSQL does: then another port (the
    server never started, so this repeats no test)."""
    for attempt in range(5):
        port = free_port()
        with open(data / "postgresql.conf", "a") as f:
            f.write(f"port = {port}\n")  # (the last setting of a name wins)
        try:
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "120",
                  "start"], user, log)
            return port
        except RuntimeError:
            taken = "Address already in use" in (log.read_text(errors="replace")
                                                 if log.exists() else "")
            if not taken or attempt == 4:
                raise
            log.unlink()
    raise AssertionError("unreachable")


@contextmanager
def postgres_server(settings: dict[str, str] | None = None) -> Iterator[str]:
    """Start a fresh cluster; yield its DSN (user postgres, database postgres); remove it."""
    bindir = pg_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (pg_config not found)")
    user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="sqlvec-pg-"))
    data, log = root / "data", root / "server.log"
    if user is not None:
        shutil.chown(root, user=user)
    conf = dict(FAST_SETTINGS, unix_socket_directories=f"'{root}'")
    conf.update(settings or {})
    try:
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            user,
        )
        with open(data / "postgresql.conf", "a") as f:
            f.writelines(f"{k} = {v}\n" for k, v in conf.items())
        port = _start(bindir, data, log, user)
        try:
            yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
        finally:
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], user)
    finally:
        shutil.rmtree(root, ignore_errors=True)
