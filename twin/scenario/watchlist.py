"""Against whom a deployment searches: the watchlist's size, who on it passes, and the threshold."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, field_validator, model_validator

from twin.scenario.base import StrictModel
from twin.scenario.prevalence import normalise_prevalence

__all__ = ["WatchlistSpec"]


class WatchlistSpec(StrictModel):
    """Against whom: watchlist size, how often listed people pass, and the alert threshold.

    ``prevalence`` is a number, ``{mean, dispersion}`` or ``{fitted: <site>}`` (the Met's records,
    :mod:`twin.scenario.prevalence`); it is held as its mean and Gamma dispersion.
    """

    size: int = Field(default=10_000, description="entries on the watchlist (>= 1)")
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

    @field_validator("size")
    @classmethod
    def _size(cls, v: int) -> int:
        if v < 1:
            raise ValueError(
                f"watchlist size {v}: an empty watchlist can raise no alert and justifies no deployment; "
                "give the number of entries (>= 1)"
            )
        return v

    @field_validator("threshold")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"threshold {v} must be a finite number")
        return v
