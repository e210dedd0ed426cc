"""The Database: owns the Store, the registries and the catalog bootstrap."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlvec.catalog.catalog import Catalog
from sqlvec.catalog.objects import RoleDef
from sqlvec.core.types import TypeRegistry, default_types
from sqlvec.session.advisory import AdvisoryLocks


@dataclass
class Registries:
    """Extension registries owned by one Database."""

    types: TypeRegistry
    functions: Any
    casts: Any
    extra: dict[str, Any] = field(default_factory=dict)


def _open_store(path: str | None, memory_limit: int = 0) -> Any:
    from sqlvec.storage import Store

    return Store.open(path, memory_limit=memory_limit)


def build_registries() -> Registries:
    """Types from core, functions and casts from sqlvec.functions (which also adds its types)."""
    import sqlvec.functions as F

    regs = Registries(default_types(), None, None)
    F.register(regs)
    return regs


class Database:
    """One database: its storage, registries and catalog. Sessions run statements against it."""

    def __init__(self, store: Any, regs: Registries, superuser: str = "sqlvec") -> None:
        self.store = store
        self.regs = regs
        self.superuser = superuser
        self.lock = threading.RLock()
        self.advisory = AdvisoryLocks()  # pg_advisory_lock and its kin (session/advisory.py)
        self.name = "sqlvec"
        self.ddl_gen = 0  # bumped by every DDL statement; prepared plans check it
        self._simple_plans: OrderedDict[int, dict] = OrderedDict()
        self._rel_names: dict[int, tuple[str, str]] = {}  # oid -> (schema, name), see below
        self._rel_names_of: Any = None  # the catalog _rel_names was built from
        # the budget's start-up size (`--memory-limit`); RESET sqlvec.memory_limit returns to it
        self.memory_limit_default = getattr(getattr(store, "memory", None), "limit", 0)
        txn = store.begin()
        Catalog(txn, store).bootstrap(superuser)
        txn.commit()
        if hasattr(store, "describe_table"):  # storage errors (XX001) name the relation
            store.describe_table = self.describe_table
        if getattr(store, "path", None):  # vector index files: orphans go, drops follow commits
            from sqlvec.exec import segment_index

            segment_index.register(store)
            segment_index.sweep(store)

    def describe_table(self, table_id: int) -> str:
        """How storage messages name a table: 'relation "t"', from the newest catalog.

        A checkpoint asks once per table while commits go on, so a lookup must not scan
        every relation: names are cached by oid, a cached name is checked against its
        own catalog entry (a renamed or dropped table misses), and a miss rebuilds once.
        """
        txn = self.store.begin()
        try:
            cat = txn.snapshot.catalog
            for attempt in range(2):
                hit = self._rel_names.get(table_id)
                if hit is not None:
                    raw = cat.get(f"rel/{hit[0]}/{hit[1]}")
                    if raw is not None and json.loads(raw).get("oid") == table_id:
                        name = hit[1] if hit[0] == "public" else f"{hit[0]}.{hit[1]}"
                        return f'relation "{name}"'
                if attempt or self._rel_names_of is cat:
                    break
                rels = Catalog(txn, self.store).relations()
                self._rel_names = {r.oid: (r.schema, r.name) for r in rels}
                self._rel_names_of = cat
        finally:
            txn.rollback()
        return f"table {table_id}"

    @classmethod
    def open(cls, path: str | None = None, **settings: Any) -> Database:
        """path None or ':memory:' is a throw-away in-memory database."""
        p = None if path in (None, ":memory:") else path
        store = _open_store(p, int(settings.get("memory_limit") or 0))
        return cls(store, build_registries(), settings.get("superuser", "sqlvec"))

    def simple_plan_slot(self, node: Any) -> dict:
        """The plan-cache slot of a parsed simple-query statement (parsed ASTs are shared by text)."""
        with self.lock:
            key = id(node)
            slot = self._simple_plans.get(key)
            if slot is None or slot.get("node") is not node:
                slot = {"node": node}
                self._simple_plans[key] = slot
                if len(self._simple_plans) > 512:
                    self._simple_plans.popitem(last=False)
            else:
                self._simple_plans.move_to_end(key)
            return slot

    def catalog(self, txn: Any) -> Catalog:
        return Catalog(txn, self.store)

    def authenticate(self, user: str) -> RoleDef | None:
        """The role (with its password verifier) or None when it does not exist."""
        txn = self.store.begin()
        try:
            return Catalog(txn, self.store).role(user)
        finally:
            txn.rollback()

    def has_database(self, name: str) -> bool:
        txn = self.store.begin()
        try:
            return Catalog(txn, self.store).has_database(name)
        finally:
            txn.rollback()

    def close(self) -> None:
        self.store.close()
