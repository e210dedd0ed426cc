"""The runner's parser and value printing follow SQLite's reference sqllogictest runner."""

from __future__ import annotations

import pytest

from sqllogic.parser import SltSyntaxError, parse_text
from sqllogic.values import format_cell, hash_values, sort_values

FILE = """\
hash-threshold 8

# a comment between records
statement ok
CREATE TABLE t1(a INTEGER, b TEXT)

skipif mysql # not compatible
onlyif postgresql
query IT rowsort label-1
SELECT a,
# comment inside a record
       b FROM t1
----
1
x

statement error pgcode 22012 division by zero
SELECT 1/0

query error pgcode 42P01
SELECT * FROM nope

query I nosort
SELECT 1 WHERE false

halt
"""


def test_parse_records():
    recs = parse_text(FILE)
    assert [r.kind for r in recs] == [
        "hash-threshold",
        "statement",
        "query",
        "statement",
        "query",
        "query",
        "halt",
    ]
    q = recs[2]
    assert q.line == 7 and q.types == "IT" and q.sort == "rowsort" and q.label == "label-1"
    assert q.sql == "SELECT a,\n       b FROM t1"
    assert q.expected == ["1", "x"]
    assert [c.kind for c in q.conditions] == ["skipif", "onlyif"]
    assert not q.skipped_for("postgresql") and q.skipped_for("mysql")
    err = recs[3].error
    assert err.pgcode == "22012" and err.pattern == "division by zero"
    assert err.matches("22012", "division by zero") and not err.matches("22003", "division by zero")
    assert recs[4].error.pgcode == "42P01" and recs[4].error.pattern is None
    assert recs[5].expected is None


def test_parse_rejects_unknown_record():
    with pytest.raises(SltSyntaxError):
        parse_text("frobnicate\nSELECT 1\n")


@pytest.mark.parametrize(
    "text,oid,letter,want",
    [
        ("42", 23, "I", "42"),
        ("-3.9", 1700, "I", "-3"),
        ("3.9", 701, "I", "3"),
        ("t", 16, "I", "1"),
        ("f", 16, "I", "0"),
        ("7", 23, "R", "7.000"),
        ("2.0005", 701, "R", "2.001"),
        ("1e+20", 701, "R", "100000000000000000000.000"),
        ("", 25, "T", "(empty)"),
        (None, 23, "I", "NULL"),
        ("a\tb", 25, "T", "a@b"),
        ("é", 25, "T", "@@"),
        ("12abc", 25, "I", "12"),
        ("abc", 25, "I", "0"),
    ],
)
def test_format_cell(text, oid, letter, want):
    assert format_cell(text, oid, letter) == want


def test_sorting_is_bytewise_on_printed_text():
    assert sort_values(["9", "10", "1"], 1, "rowsort") == ["1", "10", "9"]
    assert sort_values(["b", "2", "a", "1"], 2, "rowsort") == ["a", "1", "b", "2"]
    assert sort_values(["b", "2", "a", "1"], 2, "valuesort") == ["1", "2", "a", "b"]
    assert sort_values(["b", "2", "a", "1"], 2, "nosort") == ["b", "2", "a", "1"]


def test_hash_matches_reference():
    # md5 of "1\n"; the empty result hashes the empty string
    assert hash_values([]) == "0 values hashing to d41d8cd98f00b204e9800998ecf8427e"
    assert hash_values(["1"]) == "1 values hashing to b026324c6904b2a9cb4b88d6d61c81d1"
