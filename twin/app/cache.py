"""Finished runs kept for the app, by what their crowd depends on; and the cameras' view tables.

A run is stored under its :func:`twin.sim.run.crowd_key` and its *family*, the same key without
the cameras (``crowd_key(..., cameras=False)``). What an edit costs follows from which key it
keeps:

* the watchlist's threshold, size or prevalence, or the operations settings: same key, the cached
  run is re-scored (:meth:`twin.sim.run.RunResult.rescore_as`), no simulation;
* a camera added, moved, turned or deleted: same family, the latest run of the family keeps its
  crowds and they are placed in front of the new cameras (:func:`twin.sim.recapture.recapture`),
  unless zone avoidance changes the crowd itself;
* anything else (window, footfall, crowd, seed, replications, site): a new crowd simulation.

:class:`LruDict` holds the cameras' view tables between edits (the ``view_tables`` cache of
:func:`twin.sim.context.prepare`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from typing import Any

__all__ = ["LruDict", "RunCache"]


class RunCache:
    """Finished runs by :func:`~twin.sim.run.crowd_key`; the least recently used dropped beyond
    ``max_entries``.

    Thread-safe (Streamlit serves sessions from threads). Values are treated as read-only.

    >>> c = RunCache(max_entries=2); c.put("a", 1, family="f"); c.put("b", 2, family="f")
    >>> ("a" in c, c.get("b"), c.latest("f"), c.latest("g"))
    (True, 2, 2, None)
    >>> c.put("c", 3); ("a" in c, len(c))
    (False, 2)
    """

    def __init__(self, max_entries: int = 8) -> None:
        self.max_entries = max(1, int(max_entries))
        self._items: OrderedDict[str, tuple[Any, str | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        """The cached value, or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key][0]

    def put(self, key: str, value: Any, *, family: str | None = None) -> None:
        """Store a value (of a family: the key without the cameras)."""
        with self._lock:
            self._items[key] = (value, family)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def latest(self, family: str) -> Any | None:
        """The most recently used value of ``family``, or None."""
        with self._lock:
            for value, fam in reversed(self._items.values()):
                if fam == family:
                    return value
        return None

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


class LruDict(MutableMapping[str, Any]):
    """A thread-safe mapping that forgets its least recently used entries beyond ``max_entries``.

    >>> d = LruDict(max_entries=2); d["a"] = 1; d["b"] = 2; _ = d["a"]; d["c"] = 3
    >>> sorted(d)
    ['a', 'c']
    """

    def __init__(self, max_entries: int = 64) -> None:
        self.max_entries = max(1, int(max_entries))
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, key: str) -> Any:
        with self._lock:
            value = self._items[key]
            self._items.move_to_end(key)
            return value

    def __setitem__(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def __delitem__(self, key: str) -> None:
        with self._lock:
            del self._items[key]

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
