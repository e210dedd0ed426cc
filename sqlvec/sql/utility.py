"""Utility statements (transactions, SET/SHOW, PREPARE, EXPLAIN, roles, ...) and their parsers.

sqlglot returns many of these as opaque Command nodes or misreads them (`start
transaction` as an alias), so statements whose first word is a utility keyword are parsed
here from their tokens instead.

    >>> parse_utility("set search_path to public, x")
    SetStmt(name='search_path', value='public, x', local=False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlvec.core.errors import SyntaxError_, UndefinedFile


@dataclass(frozen=True)
class TransactionStmt:
    """BEGIN / COMMIT / ROLLBACK / SAVEPOINT / RELEASE / ROLLBACK TO."""

    kind: str  # begin commit rollback savepoint release rollback_to prepare commit_prepared rollback_prepared
    name: str | None = None  # savepoint name; the gid of PREPARE TRANSACTION / COMMIT PREPARED
    modes: tuple[tuple[str, str], ...] = ()  # BEGIN's transaction modes: (setting, value)
    tag: str = ""  # the CommandComplete tag when it is not the kind's (START TRANSACTION)
    chain: bool = False  # COMMIT / ROLLBACK AND CHAIN


@dataclass(frozen=True)
class SetTransactionStmt:
    """SET TRANSACTION modes (session=False) / SET SESSION CHARACTERISTICS AS TRANSACTION."""

    modes: tuple[tuple[str, str], ...]
    session: bool = False


@dataclass(frozen=True)
class SetConstraintsStmt:
    """SET CONSTRAINTS ALL | name [, ...] DEFERRED | IMMEDIATE (names None: ALL)."""

    names: tuple[str, ...] | None
    deferred: bool


@dataclass(frozen=True)
class SetStmt:
    name: str
    value: str | None  # None: DEFAULT
    local: bool = False


@dataclass(frozen=True)
class ResetStmt:
    name: str | None  # None: RESET ALL


@dataclass(frozen=True)
class ShowStmt:
    name: str  # 'all' for SHOW ALL


@dataclass(frozen=True)
class PrepareStmt:
    name: str
    type_names: tuple[str, ...]
    query: str


@dataclass(frozen=True)
class ExecuteStmt:
    name: str
    args: tuple[str, ...]  # SQL text of each argument expression


@dataclass(frozen=True)
class DeallocateStmt:
    name: str | None  # None: ALL


@dataclass(frozen=True)
class DiscardStmt:
    what: str


@dataclass(frozen=True)
class ExplainStmt:
    query: str
    analyze: bool = False
    verbose: bool = False


@dataclass(frozen=True)
class RoleStmt:
    """CREATE/ALTER/DROP ROLE|USER with options (password, login, superuser)."""

    action: str  # create alter drop
    name: str
    options: tuple[tuple[str, object], ...] = ()
    if_exists: bool = False


@dataclass(frozen=True)
class NoopStmt:
    """A statement accepted for compatibility that changes nothing here (VACUUM, ANALYZE...)."""

    tag: str


Utility = (
    TransactionStmt | SetTransactionStmt | SetStmt | ResetStmt | ShowStmt | PrepareStmt | ExecuteStmt
    | DeallocateStmt | DiscardStmt | ExplainStmt | RoleStmt | NoopStmt
)

_WORD = re.compile(r'"(?:[^"]|"")*"|\'(?:[^\']|\'\')*\'|[A-Za-z_][A-Za-z0-9_$.]*|\S')

UTILITY_FIRST_WORDS = frozenset(
    {
        "begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release",
        "set", "show", "reset", "prepare", "execute", "deallocate", "discard", "explain",
        "vacuum", "analyze", "analyse", "cluster", "checkpoint", "listen", "unlisten", "notify",
        "load", "reindex",
    }
)
_ROLE_WORDS = ("role", "user")

from sqlvec.sql.alter_storage_stmt import is_alter_storage, parse_alter_storage  # noqa: E402
from sqlvec.sql.cursor_stmt import CURSOR_WORDS, parse_cursor  # noqa: E402
from sqlvec.sql.maintenance_stmt import MAINTENANCE_WORDS, parse_maintenance  # noqa: E402


def first_words(sql: str, n: int = 2) -> list[str]:
    return [w.lower() for w in _WORD.findall(sql)[:n]]


def is_utility(sql: str) -> bool:
    """Whether sql is parsed by this module rather than by sqlglot."""
    w = first_words(sql, 3)
    if not w:
        return False
    if w[0] in UTILITY_FIRST_WORDS:
        return True
    if w[0] in CURSOR_WORDS:  # DECLARE / FETCH / MOVE / CLOSE (sql/cursor_stmt.py)
        return True
    if w[0] in ("create", "alter", "drop") and len(w) > 1 and w[1] in _ROLE_WORDS:
        return True
    return w[:2] == ["alter", "table"] and is_alter_storage(sql)


def _ident(tok: str) -> str:
    if tok.startswith('"'):
        return tok[1:-1].replace('""', '"')
    return tok.lower()


def _literal(tok: str) -> str:
    if tok.startswith("'"):
        return tok[1:-1].replace("''", "'")
    return tok


def _tx_name(words: list[str]) -> str | None:
    rest = [w for w in words if w.lower() not in ("savepoint", "work", "transaction")]
    return _ident(rest[0]) if rest else None


def _value_text(rest: str) -> str:
    """SET value list as SHOW prints it: quotes removed, items joined by ', '."""
    toks = _WORD.findall(rest)
    items: list[str] = []
    cur = ""
    for t in toks:
        if t == ",":
            items.append(cur)
            cur = ""
        else:
            cur += _literal(t) if t.startswith("'") else (t[1:-1] if t.startswith('"') else t)
    items.append(cur)
    return ", ".join(items)


def parse_utility(sql: str) -> Utility:
    """Parse one utility statement (sql without the trailing semicolon)."""
    text = sql.strip().rstrip(";").strip()
    words = _WORD.findall(text)
    low = [w.lower() for w in words]
    head = low[0]
    if head in CURSOR_WORDS:
        return parse_cursor(text)
    if head in ("begin", "start"):
        return _parse_begin(text, head)
    if head in ("commit", "rollback") and low[1:2] == ["prepared"]:  # two-phase commit
        if len(words) < 3 or not words[2].startswith("'"):
            raise SyntaxError_("syntax error at or near \"prepared\"", position=len(head) + 2)
        return TransactionStmt(f"{head}_prepared", _literal(words[2]))
    chain = low[-2:] == ["and", "chain"] and low[-3:-2] != ["no"]
    if head in ("commit", "end"):
        return TransactionStmt("commit", chain=chain)
    if head in ("rollback", "abort"):
        if "to" in low:
            return TransactionStmt("rollback_to", _tx_name(words[low.index("to") + 1 :]))
        return TransactionStmt("rollback", chain=chain)
    if head == "savepoint":
        if len(words) < 2:
            raise SyntaxError_("syntax error at end of input", position=len(sql) + 1)
        return TransactionStmt("savepoint", _ident(words[1]))
    if head == "release":
        return TransactionStmt("release", _tx_name(words[1:]))
    if head == "set":
        return _parse_set(text, words, low)
    if head == "reset":
        if len(low) < 2:
            raise SyntaxError_("syntax error at end of input", position=len(sql) + 1)
        return ResetStmt(None if low[1] == "all" else _setting_name(words[1:]))
    if head == "show":
        if len(low) < 2:
            raise SyntaxError_("syntax error at end of input", position=len(sql) + 1)
        return ShowStmt(_setting_name(words[1:]))
    if head == "prepare" and low[1:2] == ["transaction"]:
        if len(words) < 3 or not words[2].startswith("'"):
            raise SyntaxError_("syntax error at end of input", position=len(text) + 1)
        return TransactionStmt("prepare", _literal(words[2]))
    if head == "prepare":
        return _parse_prepare(text)
    if head == "execute":
        m = re.match(r"(?is)execute\s+(\"[^\"]+\"|\w+)\s*(?:\((.*)\))?\s*$", text)
        if not m:
            raise SyntaxError_("syntax error at or near \"execute\"", position=1)
        args = tuple(a.strip() for a in _split_top(m.group(2))) if m.group(2) else ()
        return ExecuteStmt(_ident(m.group(1)), args)
    if head == "deallocate":
        rest = [w for w in words[1:] if w.lower() != "prepare"]
        if not rest or rest[0].lower() == "all":
            return DeallocateStmt(None)
        return DeallocateStmt(_ident(rest[0]))
    if head == "discard":
        return DiscardStmt(low[1] if len(low) > 1 else "all")
    if head == "explain":
        return _parse_explain(text)
    if head in MAINTENANCE_WORDS:  # VACUUM / ANALYZE / CLUSTER / CHECKPOINT
        return parse_maintenance(text)
    if head == "reindex":  # runs in the session's transaction (session/utility_exec.py)
        from sqlvec.sql.reindex_stmt import parse_reindex

        return parse_reindex(text)
    if head == "alter" and is_alter_storage(text):
        return parse_alter_storage(text)
    if head in ("create", "alter", "drop"):
        return _parse_role(head, words, low)
    if head == "load":  # no loadable libraries here: every file is missing, as PostgreSQL says
        if len(words) < 2 or not words[1].startswith("'"):
            raise SyntaxError_("syntax error at end of input", position=len(text) + 1)
        raise UndefinedFile(f'could not access file "{_literal(words[1])}": No such file or directory')
    return NoopStmt(head.upper())


def _setting_name(words: list[str]) -> str:
    name = "".join(words)
    if name.lower() in ("timezone", "time"):
        return "timezone"
    if [w.lower() for w in words[:3]] == ["transaction", "isolation", "level"]:
        return "transaction_isolation"
    if [w.lower() for w in words] == ["session", "authorization"]:
        return "session_authorization"
    return _ident(name) if name.startswith('"') else name.lower()


def _parse_set_constraints(text: str) -> SetConstraintsStmt:
    m = re.match(r"(?is)set\s+constraints\s+(.*?)\s+(deferred|immediate)\s*$", text)
    if not m:
        raise SyntaxError_("syntax error at end of input", position=len(text) + 1)
    what = m.group(1).strip()
    names = None if what.lower() == "all" else tuple(
        ".".join(_ident(p.strip()) for p in n.split(".")) for n in _split_top(what))
    return SetConstraintsStmt(names, m.group(2).lower() == "deferred")


def _parse_set(text: str, words: list[str], low: list[str]) -> SetStmt:
    i = 1
    local = False
    if i < len(low) and low[i] in ("session", "local"):
        local = low[i] == "local"
        i += 1
    if low[1:3] == ["session", "authorization"]:  # SET SESSION AUTHORIZATION role | DEFAULT
        if len(words) < 4:
            raise SyntaxError_("syntax error at end of input", position=len(text) + 1)
        role = words[3]
        value = None if low[3] == "default" else _literal(role) if role.startswith("'") else _ident(role)
        return SetStmt("session_authorization", value)
    if low[i : i + 2] == ["time", "zone"]:
        rest = text.split(None, i + 2)[-1] if len(words) > i + 2 else ""
        val = _value_text(rest)
        return SetStmt("timezone", None if val.lower() in ("default", "local") else val, local)
    if low[1:2] == ["constraints"]:
        return _parse_set_constraints(text)
    if low[1:2] == ["transaction"]:
        return SetTransactionStmt(_tx_modes(text, re.match(r"(?is)set\s+transaction", text).end(), True))
    if low[1:5] == ["session", "characteristics", "as", "transaction"]:
        start = re.match(r"(?is)set\s+session\s+characteristics\s+as\s+transaction", text).end()
        return SetTransactionStmt(_tx_modes(text, start, True), session=True)
    if low[i : i + 1] == ["names"]:
        return SetStmt("client_encoding", _literal(words[i + 1]) if i + 1 < len(words) else None)
    m = re.match(r"(?is)set\s+(?:session\s+|local\s+)?(\"[^\"]+\"|[\w.]+)\s*(?:=|\bto\b)\s*(.*)$", text)
    if not m:
        raise SyntaxError_("syntax error at end of input", position=len(text) + 1)
    name = _ident(m.group(1))
    val = m.group(2).strip()
    if not val:
        raise SyntaxError_("syntax error at end of input", position=len(text) + 1)
    if val.lower() == "default":
        return SetStmt(name, None, local)
    return SetStmt(name, _value_text(val), local)


def _parse_begin(text: str, head: str) -> TransactionStmt:
    """BEGIN [WORK | TRANSACTION] [modes] / START TRANSACTION [modes]."""
    m = re.match(r"(?is)start\s+transaction\b" if head == "start" else r"(?is)begin(?:\s+(?:work|transaction)\b)?",
                 text)
    if m is None:  # START without TRANSACTION
        nxt = [w for w in _WORD.finditer(text)][1:2]
        if not nxt:
            raise SyntaxError_("syntax error at end of input", position=len(text) + 1)
        raise SyntaxError_(f'syntax error at or near "{nxt[0].group()}"', position=nxt[0].start() + 1)
    return TransactionStmt("begin", None, _tx_modes(text, m.end(), False),
                           "START TRANSACTION" if head == "start" else "")


_ISOLATION = {"serializable": "serializable", "repeatable read": "repeatable read",
              "read committed": "read committed", "read uncommitted": "read uncommitted"}


def _tx_modes(text: str, start: int, required: bool) -> tuple[tuple[str, str], ...]:
    """Transaction modes from text[start:] as (setting, value) pairs, PostgreSQL's grammar:
    ISOLATION LEVEL ..., READ ONLY | READ WRITE, [NOT] DEFERRABLE, comma or space separated.

    >>> _tx_modes("begin isolation level repeatable read, read only", 5, False)
    (('transaction_isolation', 'repeatable read'), ('transaction_read_only', 'on'))
    """
    toks = [(m.group().lower(), m.start(), m.group()) for m in _WORD.finditer(text, start)]
    out: list[tuple[str, str]] = []
    i = 0

    def fail(j: int) -> SyntaxError_:
        if j >= len(toks):
            return SyntaxError_("syntax error at end of input", position=len(text) + 1)
        return SyntaxError_(f'syntax error at or near "{toks[j][2]}"', position=toks[j][1] + 1)

    def word(j: int) -> str:
        return toks[j][0] if j < len(toks) else ""

    if required and not toks:
        raise fail(0)
    while i < len(toks):
        if out and word(i) == ",":
            i += 1
        w = word(i)
        if w == "isolation" and word(i + 1) == "level":
            one, two = word(i + 2), f"{word(i + 2)} {word(i + 3)}"
            if two in _ISOLATION:
                out.append(("transaction_isolation", _ISOLATION[two]))
                i += 4
            elif one == "serializable":
                out.append(("transaction_isolation", one))
                i += 3
            else:
                raise fail(i + 3 if one in ("read", "repeatable") else i + 2)
        elif w == "read" and word(i + 1) in ("only", "write"):
            out.append(("transaction_read_only", "on" if word(i + 1) == "only" else "off"))
            i += 2
        elif w == "deferrable":
            out.append(("transaction_deferrable", "on"))
            i += 1
        elif w == "not" and word(i + 1) == "deferrable":
            out.append(("transaction_deferrable", "off"))
            i += 2
        else:
            raise fail(i + 1 if w in ("isolation", "read", "not") else i)
    return tuple(out)


def _split_top(s: str) -> list[str]:
    """Split on commas outside parentheses and quotes."""
    out, depth, cur, q = [], 0, "", None
    for ch in s:
        if q:
            cur += ch
            if ch == q:
                q = None
            continue
        if ch in "'\"":
            q = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        cur += ch
    if cur.strip():
        out.append(cur)
    return out


def _parse_prepare(text: str) -> PrepareStmt:
    m = re.match(r"(?is)prepare\s+(\"[^\"]+\"|\w+)\s*(?:\((.*?)\))?\s+as\s+(.*)$", text)
    if not m:
        raise SyntaxError_("syntax error at or near \"prepare\"", position=1)
    types = tuple(t.strip() for t in _split_top(m.group(2))) if m.group(2) else ()
    return PrepareStmt(_ident(m.group(1)), types, m.group(3))


def _parse_explain(text: str) -> ExplainStmt:
    rest = text[len("explain") :].strip()
    analyze = verbose = False
    if rest.startswith("("):
        close = rest.index(")")
        for opt in rest[1:close].split(","):
            parts = opt.strip().lower().split()
            if not parts:
                continue
            on = len(parts) < 2 or parts[1] in ("true", "on", "1")
            if parts[0] == "analyze":
                analyze = on
            elif parts[0] == "verbose":
                verbose = on
        rest = rest[close + 1 :].strip()
    while True:
        w = rest.split(None, 1)
        if w and w[0].lower() in ("analyze", "analyse"):
            analyze, rest = True, (w[1] if len(w) > 1 else "")
        elif w and w[0].lower() == "verbose":
            verbose, rest = True, (w[1] if len(w) > 1 else "")
        else:
            break
    return ExplainStmt(rest, analyze, verbose)


def _parse_role(action: str, words: list[str], low: list[str]) -> RoleStmt:
    i = 2
    if_exists = False
    if action == "drop" and low[i : i + 2] == ["if", "exists"]:
        if_exists, i = True, i + 2
    if i >= len(words):
        raise SyntaxError_("syntax error at end of input", position=1)
    name = _ident(words[i])
    opts: list[tuple[str, object]] = []
    j = i + 1
    if action == "create" and low[1] == "user":
        opts.append(("login", True))
    while j < len(low):
        w = low[j]
        if w == "with":
            pass
        elif w == "password":
            j += 1
            val = words[j] if j < len(words) else "null"
            opts.append(("password", None if val.lower() == "null" else _literal(val)))
        elif w in ("login", "superuser", "createdb", "createrole", "inherit", "replication"):
            opts.append((w, True))
        elif w.startswith("no") and w[2:] in ("login", "superuser", "createdb", "createrole"):
            opts.append((w[2:], False))
        j += 1
    return RoleStmt(action, name, tuple(opts), if_exists)
