"""LFR deployment twin: simulate live facial recognition deployments in London.

The facade is :func:`run` (``twin.run(scenario, seed=...) -> RunResult``); the CLI, the app and
the tests all call it. It is imported lazily so that the pure core (``twin.scenario.specs``,
``twin.world.camera``, ...) can be used without pulling in SimPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twin._version import __version__
from twin.errors import TwinError

if TYPE_CHECKING:
    from twin.scenario.load import load_scenario
    from twin.scenario.specs import Scenario
    from twin.sim.run import RunResult, run

__all__ = ["RunResult", "Scenario", "TwinError", "__version__", "load_scenario", "run"]

_LAZY = {
    "run": "twin.sim.run",
    "RunResult": "twin.sim.run",
    "Scenario": "twin.scenario.specs",
    "load_scenario": "twin.scenario.load",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'twin' has no attribute {name!r}")
