"""WITH RECURSIVE is evaluated as it is read: LIMIT bounds the iterations, and a recursion
read to its end past the iteration cap fails with 54000 instead of a truncated result."""

import pytest

import sqlvec
from sqlvec.exec import recursive_cte

INFINITE = "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) "


@pytest.fixture
def cur(monkeypatch):
    monkeypatch.setattr(recursive_cte, "MAX_ITERATIONS", 20)
    con = sqlvec.connect(":memory:")
    con.autocommit = True
    yield con.cursor()
    con.close()


def test_limit_stops_the_recursion_before_the_cap(cur):
    cur.execute(INFINITE + "SELECT n FROM t LIMIT 15")
    assert [r[0] for r in cur.fetchall()] == list(range(1, 16))


def test_reading_past_the_cap_is_an_error(cur):
    with pytest.raises(sqlvec.dbapi.exceptions.OperationalError) as e:
        cur.execute(INFINITE + "SELECT count(*) FROM t")
    assert e.value.sqlstate == "54000"


def test_a_finished_recursion_under_the_cap(cur):
    cur.execute("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 10) "
                "SELECT count(*), sum(n) FROM t")
    assert cur.fetchall() == [(10, 55)]
