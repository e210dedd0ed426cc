"""sqlvec: a vector database that speaks PostgreSQL."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def connect(path: str = ":memory:", **kwargs: Any) -> Any:
    """Embedded mode: a PEP 249 connection to a database directory or ':memory:'."""
    from sqlvec.dbapi import connect as _connect

    return _connect(path, **kwargs)


# PEP 249 module globals (apilevel, paramstyle, the exception classes, type objects):
# sqlvec.connect's module offers them as the DB-API asks, imported only when first used
_DBAPI_NAMES = frozenset({
    "apilevel", "threadsafety", "paramstyle", "Warning", "Error", "InterfaceError",
    "DatabaseError", "DataError", "OperationalError", "IntegrityError", "InternalError",
    "ProgrammingError", "NotSupportedError", "Date", "Time", "Timestamp", "DateFromTicks",
    "TimeFromTicks", "TimestampFromTicks", "Binary", "STRING", "BINARY", "NUMBER",
    "DATETIME", "ROWID",
})


def __getattr__(name: str) -> Any:
    if name in _DBAPI_NAMES:
        import sqlvec.dbapi as dbapi

        return getattr(dbapi, name)
    raise AttributeError(f"module 'sqlvec' has no attribute {name!r}")
