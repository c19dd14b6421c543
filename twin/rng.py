"""Named, independent random streams spawned from one root seed.

One root seed per run; :class:`numpy.random.SeedSequence` spawns a child per subsystem so a
change in how one subsystem draws does not shift the numbers another one sees. Replications
use spawned root seeds. There is no global generator anywhere in the package.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["STREAMS", "Streams", "replication_seeds"]

#: Subsystems that draw random numbers, in a fixed order (never reorder: it changes results).
STREAMS: tuple[str, ...] = ("arrivals", "routes", "capture", "render", "engine", "operations", "forecast")


def _stream_key(name: str) -> int:
    """A stable 32-bit key for a stream name (independent of its position in STREAMS)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


class Streams:
    """Independent generators, one per named subsystem, from one seed sequence.

    Args:
        seed: root seed (int >= 0) or a :class:`numpy.random.SeedSequence`.

    Each stream is derived from the root entropy and a hash of its name, so adding a new
    stream never changes an existing one.

    >>> s = Streams(7)
    >>> a = s["arrivals"].random()
    >>> b = Streams(7)["arrivals"].random()
    >>> a == b
    True
    >>> Streams(7)["routes"].random() == a
    False
    """

    def __init__(self, seed: int | np.random.SeedSequence) -> None:
        self.seed_sequence = (
            seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        )
        self._cache: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        if name not in self._cache:
            ss = np.random.SeedSequence(
                entropy=self.seed_sequence.entropy,
                spawn_key=(*self.seed_sequence.spawn_key, _stream_key(name)),
            )
            self._cache[name] = np.random.default_rng(ss)
        return self._cache[name]


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """Seed sequences for ``replications`` independent replications of one run.

    Args:
        seed: the run's root seed (int >= 0).
        replications: how many (>= 1).

    Returns:
        list of :class:`numpy.random.SeedSequence`, replication ``i`` is always the same
        whatever the total count, so adding replications never changes the earlier ones.

    >>> [s.spawn_key for s in replication_seeds(1, 2)]
    [(0,), (1,)]
    """
    root = np.random.SeedSequence(seed)
    return [np.random.SeedSequence(entropy=root.entropy, spawn_key=(i,)) for i in range(replications)]
