"""Layer 6, simulation: the only SimPy, and the run itself.

``arrivals`` (hourly rates, NHPP), ``crowd`` (walkers on routes, SimPy), ``operations`` (review and
intercept, SimPy), ``context`` (what a run prepares once), ``engine_setup`` (a real engine's settings
and threshold), ``replication`` (one replication's draws), ``parallel`` (replications on Dask),
``run`` (:func:`run`, :class:`RunResult`, the crowd key), ``realpass`` (replication 0 through the real
pipeline, in named stages), ``calibrate`` (fitting ScoreModels to NPL or to a real engine).
Imports every layer below it; nothing below imports it.
"""
