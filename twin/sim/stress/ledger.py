"""The stress run's frame ledger: frames in = decided + dropped + failed (:mod:`twin.sim.stress.pool`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Ledger"]


@dataclass
class Ledger:
    """Frames in, and where each went. Balanced when ``frames_in == decided + dropped + failed``.

    Attributes:
        frames_in: frames that arrived (released into a queue).
        decided: frames the pipeline decided on (alert or none).
        dropped: by (camera id, cause): ``queue_full``, ``run_end``, ``interrupted``.
        failed: by cause: ``engine_error``, ``corrupt_frame``, ``undecodable_frame``, ``worker_died``.
    """

    frames_in: int = 0
    decided: int = 0
    dropped: dict[tuple[str, str], int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def balanced(self) -> bool:
        return self.frames_in == self.decided + self.dropped_total + self.failed_total

    def to_json(self) -> dict[str, Any]:
        by_cam: dict[str, dict[str, int]] = {}
        for (cam, cause), n in sorted(self.dropped.items()):
            by_cam.setdefault(cam, {})[cause] = n
        return {
            "frames_in": self.frames_in,
            "decided": self.decided,
            "dropped": self.dropped_total,
            "failed": self.failed_total,
            "dropped_by_camera": by_cam,
            "failed_by_cause": dict(sorted(self.failed.items())),
            "balanced": self.balanced,
        }
