"""Miscellaneous functions: gen_random_uuid / uuid comparisons, num_nonnulls / num_nulls,
pg_typeof-free helpers that need no catalog (the catalog's functions live with the engine).
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry
from sqlvec.functions.vec import arr


def _gen_uuid(ctx: CallContext, args: list[Arg]) -> Arg:
    """Version-4 UUIDs for a whole batch from one os.urandom call."""
    raw = np.frombuffer(os.urandom(16 * ctx.n), dtype=np.uint8).reshape(ctx.n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return pa.Array.from_buffers(pa.binary(16), ctx.n, [None, pa.py_buffer(raw.tobytes())])


def _num_nulls(count_nulls: bool):
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        total = np.zeros(ctx.n, np.int32)
        for a in args:
            total += np.asarray(pc.is_null(arr(a, ctx.n)) if count_nulls else pc.is_valid(arr(a, ctx.n)))
        return pa.array(total, pa.int32())
    return impl


def _pg_typeof(ctx: CallContext, args: list[Arg]) -> Arg:
    """The argument's type as a regtype (its OID; printed as the type's name, no modifier)."""
    t = (ctx.input_types or ctx.arg_types)[0]
    return pa.scalar(t.oid, pa.uint32())


def register(fr: FunctionRegistry) -> None:
    fr.add("pg_typeof", [T.ANY], T.REGTYPE, _pg_typeof, strict=False)
    fr.add("gen_random_uuid", [], T.UUID, _gen_uuid, volatile=True)
    fr.add("uuid_generate_v4", [], T.UUID, _gen_uuid, volatile=True)
    fr.add("num_nulls", [T.ANY], T.INT4, _num_nulls(True), variadic=True, strict=False)
    fr.add("num_nonnulls", [T.ANY], T.INT4, _num_nulls(False), variadic=True, strict=False)
