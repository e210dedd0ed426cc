"""Small callables the binder puts into expressions: field access, whole-row records,
array flattening and subscripts (evaluated per batch by exec)."""

from __future__ import annotations

import pyarrow as pa

from sqlvec.core.types import SqlType


class _FieldGet:
    """(record).name over a struct array."""

    def __init__(self, name: str, t: SqlType) -> None:
        self.name = name
        self.return_type = t
        self.volatile = False

    def call(self, args: list, n: int) -> pa.Array:
        import pyarrow.compute as pc

        return pc.struct_field(args[0], self.name)


class _RowBuild:
    """A whole-row reference `t`: its columns as one struct array (type record_of(...))."""

    def __init__(self, t: SqlType) -> None:
        self.return_type = t
        self.volatile = False

    def call(self, args: list, n: int) -> pa.Array:
        from sqlvec.functions.registry import as_array

        cols = [as_array(a, n) for a in args]
        return pa.StructArray.from_arrays(cols, fields=list(self.return_type.arrow))


class _FlattenDims:
    """A multi-dimensional array as a one-dimensional one (its elements row-major)."""

    def __init__(self, t: SqlType, levels: int = 1) -> None:
        self.return_type = t
        self.volatile = False
        self.levels = levels

    def call(self, args: list, n: int) -> pa.Array:
        from sqlvec.functions.arrays import flatten_dims
        from sqlvec.functions.registry import as_array

        return flatten_dims(as_array(args[0], n), self.levels)


class _Subscript:
    """a[i] over a batch: element type, index shift (1 for 0-based int2vector/oidvector)."""

    def __init__(self, elem: SqlType, shift: int) -> None:
        self.return_type = elem
        self.shift = shift
        self.volatile = False

    def call(self, args: list, n: int) -> pa.Array:
        from sqlvec.functions.arrays import subscript

        idx = args[1]
        if self.shift:
            import pyarrow.compute as pc

            idx = pc.add(idx, self.shift)
        return subscript(args[0], idx, n).cast(self.return_type.arrow)


class WithOrdinality:
    """A FROM function WITH ORDINALITY: its rows as a struct with a 1-based bigint position
    appended (numbered per input row's result list)."""

    def __init__(self, fn: object, width: int) -> None:
        self.fn = fn
        self.width = width
        self.volatile = getattr(fn, "volatile", False)

    def call(self, args: list, n: int) -> pa.Array:
        import numpy as np
        import pyarrow.compute as pc

        out = self.fn.call(args, n)  # type: ignore[attr-defined]
        if isinstance(out, pa.ChunkedArray):
            out = out.combine_chunks()
        lists = out if isinstance(out, pa.ListArray | pa.LargeListArray) else None
        values = lists.flatten() if lists is not None else out
        if lists is not None and len(values):
            parents = np.asarray(pc.list_parent_indices(lists))
            starts = np.asarray(lists.offsets)[:-1] - np.asarray(lists.offsets)[0]
            pos = np.arange(len(values)) - starts[parents] + 1
        else:
            pos = np.arange(len(values)) + 1
        cols = [values.field(i) for i in range(values.type.num_fields)] \
            if pa.types.is_struct(values.type) and self.width > 1 else [values]
        rows = pa.StructArray.from_arrays(cols + [pa.array(pos, pa.int64())],
                                          names=[f"f{i}" for i in range(len(cols) + 1)])
        return rows


class VariadicCall:
    """f(a, VARIADIC arr) where arr is not an ARRAY[...] constructor: the elements of each
    row's array are the trailing arguments. Rows are grouped by array length and each group
    is one call of the overload for that many arguments (resolved once per length); a NULL
    array gives NULL."""

    def __init__(self, registry: object, name: str, fixed: list[SqlType], elem: SqlType,
                 return_type: SqlType) -> None:
        self.registry = registry
        self.name = name
        self.fixed = fixed
        self.elem = elem
        self.return_type = return_type
        self.volatile = False
        self._bound: dict[int, object] = {}

    def call(self, args: list, n: int) -> pa.Array:
        import numpy as np
        import pyarrow.compute as pc

        from sqlvec.functions.registry import as_array

        cols = [as_array(a, n) for a in args]
        arr = cols[-1]
        lengths = np.asarray(pc.fill_null(pc.list_value_length(arr), -1), dtype=np.int64)
        pieces, where = [], []
        for k in np.unique(lengths):
            rows = np.nonzero(lengths == k)[0]
            where.append(rows)
            if k < 0:
                pieces.append(pa.nulls(len(rows), self.return_type.arrow))
                continue
            fn = self._bound.get(int(k))
            if fn is None:
                fn = self._bound[int(k)] = self.registry.resolve(  # type: ignore[attr-defined]
                    self.name, [*self.fixed, *[self.elem] * int(k)])
            idx = pa.array(rows)
            sub = arr.take(idx)
            elems = [pc.list_element(sub, i) for i in range(int(k))]
            res = fn.call([c.take(idx) for c in cols[:-1]] + elems, len(rows))  # type: ignore[attr-defined]
            pieces.append(res.cast(self.return_type.arrow) if res.type != self.return_type.arrow else res)
        if len(pieces) == 1:
            return pieces[0]
        order = np.argsort(np.concatenate(where), kind="stable")
        return pa.concat_arrays(pieces).take(pa.array(order))
