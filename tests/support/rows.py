"""Rows of a statement run on an in-process Session, as tuples (for tests below the wire)."""

from __future__ import annotations

from sqlvec.session import Session


def run(s: Session, sql: str) -> list[tuple]:
    out = []
    for res in s.execute(sql):
        for b in getattr(res, "batches", []):
            out += [tuple(r.values()) for r in b.to_pylist()]
    return out
