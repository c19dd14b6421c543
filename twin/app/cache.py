"""Finished runs kept for the app, by what their crowd depends on.

The key is :func:`twin.sim.run.crowd_key`: changing the watchlist's threshold, size or prevalence,
or the operations settings, re-scores a cached run (:meth:`twin.sim.run.RunResult.rescore`)
instead of simulating a new crowd; anything else (cameras, window, footfall, seed, replications)
needs a new run.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

__all__ = ["RunCache"]


class RunCache:
    """Finished runs by :func:`~twin.sim.run.crowd_key`; the least recently used dropped beyond
    ``max_entries``.

    Thread-safe (Streamlit serves sessions from threads). Values are treated as read-only.

    >>> c = RunCache(max_entries=1); c.put("a", 1); c.put("b", 2); ("a" in c, c.get("b"))
    (False, 2)
    """

    def __init__(self, max_entries: int = 8) -> None:
        self.max_entries = max(1, int(max_entries))
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        """The cached value, or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: str, value: Any) -> None:
        """Store a value."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._items.clear()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
