"""Decoded and transpiled circuits of a worker, kept by content for the next job that sends them.

Scripts submit the same circuit again and again; decoding OpenQASM or QPY and transpiling for a
backend cost milliseconds each, far more than simulating a small circuit. A worker keeps the
most recent ones (a bounded LRU), keyed by the circuit exactly as the job sent it, so a hit is
the same circuit by construction. Circuits are shared between jobs, so nothing may mutate them:
the sampler binds parameters on copies (``assign_parameters`` returns a new circuit).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

# Entries per cache, and the largest wire form worth keeping (bigger circuits are decoded anew).
MAX_ENTRIES = 256
MAX_KEY_CHARS = 256 * 1024


class LRU(Generic[K, V]):
    """A bounded least-recently-used map that counts its hits and misses."""

    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[K, V] = OrderedDict()

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value kept for ``key``, or ``make()``'s, kept; an error of ``make`` is not kept."""
        if key in self._items:
            self.hits += 1
            self._items.move_to_end(key)
            return self._items[key]
        self.misses += 1
        value = make()
        self._items[key] = value
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()
        self.hits = self.misses = 0


def wire_key(obj: object) -> str | None:
    """A circuit's wire form as a cache key: OpenQASM text as is, QPY's object as JSON.

    None for a form too big to keep or not a circuit's form at all (then nothing is cached).
    """
    if isinstance(obj, str):
        key = "qasm:" + obj
    elif isinstance(obj, dict):
        try:
            key = "json:" + json.dumps(obj, sort_keys=True)
        except (TypeError, ValueError):
            return None
    else:
        return None
    return key if len(key) <= MAX_KEY_CHARS else None


# This worker's caches: decoded circuits by wire key; transpiled ones by
# (wire key, backend, transpiler seed); transpilers by (backend, transpiler seed); a sampler
# job's decoded params by (params text, max shots, max qubits).
decoded: LRU[str, object] = LRU()
transpiled: LRU[tuple[str, int, int | None], object] = LRU()
pass_managers: LRU[tuple[int, int | None], object] = LRU(size=32)
sampler_params: LRU[tuple[str, int, int | None], object] = LRU()


def forget_all() -> None:
    """Empty every cache of this module: a worker's warm-up keeps no circuit of its own."""
    for value in list(globals().values()):
        if isinstance(value, LRU):
            value.clear()
