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

    def __init__(self, t: SqlType) -> None:
        self.return_type = t
        self.volatile = False

    def call(self, args: list, n: int) -> pa.Array:
        from sqlvec.functions.arrays import flatten_dims
        from sqlvec.functions.registry import as_array

        return flatten_dims(as_array(args[0], n))


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
