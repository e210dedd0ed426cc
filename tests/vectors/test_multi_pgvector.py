"""The multi-target logic tests replayed on PostgreSQL + pgvector: same rows, same errors.

Needs the `pgserver` wheel (the `bench` extra: PostgreSQL 16 with pgvector 0.6.2), started
from its own binaries (bench/ann_multi.PgvectorServer); skipped visibly without it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from sqllogic import run_file
from sqllogic.backends import wire_factory

REPO = Path(__file__).resolve().parents[2]
SLT = Path(__file__).parent / "slt" / "multi_search.slt"


def test_multi_search_slt_on_pgvector():
    pytest.importorskip("pgserver", reason="pgserver (PostgreSQL + pgvector) is not installed")
    sys.path.insert(0, str(REPO / "bench"))
    from ann_multi import PgvectorServer

    folder = tempfile.mkdtemp(prefix="pgvector-")
    try:
        server = PgvectorServer(folder, port=55437).__enter__()
    except Exception as e:  # noqa: BLE001 - no runnable cluster here (no postgres user, ...)
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"cannot start pgserver's PostgreSQL: {e}")
    try:
        rep = run_file(SLT, wire_factory(server.dsn, isolation="none"), engine="pgvector",
                       display_path=SLT.name)
    finally:
        server.__exit__()
        shutil.rmtree(folder, ignore_errors=True)
    assert rep.failures == [], "\n".join(f"{f.line}: {f.sql[:80]!r} {f.reason[:300]}"
                                         for f in rep.failures)
    assert rep.passed >= 15
