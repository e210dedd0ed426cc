"""The sqlvec SQL dialect: sqlglot's PostgreSQL dialect plus pgvector's operators.

Stock sqlglot reads `a <=> b` as IS NOT DISTINCT FROM, has no `<#>`, `<+>`, `<~>`,
`<%>`, and binds `<->` tighter than `+`. Here all six are one node, `VecOp`, parsed at
PostgreSQL's "any other operator" level (below + and -, above comparisons):

    >>> parse_one("select a <-> b + c", read=SqlvecDialect).sql(dialect=SqlvecDialect)
    'SELECT a <-> (b + c)'
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.tokens import TokenType

VECTOR_OPERATORS = ("<->", "<=>", "<#>", "<+>", "<~>", "<%>")


class VecOp(exp.Expression, exp.Binary):
    """A pgvector distance operator; `op` is its symbol, the binder binds it by name."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expression": True, "op": True}

    @property
    def symbol(self) -> str:
        return self.args["op"].this


class SqlvecDialect(Postgres):
    """PostgreSQL as sqlvec speaks it."""

    class Tokenizer(Postgres.Tokenizer):
        KEYWORDS = {
            **Postgres.Tokenizer.KEYWORDS,
            # all vector operators ride on one token type; the parser tells them by text
            **{op: TokenType.LR_ARROW for op in VECTOR_OPERATORS},
        }
        # oid / regclass / regtype ... are ordinary type names (so `x::oid[]` is an array
        # type and `c.oid` a column), not sqlglot's ObjectIdentifier token
        for _k in [k for k, v in KEYWORDS.items() if v == TokenType.OBJECT_IDENTIFIER]:
            del KEYWORDS[_k]
        del _k

    class Parser(Postgres.Parser):
        FACTOR = {k: v for k, v in Postgres.Parser.FACTOR.items() if k != TokenType.LR_ARROW}
        EQUALITY = {
            k: v for k, v in Postgres.Parser.EQUALITY.items() if k != TokenType.NULLSAFE_EQ
        }
        # PostgreSQL has no lambdas: `f(doc -> 'k')` is the JSON operator, not `x -> body`
        LAMBDAS: ClassVar[dict] = {}

        def _parse_bitwise(self) -> exp.Expr | None:
            this = super()._parse_bitwise()
            while self._match(TokenType.LR_ARROW):
                op = self._prev.text
                rhs = super()._parse_bitwise()
                this = self.expression(VecOp(this=this, expression=rhs, op=exp.Literal.string(op)))
            return this

    class Generator(Postgres.Generator):
        TRANSFORMS: ClassVar[dict[Any, Any]] = {
            **Postgres.Generator.TRANSFORMS,
            VecOp: lambda self, e: self.binary(e, e.args["op"].this),
        }
