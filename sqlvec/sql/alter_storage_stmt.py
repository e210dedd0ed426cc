"""ALTER TABLE ... ALTER [COLUMN] c SET STORAGE mode [, ...]: parsed from its tokens
(sqlglot has no grammar for it). Benchmark harnesses for pgvector (ann-benchmarks,
VectorDBBench) run `ALTER TABLE items ALTER COLUMN embedding SET STORAGE PLAIN` before
loading; the mode is kept in the catalog (pg_attribute.attstorage) and, as there is no
TOAST in columnar segments, changes nothing else.

    >>> parse_alter_storage('alter table if exists only public.items alter column "E" set storage PLAIN')
    AlterStorageStmt(table=('public', 'items'), if_exists=True, columns=(('E', 'plain'),))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlvec.core.errors import FeatureNotSupported
from sqlvec.sql.maintenance_stmt import _ident, _is_name, _Tokens

# ALTER TABLE ... ALTER [COLUMN] name SET STORAGE: the statements parsed here
_SET_STORAGE = re.compile(r'(?is)^\s*alter\s+table\b.*\balter\s+(?:column\s+)?'
                          r'(?:"(?:[^"]|"")*"|\w+)\s+set\s+storage\b')


@dataclass(frozen=True)
class AlterStorageStmt:
    table: tuple[str | None, str]  # (schema or None, name)
    if_exists: bool
    columns: tuple[tuple[str, str], ...]  # (column, storage word, lower case)


def is_alter_storage(sql: str) -> bool:
    return _SET_STORAGE.match(sql) is not None


def parse_alter_storage(sql: str) -> AlterStorageStmt:
    """Parse the statement (42601 as PostgreSQL words it); other ALTER TABLE actions in the
    same statement are 0A000."""
    toks = _Tokens(sql.strip().rstrip(";").strip())
    toks.take()  # ALTER
    toks.take()  # TABLE
    if_exists = False
    if toks.low() == "if":
        toks.take()
        _expect(toks, "exists")
        if_exists = True
    if toks.low() == "only":
        toks.take()
    table = toks.name()
    if toks.peek() == "*":
        toks.take()
    columns = []
    while True:
        if toks.low() != "alter":
            raise FeatureNotSupported("ALTER TABLE with SET STORAGE and other actions in one "
                                      "statement is not supported")
        toks.take()
        if toks.low() == "column":
            toks.take()
        tok = toks.peek()
        if tok is None or not _is_name(tok):
            raise toks.error()
        column = _ident(toks.take())
        after = toks.items[toks.i + 1][0].lower() if toks.i + 1 < len(toks.items) else None
        if toks.low() != "set" or after != "storage":
            raise FeatureNotSupported("ALTER TABLE with SET STORAGE and other actions in one "
                                      "statement is not supported")
        toks.take()
        toks.take()  # STORAGE
        mode = toks.peek()
        if mode is None or not _is_name(mode) or mode.lower() == "default":
            raise toks.error()  # (DEFAULT: a reserved word, as in PostgreSQL 15)
        columns.append((column, _ident(toks.take())))
        if toks.peek() != ",":
            break
        toks.take()
    toks.end()
    return AlterStorageStmt(table, if_exists, tuple(columns))


def _expect(toks: _Tokens, word: str) -> None:
    if toks.low() != word:
        raise toks.error()
    toks.take()
