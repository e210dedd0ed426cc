"""CREATE / DROP EXTENSION: pgvector is built in, so installing it records it in the catalog.

The record (`ext/<name>`) is what pg_extension and psql's `\\dx` list; the vector types,
operators and index methods exist either way, as pgvector code expects.
"""

from __future__ import annotations

import re
from typing import Any

from sqlvec.core.errors import DuplicateObject, UndefinedObject

KNOWN = {"vector": ("0.8.0", "vector data type and ivfflat and hnsw access methods"),
         "plpgsql": ("1.0", "PL/pgSQL procedural language")}
_CREATE = re.compile(r"^\s*create\s+extension\s+(if\s+not\s+exists\s+)?(\"?[\w]+\"?)"
                     r"(?:\s+(?:with\s+)?(?:schema\s+(\w+))?.*)?;?\s*$", re.I | re.S)
_DROP = re.compile(r"^\s*drop\s+extension\s+(if\s+exists\s+)?([\w\",\s]+?)(\s+cascade|\s+restrict)?;?\s*$",
                   re.I | re.S)


def extension_command(catalog: Any, sql: str) -> str | None:
    """Run CREATE/DROP EXTENSION text; the command tag, or None when sql is neither."""
    m = _CREATE.match(sql)
    if m:
        name = m.group(2).strip('"').lower()
        if name not in KNOWN:
            raise UndefinedObject(f'extension "{name}" is not available')
        key = f"ext/{name}"
        if catalog.txn.catalog_get(key) is not None or name == "plpgsql":
            if m.group(1):
                return "CREATE EXTENSION"
            raise DuplicateObject(f'extension "{name}" already exists')
        version, comment = KNOWN[name]
        catalog.txn.catalog_put(key, {"name": name, "oid": catalog.new_oid(), "version": version,
                                      "schema": m.group(3) or "public", "comment": comment})
        return "CREATE EXTENSION"
    m = _DROP.match(sql)
    if m:
        for raw in m.group(2).split(","):
            name = raw.strip().strip('"').lower()
            key = f"ext/{name}"
            if catalog.txn.catalog_get(key) is None:
                if m.group(1):
                    continue
                raise UndefinedObject(f'extension "{name}" does not exist')
            catalog.txn.catalog_delete(key)
        return "DROP EXTENSION"
    return None
