"""Who passes by: the population shares by demographic group that a scenario's equitability analysis uses.

The shares are input (the scenario's ``population`` block, validated here); the per-group error
rates computed from them are scoring (:mod:`twin.scoring.equitability`).
"""

from __future__ import annotations

import math

__all__ = ["LONDON_2021_SHARES", "check_population"]

#: London's population by ethnic group, census 2021 (ONS, TS021): White 53.8%, Asian 20.7%,
#: Black 13.5%, Mixed 5.7%, Other 6.3% (Mixed and Other merged here).
LONDON_2021_SHARES: dict[str, float] = {
    "white": 0.538,
    "asian": 0.207,
    "black": 0.135,
    "mixed_or_other": 0.12,
}


def check_population(shares: dict[str, float]) -> dict[str, float]:
    """Validate population shares by group (>= 0, finite, sum > 0)."""
    bad = {k: v for k, v in shares.items() if not (v >= 0 and math.isfinite(v))}
    if bad:
        raise ValueError(f"population shares must be finite and >= 0, got {bad}")
    if shares and sum(shares.values()) <= 0:
        raise ValueError("population shares sum to 0")
    return shares
