"""Window geometry (partition order, ORDER BY with directions and NULL placement, peers)
against a Python oracle on seeded rows with ties, NULLs, NaN and -0.0."""

from __future__ import annotations

import functools
import math
import random

import pytest

from sqlvec.session import Database, Session

N = 500


def _rows(s: Session, sql: str) -> list[tuple]:
    r = list(s.execute(sql))[-1]
    return [row for b in r.batches for row in zip(*[c.to_pylist() for c in b.columns])]


@pytest.fixture(scope="module")
def data() -> tuple[Session, list[tuple]]:
    rnd = random.Random(5)

    def pick(*vals):
        return rnd.choice(vals)

    rows = [(i, pick(None, 0, 1, 2, 3), pick(None, 1, 2, 3, 4, 5), pick(None, float("nan"), -0.0, 0.0, 1.5, -2.0, 7.0),
             pick(None, "a", "b", "ab", "B"), rnd.randrange(100)) for i in range(N)]
    s = Session(Database.open(None))
    list(s.execute("create table w (id int, p int, k int, f float8, t text, v int)"))

    def lit(x):
        if x is None:
            return "NULL"
        if isinstance(x, float):
            return "'NaN'::float8" if math.isnan(x) else f"{x!r}::float8"
        return f"'{x}'" if isinstance(x, str) else str(x)

    list(s.execute("insert into w values " + ", ".join("(" + ", ".join(map(lit, r)) + ")" for r in rows)))
    return s, rows


COL = {"id": 0, "p": 1, "k": 2, "f": 3, "t": 4, "v": 5}


def _cmp_val(a, b, desc: bool, nulls_first: bool) -> int:
    if a is None or b is None:
        if a is None and b is None:
            return 0
        return (1 if a is None else -1) * (-1 if nulls_first else 1)
    na, nb = isinstance(a, float) and math.isnan(a), isinstance(b, float) and math.isnan(b)
    c = (na > nb) - (na < nb) if na or nb else (a > b) - (a < b)  # NaN above every number
    return -c if desc else c


def _oracle(rows, part: str | None, keys: list[tuple[str, bool, bool]]):
    """Per row id: (row_number, rank, dense_rank, count over default frame, sum(v) over it)."""
    def cmp(x, y):
        for name, desc, nf in keys:
            c = _cmp_val(x[COL[name]], y[COL[name]], desc, nf)
            if c:
                return c
        return 0

    groups: dict = {}
    for r in rows:
        groups.setdefault(None if part is None else r[COL[part]], []).append(r)
    out = {}
    for members in groups.values():
        srt = sorted(members, key=functools.cmp_to_key(cmp))  # stable
        rank = dense = 0
        for i, r in enumerate(srt):
            if i == 0 or cmp(srt[i - 1], r):
                rank, dense = i + 1, dense + 1
            last = i
            while last + 1 < len(srt) and not cmp(srt[last + 1], r):
                last += 1
            frame = srt[: last + 1]
            out[r[0]] = (i + 1, rank, dense, len(frame), sum(x[5] for x in frame))
    return out


ORDERS = [
    ("p", [("k", False, False), ("id", False, False)]),
    ("p", [("f", True, True), ("id", True, True)]),
    (None, [("f", False, True), ("k", True, False), ("id", False, False)]),
    ("k", [("t", False, False), ("id", False, False)]),
    ("t", [("t", True, False), ("f", False, False), ("id", False, True)]),
]


@pytest.mark.parametrize("part,keys", ORDERS)
def test_window_geometry_matches_the_oracle(data, part, keys) -> None:
    s, rows = data
    order = ", ".join(f"{n}{' desc' if d else ''} nulls {'first' if nf else 'last'}" for n, d, nf in keys)
    ties = ", ".join(f"{n}{' desc' if d else ''} nulls {'first' if nf else 'last'}" for n, d, nf in keys[:-1])
    over = f"({'partition by ' + part + ' ' if part else ''}order by {order})"
    over_ties = f"({'partition by ' + part + ' ' if part else ''}order by {ties})"  # without id: peers
    got = _rows(s, f"select id, row_number() over {over}, rank() over {over_ties}, "
                   f"dense_rank() over {over_ties}, count(*) over {over_ties}, sum(v) over {over_ties} from w")
    full = _oracle(rows, part, keys)
    peer = _oracle(rows, part, keys[:-1])
    assert {r[0]: r[1:] for r in got} == {i: (full[i][0], *peer[i][1:]) for i in full}
