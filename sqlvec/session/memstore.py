"""A minimal in-memory Store used only until sqlvec.storage provides one (same contract).

Snapshot isolation by copying references to immutable Arrow tables; commit publishes
the transaction's whole state (last writer wins). No durability.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator

import numpy as np
import pyarrow as pa


class MemStore:
    """Store contract subset: begin(), counter_next(), allocate_rowids(), close()."""

    def __init__(self) -> None:
        self.tables: dict[int, pa.Table] = {}
        self.catalog: dict[str, dict] = {}
        self.counters: dict[str, int] = {}
        self.next_rowid: dict[int, int] = {}
        self.lock = threading.Lock()

    @classmethod
    def open(cls, path: str | None = None, *, sync: bool = True) -> MemStore:
        return cls()

    def close(self) -> None:
        pass

    def checkpoint(self) -> None:
        pass

    def counter_next(self, key: str) -> int:
        with self.lock:
            self.counters[key] = self.counters.get(key, 0) + 1
            return self.counters[key]

    def allocate_rowids(self, table_id: int, n: int) -> int:
        with self.lock:
            first = self.next_rowid.get(table_id, 0)
            self.next_rowid[table_id] = first + n
            return first

    def begin(self) -> MemTransaction:
        with self.lock:
            return MemTransaction(self, dict(self.tables), copy.deepcopy(self.catalog))


class MemTransaction:
    """One transaction over MemStore."""

    def __init__(self, store: MemStore, tables: dict[int, pa.Table], catalog: dict) -> None:
        self.store = store
        self.tables = tables
        self.catalog = catalog

    def scan(self, table_id: int, columns: list[str] | None = None, **_: object) -> Iterator[pa.RecordBatch]:
        t = self.tables[table_id]
        if columns is not None:
            t = t.select(["_rowid", *columns])
        yield from t.combine_chunks().to_batches(max_chunksize=65536) or [
            pa.RecordBatch.from_pylist([], schema=t.schema)
        ]

    def row_count(self, table_id: int) -> int:
        return self.tables[table_id].num_rows

    def insert(self, table_id: int, batch: pa.RecordBatch | pa.Table) -> np.ndarray:
        t = self.tables[table_id]
        n = batch.num_rows
        first = self.store.allocate_rowids(table_id, n)
        ids = np.arange(first, first + n, dtype=np.int64)
        cols = [pa.array(ids)] + [batch.column(f.name).cast(f.type) for f in t.schema][1:]
        new = pa.Table.from_arrays(cols, schema=t.schema)
        self.tables[table_id] = pa.concat_tables([t, new])
        return ids

    def delete(self, table_id: int, rowids: np.ndarray) -> None:
        import pyarrow.compute as pc

        t = self.tables[table_id]
        mask = pc.is_in(t.column("_rowid"), value_set=pa.array(np.asarray(rowids, dtype=np.int64)))
        self.tables[table_id] = t.filter(pc.invert(mask))

    def create_table(self, table_id: int, schema: pa.Schema) -> None:
        full = pa.schema([pa.field("_rowid", pa.int64()), *schema])
        self.tables[table_id] = full.empty_table()

    def drop_table(self, table_id: int) -> None:
        self.tables.pop(table_id, None)

    def alter_table(self, table_id: int, schema: pa.Schema, fill) -> None:
        t = self.tables[table_id]
        rowids = t.column("_rowid")
        data = fill(t.drop(["_rowid"]))
        self.tables[table_id] = data.add_column(0, "_rowid", rowids)

    def truncate(self, table_id: int) -> None:
        self.tables[table_id] = self.tables[table_id].schema.empty_table()

    def catalog_get(self, key: str) -> dict | None:
        v = self.catalog.get(key)
        return copy.deepcopy(v) if v is not None else None

    def catalog_put(self, key: str, value: dict) -> None:
        self.catalog[key] = copy.deepcopy(value)

    def catalog_delete(self, key: str) -> None:
        self.catalog.pop(key, None)

    def catalog_items(self, prefix: str) -> list[tuple[str, dict]]:
        return sorted((k, copy.deepcopy(v)) for k, v in self.catalog.items() if k.startswith(prefix))

    def savepoint(self) -> tuple[dict, dict]:
        return dict(self.tables), copy.deepcopy(self.catalog)

    def rollback_to(self, sp: tuple[dict, dict]) -> None:
        self.tables, self.catalog = dict(sp[0]), copy.deepcopy(sp[1])

    def commit(self, sync: bool = True) -> None:
        with self.store.lock:
            self.store.tables = self.tables
            self.store.catalog = self.catalog

    def rollback(self) -> None:
        pass
