"""Named errors of the twin.

Every error a user can cause derives from :class:`TwinError`. Each message names the
offending value and says how to fix it; the CLI prints it on one line and exits non-zero
without a traceback.
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "CalibrationError",
    "CameraGeometryError",
    "ClusterError",
    "EngineError",
    "EngineUnavailableError",
    "GeofenceError",
    "ImageError",
    "MapFileError",
    "ModelFolderError",
    "RecordsError",
    "RunFolderError",
    "SampleFetchError",
    "ScenarioError",
    "TwinError",
    "WatchlistError",
]


class TwinError(Exception):
    """Root of every error the twin raises on bad input or a bad environment."""


class ScenarioError(TwinError):
    """A scenario file or value is malformed or out of range."""


class MapFileError(ScenarioError):
    """A site map file is missing, unreadable or lacks a required feature."""


class GeofenceError(ScenarioError):
    """A geofence, route or coordinate is invalid (self-intersecting, outside London, swapped lat/lon)."""


class CameraGeometryError(ScenarioError):
    """A camera's pose or lens is impossible (FOV of 0 or >= 180 degrees, outside the area, ...)."""


class EngineError(TwinError):
    """A recognition engine was misconfigured or failed on its input."""


class EngineUnavailableError(EngineError):
    """A requested engine or execution provider cannot run on this machine."""


class ModelFolderError(EngineError):
    """A model folder is missing, empty, or lacks a detector or recognizer."""


class SampleFetchError(TwinError):
    """The sample images could not be fetched or are missing (install step ``twin samples`` not run)."""


class ImageError(TwinError):
    """An image cannot be decoded or is unusable (corrupt, too small, too large)."""


class WatchlistError(TwinError):
    """A watchlist is empty, destroyed, or built from an unusable identity folder."""


class RunFolderError(TwinError):
    """A run folder cannot be written, already exists, or is not a run folder."""


class CalibrationError(TwinError):
    """A calibration had too little data or produced an unusable score model."""


class ClusterError(TwinError):
    """Replications could not run on worker processes: a Dask scheduler cannot be reached or failed, or a
    local worker process died."""


class AuditError(TwinError):
    """An audit log is missing, malformed, or fails verification."""


class RecordsError(TwinError):
    """A deployment-records file is missing, malformed, or has no usable row (see :mod:`twin.records`)."""
