"""Transaction modes: ISOLATION LEVEL, READ ONLY / READ WRITE, [NOT] DEFERRABLE.

The modes of the current transaction live in the settings `transaction_isolation`,
`transaction_read_only` and `transaction_deferrable` (what SHOW prints); each transaction
starts from the `default_transaction_*` settings, BEGIN / START TRANSACTION / SET TRANSACTION
change them for the block, SET SESSION CHARACTERISTICS AS TRANSACTION changes the defaults.
Outside a block they equal the defaults. A read-only transaction refuses every statement
that writes with PostgreSQL's 25006 "cannot execute INSERT in a read-only transaction".
Isolation levels are accepted and shown; every level runs on the storage's snapshots.
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp

from sqlvec.core.errors import ActiveSqlTransaction, ReadOnlySqlTransaction
from sqlvec.sql import utility as UT

MODES = ("transaction_isolation", "transaction_read_only", "transaction_deferrable")
_DML = {exp.Insert: "INSERT", exp.Update: "UPDATE", exp.Delete: "DELETE", exp.Merge: "MERGE"}
_WRITING_FUNCTIONS = ("nextval", "setval")
# LOCK modes above ROW EXCLUSIVE are refused in a read-only transaction (as PostgreSQL)
_WEAK_LOCKS = re.compile(r"(?is)\bin\s+(access\s+share|row\s+share|row\s+exclusive)\s+mode\b")


def reset(s: Any) -> None:
    """A transaction ended (or none is open): its modes go back to the defaults."""
    v = s.settings.values
    for name in MODES:
        v[name] = v["default_" + name]
    s.txn_queried = False


def begin(s: Any, modes: tuple[tuple[str, str], ...]) -> None:
    """BEGIN / START TRANSACTION with modes: the defaults, then the modes given."""
    reset(s)
    for name, value in modes:
        if name in s.settings.values:
            s.settings.values[name] = value


def set_transaction(s: Any, node: UT.SetTransactionStmt) -> None:
    """SET TRANSACTION (this block) or SET SESSION CHARACTERISTICS AS TRANSACTION (defaults)."""
    if node.session:
        for name, value in node.modes:
            s.settings.set("default_" + name, value)
        if s.txn is None:
            reset(s)
        return
    if s.txn is None:
        s.notice("SET TRANSACTION can only be used in transaction blocks", "WARNING", "25P01")
        return
    for name, value in node.modes:
        set_mode(s, name, value)


def set_mode(s: Any, name: str, value: str | None) -> bool:
    """SET of a transaction mode (SET TRANSACTION, SET transaction_read_only = ...): checked
    as PostgreSQL does in a block; outside one it has no lasting effect. True when handled."""
    key = name.lower()
    if key.startswith("default_") and key[8:] in MODES:
        s.settings.set(key, value)
        if s.txn is None:  # the next transaction's modes (and SHOW of them now)
            reset(s)
        return True
    if key not in MODES:
        return False
    before = s.settings.values[key]
    s.settings.set(key, value)  # validates (22023) and canonicalises
    after = s.settings.values[key]
    if s.txn is None:
        s.settings.values[key] = before
        return True
    if after != before and s.txn_queried:
        s.settings.values[key] = before
        if key == "transaction_isolation":
            raise ActiveSqlTransaction("SET TRANSACTION ISOLATION LEVEL must be called before any query")
        if key == "transaction_read_only" and after == "off":
            raise ActiveSqlTransaction("transaction read-write mode must be set before any query")
        if key == "transaction_deferrable":
            raise ActiveSqlTransaction("SET TRANSACTION [NOT] DEFERRABLE must be called before any query")
        s.settings.values[key] = after  # READ ONLY may be set at any time
    return True


def check_writable(s: Any, node: Any) -> None:
    """Raise 25006 when the transaction is read-only and node would write."""
    verb = write_command(node)
    if verb == "LOCK TABLE" and s.txn is None:
        return  # 25P01 outside a block comes first (session/utility_exec.py)
    if verb is not None:
        raise ReadOnlySqlTransaction(f"cannot execute {verb} in a read-only transaction")


def write_command(node: Any) -> str | None:
    """PostgreSQL's name for a statement that writes (as its read-only error says), or None.

    >>> from sqlvec.sql.parse import parse_statement
    >>> write_command(parse_statement("insert into t values (1)", 0))
    'INSERT'
    >>> write_command(parse_statement("select nextval('s')", 0)), write_command(parse_statement("select 1", 0))
    ('nextval()', None)
    """
    if isinstance(node, UT.RoleStmt):
        return f"{node.action.upper()} ROLE"
    if not isinstance(node, exp.Expr):
        return None
    top = _DML.get(type(node))
    if top is not None:
        return top
    if isinstance(node, exp.Create):
        kind = (node.args.get("kind") or "").upper()
        props = node.args.get("properties")
        if props is not None and any(isinstance(p, exp.MaterializedProperty) for p in props.expressions):
            return "CREATE MATERIALIZED VIEW"
        return "CREATE TABLE AS" if kind == "TABLE" and node.expression is not None else f"CREATE {kind}"
    if isinstance(node, exp.Drop):
        kind = (node.args.get("kind") or "").upper()
        return f"DROP MATERIALIZED {kind}" if node.args.get("materialized") else f"DROP {kind}"
    if isinstance(node, exp.Alter):
        return f"ALTER {(node.args.get('kind') or '').upper()}"
    if isinstance(node, exp.TruncateTable):
        return "TRUNCATE TABLE"
    if isinstance(node, exp.Comment):
        return "COMMENT"
    if isinstance(node, exp.Grant):
        return "GRANT"
    if isinstance(node, exp.Command):
        return _command_name(node)
    if isinstance(node, exp.Select):
        if node.args.get("into") is not None:
            return "SELECT INTO"
        locks = node.args.get("locks")
        if locks:
            return "SELECT FOR UPDATE" if locks[0].args.get("update") else "SELECT FOR SHARE"
    if node.find(exp.Insert, exp.Update, exp.Delete, exp.Merge) is not None:  # in a WITH
        return "SELECT"
    for f in node.find_all(exp.Anonymous):
        if f.name.lower() in _WRITING_FUNCTIONS:
            return f"{f.name.lower()}()"
    return None


def _command_name(node: exp.Command) -> str | None:
    """Statements sqlglot leaves as Command: CREATE EXTENSION, ALTER SEQUENCE, REFRESH, LOCK..."""
    head = str(node.this).upper()
    rest = str(node.expression or "")
    words = rest.split()
    if head in ("CREATE", "ALTER", "DROP"):
        obj = words[0].upper() if words else ""
        if obj == "OR" and len(words) > 3:  # CREATE OR REPLACE x
            obj = words[2].upper()
        return f"{head} {obj}".strip()
    if head == "REFRESH":
        return "REFRESH MATERIALIZED VIEW"
    if head in ("REVOKE", "GRANT", "DO"):
        return head if head != "DO" else None
    if head == "LOCK":
        return None if _WEAK_LOCKS.search(rest) else "LOCK TABLE"
    return None
