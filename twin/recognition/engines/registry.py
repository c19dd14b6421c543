"""Create an engine by kind name ("dlib", "insightface", ...), as scenario files and the CLI name them.

Built-in kinds are imported lazily, so choosing one engine never imports another's heavy library.
Other kinds (e.g. "statistical") are added through ``extra`` factories or :func:`register_engine`:

>>> from twin.recognition.engines.registry import create_engine, engine_kinds
>>> "dlib" in engine_kinds() and "insightface" in engine_kinds()
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from twin.errors import EngineError
from twin.recognition.engines.base import ScoringEngine

__all__ = ["EngineFactory", "create_engine", "engine_kinds", "register_engine"]

#: A factory: keyword options in, an engine out.
EngineFactory = Callable[..., ScoringEngine]


def _dlib(**options: Any) -> ScoringEngine:
    from twin.recognition.engines.dlib import DlibEngine

    return DlibEngine(**options)


def _insightface(**options: Any) -> ScoringEngine:
    from twin.recognition.engines.insightface import InsightFaceEngine

    if "model_dir" not in options:
        raise EngineError(
            "the insightface engine needs model_dir: the unpacked model pack folder (e.g. .../buffalo_l)"
        )
    model_dir = options.pop("model_dir")
    if "providers" in options and options["providers"] is not None:
        options["providers"] = tuple(options["providers"])
    if "det_size" in options and options["det_size"] is not None:
        options["det_size"] = tuple(options["det_size"])
    return InsightFaceEngine(model_dir, **options)


_FACTORIES: dict[str, EngineFactory] = {"dlib": _dlib, "insightface": _insightface}


def register_engine(kind: str, factory: EngineFactory, *, replace: bool = False) -> None:
    """Add an engine kind for :func:`create_engine` (e.g. ``register_engine("statistical", ...)``).

    Raises:
        EngineError: the kind exists and ``replace`` is False, or the name is empty.
    """
    if not kind or not kind.strip():
        raise EngineError("an engine kind needs a non-empty name")
    if kind in _FACTORIES and not replace:
        raise EngineError(f"engine kind {kind!r} is already registered; pass replace=True to override it")
    _FACTORIES[kind] = factory


def engine_kinds(extra: Mapping[str, EngineFactory] | None = None) -> list[str]:
    """Known engine kinds, sorted (built-in, registered and ``extra``)."""
    return sorted({*_FACTORIES, *(extra or {})})


def create_engine(kind: str, *, extra: Mapping[str, EngineFactory] | None = None, **options: Any) -> Any:
    """Build an engine by kind.

    Args:
        kind: ``"dlib"``, ``"insightface"``, or a kind registered / passed in ``extra``.
        extra: more factories for this call (kind → factory(**options)); they win over built-ins.
        **options: passed to the engine's constructor (e.g. ``expected_ied_px=20`` for dlib,
            ``model_dir=..., providers=[...]`` for insightface).

    Returns:
        the engine (a :class:`~twin.recognition.engines.base.FaceEngine` for dlib and insightface; the
        statistical engine is a :class:`~twin.recognition.engines.base.ScoringEngine`).

    Raises:
        EngineError: an unknown kind (the message lists the valid ones) or unknown options.
        EngineUnavailableError, ModelFolderError: from the engine itself.
    """
    factories = {**_FACTORIES, **(extra or {})}
    if kind not in factories:
        raise EngineError(f"unknown engine kind {kind!r}; valid kinds: {', '.join(sorted(factories))}")
    try:
        return factories[kind](**options)
    except TypeError as exc:
        if "unexpected keyword argument" in str(exc):
            raise EngineError(f"engine {kind!r} got an unknown option: {exc}") from exc
        raise
