"""Writers for the wire crash test and the model of what the server acknowledged.

Each writer thread owns a disjoint key range of table `acct(k, v, pad)` and runs random
operations over its own psycopg connection: single-row INSERT / UPDATE / DELETE / upsert,
multi-row INSERT and UPDATE statements, and BEGIN ... COMMIT transactions that also add a
row to `txlog`. Every value written is fresh, so the state before and after an operation
can always be told apart. An operation is "in flight" from the moment the statement that
commits it is sent until its acknowledgement; after a crash it must be entirely applied
or entirely absent, and everything acknowledged must be there.
"""

from __future__ import annotations

import itertools
import random
import threading
from dataclasses import dataclass, field

import psycopg

PAD = "p" * 120
KEY_SPACE = 10_000_000  # writer w owns keys [w * KEY_SPACE, (w + 1) * KEY_SPACE)


@dataclass
class Op:
    """One operation: the new value per key (None = deleted) and txlog ids it adds."""

    sql: list[tuple[str, tuple]]  # statements; the last one commits
    acct: dict[int, int | None]
    txlog: list[int] = field(default_factory=list)


@dataclass
class Model:
    """What the server acknowledged: acct key -> value, txlog ids, per-writer next key."""

    acct: dict[int, int] = field(default_factory=dict)
    txlog: set[int] = field(default_factory=set)
    next_key: dict[int, int] = field(default_factory=dict)
    acked: int = 0

    def apply(self, op: Op) -> None:
        for k, v in op.acct.items():
            if v is None:
                self.acct.pop(k, None)
            else:
                self.acct[k] = v
        self.txlog.update(op.txlog)


class Writer(threading.Thread):
    """A connection that runs random operations until the server goes away."""

    values = itertools.count(1)  # shared, so every written value is unique

    def __init__(self, wid: int, dsn: str, model: Model, seed: int, lock: threading.Lock):
        super().__init__(name=f"writer-{wid}", daemon=True)
        self.wid, self.dsn, self.model, self.lock = wid, dsn, model, lock
        self.rng = random.Random(seed)
        self.in_flight: Op | None = None
        self.unexpected: list[str] = []
        self.acked = 0
        self.ready = threading.Event()

    def _new_keys(self, n: int) -> list[int]:
        with self.lock:
            first = self.model.next_key.get(self.wid, self.wid * KEY_SPACE)
            self.model.next_key[self.wid] = first + n
        return list(range(first, first + n))

    def _mine(self, n: int) -> list[int]:
        with self.lock:
            lo, hi = self.wid * KEY_SPACE, (self.wid + 1) * KEY_SPACE
            keys = [k for k in self.model.acct if lo <= k < hi]
        return self.rng.sample(keys, min(n, len(keys))) if keys else []

    def next_op(self) -> Op:
        r, val = self.rng.random(), self.values
        existing = self._mine(12)
        if r < 0.25 or not existing:
            (k,) = self._new_keys(1)
            v = next(val)
            return Op([("INSERT INTO acct VALUES (%s, %s, %s)", (k, v, PAD))], {k: v})
        if r < 0.45:
            k, v = existing[0], next(val)
            return Op([("UPDATE acct SET v = %s WHERE k = %s", (v, k))], {k: v})
        if r < 0.55:
            keys = self._new_keys(self.rng.randint(5, 20))
            vals = [next(val) for _ in keys]
            rows = ", ".join(f"({k}, {v}, '{PAD}')" for k, v in zip(keys, vals))
            return Op([(f"INSERT INTO acct VALUES {rows}", ())], dict(zip(keys, vals)))
        if r < 0.65:
            keys, v = existing[: self.rng.randint(2, 12)], next(val)
            inl = ", ".join(map(str, keys))
            return Op([(f"UPDATE acct SET v = {v} WHERE k IN ({inl})", ())], dict.fromkeys(keys, v))
        if r < 0.72:
            return Op([("DELETE FROM acct WHERE k = %s", (existing[0],))], {existing[0]: None})
        if r < 0.82:
            k = existing[0] if self.rng.random() < 0.5 else self._new_keys(1)[0]
            v = next(val)
            sql = (
                "INSERT INTO acct VALUES (%s, %s, %s) ON CONFLICT (k) DO UPDATE SET v = excluded.v"
            )
            return Op([(sql, (k, v, PAD))], {k: v})
        # a multi-statement transaction over two tables
        upd = existing[: self.rng.randint(1, 3)]
        (new,) = self._new_keys(1)
        tid, v1, v2 = next(val), next(val), next(val)
        inl = ", ".join(map(str, upd))
        return Op(
            [
                ("INSERT INTO txlog VALUES (%s, %s)", (tid, self.wid)),
                (f"UPDATE acct SET v = {v1} WHERE k IN ({inl})", ()),
                ("INSERT INTO acct VALUES (%s, %s, %s)", (new, v2, PAD)),
            ],
            {**dict.fromkeys(upd, v1), new: v2},
            [tid],
        )

    def run(self) -> None:
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=60)
        except psycopg.OperationalError as e:
            self.unexpected.append(f"connect: {e}")
            self.ready.set()
            return
        self.ready.set()
        try:
            while True:
                op = self.next_op()
                if len(op.sql) == 1:
                    self.in_flight = op
                    conn.execute(*op.sql[0])
                else:
                    conn.execute("BEGIN")
                    for sql, params in op.sql:
                        conn.execute(sql, params)
                    self.in_flight = op
                    conn.execute("COMMIT")
                with self.lock:  # acknowledged
                    self.model.apply(op)
                    self.model.acked += 1
                self.in_flight = None
                self.acked += 1
        except psycopg.OperationalError:
            pass  # the server was killed (in_flight says what may or may not have happened)
        except psycopg.Error as e:
            self.unexpected.append(f"{type(e).__name__} {e.sqlstate}: {e}")
        finally:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - the socket is gone already
                pass
