"""Parse SQL text into sqlglot statements with PostgreSQL-style syntax errors.

    >>> [s.key for s in parse_sql("select 1; select 2")]
    ['select', 'select']
"""

from __future__ import annotations

import logging

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from sqlvec.core.errors import SyntaxError_
from sqlvec.sql.dialect import SqlvecDialect

_DIALECT = SqlvecDialect()
# (text, tokens) of the last split_statements call whose one statement is the whole text:
# parse_sql of that same text (the usual next step) takes the tokens instead of re-tokenizing
_last_tokens: tuple[str, list] | None = None
logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its "falling back to Command" chatter


def _offset(sql: str, line: int, col: int) -> int:
    """0-based char offset of (1-based line, 1-based col) in sql."""
    lines = sql.split("\n")
    base = sum(len(x) + 1 for x in lines[: max(line - 1, 0)])
    return base + max(col - 1, 0)


def _at_token(sql: str, tok) -> SyntaxError_:
    return SyntaxError_(f'syntax error at or near "{sql[tok.start:tok.end + 1]}"', position=tok.start + 1)


def _grammar_error(sql: str, toks: list, *, failed: bool) -> SyntaxError_ | None:
    """Errors PostgreSQL's grammar reports where sqlglot accepts more or stops later: an
    unknown word where a statement begins (`selec 1`) and a label after a bare `*`
    (`SELECT * FORM e`: PostgreSQL allows no alias there, sqlglot reads one)."""
    from sqlglot.tokens import TokenType as TT

    starts = failed  # a statement sqlglot accepts may begin with a word (as a Command)
    prev = before = None
    for t in toks + [None]:
        if prev is not None and prev.token_type == TT.COMMA and (
                t is None or t.token_type in (TT.FROM, TT.WHERE, TT.R_PAREN, TT.SEMICOLON)):
            # a dangling comma (`SELECT a, FROM t`, `f(a,)`), which sqlglot skips over
            if t is None:
                return SyntaxError_("syntax error at end of input", position=len(sql.rstrip()) + 1)
            return _at_token(sql, t)
        if t is None:
            break
        if prev is not None and before is not None and before.token_type == TT.IN and \
                prev.token_type == TT.L_PAREN and t.token_type == TT.R_PAREN:
            return _at_token(sql, t)  # x IN ()
        tt = t.token_type
        if starts and tt == TT.VAR:
            return _at_token(sql, t)
        starts = failed and tt == TT.SEMICOLON
        if prev is not None and prev.token_type == TT.STAR and tt in (TT.VAR, TT.ALIAS) and \
                before is not None and before.token_type in (TT.SELECT, TT.DISTINCT, TT.ALL, TT.COMMA):
            return _at_token(sql, t)
        before, prev = prev, t
    return None


def _syntax_error(sql: str, err: ParseError | TokenError, toks: list | None = None) -> SyntaxError_:
    errors = getattr(err, "errors", None) or []
    if toks is not None:
        found = _grammar_error(sql, toks, failed=True)
        if found is not None:
            return found
    if errors:
        e = errors[0]
        desc = e.get("description") or ""
        if desc.startswith(("Required keyword", "Expecting )")) and \
                _offset(sql, e.get("line") or 1, e.get("col") or 1) + 1 >= len(sql.rstrip()):
            # the statement stops where an expression or ')' must follow
            return SyntaxError_("syntax error at end of input", position=len(sql.rstrip()) + 1)
        highlight = e.get("highlight") or ""
        line, col = e.get("line") or 1, e.get("col") or 1
        end = _offset(sql, line, col)  # col points just past the token
        start = max(end - len(highlight), 0)
        if highlight and sql[start : start + len(highlight)] != highlight:
            found = sql.rfind(highlight, 0, end + 1)
            start = found if found >= 0 else start
        token = highlight.strip()
        if not token or start >= len(sql.rstrip()):
            return SyntaxError_("syntax error at end of input", position=len(sql.rstrip()) + 1)
        return SyntaxError_(f'syntax error at or near "{token}"', position=start + 1)
    return SyntaxError_("syntax error", position=1)


def tokenize(sql: str) -> list:
    """Tokens of sql in our dialect (raises SyntaxError_ on a bad token)."""
    try:
        return _DIALECT.tokenize(sql)
    except TokenError as e:
        raise SyntaxError_(f"syntax error: {e}", position=1) from None


def parse_sql(sql: str) -> list[exp.Expr]:
    """All statements in sql (empty statements dropped)."""
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    global _last_tokens
    cached, _last_tokens = _last_tokens, None
    toks = None
    try:
        toks = cached[1] if cached is not None and cached[0] == sql else _DIALECT.tokenize(sql)
        stmts = _DIALECT.parser().parse(toks, sql)
    except (ParseError, TokenError) as e:
        raise _syntax_error(sql, e, toks) from None
    bad = _grammar_error(sql, toks, failed=False)
    if bad is not None:
        raise bad
    # PostgreSQL folds unquoted identifiers to lower case
    return [normalize_identifiers(s, dialect=_DIALECT) for s in stmts if s is not None]


def parse_one_sql(sql: str) -> exp.Expr | None:
    """The single statement in sql, None when empty."""
    stmts = parse_sql(sql)
    if len(stmts) > 1:
        raise SyntaxError_("cannot insert multiple commands into a prepared statement")
    return stmts[0] if stmts else None


def split_statements(sql: str) -> list[tuple[str, int]]:
    """(statement text, 0-based offset) for each non-empty statement, split at top-level ';'."""
    from sqlglot.tokens import TokenType

    toks = tokenize(sql)
    out: list[tuple[str, int]] = []
    start_tok = None
    last_tok = None
    for t in toks:
        if t.token_type == TokenType.SEMICOLON:
            if start_tok is not None:
                out.append((sql[start_tok.start : last_tok.end + 1], start_tok.start))
            start_tok = last_tok = None
            continue
        if start_tok is None:
            start_tok = t
        last_tok = t
    if start_tok is not None:
        out.append((sql[start_tok.start : last_tok.end + 1], start_tok.start))
    if len(out) == 1 and out[0][0] == sql:
        global _last_tokens
        _last_tokens = (sql, toks)
    return out


def parse_statement(text: str, offset: int = 0):
    """One statement: a Utility dataclass or a sqlglot expression. Positions are shifted by offset."""
    from sqlvec.sql.utility import is_utility, parse_utility

    try:
        if is_utility(text):
            return parse_utility(text)
        stmts = parse_sql(text)
    except SyntaxError_ as e:
        if e.position is not None:
            e.position += offset
        raise
    if not stmts:
        raise SyntaxError_("syntax error at end of input", position=offset + len(text) + 1)
    return stmts[0]
