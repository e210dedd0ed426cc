"""Functions whose answer depends on the session's or the transaction's state:
random() / setseed() (a random sequence per session, repeatable after setseed) and
txid_current() / pg_current_xact_id() (the transaction's id).

The session and the transaction come from the statement's environment (`ctx.env.session`,
`ctx.env.txn`; duck-typed, functions sit below the session layer). A transaction id is
given on first request, as PostgreSQL assigns one lazily: the same within a transaction,
larger in every transaction that asks later (never below the store's commit sequence, so
it keeps growing across restarts of a durable store too).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import InvalidParameterValue
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry

_FIRST_XID = 1000  # PostgreSQL's first normal ids are small; any start that grows will do
_lock = threading.Lock()
_xids: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_last_xid = [_FIRST_XID - 1]
_rngs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_no_session_rng: list[np.random.Generator] = []


def _xid(txn: Any) -> int:
    with _lock:
        xid = _xids.get(txn) if txn is not None else None
        if xid is None:
            seq = getattr(txn, "snapshot_seq", 0) or 0
            xid = max(_last_xid[0] + 1, _FIRST_XID + int(seq))
            _last_xid[0] = xid
            if txn is not None:
                _xids[txn] = xid
        return xid


def _txid_current(ctx: CallContext, args: list[Arg]) -> Arg:
    return pa.array(np.full(ctx.n, _xid(getattr(ctx.env, "txn", None)), np.int64), pa.int64())


def _rng(ctx: CallContext) -> np.random.Generator:
    session = getattr(ctx.env, "session", None)
    if session is None:
        if not _no_session_rng:
            _no_session_rng.append(np.random.default_rng())
        return _no_session_rng[0]
    rng = _rngs.get(session)
    if rng is None:
        rng = _rngs[session] = np.random.default_rng()
    return rng


def _random(ctx: CallContext, args: list[Arg]) -> Arg:
    return pa.array(_rng(ctx).random(ctx.n), pa.float64())


def _setseed(ctx: CallContext, args: list[Arg]) -> Arg:
    seeds = args[0]
    if isinstance(seeds, pa.Scalar):
        seeds = pa.array([seeds.as_py()] * (ctx.n if seeds.is_valid else 0), pa.float64())
    seeds = pc.drop_null(pc.cast(seeds, pa.float64())).to_numpy(zero_copy_only=False)
    bad = seeds[~((seeds >= -1.0) & (seeds <= 1.0))]
    if bad.size:
        raise InvalidParameterValue(f"setseed parameter {float(bad[0]):g} is out of allowed range [-1,1]")
    if seeds.size:  # the last call's seed decides the sequence (one call per row)
        seed = int(float(seeds[-1]) * ((1 << 52) - 1)) & ((1 << 64) - 1)  # as pg_prng_fseed
        rng = np.random.default_rng(seed)
        session = getattr(ctx.env, "session", None)
        if session is None:
            _no_session_rng[:] = [rng]
        else:
            _rngs[session] = rng
    return T.void_values(ctx.n)


def register(fr: FunctionRegistry) -> None:
    fr.add("random", [], T.FLOAT8, _random, volatile=True)
    fr.add("setseed", [T.FLOAT8], T.VOID, _setseed, volatile=True)
    fr.add("txid_current", [], T.INT8, _txid_current, volatile=True)
    fr.add("pg_current_xact_id", [], T.INT8, _txid_current, volatile=True)  # xid8 in PostgreSQL
