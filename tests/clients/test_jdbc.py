"""pgJDBC (Debian's libpostgresql-jdbc-java, Java 17) against sqlvec, compared with PostgreSQL 15."""

from __future__ import annotations

import glob
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.clients.conftest import need

PROBE = Path(__file__).parent / "jdbc" / "JdbcProbe.java"


def _jdbc_jar() -> str | None:
    """The pgJDBC jar; installed with apt-get where missing (root only), else None."""
    jars = glob.glob("/usr/share/java/postgresql*.jar")
    if not jars and shutil.which("apt-get") is not None:
        subprocess.run(["apt-get", "install", "-y", "-q", "libpostgresql-jdbc-java"],
                       capture_output=True, timeout=300, check=False)
        jars = glob.glob("/usr/share/java/postgresql*.jar")
    return sorted(jars, key=len)[0] if jars else None


@pytest.fixture(scope="module")
def jar() -> str:
    if shutil.which("java") is None:
        pytest.skip("java is not installed (needs Java 17)")
    found = _jdbc_jar()
    if found is None:
        pytest.skip("pgJDBC (libpostgresql-jdbc-java) is not installed and could not be installed")
    return found


def _probe(jar: str, host: str, port: int, db: str, user: str) -> list[str]:
    r = subprocess.run(["java", "-cp", jar, str(PROBE), f"jdbc:postgresql://{host}:{port}/{db}", user],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout.splitlines()


def test_jdbc_matches_postgresql(jar, server, pg15):
    mine = _probe(jar, server.host, server.port, server.database, server.user)
    assert mine[:2] == ["row 2 item2 2.50", "row 3 item3 3.50"]
    assert "product PostgreSQL 15" in mine
    pg = need(pg15)
    theirs = _probe(jar, pg.host, pg.port, "postgres", "postgres")
    assert mine == theirs
