"""jsonb's btree order as bytes: a key whose bytewise order is PostgreSQL's jsonb order.

PostgreSQL (compareJsonbContainers) orders Object > Array > Boolean > Number > String >
Null; arrays by element count, then element by element; objects by pair count, then key
and value pairs in storage order (keys shorter first, then bytewise); numbers by value
(1 = 1.0); strings bytewise (the C collation). Encoding each value once (per distinct
text) lets comparisons, ORDER BY and top-k run as Arrow binary kernels.

    >>> encode(None) < encode("a") < encode(Decimal(1)) < encode(True) < encode([]) < encode({})
    True
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pyarrow as pa

from sqlvec.functions.vec import arr, map_distinct


def _string(s: str) -> bytes:
    # prefix-free and order-preserving: 0x00 escaped as 0x00 0xff, terminated by 0x00 0x00
    return s.encode().replace(b"\x00", b"\x00\xff") + b"\x00\x00"


def _number(d: Decimal) -> bytes:
    if d == 0:
        return b"\x01"
    sign, digits, _ = d.normalize().as_tuple()
    body = (d.adjusted() + 0x8000).to_bytes(2, "big") + bytes(0x30 + x for x in digits) + b"\x00"
    if sign:  # negative: larger magnitude sorts first, so complement every byte
        return b"\x00" + bytes(0xFF - x for x in body)
    return b"\x02" + body


def encode(v: Any) -> bytes:
    """The order key of one parsed jsonb value (numbers as Decimal)."""
    if v is None:
        return b"\x00"
    if isinstance(v, bool):
        return b"\x03\x01" if v else b"\x03\x00"
    if isinstance(v, str):
        return b"\x01" + _string(v)
    if isinstance(v, int | float | Decimal):
        return b"\x02" + _number(Decimal(v))
    if isinstance(v, list):
        return b"\x04" + len(v).to_bytes(4, "big") + b"".join(encode(x) for x in v)
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: (len(k.encode()), k.encode()))
        return b"\x05" + len(v).to_bytes(4, "big") + b"".join(
            _string(k) + encode(v[k]) for k in keys)
    raise TypeError(f"not a json value: {type(v).__name__}")


def encode_document(v: Any) -> bytes:
    """The order key of a whole jsonb document. PostgreSQL stores a top-level scalar as a
    one-element "raw scalar" array and compares element counts before that flag, so
    '[]' < any scalar < '[x]' < '[x, y]' < any object.

        >>> encode_document([]) < encode_document(None) < encode_document([None])
        True
    """
    if isinstance(v, list):
        return b"\x04" + len(v).to_bytes(4, "big") + b"\x01" + b"".join(encode(x) for x in v)
    if isinstance(v, dict):
        return encode(v)
    return b"\x04" + (1).to_bytes(4, "big") + b"\x00" + encode(v)


def order_key(a: Any, n: int) -> pa.Array:
    """jsonb text values -> binary order keys (NULL stays NULL), once per distinct value."""
    from sqlvec.functions.jsonfns import loads

    return map_distinct(lambda s: encode_document(loads(s)),
                        [a if isinstance(a, pa.Scalar) else arr(a, n)], n, pa.binary())


class JsonbSortKey:
    """ORDER BY a jsonb expression: sorts by its order key (bound by the binder)."""

    volatile = False

    def __init__(self) -> None:
        self.return_type = None

    def call(self, args: list, n: int) -> pa.Array:
        return order_key(args[0], n)
