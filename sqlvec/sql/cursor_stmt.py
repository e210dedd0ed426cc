"""SQL cursor statements sqlglot does not parse: DECLARE, FETCH, MOVE, CLOSE.

    >>> parse_cursor("DECLARE c NO SCROLL CURSOR WITH HOLD FOR select 1")
    DeclareStmt(name='c', query='select 1', hold=True, scroll=False, binary=False)
    >>> parse_cursor("FETCH FORWARD 1000 FROM _psql_cursor")
    FetchStmt(name='_psql_cursor', direction='relative', count=1000, move=False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlvec.core.errors import SyntaxError_

CURSOR_WORDS = frozenset({"declare", "fetch", "move", "close"})


@dataclass(frozen=True)
class DeclareStmt:
    name: str
    query: str
    hold: bool = False
    scroll: bool | None = None  # None: not said (forward and backward allowed here)
    binary: bool = False


@dataclass(frozen=True)
class FetchStmt:
    """FETCH/MOVE: direction 'relative' (count rows on, negative back; None = ALL) or 'absolute'."""

    name: str
    direction: str = "relative"
    count: int | None = 1
    move: bool = False


@dataclass(frozen=True)
class CloseStmt:
    name: str | None  # None: CLOSE ALL


_IDENT = r'("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_DECLARE = re.compile(
    rf"(?is)^declare\s+{_IDENT}\s+((?:(?:binary|asensitive|insensitive|no\s+scroll|scroll)\s+)*)"
    r"cursor\s+(?:(with|without)\s+hold\s+)?for\s+(.+)$")
_FETCH = re.compile(rf"(?is)^(fetch|move)\s+(.*?)\s*{_IDENT}\s*$")


def _ident(tok: str) -> str:
    return tok[1:-1].replace('""', '"') if tok.startswith('"') else tok.lower()


def _count(tok: str) -> int:
    try:
        return int(tok)
    except ValueError:
        raise SyntaxError_(f'syntax error at or near "{tok}"') from None


def _direction(words: list[str]) -> tuple[str, int | None]:
    w = [x.lower() for x in words]
    if w and w[-1] in ("from", "in"):
        w = w[:-1]
    if not w or w == ["next"]:
        return "relative", 1
    if w == ["prior"]:
        return "relative", -1
    if w == ["first"]:
        return "absolute", 1
    if w == ["last"]:
        return "absolute", -1
    if w == ["all"] or w == ["forward", "all"]:
        return "relative", None
    if w == ["backward", "all"]:
        return "relative", -(2**62)
    if w[0] == "absolute" and len(w) == 2:
        return "absolute", _count(w[1])
    if w[0] == "relative" and len(w) == 2:
        return "relative", _count(w[1])
    if w[0] == "forward":
        return "relative", _count(w[1]) if len(w) == 2 else 1
    if w[0] == "backward":
        return "relative", -(_count(w[1]) if len(w) == 2 else 1)
    if len(w) == 1:
        return "relative", _count(w[0])
    raise SyntaxError_(f'syntax error at or near "{words[0]}"')


def parse_cursor(sql: str) -> DeclareStmt | FetchStmt | CloseStmt:
    """Parse one DECLARE / FETCH / MOVE / CLOSE statement (no trailing semicolon)."""
    text = sql.strip().rstrip(";").strip()
    head = text.split(None, 1)[0].lower()
    if head == "declare":
        m = _DECLARE.match(text)
        if not m:
            raise SyntaxError_("syntax error at or near \"declare\"", position=1)
        opts = " ".join(m.group(2).lower().split())
        scroll = False if "no scroll" in opts else (True if "scroll" in opts else None)
        return DeclareStmt(_ident(m.group(1)), m.group(4).strip(), (m.group(3) or "").lower() == "with",
                           scroll, "binary" in opts)
    if head == "close":
        rest = text.split(None, 1)[1].strip() if len(text.split(None, 1)) > 1 else ""
        if not rest:
            raise SyntaxError_("syntax error at end of input")
        return CloseStmt(None if rest.lower() == "all" else _ident(rest))
    m = _FETCH.match(text)
    if not m:
        raise SyntaxError_(f'syntax error at or near "{head}"', position=1)
    direction, count = _direction(m.group(2).split())
    return FetchStmt(_ident(m.group(3)), direction, count, m.group(1).lower() == "move")
