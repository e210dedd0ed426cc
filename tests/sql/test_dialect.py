from __future__ import annotations

import pytest
from sqlglot import exp

from sqlvec.core.errors import SqlError
from sqlvec.sql.dialect import VecOp
from sqlvec.sql.parse import parse_sql, split_statements


@pytest.mark.parametrize("op", ["<->", "<=>", "<#>", "<+>", "<~>", "<%>"])
def test_vector_operators_parse_as_vecop(op):
    e = parse_sql(f"select a {op} b from t")[0].expressions[0]
    assert isinstance(e, VecOp) and e.symbol == op


def test_vector_operator_precedence_below_plus():
    e = parse_sql("select a <-> b + c")[0].expressions[0]
    assert isinstance(e, VecOp) and isinstance(e.expression, exp.Add)
    e = parse_sql("select a <-> b < 3")[0].expressions[0]
    assert isinstance(e, exp.LT) and isinstance(e.this, VecOp)


def test_syntax_error_has_position():
    with pytest.raises(SqlError) as ei:
        parse_sql("select * from")
    assert ei.value.code == "42601"


@pytest.mark.parametrize(("sql", "message", "position"), [  # PostgreSQL 15's answers
    ("SELECT * FORM e", 'syntax error at or near "FORM"', 10),
    ("select * as x", 'syntax error at or near "as"', 10),
    ("selec 1", 'syntax error at or near "selec"', 1),
    ("select * from t where", "syntax error at end of input", 22),
    ("select (1", "syntax error at end of input", 10),
    ("select 1 frm t", 'syntax error at or near "t"', 14),
])
def test_syntax_error_token_and_position_as_postgres(sql, message, position):
    with pytest.raises(SqlError) as ei:
        parse_sql(sql)
    assert (ei.value.code, ei.value.message, ei.value.position) == ("42601", message, position)


def test_star_then_keyword_still_parses():
    assert len(parse_sql("select distinct * from t, (select count(*), 2 * 3 x) s")) == 1


def test_split_statements():
    assert [s for s, _ in split_statements("select 1; select ';' ;; begin")] == [
        "select 1", "select ';'", "begin"]
