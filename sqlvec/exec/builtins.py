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
        from sqlvec.functions.arrays import flatten_dims

        a = args[0]
        if a.null_count == len(a):
            return pa.array([], self.return_type.arrow)
        return flatten_dims(a, self.arg_types[0].ndims - 1).flatten()  # all elements, row-major


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
        return Unnest(arg_types, arg_types[0].base_element)
    return None


def _elem(a: pa.Array, elem: pa.DataType) -> pa.Array:
    """An ARRAY[...] element column as the list's value type; numeric text (a string literal
    into numeric[]: 'NaN', 'Infinity' are 0A000 there, numeric[] elements being decimals)."""
    if pa.types.is_decimal(elem) and (pa.types.is_string(a.type) or isinstance(a.type, pa.ExtensionType)):
        from sqlvec.core.textio_numeric import fit_to, numeric_text_of

        return fit_to(a if isinstance(a.type, pa.ExtensionType) else numeric_text_of(a), elem)
    return a.cast(elem)


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
        cols = [_elem(a, elem) if a.type != elem else a for a in args]
        if pa.types.is_list(elem) and k > 1:  # ARRAY[[1, 2], [3, 4]]: sub-arrays of one shape
            import pyarrow.compute as pc

            from sqlvec.core.errors import ArraySubscriptError
            lens = [pc.fill_null(pc.list_value_length(c), -1) for c in cols]
            if any(not pc.all(pc.equal(ln, lens[0])).as_py() for ln in lens[1:]):
                raise ArraySubscriptError(
                    "multidimensional arrays must have array expressions with matching dimensions")
        values = pa.concat_arrays(cols)
        # row i, element j sits at j * n + i in `values`
        order = (np.arange(k)[None, :] * n + np.arange(n)[:, None]).reshape(-1)
        flat = values.take(pa.array(order))
        offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32))
        return pa.ListArray.from_arrays(offsets, flat, type=self.return_type.arrow)


@dataclass
class ArrayIndex:
    """arr[i] with PostgreSQL's 1-based subscripts; out of range or NULL gives NULL."""

    arg_types: list[SqlType]
    return_type: SqlType
    volatile: bool = False
    strict: bool = True
    set_returning: bool = False

    def call(self, args: list, n: int) -> pa.Array:
        import pyarrow.compute as pc

        arr, idx = args
        lengths = np.asarray(pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False), np.int64)
        offsets = np.asarray(arr.offsets.to_numpy(zero_copy_only=False), np.int64)[:-1] if n else np.zeros(0, np.int64)
        i = np.asarray(pc.fill_null(idx.cast(pa.int64()), 0).to_numpy(zero_copy_only=False), np.int64)
        ok = (i >= 1) & (i <= lengths) & np.asarray(pc.is_valid(arr).to_numpy(zero_copy_only=False), bool) \
            & np.asarray(pc.is_valid(idx).to_numpy(zero_copy_only=False), bool)
        pos = np.where(ok, offsets + i - 1, 0)
        values = arr.values
        if len(values) == 0:
            return pa.nulls(n, self.return_type.arrow)
        return values.take(pa.array(pos, mask=~ok))


def srf_lists(name: str, args: list[pa.Array], return_type: SqlType) -> pa.Array:
    """Per-row results of a set-returning call as a list array (one list per input row)."""
    import pyarrow.compute as pc

    if name == "unnest":
        a = args[0]
        return a if a.null_count == 0 else pc.if_else(pc.is_null(a), pa.scalar([], a.type), a)
    # generate_series(start, stop[, step]) per row, integers
    n = len(args[0])
    start = np.asarray(pc.fill_null(args[0].cast(pa.int64()), 0).to_numpy(zero_copy_only=False), np.int64)
    stop = np.asarray(pc.fill_null(args[1].cast(pa.int64()), -1).to_numpy(zero_copy_only=False), np.int64)
    step = np.asarray(pc.fill_null(args[2].cast(pa.int64()), 1).to_numpy(zero_copy_only=False), np.int64) \
        if len(args) > 2 else np.ones(n, np.int64)
    if (step == 0).any():
        raise InvalidParameterValue("step size cannot equal zero")
    valid = np.ones(n, bool)
    for a in args:
        if a.null_count:
            valid &= np.asarray(pc.is_valid(a).to_numpy(zero_copy_only=False), bool)
    counts = np.where(valid, np.maximum((stop - start) // step + 1, 0), 0)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    values = np.repeat(start, counts) + offs * np.repeat(step, counts)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values).cast(return_type.arrow))


@dataclass
class MultiUnnest:
    """unnest(a, b, ...) in FROM: one row per position, shorter arrays padded with NULLs."""

    arg_types: list[SqlType]
    volatile: bool = False
    strict: bool = False
    set_returning: bool = True

    @property
    def return_type(self) -> SqlType:
        return T.RECORD

    def call(self, args: list, n: int) -> pa.Array:
        import pyarrow.compute as pc

        lens = [int(pc.fill_null(pc.list_value_length(a), 0)[0].as_py()) for a in args]
        m = max(lens) if lens else 0
        cols = []
        for a, ln in zip(args, lens):
            vals = a[0].values if a[0].is_valid else pa.array([], a.type.value_type)
            idx = np.arange(m)
            cols.append(vals.take(pa.array(np.where(idx < ln, idx, 0), mask=idx >= ln)) if len(vals)
                        else pa.nulls(m, a.type.value_type))
        struct = pa.StructArray.from_arrays(cols, names=[f"f{i}" for i in range(len(cols))])
        return pa.ListArray.from_arrays(pa.array([0, m], pa.int32()), struct)
