"""The dialect keeps PostgreSQL calls as written: names sqlglot would rewrite into other
dialects' nodes (lpad -> Pad, substr -> Substring, array_prepend with swapped arguments,
date_part -> Extract) parse as plain calls; syntax forms keep their own nodes."""

from __future__ import annotations

import pytest
from sqlglot import exp

from sqlvec.sql.bind_expr import _pg_call
from sqlvec.sql.dialect import PLAIN_FUNCTIONS
from sqlvec.sql.parse import parse_one_sql


def _item(sql: str) -> exp.Expr:
    node = parse_one_sql("select " + sql)
    assert node is not None
    return node.expressions[0]


@pytest.mark.parametrize(("call", "name", "args"), [
    ("lpad(a, 3, 'x')", "lpad", ["a", "3", "x"]),
    ("array_prepend(1, a)", "array_prepend", ["1", "a"]),
    ("array_cat(a, b)", "array_cat", ["a", "b"]),
    ("substr(a, '2')", "substr", ["a", "2"]),
    ("to_timestamp(0)", "to_timestamp", ["0"]),
    ("to_char(t, 'YYYY-MM-DD')", "to_char", ["t", "YYYY-MM-DD"]),
    ("date_part('year', t)", "date_part", ["year", "t"]),
    ("like(s, p)", "like", ["s", "p"]),
    ("json_extract_path_text(j, 'a', 'b')", "json_extract_path_text", ["j", "a", "b"]),
    ("gen_random_uuid()", "gen_random_uuid", []),
    ("mod(a, b)", "mod", ["a", "b"]),
    ("pow(a, b)", "pow", ["a", "b"]),
    ("date_bin(s, t, o)", "date_bin", ["s", "t", "o"]),
    ("length(a, b)", "length", ["a", "b"]),
])
def test_plain_calls_keep_name_and_argument_order(call, name, args) -> None:
    node = _item(call)
    assert isinstance(node, exp.Anonymous)
    assert node.name.lower() == name
    assert [a.name for a in node.expressions] == args


def test_plain_function_names_are_upper_case() -> None:
    assert all(n == n.upper() for n in PLAIN_FUNCTIONS)


@pytest.mark.parametrize(("sql", "name", "args"), [
    ("extract(year from t)", "extract", ["year", "t"]),
    ("trim(leading 'x' from s)", "ltrim", ["s", "x"]),
    ("trim(trailing from s)", "rtrim", ["s"]),
    ("trim(both 'x' from s)", "btrim", ["s", "x"]),
    ("date_trunc('MONTH', t)", "date_trunc", ["month", "t"]),
])
def test_syntax_forms_map_to_postgres_functions(sql, name, args) -> None:
    got = _pg_call(_item(sql))
    assert got is not None
    assert got[0] == name
    assert [a.name for a in got[1]] == args


@pytest.mark.parametrize(("sql", "expected"), [
    ("date '2024-01-01'::text", "CAST(CAST('2024-01-01' AS DATE) AS TEXT)"),
    ("int4 '5'::text || 'a'", "CAST(CAST('5' AS INT) AS TEXT) || 'a'"),
    ("cast('x'::text as date)", "CAST(CAST('x' AS TEXT) AS DATE)"),
    ("f(timestamptz '2024-01-01'::text, 1)", "F(CAST(CAST('2024-01-01' AS TIMESTAMPTZ) AS TEXT), 1)"),
])
def test_typed_literal_binds_before_double_colon(sql, expected) -> None:
    assert _item(sql).sql(dialect="postgres") == expected
