"""storage: tables as Arrow segments with snapshot-isolated transactions, WAL and checkpoints."""

from sqlvec.storage.memory import MemoryBudget
from sqlvec.storage.segment import ROWID
from sqlvec.storage.store import Store
from sqlvec.storage.txn import Savepoint, Transaction

__all__ = ["ROWID", "MemoryBudget", "Savepoint", "Store", "Transaction"]
