"""The runner against a real PostgreSQL 15: passes what is right, catches what is wrong,
and --complete writes results that then pass."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sqllogic import corpus, run_file, wire_factory

GOOD = """\
hash-threshold 4

statement ok
CREATE TABLE t1(a INTEGER, b TEXT, c DOUBLE PRECISION, d NUMERIC(8,2), e BOOLEAN)

statement ok
INSERT INTO t1 VALUES (1, 'one', 1.5, 2.25, true), (2, '', -2.5, NULL, false), (10, NULL, 0.0005, 3, NULL)

query ITRRI rowsort
SELECT a, b, c, d, e FROM t1
----
1
one
1.500
2.250
1
10
NULL
0.001
3.000
NULL
2
(empty)
-2.500
NULL
0

query I rowsort label-a
SELECT a FROM t1 ORDER BY a
----
1
10
2

query I valuesort label-a
SELECT a FROM t1 ORDER BY a DESC
----
1
10
2

query I rowsort
SELECT a * 1000 + x FROM t1, generate_series(1, 2) AS x
----
6 values hashing to 332b8f1905df55ce34b169a1b951b507

statement error pgcode 22012 division by zero
SELECT 1 / 0

statement error
SELECT * FROM no_such_table

query error pgcode 42703
SELECT nope FROM t1

skipif postgresql
query I nosort
SELECT 'this would fail'
----
1

onlyif sqlite
statement ok
this is not sql

onlyif postgresql
query T nosort
SELECT 'pg only'
----
pg only

skipif sqlite
halt

query I nosort
SELECT 'never reached'
----
1
"""

BAD = """\
statement ok
CREATE TABLE t1(a INTEGER)

statement ok
INSERT INTO t1 VALUES (1), (2)

query I rowsort
SELECT a FROM t1
----
1
3

statement ok
SELECT 1 / 0

statement error
SELECT 1

statement error pgcode 42P01
SELECT 1 / 0

query II nosort
SELECT a FROM t1

query I nosort label-x
SELECT 1

query I nosort label-x
SELECT 2
----
2

query I nosort
SELECT a FROM t1 ORDER BY a
----
2
1
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_file_passes(pg15_dsn, tmp_path):
    rep = run_file(_write(tmp_path, "good.slt", GOOD), wire_factory(pg15_dsn))
    assert rep.failures == []
    assert (rep.records, rep.passed, rep.skipped, rep.not_run) == (13, 10, 2, 1)


def test_bad_file_fails_at_the_right_lines(pg15_dsn, tmp_path):
    rep = run_file(_write(tmp_path, "bad.slt", BAD), wire_factory(pg15_dsn))
    assert rep.failed_lines == [7, 13, 16, 19, 22, 25, 28, 33]
    assert rep.passed == 2
    reasons = {f.line: f.reason for f in rep.failures}
    assert "22012" in reasons[13] and "wrong error" in reasons[19]
    assert "columns" in reasons[22] and "label-x" in reasons[28]


def test_complete_rewrites_expected_results(pg15_dsn, tmp_path):
    path = _write(tmp_path, "bad.slt", BAD)
    run_file(path, wire_factory(pg15_dsn), complete=True)
    text = path.read_text()
    assert "statement error pgcode 22012\nSELECT 1 / 0" in text
    assert "query I nosort\nSELECT a FROM t1 ORDER BY a\n----\n1\n2" in text
    rep = run_file(path, wire_factory(pg15_dsn))
    # the label clash stays a failure: both results are right, they just differ
    assert rep.failed_lines == [33]


def test_schema_isolation_between_files(pg15_dsn, tmp_path):
    path = _write(tmp_path, "a.slt", "statement ok\nCREATE TABLE t1(a INT)\n")
    assert run_file(path, wire_factory(pg15_dsn)).passed == 1
    assert run_file(path, wire_factory(pg15_dsn)).passed == 1


@pytest.mark.skipif(not corpus.corpus_dir().exists(), reason="corpus not present")
@pytest.mark.skipif(os.environ.get("SQLVEC_SKIP_SLOW") == "1", reason="SQLVEC_SKIP_SLOW=1")
def test_corpus_on_postgres_matches_baseline(pg15_dsn):
    """The runner reproduces pg15_baseline.json: same records, same failed lines (~10 s)."""
    report = corpus.run_corpus_baseline(wire_factory(pg15_dsn), log=lambda _line: None)
    problems = corpus.compare_with_baseline(report, corpus.load_baseline())
    assert problems == [], json.dumps(problems, indent=1)
    assert report["totals"]["passed"] == 69099
