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


def test_split_statements():
    assert [s for s, _ in split_statements("select 1; select ';' ;; begin")] == [
        "select 1", "select ';'", "begin"]
