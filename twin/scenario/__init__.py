"""Layer 1, input: what a planner writes down. Validated, frozen pydantic models and their loading.

``base`` (the strict model base), ``specs`` (the scenario's sections), ``load`` (YAML, overrides,
hash, schema), ``governance`` (the deployment record's questions), ``population`` (census shares).
Imports nothing above it: no geometry, scoring, simulation or output code.
"""
