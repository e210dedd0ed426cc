"""Print result values the way SQLite's reference sqllogictest runner does.

Backends hand over every cell as PostgreSQL's text output (or None for NULL) plus the
column's type OID; this module turns it into the string the test file holds::

    >>> format_cell("3.9", 1700, "I"), format_cell("t", 16, "I"), format_cell("2", 23, "R")
    ('3', '1', '2.000')
    >>> format_cell("", 25, "T"), format_cell(None, 25, "T"), format_cell("caf\\u00e9", 25, "T")
    ('(empty)', 'NULL', 'caf@@')
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal, InvalidOperation

BOOL_OID = 16
INT_OIDS = frozenset({20, 21, 23, 26, 28, 24, 2205, 2206, 4089, 4096})
REAL_OIDS = frozenset({700, 701, 1700})
HASH_RE = re.compile(r"^(\d+) values hashing to ([0-9a-f]{32})$")
_NUM_PREFIX = re.compile(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")


def _numeric(text: str, oid: int) -> Decimal | float:
    """The numeric value of a cell for I/R printing (SQLite-style prefix parse for text)."""
    if oid == BOOL_OID:
        return Decimal(1 if text in ("t", "true") else 0)
    if oid in INT_OIDS or oid in REAL_OIDS:
        try:
            return Decimal(text)
        except InvalidOperation:
            return float(text)  # 'NaN', 'Infinity', '-Infinity'
    m = _NUM_PREFIX.match(text)
    return Decimal(m.group(1)) if m else Decimal(0)


def _printable(text: str) -> str:
    """Replace every byte outside printable ASCII with '@' (per UTF-8 byte)."""
    if text.isascii() and text.isprintable():
        return text
    data = text.encode("utf-8")
    return "".join(chr(b) if 0x20 <= b <= 0x7E else "@" for b in data)


def format_cell(text: str | None, oid: int, letter: str) -> str:
    """One cell as the test file prints it, for type letter I, R or T."""
    if text is None:
        return "NULL"
    if letter == "I":
        v = _numeric(text, oid)
        if isinstance(v, float):
            return "0" if v != v else str(2**63 - 1 if v > 0 else -(2**63))
        return str(int(v))  # int(Decimal) truncates toward zero, like C's (int64)double
    if letter == "R":
        v = _numeric(text, oid)
        return f"{float(v):.3f}"
    if text == "":
        return "(empty)"
    return _printable(text)


def letter_for_oid(oid: int) -> str:
    """The type letter --complete writes for a column of this type."""
    if oid in INT_OIDS or oid == BOOL_OID:
        return "I"
    if oid in REAL_OIDS:
        return "R"
    return "T"


def sort_values(values: list[str], ncols: int, mode: str) -> list[str]:
    """Apply rowsort / valuesort (byte-wise on the printed text) or keep order (nosort)."""
    if mode == "valuesort":
        return sorted(values)
    if mode == "rowsort" and ncols > 0:
        rows = [values[i : i + ncols] for i in range(0, len(values), ncols)]
        rows.sort()
        return [v for row in rows for v in row]
    return values


def hash_values(values: list[str]) -> str:
    """'N values hashing to <md5>' over every value followed by a newline."""
    md5 = hashlib.md5()
    for v in values:
        md5.update(v.encode("utf-8"))
        md5.update(b"\n")
    return f"{len(values)} values hashing to {md5.hexdigest()}"
