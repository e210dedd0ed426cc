"""pgvector's settings are checked at SET time, with PostgreSQL's errors (22023)."""

from __future__ import annotations

import pytest

from sqlvec.core.errors import InvalidParameterValue
from sqlvec.session.settings import Settings


@pytest.mark.parametrize("name,value,message", [
    ("hnsw.ef_search", "0", '0 is outside the valid range for parameter "hnsw.ef_search" (1 .. 1000)'),
    ("hnsw.ef_search", "-1", '-1 is outside the valid range for parameter "hnsw.ef_search" (1 .. 1000)'),
    ("hnsw.ef_search", "1001", '1001 is outside the valid range for parameter "hnsw.ef_search" (1 .. 1000)'),
    ("hnsw.ef_search", "abc", 'invalid value for parameter "hnsw.ef_search": "abc"'),
    ("hnsw.ef_search", "nan", 'invalid value for parameter "hnsw.ef_search": "nan"'),
    ("ivfflat.probes", "0", '0 is outside the valid range for parameter "ivfflat.probes" (1 .. 32768)'),
    ("ivfflat.probes", "32769", '32769 is outside the valid range for parameter "ivfflat.probes" (1 .. 32768)'),
    ("hnsw.iterative_scan", "on", 'invalid value for parameter "hnsw.iterative_scan": "on"'),
    ("ivfflat.iterative_scan", "strict_order", 'invalid value for parameter "ivfflat.iterative_scan": "strict_order"'),
    ("hnsw.scan_mem_multiplier", "0.5", '0.5 is outside the valid range for parameter "hnsw.scan_mem_multiplier" (1 .. 1000)'),
])
def test_rejected_at_set(name, value, message):
    s = Settings()
    with pytest.raises(InvalidParameterValue) as e:
        s.set(name, value)
    assert str(e.value) == message and e.value.sqlstate == "22023"
    assert s.get(name) == s.defaults[name]  # unchanged


@pytest.mark.parametrize("name,value,shown", [
    ("hnsw.ef_search", "1000", "1000"), ("hnsw.ef_search", " 0100 ", "100"),
    ("hnsw.ef_search", "10.6", "11"), ("ivfflat.probes", "32768", "32768"),
    ("hnsw.iterative_scan", "strict_order", "strict_order"),
    ("hnsw.iterative_scan", "relaxed_order", "relaxed_order"),
    ("ivfflat.iterative_scan", "relaxed_order", "relaxed_order"),
    ("hnsw.max_scan_tuples", "50000", "50000"), ("hnsw.scan_mem_multiplier", "2.5", "2.5"),
])
def test_accepted(name, value, shown):
    s = Settings()
    s.set(name, value)
    assert s.get(name) == shown


def test_over_sql_and_set_config(db):
    db("set hnsw.ef_search = 200")
    with pytest.raises(Exception) as e:
        db("select set_config('ivfflat.probes', '0', false)")
    assert getattr(e.value, "sqlstate", None) == "22023"
    assert db("show hnsw.ef_search") == [("200",)]
    assert db("show ivfflat.probes") == [("1",)]
