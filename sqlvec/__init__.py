"""sqlvec: a vector database that speaks PostgreSQL."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def connect(path: str = ":memory:", **kwargs: Any) -> Any:
    """Embedded mode: a PEP 249 connection to a database directory or ':memory:'."""
    from sqlvec.dbapi import connect as _connect

    return _connect(path, **kwargs)
