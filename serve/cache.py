"""A server-wide cache of computed results: keyed by content, one lock per key, capped by memory.

Streamlit's cache_resource also locks per key, but it cannot show a progress bar from inside the computation and
caps by entry count only; a Scoreboard entry can be 60 MB or 6 KB, so this one caps by bytes.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import torch


def nbytes(value: Any) -> int:
    """Roughly the memory a result holds: its tensors and arrays, through containers and dataclasses."""
    if isinstance(value, torch.Tensor):
        return value.nelement() * value.element_size()
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values()) + 64 * len(value)
    if isinstance(value, list | tuple):
        return sum(nbytes(v) for v in value) + 8 * len(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name)) for f in dataclasses.fields(value))
    return 64


class ComputeCache:
    """get(key, compute): the first caller computes while later callers of the same key wait for its result; callers
    of other keys never wait. Least recently used entries go once the total passes max_bytes (the newest stays)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes  # fixed at start
        self._guard = threading.Lock()  # guards the three maps below, held only for dict operations
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self._locks: dict[Hashable, threading.Lock] = {}

    def __contains__(self, key: Hashable) -> bool:
        with self._guard:
            return key in self._values

    @property
    def total_bytes(self) -> int:
        with self._guard:
            return sum(self._sizes.values())

    def peek(self, key: Hashable) -> tuple[bool, Any]:
        """(True, value) if the key is cached now, else (False, None); never computes or waits."""
        with self._guard:
            if key in self._values:
                self._values.move_to_end(key)
                return True, self._values[key]
            return False, None

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        found, value = self.peek(key)
        if found:
            return value
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            found, value = self.peek(key)  # computed by the caller we waited for
            if found:
                return value
            try:
                value = compute()
                self._put(key, value)
            finally:
                with self._guard:
                    self._locks.pop(key, None)
            return value

    def _put(self, key: Hashable, value: Any) -> None:
        size = nbytes(value)
        with self._guard:
            self._values[key], self._sizes[key] = value, size
            total = sum(self._sizes.values())
            while total > self.max_bytes and len(self._values) > 1:
                old, _ = self._values.popitem(last=False)
                total -= self._sizes.pop(old)
