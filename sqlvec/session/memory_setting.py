"""`sqlvec.memory_limit`: SHOW/SET/RESET of the database-wide query memory budget.

Unlike other settings it is not per session: it reads and sizes the storage's
MemoryBudget (`sqlvec serve --memory-limit`), so SET is for superusers only and
changes the limit for every session. '0' means no limit.
"""

from __future__ import annotations

import re
from typing import Any

from sqlvec.core.errors import InsufficientPrivilege, InvalidParameterValue

NAME = "sqlvec.memory_limit"
_UNITS = {"": 1, "b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")


def parse_size(text: str) -> int:
    """'256MB', '1.5GB', '512kB', '4096' (bytes) -> bytes.

    >>> parse_size("8MB"), parse_size("1kB"), parse_size("0")
    (8388608, 1024, 0)
    """
    m = _SIZE.match(text.lower())
    if m is None or m.group(2) not in _UNITS:
        raise InvalidParameterValue(
            f'invalid value for parameter "{NAME}": "{text}"',
            hint='Valid units for this parameter are "B", "kB", "MB", "GB", and "TB".',
        )
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def format_size(n: int) -> str:
    """Bytes as PostgreSQL prints memory settings: the largest exact unit.

    >>> format_size(8 << 20), format_size(1536 << 10), format_size(100), format_size(0)
    ('8MB', '1536kB', '100B', '0')
    """
    if n <= 0:
        return "0"
    for unit, size in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n % size == 0:
            return f"{n // size}{unit}"
    return f"{n}B"


def budget(db: Any) -> Any:
    """The database's MemoryBudget (None for a store without one)."""
    return getattr(db.store, "memory", None)


def show(db: Any) -> str:
    b = budget(db)
    return format_size(b.limit if b is not None else 0)


def set_limit(db: Any, user: str, value: str | None) -> None:
    """SET (a size) or RESET (None: back to the start-up limit); superusers only."""
    role = db.authenticate(user)
    if role is None or not role.superuser:
        raise InsufficientPrivilege(f'permission denied to set parameter "{NAME}"')
    b = budget(db)
    if b is None:
        return
    b.limit = db.memory_limit_default if value is None else parse_size(value)
