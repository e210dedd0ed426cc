"""Engine-side functions that need the catalog or produce sets: nextval/currval, generate_series, unnest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from sqlvec.core import types as T
from sqlvec.core.errors import InvalidParameterValue, UndefinedTable
from sqlvec.core.types import SqlType


@dataclass
class NextvalFunction:
    """nextval/currval/setval('seq'): sequence values from the durable counter; the
    session remembers the last value per sequence for currval."""

    catalog: Any
    search_path: list[str]
    last: dict[int, int] = field(default_factory=dict)
    kind: str = "nextval"
    arg_types: list[SqlType] = field(default_factory=lambda: [T.TEXT])
    return_type: SqlType = T.INT8
    volatile: bool = True
    strict: bool = True
    set_returning: bool = False

    def _seq(self, name: str) -> Any:
        schema, _, rel = name.rpartition(".")
        for s in ([schema] if schema else self.search_path):
            seq = self.catalog.sequence(s, rel)
            if seq:
                return seq
        raise UndefinedTable(f'relation "{name}" does not exist')

    def call(self, args: list, n: int) -> pa.Array:
        from sqlvec.core.errors import ObjectNotInPrerequisiteState

        names = args[0].to_pylist()
        out: list[int | None] = []
        for i, name in enumerate(names):
            if name is None:
                out.append(None)
                continue
            seq = self._seq(name)
            if self.kind == "nextval":
                v = self.catalog.nextval(seq)
                self.last[seq.oid] = v
            elif self.kind == "currval":
                if seq.oid not in self.last:
                    raise ObjectNotInPrerequisiteState(
                        f'currval of sequence "{seq.name}" is not yet defined in this session')
                v = self.last[seq.oid]
            else:
                v = args[1][i].as_py()
                self.catalog.restart_sequence(seq, v + seq.increment)
                self.last[seq.oid] = v
            out.append(v)
        return pa.array(out, pa.int64())


@dataclass
class GenerateSeries:
    """generate_series(start, stop[, step]) over integers."""

    arg_types: list[SqlType]
    return_type: SqlType
    volatile: bool = False
    strict: bool = True
    set_returning: bool = True

    def call(self, args: list, n: int) -> pa.Array:
        vals = [a[0].as_py() for a in args]
        if any(v is None for v in vals):
            return pa.array([], self.return_type.arrow)
        start, stop = vals[0], vals[1]
        step = vals[2] if len(vals) > 2 else 1
        if step == 0:
            raise InvalidParameterValue("step size cannot equal zero")
        if isinstance(start, int) and isinstance(stop, int) and isinstance(step, int):
            end = stop + (1 if step > 0 else -1)
            return pa.array(np.arange(start, end, step), self.return_type.arrow)
        out = []
        x = start
        while (step > 0 and x <= stop) or (step < 0 and x >= stop):
            out.append(x)
            x = x + step
        return pa.array(out, self.return_type.arrow)


@dataclass
class Unnest:
    """unnest(array) -> its elements."""

    arg_types: list[SqlType]
    return_type: SqlType
    volatile: bool = False
    strict: bool = True
    set_returning: bool = True

    def call(self, args: list, n: int) -> pa.Array:
        a = args[0]
        if a.null_count == len(a):
            return pa.array([], self.return_type.arrow)
        return a.flatten()


def engine_function(name: str, arg_types: list[SqlType], catalog: Any, search_path: list[str],
                    seq_values: dict[int, int] | None = None) -> Any | None:
    """The engine's own implementation of `name`, or None."""
    last = seq_values if seq_values is not None else {}
    if name in ("nextval", "currval") and len(arg_types) == 1:
        return NextvalFunction(catalog, search_path, last, name)
    if name == "setval" and len(arg_types) in (2, 3):
        return NextvalFunction(catalog, search_path, last, name, [T.TEXT, T.INT8][: len(arg_types)] + [T.BOOL] * (len(arg_types) - 2))
    if name == "generate_series" and len(arg_types) in (2, 3):
        ints = [t.short for t in arg_types]
        if all(s in ("int2", "int4", "int8", "unknown") for s in ints):
            rt = T.INT8 if "int8" in ints else T.INT4
            return GenerateSeries([rt] * len(arg_types), rt)
        if all(s in ("numeric", "int4", "int8", "unknown") for s in ints):
            return GenerateSeries([T.NUMERIC] * len(arg_types), T.NUMERIC)
    if name == "unnest" and len(arg_types) == 1 and arg_types[0].element is not None:
        return Unnest(arg_types, arg_types[0].element)
    return None


@dataclass
class ArrayBuild:
    """ARRAY[a, b, ...]: one list per row from k element arrays (vectorised interleave)."""

    arg_types: list[SqlType]
    return_type: SqlType
    volatile: bool = False
    strict: bool = False
    set_returning: bool = False

    def call(self, args: list, n: int) -> pa.Array:
        k = len(args)
        elem = self.return_type.arrow.value_type
        cols = [a.cast(elem) if a.type != elem else a for a in args]
        values = pa.concat_arrays(cols)
        # row i, element j sits at j * n + i in `values`
        order = (np.arange(k)[None, :] * n + np.arange(n)[:, None]).reshape(-1)
        flat = values.take(pa.array(order))
        offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, flat, type=self.return_type.arrow)
