"""The sqlvec SQL dialect: sqlglot's PostgreSQL dialect plus pgvector's operators.

Stock sqlglot reads `a <=> b` as IS NOT DISTINCT FROM, has no `<#>`, `<+>`, `<~>`,
`<%>`, and binds `<->` tighter than `+`. Here all six are one node, `VecOp`, parsed at
PostgreSQL's "any other operator" level (below + and -, above comparisons):

    >>> parse_one("select a <-> b + c", read=SqlvecDialect).sql(dialect=SqlvecDialect)
    'SELECT a <-> (b + c)'
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.tokenizer_core import TokenizerCore
from sqlglot.tokens import TokenType

VECTOR_OPERATORS = ("<->", "<=>", "<#>", "<+>", "<~>", "<%>")

# PostgreSQL functions that stock sqlglot turns into other dialects' nodes, losing the name
# or the argument order (lpad -> Pad, substr -> Substring (whose text form is the regex
# substring), array_prepend with swapped arguments, to_timestamp(n) -> UnixToTime,
# date_part -> Extract, like(s, p) read as SQLite's like(p, s) ...). Parsed as plain calls,
# so the binder binds the name and argument order the user wrote.
PLAIN_FUNCTIONS = frozenset({
    "ARRAY_APPEND", "ARRAY_CAT", "ARRAY_LENGTH", "ARRAY_PREPEND", "ARRAY_REMOVE", "CEIL", "CEILING",
    "CHARACTER_LENGTH", "CHAR_LENGTH", "CONCAT", "DATE_BIN", "DATE_PART", "DECODE", "FLOOR", "GEN_RANDOM_UUID", "GET_BIT",
    "INITCAP", "JSON_EXTRACT_PATH", "JSON_EXTRACT_PATH_TEXT", "LENGTH", "LIKE", "LOG10", "LPAD",
    "LTRIM", "MAKE_TIME", "MAKE_TIMESTAMP", "MOD", "NOW", "POW", "POWER", "RPAD", "RTRIM", "SHA256", "SHA384",
    "SHA512", "STRPOS", "SUBSTR", "TO_CHAR", "TO_DATE", "TO_HEX", "TO_TIMESTAMP", "UNNEST", "VAR_SAMP",
})

_PREFIX_OPS = {TokenType.PIPE_SLASH: exp.Sqrt, TokenType.DPIPE_SLASH: exp.Cbrt}
_SPACED_SIGN = re.compile(r"([-+])\s+(?=[0-9.])")


class VecOp(exp.Expression, exp.Binary):
    """A pgvector distance operator; `op` is its symbol, the binder binds it by name."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "expression": True, "op": True}

    @property
    def symbol(self) -> str:
        return self.args["op"].this


class _TokenizerCore(TokenizerCore):
    """sqlglot's tokenizer core, but `$<digit>` is always a parameter.

    A dollar-quote tag follows identifier rules, so it never starts with a digit; stock
    sqlglot reads `$1,$2` (no space) as the start of a `$1,$` dollar-quoted string and
    fails with "Error tokenizing".
    """

    __slots__ = ()

    def _scan_string(self, start: str) -> bool:
        if start == "$" and self._peek.isdigit():
            self._add(self.heredoc_string_alternative)  # PARAMETER; the number follows
            return True
        return super()._scan_string(start)


class SqlvecDialect(Postgres):
    """PostgreSQL as sqlvec speaks it."""

    class Tokenizer(Postgres.Tokenizer):
        KEYWORDS = {
            **Postgres.Tokenizer.KEYWORDS,
            # all vector operators ride on one token type; the parser tells them by text
            **{op: TokenType.LR_ARROW for op in VECTOR_OPERATORS},
            # `bit varying(n)` is one type name (varbit), as `character varying`
            "BIT VARYING": TokenType.VAR,
        }
        # oid / regclass / regtype ... are ordinary type names (so `x::oid[]` is an array
        # type and `c.oid` a column), not sqlglot's ObjectIdentifier token
        for _k in [k for k, v in KEYWORDS.items() if v == TokenType.OBJECT_IDENTIFIER]:
            del KEYWORDS[_k]
        del _k

        def _init_core(self) -> TokenizerCore:
            core = super()._init_core()
            core.__class__ = _TokenizerCore
            return core

    class Parser(Postgres.Parser):
        FACTOR = {k: v for k, v in Postgres.Parser.FACTOR.items() if k != TokenType.LR_ARROW}
        EQUALITY = {
            k: v for k, v in Postgres.Parser.EQUALITY.items() if k != TokenType.NULLSAFE_EQ
        }
        FUNCTIONS = {k: v for k, v in Postgres.Parser.FUNCTIONS.items() if k not in PLAIN_FUNCTIONS}
        # overlaps(s1, e1, s2, e2) is also a function (OVERLAPS is a keyword to the tokenizer)
        FUNC_TOKENS = Postgres.Parser.FUNC_TOKENS | {TokenType.OVERLAPS}
        FUNCTION_PARSERS = {
            k: v for k, v in Postgres.Parser.FUNCTION_PARSERS.items() if k not in PLAIN_FUNCTIONS
        }
        # PostgreSQL has no lambdas: `f(doc -> 'k')` is the JSON operator, not `x -> body`
        # (`name => value` named arguments stay: FARROW gives an exp.Kwarg)
        LAMBDAS: ClassVar[dict] = {TokenType.FARROW: Postgres.Parser.LAMBDAS[TokenType.FARROW]}
        # PostgreSQL has no `:name` placeholders: `a[:hi]` and `a[:NULL]` are slices
        PLACEHOLDER_PARSERS: ClassVar[dict] = {
            k: v for k, v in Postgres.Parser.PLACEHOLDER_PARSERS.items() if k != TokenType.COLON}
        # a foreign key's NOT DEFERRABLE (exec/ddl_fk.py reads the option words)
        KEY_CONSTRAINT_OPTIONS: ClassVar[dict] = {**Postgres.Parser.KEY_CONSTRAINT_OPTIONS,
                                                  "NOT": ("ENFORCED", "DEFERRABLE")}

        def _parse_unary(self) -> exp.Expr | None:
            # PostgreSQL's prefix operators @ (abs), |/ (sqrt), ||/ (cbrt) sit at the "any other
            # operator" level: `|/ 25 + 11` is sqrt(36). sqlglot reads `@` as a parameter
            # marker and binds |/ to the next factor only.
            tok = self._curr
            if tok is not None and (
                (tok.token_type == TokenType.PARAMETER and tok.text == "@")
                or tok.token_type in (TokenType.PIPE_SLASH, TokenType.DPIPE_SLASH)
            ):
                self._advance()
                node = _PREFIX_OPS.get(tok.token_type, exp.Abs)
                return self.expression(node(this=self._parse_term()))
            return super()._parse_unary()

        def _parse_interval_span(self, this: exp.Expr, parse_function_unit: bool = True) -> exp.Interval:
            # PostgreSQL joins a sign to the number after it: INTERVAL '- 3 days' is -3 days
            # (sqlglot's one-part split reads '3', 'days' and drops the sign)
            if this is not None and this.is_string and _SPACED_SIGN.search(this.name):
                this = exp.Literal.string(_SPACED_SIGN.sub(r"\1", this.name))
            return super()._parse_interval_span(this, parse_function_unit)

        # INSERT INTO t (cols) OVERRIDING {SYSTEM | USER} VALUE ...: kept in the Insert's
        # "overriding" arg (stock sqlglot has no such clause)
        _overriding: str | None = None

        def _parse_insert_table(self) -> exp.Expr | None:
            this = super()._parse_insert_table()
            if self._match_text_seq("OVERRIDING"):
                kind = next((k for k in ("SYSTEM", "USER") if self._match_text_seq(k, "VALUE")), None)
                if kind is None:
                    self.raise_error("Expected SYSTEM VALUE or USER VALUE")
                self._overriding = f"{kind} VALUE"
            return this

        def _parse_insert(self) -> exp.Expr | None:
            self._overriding = None
            node = super()._parse_insert()
            if self._overriding and isinstance(node, exp.Insert):
                node.set("overriding", self._overriding)
            self._overriding = None
            return node

        # CREATE [MATERIALIZED] VIEW ... AS query WITH [NO] DATA | WITH [CASCADED | LOCAL] CHECK
        # OPTION: kept in the Create's "with_data" (bool) / "check_option" ('cascaded' | 'local')
        _view_tail: dict | None = None

        def _parse_create(self) -> exp.Expr | None:
            words, i = [], self._index
            while i < len(self._tokens) and len(words) < 5:
                words.append(self._tokens[i].text.upper())
                i += 1
            head = [w for w in words if w not in ("OR", "REPLACE", "MATERIALIZED", "TEMP", "TEMPORARY",
                                                  "RECURSIVE")]
            saved, self._view_tail = self._view_tail, ({} if head[:1] == ["VIEW"] else None)
            try:
                node = super()._parse_create()
                if isinstance(node, exp.Create) and self._view_tail:
                    for k, v in self._view_tail.items():
                        node.set(k, v)
                return node
            finally:
                self._view_tail = saved

        def _parse_ddl_select(self) -> exp.Expr | None:
            node = super()._parse_ddl_select()
            tail = self._view_tail
            if tail is not None and node is not None:
                if self._match_text_seq("WITH", "NO", "DATA"):
                    tail["with_data"] = False
                elif self._match_text_seq("WITH", "DATA"):
                    tail["with_data"] = True
                elif self._match_text_seq("WITH", "LOCAL", "CHECK", "OPTION"):
                    tail["check_option"] = "local"
                elif self._match_text_seq("WITH", "CASCADED", "CHECK", "OPTION") or \
                        self._match_text_seq("WITH", "CHECK", "OPTION"):
                    tail["check_option"] = "cascaded"
            return node

        def _parse_index_params(self) -> exp.IndexParameters:
            """Stock sqlglot's, plus NULLS [NOT] DISTINCT after the column list (PostgreSQL 15),
            kept in the IndexParameters' "nulls_not_distinct" arg."""
            using = (
                self._parse_var(any_token=True)
                if not self._match_text_seq("USING", "INDEX", "TABLESPACE", advance=False)
                and self._match(TokenType.USING)
                else None
            )
            columns = self._parse_wrapped_csv(self._parse_with_operator) \
                if self._match(TokenType.L_PAREN, advance=False) else None
            include = self._parse_wrapped_id_vars() if self._match_text_seq("INCLUDE") else None
            nnd = None
            if self._match_text_seq("NULLS", "NOT", "DISTINCT"):
                nnd = True
            elif self._match_text_seq("NULLS", "DISTINCT"):
                nnd = False
            partition_by = self._parse_partition_by()
            with_storage = self._match(TokenType.WITH) and self._parse_wrapped_properties()
            tablespace = (
                self._parse_id_var()
                if self._match_text_seq("USING", "INDEX", "TABLESPACE") or self._match_text_seq("TABLESPACE")
                else None
            )
            where = self._parse_where()
            on = self._parse_field() if self._match(TokenType.ON) else None
            node = self.expression(exp.IndexParameters(
                using=using, columns=columns, include=include, partition_by=partition_by, where=where,
                with_storage=with_storage, tablespace=tablespace, on=on))
            if nnd:
                node.set("nulls_not_distinct", True)
            return node

        ALTER_RENAME_REQUIRES_COLUMN = False  # RENAME a TO b: a column, as RENAME COLUMN a TO b

        def _parse_alter_table_rename(self) -> exp.Expr | None:
            """ALTER TABLE t RENAME CONSTRAINT a TO b: a RenameColumn flagged "constraint"."""
            if self._match_text_seq("CONSTRAINT"):
                old, to = self._parse_id_var(), self._match_text_seq("TO") and self._parse_id_var()
                if old is None or not to:
                    return None
                node = self.expression(exp.RenameColumn(this=exp.column(old), to=exp.column(to)))
                node.set("constraint", True)
                return node
            return super()._parse_alter_table_rename()

        def _parse_drop(self, exists: bool = False, kind: str | None = None) -> exp.Expr | None:
            """DROP INDEX / SEQUENCE / SCHEMA a, b [CASCADE]: stock sqlglot lists only tables
            and views."""
            node = super()._parse_drop(exists, kind)
            if isinstance(node, exp.Drop) and self._curr and self._curr.token_type == TokenType.COMMA \
                    and (node.args.get("kind") or "").upper() in ("INDEX", "SEQUENCE", "SCHEMA"):
                tables = list(node.args.get("tables") or [])
                is_schema = node.args["kind"].upper() == "SCHEMA"
                while self._match(TokenType.COMMA):
                    tables.append(self._parse_table_parts(schema=True, is_db_reference=is_schema))
                node.set("tables", tables)
                if self._match_texts(("CASCADE", "RESTRICT")):
                    node.set("cascade", self._prev.text.upper() == "CASCADE")
            return node

        # A typed literal binds before `::`: `date '2024-01-01'::text` is text (stock sqlglot
        # reads it as date ('2024-01-01'::text)). _parse_types flags a type followed by a
        # string; the literal then skips its column ops, which _parse_type applies to the cast.
        _typed_literal = False
        _typed_literal_done = False

        def _parse_types(self, *args: Any, **kwargs: Any) -> exp.Expr | None:
            dt = super()._parse_types(*args, **kwargs)
            if isinstance(dt, exp.DataType) and self._curr is not None and \
                    self._curr.token_type == TokenType.STRING:
                self._typed_literal = True
            return dt

        def _parse_column_ops(self, this: exp.Expr | None) -> exp.Expr | None:
            if self._typed_literal and isinstance(this, exp.Literal):
                self._typed_literal = False
                self._typed_literal_done = True
                return this
            return super()._parse_column_ops(this)

        def _parse_type(self, *args: Any, **kwargs: Any) -> exp.Expr | None:
            out = super()._parse_type(*args, **kwargs)
            self._typed_literal = False
            if self._typed_literal_done:
                self._typed_literal_done = False
                out = self._parse_column_ops(out)
            return out

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


# A tree parsed with SqlvecDialect is printed with the stock dialect in a few places (DDL
# keeps the text of a view, a CHECK, a generated column, a partial index's WHERE as
# `.sql(dialect="postgres")`): there too a VecOp prints as its operator (was XX000
# "Unsupported expression type VecOp"). Only trees parsed here hold a VecOp.
Postgres.Generator.TRANSFORMS[VecOp] = SqlvecDialect.Generator.TRANSFORMS[VecOp]
