"""json(b)_to_record / json(b)_to_recordset: a JSON object (or array of objects) as rows
of the column definition list the query gives (`AS t(a int, b text)`). Each field is
read as its JSON text (a string's own text), then cast to the column's type as text input
would be; a missing key is NULL. Documents are parsed once per distinct value."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from sqlvec.core import types as T
from sqlvec.core.errors import InvalidParameterValue
from sqlvec.functions.jsonfns import dumps, loads
from sqlvec.functions.vec import map_distinct


def _field_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    return dumps(v)


class JsonToRecord:
    """The callable of a FunctionScan: one list of records per input document."""

    def __init__(self, name: str, columns: list[tuple[str, T.SqlType]], casts: Any) -> None:
        self.name = name
        self.columns = columns
        self.casts = casts
        self.many = name.endswith("recordset")
        self.volatile = False
        self.set_returning = True
        self.return_type = T.RECORD

    def _rows(self, doc: str) -> list[list[str | None]]:
        v = loads(doc)
        objs = v if self.many else [v]
        if self.many and not isinstance(v, list):
            raise InvalidParameterValue(f"cannot call {self.name} on a non-array")
        out = []
        for o in objs:
            if not isinstance(o, dict):
                raise InvalidParameterValue(
                    f"cannot call {self.name} on a{'n array' if isinstance(o, list) else ' scalar'}"
                    if not self.many else "argument of json_populate_recordset must be an array of objects")
            out.append([_field_text(o.get(c)) for c, _ in self.columns])
        return out

    def call(self, args: list, n: int) -> pa.Array:
        width = len(self.columns)
        lists = map_distinct(lambda d: self._rows(d), args[:1], n, pa.list_(pa.list_(pa.string())))
        rows = lists.flatten() if len(lists) else pa.array([], pa.list_(pa.string()))
        offsets = lists.offsets
        cols = []
        for i, (_, t) in enumerate(self.columns):
            import pyarrow.compute as pc

            text = pc.list_element(rows, i) if len(rows) else pa.array([], pa.string())
            cols.append(self.casts.cast(text, T.TEXT, t))
        structs = pa.StructArray.from_arrays(cols, names=[f"f{i}" for i in range(width)]) if cols else \
            pa.array([{}] * len(rows), pa.struct([]))
        return pa.ListArray.from_arrays(offsets, structs)
