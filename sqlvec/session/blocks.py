"""Transaction control statements of a Session, as PostgreSQL 15 runs them.

BEGIN / START TRANSACTION [modes], COMMIT / END / ROLLBACK / ABORT [AND [NO] CHAIN],
SAVEPOINT / RELEASE / ROLLBACK TO, and the two-phase commit statements (sqlvec has no
prepared transactions: max_prepared_transactions is 0). In a multi-statement Query (an
implicit block): BEGIN makes the statements before it part of the block it opens; COMMIT or
ROLLBACK warn that no block is open and commit or roll back those statements; savepoint
statements are 25P01 there (session.execute aborts the string).
"""

from __future__ import annotations

import time
from typing import Any

from sqlvec.core.errors import (
    ActiveSqlTransaction,
    InvalidSavepointSpecification,
    NoActiveSqlTransaction,
    ObjectNotInPrerequisiteState,
    UndefinedObject,
)
from sqlvec.core.results import Command, Result
from sqlvec.session import txn_modes as TM
from sqlvec.sql import utility as UT

_VERBS = {"savepoint": "SAVEPOINT", "release": "RELEASE SAVEPOINT",
          "rollback_to": "ROLLBACK TO SAVEPOINT"}


def run_transaction(s: Any, node: UT.TransactionStmt) -> Result:
    k = node.kind
    if s.implicit_block and k in ("begin", "commit", "rollback", "prepare"):
        return _in_implicit(s, node)
    if k == "begin":
        if s.txn is not None:
            s.notice("there is already a transaction in progress", "WARNING", "25001")
            return Command(node.tag or "BEGIN")
        open_block(s, node.modes)
        return Command(node.tag or "BEGIN")
    if k in ("commit", "rollback", "prepare"):
        return _end(s, node)
    if k in ("commit_prepared", "rollback_prepared"):
        verb = k.replace("_", " ").upper()
        if s.txn is not None:
            raise ActiveSqlTransaction(f"{verb} cannot run inside a transaction block")
        raise UndefinedObject(f'prepared transaction with identifier "{node.name}" does not exist')
    if s.txn is None or s.implicit_block:
        raise NoActiveSqlTransaction(f"{_VERBS[k]} can only be used in transaction blocks")
    if k == "savepoint":
        s.savepoints.append((node.name, (s.txn.savepoint(), s.settings.savepoint())))
        return Command("SAVEPOINT")
    names = [n for n, _ in s.savepoints]
    if node.name not in names:
        raise InvalidSavepointSpecification(f'savepoint "{node.name}" does not exist')
    i = len(names) - 1 - names[::-1].index(node.name)
    if k == "release":
        del s.savepoints[i:]
        return Command("RELEASE")
    sp, saved = s.savepoints[i][1]
    s.txn.rollback_to(sp)
    s.settings.rollback_to(saved)  # SETs since the savepoint are undone
    del s.savepoints[i + 1 :]
    s.failed = False
    return Command("ROLLBACK")


def open_block(s: Any, modes: tuple[tuple[str, str], ...]) -> None:
    """Start an explicit transaction block with these modes (BEGIN, or AND CHAIN)."""
    s.txn = s.db.store.begin()
    s.txn_started_us = time.time_ns() // 1000
    s.failed = False
    s.savepoints = []
    s.settings.begin()
    TM.begin(s, modes)


def open_implicit(s: Any) -> None:
    """The extended protocol's implicit block, opened by a write with no block open: the
    statements until Sync run in it and commit at Sync (end_implicit), all or none."""
    s.txn = s.db.store.begin()
    s.txn_started_us = time.time_ns() // 1000
    s.failed = False
    s.savepoints = []
    s.settings.begin()
    s.implicit_block = True


def end_implicit(s: Any) -> None:
    """Sync: commit the implicit block, or roll it back when a statement in it failed."""
    from sqlvec.session.notify import end_of_block

    txn, commit = s.txn, not s.failed
    s.implicit_block = False
    try:
        _finish(s, txn, commit)
    except BaseException:
        end_of_block(s, False)
        raise
    end_of_block(s, commit)


def _end(s: Any, node: UT.TransactionStmt) -> Result:
    """COMMIT / ROLLBACK [AND CHAIN] / PREPARE TRANSACTION of an explicit block (or none)."""
    k = node.kind
    if s.txn is None:
        if node.chain:
            raise NoActiveSqlTransaction(f"{k.upper()} AND CHAIN can only be used in transaction blocks")
        s.notice("there is no transaction in progress", "WARNING", "25P01")
        return Command("COMMIT" if k == "commit" else "ROLLBACK")
    txn, failed = s.txn, s.failed
    commit = k == "commit" and not failed  # a failed block's COMMIT rolls back
    modes = tuple((m, s.settings.values[m]) for m in TM.MODES) if node.chain else None
    _finish(s, txn, commit)
    if k == "prepare" and not failed:  # the block ended (rolled back) and could not be prepared
        raise ObjectNotInPrerequisiteState(
            "prepared transactions are disabled",
            hint="Set max_prepared_transactions to a nonzero value.")
    if modes is not None:  # AND CHAIN: a new block with the same modes at once
        open_block(s, modes)
    return Command("COMMIT" if commit else "ROLLBACK")


def _in_implicit(s: Any, node: UT.TransactionStmt) -> Result:
    """BEGIN / COMMIT / ROLLBACK inside a multi-statement Query's implicit block."""
    s.implicit_block = False
    if node.kind == "begin":  # the statements before it join the block it opens
        queried = s.txn_queried
        TM.reset(s)
        s.txn_queried = queried  # a query ran: the isolation level is fixed (25001)
        for name, value in node.modes:
            TM.set_mode(s, name, value)
        return Command(node.tag or "BEGIN")
    if node.chain:
        raise NoActiveSqlTransaction(
            f"{node.kind.upper()} AND CHAIN can only be used in transaction blocks")
    s.notice("there is no transaction in progress", "WARNING", "25P01")
    commit = node.kind == "commit"
    _finish(s, s.txn, commit)
    return Command("COMMIT" if commit else "ROLLBACK")


def _finish(s: Any, txn: Any, commit: bool) -> None:
    """End the session's block and commit or roll back its storage transaction."""
    s._end_block(commit)
    try:
        if commit:
            txn.commit(sync=s.settings.values.get("synchronous_commit", "on") != "off")
        else:
            txn.rollback()
    finally:
        s._ddl_settled()
        s._end_xact_locks()  # (after the commit: who takes the lock next sees its writes)
