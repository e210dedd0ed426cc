"""Every snippet of the README's "Connect with ..." section runs against a real server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _snippets(lang: str) -> list[str]:
    text = README.read_text()
    section = text[text.index("## Connect with ..."):]
    return re.findall(rf"```{lang}\n(.*?)```", section, re.S)


def _fill(code: str, server) -> str:
    return code.replace("HOST", server.host).replace("PORT", str(server.port))


def test_readme_has_connect_sections():
    assert len(_snippets("python")) == 3 and len(_snippets("sh")) == 1
    assert len(_snippets("java")) == 1 and len(_snippets("js")) == 1


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_psql_snippet(server):
    out = subprocess.run(_fill(_snippets("sh")[0], server), shell=True, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "vector" in out.stdout


def test_python_snippets(server):
    for code in _snippets("python"):
        r = subprocess.run([sys.executable, "-c", _fill(code, server)], capture_output=True,
                           text=True, timeout=120, env=dict(os.environ))
        assert r.returncode == 0, r.stderr[-2000:]
    assert "readme_frame" in r.stdout or "k" in r.stdout


def test_jdbc_snippet(server, tmp_path):
    from tests.clients.test_jdbc import _jdbc_jar

    test_python_snippets(server)  # creates readme_items
    if shutil.which("java") is None or _jdbc_jar() is None:
        pytest.skip("java or pgJDBC is not available")
    src = tmp_path / "Connect.java"
    src.write_text(_fill(_snippets("java")[0], server))
    r = subprocess.run(["java", "-cp", _jdbc_jar(), str(src)], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["1"]


def test_node_snippet(server, tmp_path):
    from tests.clients.test_node import CACHE

    test_python_snippets(server)
    mods = CACHE / "node_modules"
    if shutil.which("node") is None or not (mods / "pg").exists():
        pytest.skip("node or the pg package is not available (tests/clients/test_node.py installs it)")
    src = tmp_path / "connect.js"
    src.write_text(_fill(_snippets("js")[0], server))
    r = subprocess.run(["node", str(src)], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, NODE_PATH=str(mods)))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "id: 1" in r.stdout
