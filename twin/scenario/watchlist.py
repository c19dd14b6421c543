"""Against whom a deployment searches: the watchlist's size, who on it passes, and the threshold."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, field_validator, model_validator

from twin.scenario.base import StrictModel
from twin.scenario.prevalence import normalise_prevalence

__all__ = ["MAX_WATCHLIST_SIZE", "WatchlistSpec"]

#: Largest watchlist: the Police National Database holds ~19 million custody images (Home Office
#: 2023); no watchlist is larger than the database it is drawn from.
MAX_WATCHLIST_SIZE = 20_000_000


class WatchlistSpec(StrictModel):
    """Against whom: watchlist size, how often listed people pass, and the alert threshold.

    ``prevalence`` is a number, ``{mean, dispersion}`` or ``{fitted: <site>}`` (the Met's records,
    :mod:`twin.scenario.prevalence`); it is held as its mean and Gamma dispersion.
    """

    size: int = Field(
        default=10_000,
        description=f"entries on the watchlist (1-{MAX_WATCHLIST_SIZE:,}: the Police National Database's "
        "~19 million custody images)",
    )
    prevalence: float = Field(
        default=1e-4,
        ge=0,
        le=1,
        description="share of passers-by who are on the watchlist: a number, {mean: m, dispersion: d} (a "
        "Gamma across deployments) or {fitted: <site>} (fitted on the Met's published deployments)",
    )
    prevalence_dispersion: float = Field(
        default=0.0,
        ge=0,
        le=100,
        description="between-deployment Gamma dispersion of the prevalence (variance / mean^2); 0: the same "
        "in every deployment; set by the {mean, dispersion} and {fitted} forms",
    )
    prevalence_fitted: str | None = Field(
        default=None,
        description="the modelled site a {fitted: <site>} prevalence came from (set by that form)",
    )
    threshold: float = Field(default=0.6, description="alert threshold on the engine's score scale")

    @model_validator(mode="before")
    @classmethod
    def _prevalence_forms(cls, data: Any) -> Any:
        return normalise_prevalence(data) if isinstance(data, dict) else data

    @field_validator("size", mode="before")
    @classmethod
    def _size_in_range(cls, v: Any) -> Any:
        """A size too large to be an integer at all (1e30, inf) gets the limit's message, not pydantic's;
        NaN and true/false are not counts."""
        if isinstance(v, bool) or (isinstance(v, float) and math.isnan(v)):
            raise ValueError(f"watchlist size {v} is not a count; give the number of entries, e.g. 10000")
        if isinstance(v, (int, float)) and not isinstance(v, bool) and not abs(v) <= MAX_WATCHLIST_SIZE:
            raise ValueError(
                f"watchlist size {v:g} is larger than the Police National Database it would be drawn from "
                f"(~19 million custody images; limit {MAX_WATCHLIST_SIZE:,}); give the number of entries, "
                "e.g. 10000"
            )
        return v

    @field_validator("size")
    @classmethod
    def _size(cls, v: int) -> int:
        if v < 1:
            raise ValueError(
                f"watchlist size {v}: an empty watchlist can raise no alert and justifies no deployment; "
                "give the number of entries (>= 1)"
            )
        if v > MAX_WATCHLIST_SIZE:
            raise ValueError(
                f"watchlist size {v:,} is larger than the Police National Database it would be drawn from "
                f"(~19 million custody images; limit {MAX_WATCHLIST_SIZE:,}); give the number of entries, "
                "e.g. 10000"
            )
        return v

    @field_validator("threshold")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"threshold {v} must be a finite number")
        return v
