"""The array module behind exact and IVF search: numpy, or CuPy when a GPU is there.

Kernels take `xp` as their first argument and use only the numpy API subset CuPy shares,
so one code path serves both; CuPy is imported here, inside the function, never at
module import (no GPU is needed to install, run or test sqlvec).

    >>> array_module(False).__name__
    'numpy'
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from sqlvec.core.errors import FeatureNotSupported


@functools.lru_cache(maxsize=1)
def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device (checked once)."""
    try:
        import cupy  # type: ignore[import-not-found]

        return int(cupy.cuda.runtime.getDeviceCount()) > 0
    except Exception:
        return False


def array_module(gpu: bool | None = None) -> ModuleType:
    """numpy (gpu False), CuPy (gpu True: required, 0A000 without it), or the best there
    is (gpu None)."""
    if gpu is False:
        return np
    if gpu_available():
        import cupy  # type: ignore[import-not-found]

        return cupy
    if gpu:
        raise FeatureNotSupported("GPU search requires CuPy and a CUDA device",
                                  hint="SET sqlvec.gpu = off")
    return np


def to_host(a: Any) -> np.ndarray:
    """A device (CuPy) or host array as a numpy array."""
    get = getattr(a, "get", None)
    return get() if callable(get) else np.asarray(a)


def parse_gpu_setting(value: str | None) -> bool | None:
    """SET sqlvec.gpu = on | off | auto -> True | False | None."""
    v = (value or "auto").strip().lower()
    if v in ("on", "true", "1", "yes"):
        return True
    if v in ("off", "false", "0", "no"):
        return False
    return None


class DeviceCache:
    """Arrays copied to the device once and reused while their source lives.

    `get(key, owners, make)` returns make()'s value for key, making it once; the entry
    holds `owners` (e.g. the Arrow chunks whose buffer addresses the key names, so an
    address cannot be reused for other data while the entry lives). The least recently
    used entries go when the values' bytes (arrays in nested tuples and lists) pass
    `budget` or there are more than `entries_max`.

        >>> c = DeviceCache(budget=16)
        >>> c.get("a", (), lambda: np.zeros(2)) is c.get("a", (), lambda: None)
        True
        >>> _ = c.get("b", (), lambda: np.zeros(2)); "a" in c.entries, "b" in c.entries
        (False, True)
    """

    def __init__(self, budget: int, entries_max: int = 16) -> None:
        self.budget = budget
        self.entries_max = entries_max
        self.entries: OrderedDict[Any, tuple[Any, Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, owners: Any, make: Callable[[], Any]) -> Any:
        with self._lock:
            hit = self.entries.get(key)
            if hit is not None:
                self.entries.move_to_end(key)
                return hit[1]
        value = make()
        size = _nbytes(value)
        with self._lock:
            self.entries[key] = (owners, value, size)
            total = sum(e[2] for e in self.entries.values())
            while len(self.entries) > 1 and (total > self.budget
                                             or len(self.entries) > self.entries_max):
                total -= self.entries.popitem(last=False)[1][2]
        return value


def _nbytes(value: Any) -> int:
    """Bytes of the arrays in a value (nested tuples and lists).

        >>> _nbytes([(0, np.zeros(2), None), (8, np.zeros(1), np.zeros(1, np.float32))])
        28
    """
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    return int(getattr(value, "nbytes", 0) or 0)
