"""Per-segment cache of derived unique-index keys (unique indexes on expressions, partial,
NULLS NOT DISTINCT; exec/unique_index.py computes them).

A segment's rows never change (deletes live in the view's mask), so the keys an index
derives from them are computed once per segment and index and reused by every later
statement: a check then costs one hash probe over the cached keys, not a scan that
re-evaluates the expressions. The cache is weak: it goes with the segment.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from sqlvec.storage.segment import Segment, SegView

_CACHE: weakref.WeakKeyDictionary[Segment, dict[Any, Any]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def live_views(txn: Any, table_id: int) -> list[SegView]:
    """The segment views a transaction sees for a table (committed, then its own inserts)."""
    lt = txn._local(table_id)
    return [v for v in (*lt.views, *lt.inserts) if v.live]


def segment_derived(seg: Segment, key: Any, make: Callable[[Any], Any]) -> Any:
    """make(seg.data), cached for the segment's life under `key`."""
    with _LOCK:
        per = _CACHE.get(seg)
        if per is not None and key in per:
            return per[key]
    value = make(seg.data)
    with _LOCK:
        _CACHE.setdefault(seg, {})[key] = value
    return value
