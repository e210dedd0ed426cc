"""node-postgres (`pg` from npm) against sqlvec, compared with PostgreSQL 15."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.clients.conftest import need

PROBE = Path(__file__).parent / "node" / "probe.js"
CACHE = Path(os.environ.get("SQLVEC_NODE_CACHE", Path.home() / ".cache" / "sqlvec-node"))


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """`pg` installed with npm into a cache directory once; skipped visibly when impossible."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm are not installed")
    mods = CACHE / "node_modules"
    if not (mods / "pg").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "pg@8"],
                           cwd=CACHE, capture_output=True, text=True, timeout=300)
        if r.returncode != 0 or not (mods / "pg").exists():
            pytest.skip(f"npm could not install pg: {r.stderr[-300:]}")
    return mods


def _probe(mods: Path, host: str, port: int, user: str, db: str) -> dict:
    env = dict(os.environ, NODE_PATH=str(mods))
    r = subprocess.run(["node", str(PROBE), host, str(port), user, db], capture_output=True,
                       text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_node_pg(node_modules, server, pg15):
    mine = _probe(node_modules, server.host, server.port, server.user, server.database)
    assert mine["rows"] == [{"id": 1, "name": "a", "score": 0.5}, {"id": 2, "name": "b", "score": None}]
    assert mine["error"] == ["42P01", 'relation "node_missing" does not exist']
    assert mine["pool"] == [2, 4, 6, 8, 10]
    pg = need(pg15)
    theirs = _probe(node_modules, pg.host, pg.port, "postgres", "postgres")
    assert mine == theirs
