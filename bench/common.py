"""Shared benchmark helpers: throw-away PostgreSQL 15 and sqlvec servers, CPU time, tables.

Benchmarks compare peers in the same run, interleaved, and report ratios: on these shared
2-core machines wall-clock time moves up to 2.5x between runs, CPU time per process much
less, so both are printed. BLAS threads are pinned to 1 (environment variables set before
numpy loads, inherited by the servers we start) so small matrix work does not spin.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy / pyarrow load anywhere in this process

import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.pg import FAST_SETTINGS, pg_available, pg_bindir, postgres_server  # noqa: E402,F401

_TICK = os.sysconf("SC_CLK_TCK")
_LISTENING = re.compile(r"sqlvec listening on (\S+):(\d+), data in (.*)")

# PostgreSQL as a user would run it for analytics on this box (durable, default planner).
PG_DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
PG_ANALYTIC = {
    "shared_buffers": "512MB",
    "work_mem": "64MB",
    "max_wal_size": "4GB",
    "max_parallel_workers_per_gather": "2",
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its reaped children and its live descendants.

    For PostgreSQL pass the postmaster: backends and parallel workers are its children.
    """
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    total = sum(int(x) for x in fields[11:15]) / _TICK
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except FileNotFoundError:
            continue
        for kid in kids:
            try:
                total += tree_cpu(kid)
            except (FileNotFoundError, ProcessLookupError):
                pass  # exited meanwhile (its time is in our cutime once reaped)
    return total


def postmaster_pid(conn: object) -> int:
    """The postmaster of the cluster a psycopg connection talks to (parent of its backend)."""
    with open(f"/proc/{backend_pid(conn)}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def self_cpu() -> float:
    """CPU seconds of this (client) process."""
    t = os.times()
    return t.user + t.system


@dataclass
class Timing:
    """Median wall time and CPU seconds (server, client) of repeated runs of one thing."""

    wall: float
    server_cpu: float
    client_cpu: float

    @property
    def cpu(self) -> float:
        return self.server_cpu + self.client_cpu


def measure(fn: Callable[[], object], server_pid: Callable[[], int], repeat: int = 3) -> Timing:
    """Run fn once to warm up, then `repeat` times; medians of wall and CPU time."""
    fn()
    walls, scpu, ccpu = [], [], []
    for _ in range(repeat):
        pid = server_pid()
        s0, c0, t0 = tree_cpu(pid), self_cpu(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        scpu.append(tree_cpu(pid) - s0)
        ccpu.append(self_cpu() - c0)
    return Timing(statistics.median(walls), statistics.median(scpu), statistics.median(ccpu))


@dataclass
class SqlvecServer:
    """A `python -m sqlvec serve` process we started."""

    proc: subprocess.Popen
    port: int
    data: str
    log: Path

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=sqlvec dbname=sqlvec sslmode=disable"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_sqlvec(data: str, *args: str, timeout: float = 600) -> tuple[SqlvecServer, float]:
    """Start a sqlvec server on `data`; returns it and the seconds until it listened."""
    log = Path(data).with_suffix(".log")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    start = log.stat().st_size if log.exists() else 0
    t0 = time.perf_counter()
    with open(log, "a") as logf:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sqlvec",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--data",
                data,
                *args,
            ],
            cwd=REPO,
            stdout=logf,
            stderr=subprocess.STDOUT,
            env=env,
        )
    while time.perf_counter() - t0 < timeout:
        m = _LISTENING.search(log.read_text(errors="replace"), start)
        if m:
            return SqlvecServer(proc, int(m.group(2)), data, log), time.perf_counter() - t0
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"sqlvec did not start:\n{log.read_text(errors='replace')[-3000:]}")


@contextmanager
def sqlvec_server(*args: str) -> Iterator[SqlvecServer]:
    """A sqlvec server on a fresh temporary data directory, removed afterwards."""
    root = tempfile.mkdtemp(prefix="sqlvec-bench-")
    srv, _ = start_sqlvec(os.path.join(root, "data"), *args)
    try:
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def postgres(settings: dict[str, str] | None = None) -> Iterator[str]:
    """A throw-away PostgreSQL 15 cluster (tests/support/pg.py) with `settings` on top."""
    if not pg_available():
        raise SystemExit("PostgreSQL 15 is not installed (pg_config not found)")
    with postgres_server(settings) as dsn:
        yield dsn


def pg_settings(*extra: dict[str, str]) -> dict[str, str]:
    """tests/support FAST_SETTINGS overridden by `extra` (later wins)."""
    out = dict(FAST_SETTINGS)
    for e in extra:
        out.update(e)
    return out


def backend_pid(conn: object) -> int:
    """The PostgreSQL backend process serving a psycopg connection."""
    return conn.info.backend_pid  # type: ignore[attr-defined]


def print_table(headers: list[str], rows: list[list[object]]) -> str:
    """Print (and return) an aligned text table; floats get 3 significant decimals."""

    def fmt(v: object) -> str:
        if isinstance(v, float):
            return f"{v:,.3f}" if abs(v) < 100 else f"{v:,.0f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    cells = [[fmt(v) for v in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(headers, widths)),
        "  ".join("-" * w for w in widths),
    ]
    lines += [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in cells
    ]
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def ratio(pg: float, sv: float) -> str:
    """PostgreSQL / sqlvec: above 1 means sqlvec is faster (for times)."""
    return f"{pg / sv:.2f}x" if sv > 0 else "inf"


def machine_note() -> str:
    """One line saying what ran where, for the recorded figures."""
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs, load avg {load[0]:.1f}/{load[1]:.1f}, python "
        f"{sys.version.split()[0]}, BLAS threads pinned to 1"
    )
