"""Start/kill real `sqlvec serve` processes (through serve_hooked.py) for the durability tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVE_HOOKED = Path(__file__).with_name("serve_hooked.py")
_LISTENING = re.compile(r"sqlvec listening on (\S+):(\d+), data in (.*)")


@dataclass
class Hooked:
    """A running hooked server: its process, port, log and maintenance-event file."""

    proc: subprocess.Popen
    port: int
    log: Path
    events: Path
    started_s: float  # seconds from spawn to the listening line (start-up + WAL recovery)

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=sqlvec dbname=sqlvec sslmode=disable"

    def kill(self) -> None:
        """SIGKILL: no checkpoint, no flush, no goodbye."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> int:
        """SIGTERM (clean shutdown with a checkpoint); kill after 120 s (a safety net: a
        checkpoint of thousands of tables on a loaded machine takes a while)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def cpu_s(self) -> float:
        """CPU seconds the server process has used so far (user + system, all threads):
        what a cost bound measures, as a loaded machine stretches wall time, not CPU."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_hooked(
    data: Path,
    log: Path,
    events: Path,
    *args: str,
    checkpoint_bytes: int | None = None,
    compact_fanout: int | None = None,
    seal_rows: int | None = None,
    timeout: float = 120,
) -> Hooked:
    """Start serve_hooked.py on `data`; return once it listens (raises with its log if not)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), SQLVEC_TEST_EVENTS=str(events))
    if checkpoint_bytes is not None:
        env["SQLVEC_TEST_CHECKPOINT_BYTES"] = str(checkpoint_bytes)
    if compact_fanout is not None:
        env["SQLVEC_TEST_COMPACT_FANOUT"] = str(compact_fanout)
    if seal_rows is not None:
        env["SQLVEC_TEST_SEAL_ROWS"] = str(seal_rows)
    start = log.stat().st_size if log.exists() else 0
    t0 = time.monotonic()
    with open(log, "a") as logf:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(SERVE_HOOKED),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--data",
                str(data),
                *args,
            ],
            cwd=REPO,
            stdout=logf,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        m = _LISTENING.search(text, start)
        if m and proc.poll() is None:
            return Hooked(proc, int(m.group(2)), log, events, time.monotonic() - t0)
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"sqlvec server did not start:\n{log.read_text(errors='replace')[-3000:]}")
