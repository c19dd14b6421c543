"""Layer 3, scoring: pure statistics over captures (no images, no simulation, no files).

``score_model`` (the statistical engine: mated and non-mated score distributions, FMR, FPIR),
``metrics`` (alerts of a replication and the run's bands), ``equitability`` (per-group rates),
``summary`` (the run summary's sections and keys, the one metric table and the one formatter).
Imports scenario/ and world/ at most.
"""
