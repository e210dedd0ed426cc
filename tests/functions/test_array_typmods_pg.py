"""Array columns and casts with an element typmod (varchar(n)[], char(n)[], numeric(p,s)[])
apply it to every element, as PostgreSQL: an assignment checks (22001, 22003), an explicit
cast cuts / pads / rounds. They were stored as given. Against PostgreSQL 15."""

from __future__ import annotations

STEPS = [
    "create table ta (a varchar(2)[], n numeric(3,1)[], c char(3)[])",
    "insert into ta (a) values ('{abc}')",
    "insert into ta (a) values ('{ab,x}')",
    "insert into ta (a) select '{abc}'::varchar[]",
    "insert into ta (a) values (array['xy', null])",
    "update ta set a = '{toolong}' where a = '{ab,x}'",
    "insert into ta (n) values ('{12.34}')",
    "insert into ta (n) values ('{1234}')",
    "insert into ta (c) values ('{a}')",
    "select a, n, c from ta order by 1, 2, 3",
    "select '{abc,de}'::varchar(2)[], '{1.25,3}'::numeric(3,1)[], array['abc']::varchar(2)[],"
    " '{a}'::char(3)[]",
]


def _outcomes(run) -> list:
    out = []
    for sql in STEPS:
        try:
            out.append(run(sql))
        except Exception as e:  # noqa: BLE001 - the SQLSTATE and words are the answer
            out.append((e.sqlstate, str(e).splitlines()[0]))
    return out


def test_element_typmods_as_postgresql(pg, db):
    assert _outcomes(db) == _outcomes(pg)
