"""REINDEX: parsed from its tokens (sqlglot has no grammar for it).

    REINDEX [ ( option [, ...] ) ] { INDEX | TABLE | SCHEMA } [ CONCURRENTLY ] name
    REINDEX [ ( option [, ...] ) ] { DATABASE | SYSTEM } [ CONCURRENTLY ] [ name ]

    >>> parse_reindex("reindex (verbose) table concurrently public.t")
    ReindexStmt(what='table', name=('public', 't'), concurrently=True)
    >>> parse_reindex("REINDEX DATABASE")
    ReindexStmt(what='database', name=None, concurrently=False)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlvec.sql.maintenance_stmt import _option_list, _Tokens

_KINDS = ("index", "table", "schema", "database", "system")


@dataclass(frozen=True)
class ReindexStmt:
    """One REINDEX: what it names (index table schema database system) and the name."""

    what: str
    name: tuple[str | None, str] | None  # (schema or None, name); None: the current database
    concurrently: bool = False


def parse_reindex(sql: str) -> ReindexStmt:
    """Parse REINDEX (sql without the trailing semicolon); 42601 as PostgreSQL words it."""
    toks = _Tokens(sql.strip().rstrip(";").strip())
    toks.take()  # REINDEX
    concurrently = False
    if toks.peek() == "(":  # CONCURRENTLY [bool], VERBOSE [bool], TABLESPACE name
        concurrently = _option_list(toks).get("concurrently", False)
    what = toks.low()
    if what not in _KINDS:
        raise toks.error()
    toks.take()
    if toks.low() == "concurrently":
        toks.take()
        concurrently = True
    name = None
    if toks.peek() is not None or what in ("index", "table", "schema"):
        name = toks.name()
    toks.end()
    if what in ("schema", "database", "system") and name is not None and name[0] is not None:
        raise toks.error()  # (a schema or database name is one identifier)
    return ReindexStmt(what, name, concurrently)
