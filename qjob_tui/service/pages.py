"""Rendered pages of ``GET /jobs``, shared by identical queries until the data changes.

Fifty dashboards polling the same list would otherwise each cost a query, 200 job views and a
JSON encoding. A page is kept under the database's write generation read *before* the query,
so a write that lands while the page is built makes it unreachable rather than stale. Building
runs in the reads' own threads, never on the event loop, and never in the threads that the
scheduler uses to record job transitions. The generation (``Database.version``) moves on
every commit to the file, this service's or another process's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable


class PageCache:
    """At most ``size`` rendered pages, least recently used out first."""

    def __init__(self, size: int = 64, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._pages: OrderedDict[Hashable, tuple[Hashable, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, generation: Hashable) -> bytes | None:
        with self._lock:
            found = self._pages.get(key)
            if found is None or found[0] != generation:
                return None
            self._pages.move_to_end(key)
            return found[1]

    def put(self, key: Hashable, generation: Hashable, body: bytes) -> None:
        if len(body) > self.max_bytes // 4:
            return  # a huge page (params of big jobs) is not worth holding on to
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._pages[key] = (generation, body)
            self._bytes += len(body)
            while self._pages and (len(self._pages) > self.size or self._bytes > self.max_bytes):
                _, (_, dropped) = self._pages.popitem(last=False)
                self._bytes -= len(dropped)

    def page(self, key: Hashable, generation: Hashable, build: Callable[[], bytes]) -> bytes:
        """The page for key at this generation, built (blocking) if it is not held."""
        body = self.get(key, generation)
        if body is None:
            body = build()
            self.put(key, generation, body)
        return body
