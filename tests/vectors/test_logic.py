"""Vector logic tests (tests/vectors/slt/*.slt), replayed embedded and over the wire.

These need pgvector semantics, so unlike sqllogic/tests they are not checked against a
plain PostgreSQL 15; their expected values are pgvector's documented outputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sqllogic import run_file
from sqllogic.backends import embedded_factory, wire_factory

FILES = sorted((Path(__file__).parent / "slt").glob("*.slt"))


def _report(rep) -> None:
    assert rep.failures == [], "\n".join(f"{rep.path}:{f.line}: {f.sql[:80]!r} {f.reason[:300]}"
                                         for f in rep.failures)
    assert rep.passed > 10


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_embedded(path):
    _report(run_file(path, embedded_factory(), display_path=path.name))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_wire(server, path):
    _report(run_file(path, wire_factory(server.dsn, "schema", timeout=60), display_path=path.name))
