"""PEP 249 type objects and constructors; type codes in `cursor.description` are OIDs."""

from __future__ import annotations

import datetime as dt
import time

Date = dt.date
Time = dt.time
Timestamp = dt.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> dt.date:  # noqa: N802 - PEP 249 name
    return Date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> dt.time:  # noqa: N802
    return Time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> dt.datetime:  # noqa: N802
    return Timestamp(*time.localtime(ticks)[:6])


class TypeCode(frozenset):
    """Compares equal to each OID it contains (PEP 249: `description[1] == NUMBER`)."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, int):
            return other in self
        return frozenset.__eq__(self, other)

    def __hash__(self) -> int:
        return frozenset.__hash__(self)


STRING = TypeCode({25, 1043, 1042, 19, 18, 114, 3802})
BINARY = TypeCode({17})
NUMBER = TypeCode({16, 20, 21, 23, 26, 700, 701, 1700})
DATETIME = TypeCode({1082, 1083, 1114, 1184, 1186, 1266})
ROWID = TypeCode({26})
