from __future__ import annotations

import pytest

from sqlvec.session import Database, Session


def rows_of(result) -> list[tuple]:
    out = []
    for b in result.batches:
        out.extend(zip(*[c.to_pylist() for c in b.columns]))
    return out


class Q:
    """Test helper: run SQL on a fresh in-memory session."""

    def __init__(self) -> None:
        self.db = Database.open(None)
        self.s = Session(self.db)

    def __call__(self, sql: str):
        results = list(self.s.execute(sql))
        last = results[-1]
        if hasattr(last, "batches"):
            return rows_of(last)
        return last.tag if hasattr(last, "tag") else last

    def result(self, sql: str):
        return list(self.s.execute(sql))[-1]


@pytest.fixture
def q() -> Q:
    return Q()
