"""The scenario's governance block: what a deployment record must answer, validated.

The fields follow what the courts and the regulator ask of an LFR deployment:

* Bridges v Chief Constable of South Wales Police [2020] EWCA Civ 1058 — who goes on the
  watchlist and where it is deployed must not be left to officers' discretion; the DPIA must be
  adequate; the public sector equality duty needs reasonable steps to check the software for bias;
* College of Policing APP on LFR (2022) — an authorising officer, a watchlist specific to the
  operation built from the intelligence case in five categories, image provenance, start and end
  times, advance public notice, a trained officer reviewing every alert;
* ICO opinions 2019/01 and 2021 — DPIA and appropriate policy document before deployment, strict
  necessity, less intrusive means ruled out, decisions documented.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator, model_validator

from twin.scenario.base import StrictModel, repeated

__all__ = [
    "APP_CATEGORIES",
    "Governance",
    "PolicyLimits",
    "RetentionPolicy",
    "WatchlistCategory",
    "plan_window",
    "window_breach",
]

#: The five watchlist categories of the College of Policing APP on LFR (2022).
APP_CATEGORIES: dict[str, str] = {
    "wanted": "wanted by the police or the courts",
    "suspect": "suspected of an offence",
    "missing": "missing people",
    "vulnerable": "vulnerable people, at risk of harm",
    "risk_of_harm": "people posing a risk of harm to themselves or others",
}


class WatchlistCategory(StrictModel):
    """One APP category of the watchlist: how many entries and where their images come from."""

    category: Literal["wanted", "suspect", "missing", "vulnerable", "risk_of_harm"]
    count: int = Field(ge=0, le=20_000_000, description="entries in this category (0 to 20,000,000)")
    image_source: str = Field(
        min_length=1, description="where the images come from, e.g. custody images (PND)"
    )
    justification: str = Field(default="", description="why people in this category are on this watchlist")


class PolicyLimits(StrictModel):
    """The force's own limits; a record lists every breach first.

    ``max_false_alert_rate_per_face`` example: South Wales Police's SOP, false alert rate below
    1 in 1,000 faces (Bridges CA judgment para 128); ``max_watchlist_size`` there: 2,000 images.
    """

    max_watchlist_size: int | None = Field(default=None, ge=1, le=20_000_000)
    max_false_alert_rate_per_face: float | None = Field(default=None, gt=0, le=1)
    max_false_alerts_per_deployment: float | None = Field(default=None, ge=0, le=1e9)
    min_threshold: float | None = Field(default=None, description="lowest threshold the force allows")


class RetentionPolicy(StrictModel):
    """What is kept and for how long."""

    non_match: Literal["immediate"] = Field(
        default="immediate", description="non-matched faces are deleted at once (the only allowed value)"
    )
    alert_days: float = Field(default=31, ge=0, le=366, description="days alert images and records are kept")
    watchlist: Literal["destroy_at_end", "keep"] = "destroy_at_end"


class Governance(StrictModel):
    """Governance of one deployment; required for a deployment record."""

    operation: str = Field(min_length=1, description="operation name or reference")
    purpose: str = Field(min_length=1, description="the policing purpose and why LFR is necessary")
    intelligence_case: str = Field(
        min_length=1, description="why here, why now: the intelligence behind site and time"
    )
    less_intrusive_means: str = Field(
        min_length=1, description="what less intrusive means were considered and why ruled out"
    )
    authorising_officer_role: str = Field(
        min_length=1, description="rank/role of the authorising officer (not a name)"
    )
    start: dt.datetime = Field(description="authorised start, ISO 8601")
    end: dt.datetime = Field(description="authorised end, ISO 8601")
    watchlist_composition: list[WatchlistCategory] = Field(min_length=1, max_length=100)
    watchlist_built: str = Field(
        default="", description="when the watchlist was built and reviewed (APP: <= 24 h before)"
    )
    policy: PolicyLimits = Field(default_factory=PolicyLimits)
    signage_plan: str = Field(min_length=1)
    advance_notice: str = Field(
        default="", description="how the public was told in advance (APP), or why not"
    )
    dpia_reference: str = Field(
        min_length=1, description="reference of the DPIA (ICO 2019/01: before deployment)"
    )
    policy_document_reference: str = Field(default="", description="appropriate policy document reference")
    retention: RetentionPolicy = Field(default_factory=RetentionPolicy)

    @model_validator(mode="after")
    def _end_after_start(self) -> Governance:
        if self.end <= self.start:
            raise ValueError(f"governance.end {self.end} must be after governance.start {self.start}")
        return self

    @field_validator("watchlist_composition")
    @classmethod
    def _one_row_per_category(cls, v: list[WatchlistCategory]) -> list[WatchlistCategory]:
        dup = repeated([c.category for c in v])
        if dup:
            raise ValueError(f"each APP category once, repeated: {dup}")
        return v

    @property
    def watchlist_total(self) -> int:
        """Entries over all categories."""
        return sum(c.count for c in self.watchlist_composition)

    @property
    def authorised_hours(self) -> float:
        """Authorised duration, hours."""
        return (self.end - self.start).total_seconds() / 3600


#: Deployments are planned in London local time (scenario clock times are local).
LONDON_TZ = "Europe/London"


def plan_window(gov: Governance, start_hhmm: str, duration_s: float) -> tuple[dt.datetime, dt.datetime]:
    """The plan's window as datetimes on the authorised start's (London) date.

    A scenario gives a clock time and a length but no date; the date is taken from
    ``gov.start`` in London time. Naive governance times are read as London time.

    >>> noon, six = dt.datetime(2026, 12, 5, 12, 0), dt.datetime(2026, 12, 5, 18, 0)
    >>> g = Governance.model_construct(start=noon, end=six)
    >>> a, b = plan_window(g, "21:00", 3600)
    >>> a.strftime("%Y-%m-%d %H:%M"), b.strftime("%H:%M")
    ('2026-12-05 21:00', '22:00')
    """
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(LONDON_TZ)
    start = gov.start if gov.start.tzinfo else gov.start.replace(tzinfo=tz)
    day = start.astimezone(tz).date()
    h, m = (int(x) for x in start_hhmm.split(":"))
    a = dt.datetime.combine(day, dt.time(h, m), tzinfo=tz)
    return a, a + dt.timedelta(seconds=duration_s)


def window_breach(gov: Governance, start_hhmm: str, duration_s: float) -> str | None:
    """Why the plan's window is not inside the authorised period, or None if it is.

    >>> noon, six = dt.datetime(2026, 12, 5, 12, 0), dt.datetime(2026, 12, 5, 18, 0)
    >>> g = Governance.model_construct(start=noon, end=six)
    >>> window_breach(g, "12:00", 6 * 3600) is None
    True
    >>> window_breach(g, "21:00", 3600)
    'plan 2026-12-05 21:00-22:00 (London) ends after the authorised end 2026-12-05 18:00'
    """
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(LONDON_TZ)
    a, b = plan_window(gov, start_hhmm, duration_s)
    s = (gov.start if gov.start.tzinfo else gov.start.replace(tzinfo=tz)).astimezone(tz)
    e = (gov.end if gov.end.tzinfo else gov.end.replace(tzinfo=tz)).astimezone(tz)
    span = f"plan {a:%Y-%m-%d %H:%M}-{b:%H:%M} (London)"
    if a < s:
        return f"{span} starts before the authorised start {s:%Y-%m-%d %H:%M}"
    if b > e:
        return f"{span} ends after the authorised end {e:%Y-%m-%d %H:%M}"
    return None
