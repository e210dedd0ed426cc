"""VACUUM, ANALYZE, CLUSTER and CHECKPOINT: parsed from their tokens (sqlglot has no grammar).

    >>> parse_maintenance("vacuum (full, analyze) public.t")
    MaintenanceStmt(kind='vacuum', tables=(('public', 't'),), full=True, analyze=True, index=None)
    >>> parse_maintenance("cluster t using t_pkey")
    MaintenanceStmt(kind='cluster', tables=((None, 't'),), full=False, analyze=False, index='t_pkey')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlvec.core.errors import SyntaxError_

MAINTENANCE_WORDS = frozenset({"vacuum", "analyze", "analyse", "cluster", "checkpoint"})

_TOKEN = re.compile(r'"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*|\S')
# option words of the unparenthesised forms, in PostgreSQL's order
_VACUUM_FLAGS = ("full", "freeze", "verbose", "analyze", "analyse")


@dataclass(frozen=True)
class MaintenanceStmt:
    """One maintenance statement; `tables` empty means every table (or none for CHECKPOINT)."""

    kind: str  # vacuum analyze cluster checkpoint
    tables: tuple[tuple[str | None, str], ...] = ()  # (schema or None, name)
    full: bool = False
    analyze: bool = False
    index: str | None = None  # CLUSTER ... USING index

    @property
    def tag(self) -> str:
        """The CommandComplete tag PostgreSQL sends."""
        return "ANALYZE" if self.kind == "analyze" else self.kind.upper()


def _ident(tok: str) -> str:
    return tok[1:-1].replace('""', '"') if tok.startswith('"') else tok.lower()


def _is_name(tok: str) -> bool:
    return tok.startswith('"') or tok[0].isalpha() or tok[0] == "_"


class _Tokens:
    """A cursor over a statement's tokens with PostgreSQL-style syntax errors."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.items = [(m.group(), m.start()) for m in _TOKEN.finditer(text)]
        self.i = 0

    def peek(self) -> str | None:
        return self.items[self.i][0] if self.i < len(self.items) else None

    def low(self) -> str | None:
        t = self.peek()
        return t.lower() if t is not None and not t.startswith('"') else t

    def take(self) -> str:
        if self.i >= len(self.items):
            raise SyntaxError_("syntax error at end of input", position=len(self.text) + 1)
        self.i += 1
        return self.items[self.i - 1][0]

    def error(self) -> SyntaxError_:
        if self.i >= len(self.items):
            return SyntaxError_("syntax error at end of input", position=len(self.text) + 1)
        tok, pos = self.items[self.i]
        return SyntaxError_(f'syntax error at or near "{tok}"', position=pos + 1)

    def name(self) -> tuple[str | None, str]:
        """[schema .] name"""
        tok = self.peek()
        if tok is None or not _is_name(tok):
            raise self.error()
        first = _ident(self.take())
        if self.peek() == ".":
            self.take()
            tok = self.peek()
            if tok is None or not _is_name(tok):
                raise self.error()
            return first, _ident(self.take())
        return None, first

    def skip_columns(self) -> None:
        """An optional `(col, ...)` list after a table name (ANALYZE statistics targets)."""
        if self.peek() != "(":
            return
        depth = 0
        while True:
            tok = self.take()
            depth += tok == "("
            depth -= tok == ")"
            if depth == 0:
                return

    def end(self) -> None:
        if self.peek() is not None:
            raise self.error()


def parse_maintenance(sql: str) -> MaintenanceStmt:
    """Parse VACUUM / ANALYZE / CLUSTER / CHECKPOINT (sql without the trailing semicolon)."""
    toks = _Tokens(sql.strip().rstrip(";").strip())
    head = toks.take().lower()
    if head == "checkpoint":
        toks.end()
        return MaintenanceStmt("checkpoint")
    if head == "cluster":
        return _parse_cluster(toks)
    kind = "analyze" if head in ("analyze", "analyse") else "vacuum"
    full = analyze = False
    if toks.peek() == "(":
        opts = _option_list(toks)
        full = opts.get("full", False)
        analyze = opts.get("analyze", False) or opts.get("analyse", False)
    else:
        flags = _VACUUM_FLAGS if kind == "vacuum" else ("verbose",)
        while toks.low() in flags:
            word = toks.take().lower()
            full |= word == "full"
            analyze |= word in ("analyze", "analyse")
    tables: list[tuple[str | None, str]] = []
    while toks.peek() is not None:
        tables.append(toks.name())
        toks.skip_columns()
        if toks.peek() == ",":
            toks.take()
            if toks.peek() is None:
                raise toks.error()
        else:
            toks.end()
    return MaintenanceStmt(kind, tuple(tables), full=full, analyze=analyze or kind == "analyze")


def _option_list(toks: _Tokens) -> dict[str, bool]:
    """`(full, analyze false, verbose)`: option name -> boolean (PostgreSQL's utility options)."""
    toks.take()
    out: dict[str, bool] = {}
    while True:
        tok = toks.peek()
        if tok is None or not _is_name(tok):
            raise toks.error()
        name = _ident(toks.take())
        value = True
        if toks.peek() not in (",", ")"):
            v = toks.take().strip("'").lower()
            if v in ("true", "on", "1", "yes"):
                value = True
            elif v in ("false", "off", "0", "no"):
                value = False
            # other option values (PARALLEL 2, INDEX_CLEANUP auto) change nothing here
        out[name] = value
        sep = toks.take()
        if sep == ")":
            return out
        if sep != ",":
            toks.i -= 1
            raise toks.error()


def _parse_cluster(toks: _Tokens) -> MaintenanceStmt:
    """CLUSTER [VERBOSE] [table [USING index]] | CLUSTER index ON table (pre-8.3 form)."""
    if toks.peek() == "(":
        _option_list(toks)
    elif toks.low() == "verbose":
        toks.take()
    if toks.peek() is None:
        return MaintenanceStmt("cluster")
    first = toks.name()
    if toks.low() == "on":
        toks.take()
        table = toks.name()
        toks.end()
        return MaintenanceStmt("cluster", (table,), index=first[1])
    index = None
    if toks.low() == "using":
        toks.take()
        index = toks.name()[1]
    toks.end()
    return MaintenanceStmt("cluster", (first,), index=index)
