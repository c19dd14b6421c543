"""LFR deployment twin: simulate live facial recognition deployments in London.

The facade is :func:`run` (``twin.run(scenario, seed=...) -> RunResult``); the CLI, the app and
the tests all call it.
"""

from twin._version import __version__
from twin.errors import TwinError
from twin.scenario import Scenario, load_scenario
from twin.simulation import RunResult, run

__all__ = ["RunResult", "Scenario", "TwinError", "__version__", "load_scenario", "run"]
