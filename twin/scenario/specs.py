"""Scenario files: validated, frozen pydantic models loaded from YAML.

A scenario says where (site map, routes, signage), when (time window, footfall profile), who
(crowd), with what (cameras, capture quality gate, engine) and against whom (watchlist) one LFR
deployment is simulated. Units are in the key names (``duration_s``, ``mount_height_m``,
``hfov_deg``). Paths are relative to the scenario file. Unknown keys are rejected with the list
of valid ones. ``twin schema`` prints :func:`scenario_json_schema`.

Every default that is not a choice of the planner names its source; "assumption" marks a value
no public figure pins down. Every size, count and rate has an upper bound (the ``MAX_*`` constants).

Long on purpose (~480 lines of code): this is the one scenario schema, each key with its unit, default,
source and limits and the message that names the fix, in the order ``twin schema`` prints them;
split by section it would scatter what a planner reads in one place.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from twin.scenario.base import SAFE_ID_PATTERN, StrictModel, check_safe_id, repeated
from twin.scenario.governance import Governance
from twin.scenario.population import LONDON_2021_SHARES, check_population
from twin.scenario.watchlist import MAX_WATCHLIST_SIZE, WatchlistSpec

__all__ = [
    "LONDON_HIGH_STREET_PROFILE_PCT",
    "MAX_CAMERAS",
    "MAX_DAILY_PASSERS_BY",
    "MAX_FOOTFALL_SCALE",
    "MAX_RATE_PER_H",
    "MAX_REPLICATIONS",
    "MAX_SEED",
    "MAX_STAFF",
    "MAX_WATCHLIST_SIZE",
    "CameraSpec",
    "CaptureGate",
    "CrowdSpec",
    "EngineSpec",
    "FootfallSpec",
    "LatLon",
    "OperationsSpec",
    "ReviewTimeSpec",
    "Scenario",
    "SiteSpec",
    "TimeWindow",
    "WatchlistSpec",
]

#: Share (%) of a day's footfall starting in each clock hour 00..23. Assumption built to match the
#: Marble Arch BID counters (2019): busiest 17-18, then 18-19 and 16-17, quietest 04-05; see
#: shared/reference/public_figures.md ("Hourly profile shape"). Sums to ~100.
LONDON_HIGH_STREET_PROFILE_PCT: tuple[float, ...] = (
    1.2, 0.8, 0.6, 0.45, 0.35, 0.5, 1.2, 2.5, 4.2, 4.8, 5.5, 6.3,
    7.0, 7.2, 7.3, 7.6, 8.0, 8.6, 8.2, 6.5, 4.2, 3.0, 2.3, 1.7,
)  # fmt: skip

# Upper bounds of what a scenario may ask for, checked when it is read (``twin schema`` shows them).
# The memory a run needs is estimated from them before any simulation (twin/sim/budget.py).
#: Most people entering a site per day: 10x Oxford Street's ~500,000 (the busiest street in Europe).
MAX_DAILY_PASSERS_BY = 5_000_000
#: Most arrivals per clock hour: 10x Oxford Circus's > 40,000 at its peak hour.
MAX_RATE_PER_H = 500_000
#: Largest footfall multiplier: 100x the site's usual day (the rates above still apply to the product).
MAX_FOOTFALL_SCALE = 100.0
#: Most cameras in one deployment: a van carries 2-4; 64 covers a fixed installation of 16 poles.
MAX_CAMERAS = 64
#: Most replications of one run (the percentiles of a 95% interval settle long before).
MAX_REPLICATIONS = 10_000
#: Most operators or officers in one deployment (the officers-needed search goes to 200 too).
MAX_STAFF = 200
#: Largest root seed: the largest integer a browser (JavaScript) holds exactly, so the app shows
#: every seed the command line takes.
MAX_SEED = 2**53 - 1


def _resolve(path: Path | None, info: ValidationInfo) -> Path | None:
    """Resolve a path relative to the scenario file's folder (from the validation context)."""
    if path is None:
        return None
    base = (info.context or {}).get("base_dir")
    if not path.is_absolute() and base is not None:
        path = Path(base) / path
    return Path(path)


class LatLon(StrictModel):
    """A WGS84 point. ``lat`` north-south (~51.3-51.7 in London), ``lon`` east-west (~-0.5-0.3)."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class SiteSpec(StrictModel):
    """Where: a site map file (see maps/README.md) and planner overrides."""

    map: Path = Field(description="site GeoJSON (maps/README.md format), relative to the scenario file")
    route_weights: dict[str, float] = Field(
        default_factory=dict,
        max_length=256,
        description="override route weights by route id (relative shares, 0 to 1,000,000)",
    )
    signage: list[LatLon] = Field(default_factory=list, max_length=1000, description="extra LFR notice signs")

    _resolve_map = field_validator("map")(_resolve)

    @field_validator("route_weights")
    @classmethod
    def _weights_nonneg(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: w for k, w in v.items() if not (0 <= w <= 1e6)}
        if bad:
            raise ValueError(f"route weights must be relative shares between 0 and 1,000,000, got {bad}")
        return v


class TimeWindow(StrictModel):
    """When: local clock start and duration of the deployment."""

    start: str = Field(
        default="12:00",
        description='local clock time at which the window starts, quoted "HH:MM" (YAML reads an unquoted '
        "12:00 as the number 720)",
    )
    duration_s: float = Field(default=3600.0, description="length of the window in seconds (> 0, <= 7 days)")

    @field_validator("start", mode="before")
    @classmethod
    def _hhmm(cls, v: Any) -> str:
        if not isinstance(v, str):
            number = isinstance(v, (int, float)) and not isinstance(v, bool)
            hint = (
                f" (YAML 1.1 reads an unquoted {v // 60}:{v % 60:02d} as {v})"
                if isinstance(v, int) and number and 0 <= v < 24 * 60
                else ""
            )
            raise ValueError(
                f"start {v!r} is {'a number' if number else 'not text'}, not a clock time{hint}; write it in "
                'quotes as "HH:MM", e.g. start: "12:00"'
            )
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", v.strip())
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
            raise ValueError(f"start {v!r} is not a clock time; write it as HH:MM, e.g. '12:00'")
        return f"{int(m.group(1)):02d}:{m.group(2)}"

    @field_validator("duration_s")
    @classmethod
    def _duration(cls, v: float) -> float:
        if not (v > 0) or v > 7 * 86400:
            raise ValueError(f"duration_s {v} must be > 0 and at most 604800 (7 days)")
        return v

    @property
    def start_s(self) -> float:
        """Seconds after local midnight at which the window starts."""
        h, m = self.start.split(":")
        return int(h) * 3600.0 + int(m) * 60.0


class FootfallSpec(StrictModel):
    """How many people enter the site, hour by hour.

    The arrival rate in clock hour h is ``rate_per_h[h]`` if given, else
    ``daily_passers_by * profile_pct[h] / 100``; both are multiplied by ``scale``.
    """

    daily_passers_by: float | None = Field(
        default=None,
        description=f"people entering the site per day (0-{MAX_DAILY_PASSERS_BY:,}); default: the site map's "
        "figure",
    )
    profile_pct: list[float] = Field(
        default_factory=lambda: list(LONDON_HIGH_STREET_PROFILE_PCT),
        description="share (%) of the day's footfall per clock hour 00..23 (assumption: London high street)",
    )
    rate_per_h: list[float] | None = Field(
        default=None,
        description=f"explicit arrival rate per clock hour 00..23 (people/h, 0-{MAX_RATE_PER_H:,}); "
        "overrides the profile",
    )
    scale: float = Field(
        default=1.0,
        description=f"multiplier on the rates (0-{MAX_FOOTFALL_SCALE:g}), e.g. 0.5 for a quiet day",
    )

    @field_validator("profile_pct", "rate_per_h", mode="before")
    @classmethod
    def _a_list(cls, v: Any) -> Any:
        if v is not None and not isinstance(v, (list, tuple)):
            raise ValueError(f"needs a list of 24 hourly values (clock hours 00..23), got {v!r}")
        return v

    @field_validator("profile_pct", "rate_per_h")
    @classmethod
    def _hourly(cls, v: list[float] | None) -> list[float] | None:
        if v is None:
            return v
        if len(v) != 24:
            raise ValueError(f"needs 24 hourly values (00..23), got {len(v)}")
        bad = [(h, x) for h, x in enumerate(v) if not (x >= 0 and math.isfinite(x))]
        if bad:
            raise ValueError(f"hourly values must be finite and >= 0; negative or invalid at hour(s) {bad}")
        return v

    @field_validator("rate_per_h")
    @classmethod
    def _rate_cap(cls, v: list[float] | None) -> list[float] | None:
        big = [(h, x) for h, x in enumerate(v or []) if x > MAX_RATE_PER_H]
        if big:
            raise ValueError(
                f"rate_per_h above {MAX_RATE_PER_H:,} people/h (10x Oxford Circus at its peak) at hour(s) "
                f"{big}; give people per hour, e.g. 40000"
            )
        return v

    @field_validator("daily_passers_by", "scale")
    @classmethod
    def _nonneg(cls, v: float | None, info: ValidationInfo) -> float | None:
        if v is not None and not (v >= 0 and math.isfinite(v)):
            raise ValueError(f"{info.field_name} {v} must be a finite number >= 0")
        cap = MAX_DAILY_PASSERS_BY if info.field_name == "daily_passers_by" else MAX_FOOTFALL_SCALE
        if v is not None and v > cap:
            raise ValueError(
                f"{info.field_name} {v:g} is above its limit {cap:,g} ("
                + (
                    "10x Oxford Street's busiest day); give people per day, e.g. 250000"
                    if info.field_name == "daily_passers_by"
                    else "100x the site's usual day); e.g. 1.5 for an event"
                )
            )
        return v


class CrowdSpec(StrictModel):
    """Who walks: speeds, groups, head pose and avoidance of the signposted zone."""

    free_speed_mean_m_s: float = Field(
        default=1.34, gt=0.1, le=3.0, description="mean free walking speed, m/s (Weidmann 1993: 1.34)"
    )
    free_speed_sd_m_s: float = Field(
        default=0.26, ge=0, le=1.0, description="sd of free walking speed, m/s (Weidmann 1993: 0.26)"
    )
    group_share: float = Field(
        default=0.3, ge=0, le=1, description="share of arrivals that are groups of 2-4 (assumption)"
    )
    avoid_share: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="share of passers-by who, warned by the signs, avoid the recognition zone: they take "
        "a route no camera sees, or turn back if none exists (assumption)",
    )
    head_yaw_sd_deg: float = Field(
        default=10.0,
        ge=0,
        le=90,
        description="sd of a walker's head yaw about the walking direction (assumption)",
    )
    head_pitch_sd_deg: float = Field(
        default=8.0, ge=0, le=90, description="sd of a walker's head pitch, down is positive (assumption)"
    )


class CameraSpec(StrictModel):
    """One camera: position, pose and lens. Angles in degrees, heading clockwise from north.

    Defaults are assumptions for a van roof camera: 1920x1080 sensor, 10 processed frames/s, mount
    3.0 m (a van roof mast), tilt 15 degrees down, horizontal FOV 30 degrees, exposure 1/250 s.
    """

    id: str = Field(
        min_length=1,
        max_length=64,
        description="letters, digits, '_', '-' and '.', starting with a letter or digit (e.g. van_1_cam1)",
        json_schema_extra={"pattern": f"^{SAFE_ID_PATTERN}$"},  # checked by _safe_id, with its own message
    )
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    mount_height_m: float = Field(default=3.0, description="lens height above the ground, m (0.5-30)")
    heading_deg: float = Field(default=0.0, description="compass bearing of the optical axis, [0, 360)")
    tilt_deg: float = Field(default=15.0, description="downward tilt of the optical axis, degrees (-10..89)")
    hfov_deg: float = Field(default=30.0, description="horizontal field of view, degrees, 0 < hfov < 180")
    width_px: int = Field(default=1920, ge=64, le=16384)
    height_px: int = Field(default=1080, ge=64, le=16384)
    fps: float = Field(default=10.0, description="frames processed per second (0 < fps <= 60)")
    exposure_s: float = Field(default=1 / 250, gt=0, le=0.1, description="shutter time, s (motion blur)")

    @field_validator("id")
    @classmethod
    def _safe_id(cls, v: str) -> str:
        return check_safe_id(v, "camera id")

    @field_validator("hfov_deg")
    @classmethod
    def _hfov(cls, v: float) -> float:
        if not (0 < v < 180):
            raise ValueError(
                f"hfov_deg {v} must be between 0 and 180 degrees exclusive (a pinhole lens); e.g. 30"
            )
        return v

    @field_validator("heading_deg")
    @classmethod
    def _heading(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"heading_deg {v} must be a finite compass bearing")
        if not -360 <= v <= 720:  # far outside one turn is a typo (or a radian/gradian mix-up), not a bearing
            raise ValueError(
                f"heading_deg {v:g} is not a compass bearing; give degrees from north in [0, 360) (-360 to "
                "720 accepted), e.g. 290"
            )
        return v % 360.0

    @field_validator("tilt_deg")
    @classmethod
    def _tilt(cls, v: float) -> float:
        if not (-10 <= v <= 89):
            raise ValueError(f"tilt_deg {v} must be between -10 (slightly up) and 89 (straight down)")
        return v

    @field_validator("mount_height_m")
    @classmethod
    def _height(cls, v: float) -> float:
        if not (0.5 <= v <= 30):
            raise ValueError(f"mount_height_m {v} must be between 0.5 and 30 m")
        return v

    @field_validator("fps")
    @classmethod
    def _fps(cls, v: float) -> float:
        if not (0 < v <= 60):
            raise ValueError(f"fps {v} must be > 0 and <= 60")
        return v


class CaptureGate(StrictModel):
    """Capture quality gate: a frame is a usable capture only if it passes all of these.

    Defaults (assumptions): min ied_px 30 (VeriLook asks >= 40, 75+ recommended; NIST FIVE used
    low-resolution video), |yaw| <= 30 degrees, |pitch| <= 25 degrees (AWS Rekognition: < 30 down).
    """

    min_ied_px: float = Field(default=30.0, gt=0, le=1000)
    max_abs_yaw_deg: float = Field(default=30.0, gt=0, le=90)
    max_abs_pitch_deg: float = Field(default=25.0, gt=0, le=90)


class EngineSpec(StrictModel):
    """Which recognition engine scores the captures.

    ``statistical`` scores every replication from a ScoreModel. ``dlib`` and ``insightface`` keep that
    and also run replication 0's usable captures, at most ``max_real_probes`` (default 200), as
    rendered faces through the real recognition pipeline (:mod:`twin.sim.realpass`).
    """

    kind: Literal["statistical", "dlib", "insightface"] = "statistical"
    score_model: Path | None = Field(
        default=None, description="ScoreModel JSON from `twin calibrate`; default: fitted to NPL 2023"
    )
    model_dir: Path | None = Field(default=None, description="insightface model pack folder")
    faces: Path | None = Field(default=None, description="identity folder (person/*.jpg) for real engines")
    providers: list[str] = Field(default_factory=lambda: ["CPUExecutionProvider"], max_length=8)
    force_threshold: bool = Field(
        default=False,
        description="real engines: run a threshold below the engine's calibrated default even where its "
        "expected FPIR is above 1% (twin/sim/engine_setup.py); for stress tests, never a deployment",
    )
    max_real_probes: int = Field(
        default=200,
        ge=1,
        le=1_000_000,
        description="real engines: most usable captures of replication 0 run through the real pipeline (all "
        "watchlisted ones first, the rest sampled; twin/sim/realpass.py)",
    )

    _resolve_paths = field_validator("score_model", "model_dir", "faces")(_resolve)


class ReviewTimeSpec(StrictModel):
    """How long an operator takes to adjudicate one alert (compare the probe with the watchlist image).

    ``lognormal`` with mean ``mean_s`` and coefficient of variation ``cv`` (a right-skewed task
    time), ``exponential`` with mean ``mean_s`` (the M/M/c textbook case), or ``fixed`` at ``mean_s``.
    No public record times a review. The default mean, 5 s, is calibrated so that the response
    reaches 98.5% of dispatched alerts at Oxford Circus, the share the Met's 2023-24 published
    deployments show (13 of 862 true alerts not located or engaged; see
    :data:`twin.sim.operations.CALIBRATION`; 11 s reached the 2020-era 90%); the cv of 0.5 is an
    assumption.
    """

    distribution: Literal["lognormal", "exponential", "fixed"] = Field(
        default="lognormal", description="review-time distribution: lognormal, exponential or fixed"
    )
    mean_s: float = Field(
        default=5.0,
        description="mean review time per alert, s (> 0; calibrated on the Met's 2023-24 records: 5; "
        "the 2020 and Essex records: 11)",
    )
    cv: float = Field(
        default=0.5, description="coefficient of variation for lognormal (>= 0; assumption: 0.5)"
    )
    source: str = Field(
        default="calibrated: mean 5 s reaches 98.5% of dispatched alerts at Oxford Circus (Met deployments "
        "2023-24: 13 of 862 true alerts not located or engaged); no published review times; cv assumed",
        description="where the review-time figures come from",
    )

    @field_validator("mean_s")
    @classmethod
    def _mean(cls, v: float) -> float:
        if not (0 < v <= 3600):
            raise ValueError(
                f"review_time.mean_s {v} must be > 0 and at most 3600 seconds: every alert takes an operator "
                "some time to adjudicate; give a mean review time, e.g. 30"
            )
        return v

    @field_validator("cv")
    @classmethod
    def _cv(cls, v: float) -> float:
        if not (0 <= v <= 10):
            raise ValueError(f"review_time.cv {v} must be a coefficient of variation in [0, 10], e.g. 0.5")
        return v


def _probability(name: str) -> Any:
    def check(cls: Any, v: float) -> float:
        if not (0 <= v <= 1):
            raise ValueError(f"{name} {v} must be a probability in [0, 1], e.g. 0.5")
        return v

    return field_validator(name)(classmethod(check))


class OperationsSpec(StrictModel):
    """Adjudication and response: operators review each alert, officers intercept the person.

    Used by :mod:`twin.sim.operations`; the geometry and the calibration of the defaults are
    documented there. The review time and ``arrest_probability`` are calibrated on the Met's
    published deployments of 2023-24 (98.5% of true alerts located and engaged; 2024: 372 arrests
    from 793 engaged true alerts); ``false_alert_dispatch_probability`` on the Essex review of the
    Met trials (Fussey & Murray 2019: 42 matches, 8 verified correct, 22 stopped) and the Met's
    Oxford Circus record of 27 Feb 2020 (8 alerts, 7 false, 6 stops of which 5 of false alerts),
    the only published fates of false alerts; the rest are assumptions. The 28 Jan 2022 record is
    kept for validation only.
    """

    operators: int = Field(
        default=1, description="operators reviewing alerts at once (1-200; assumption: 1 per deployment)"
    )
    officers: int = Field(default=4, description="intercept officers on the ground (0-200; assumption: 4)")
    review_time: ReviewTimeSpec = Field(default_factory=ReviewTimeSpec)
    false_alert_dispatch_probability: float = Field(
        default=0.51,
        description="probability that an operator fails to reject a false alert and dispatches an officer "
        "(calibrated: Essex review 14 of 34 false alerts stopped, Oxford Circus 2020 5 of 7; pooled 19/41 "
        "divided by that era's 0.9 of dispatched alerts reached; no later record says how false alerts "
        "ended)",
    )
    dispatch_latency_s: float = Field(
        default=5.0,
        description="from the operator's decision to the officer moving off, s (>= 0; assumption: a "
        "radio call)",
    )
    officer_speed_m_s: float = Field(
        default=2.0,
        description="officer's brisk walking speed through the crowd, m/s (> 0; assumption: above London "
        "commuters' 1.68 m/s, Walmsley & Lewis 1989)",
    )
    officer_post_m: float = Field(
        default=20.0,
        description="where intercept officers wait, m along the walking direction beyond the alerting camera "
        "(>= 0; 0: at the camera; assumption: 20, a short way past the van, in sight of it)",
    )
    stop_duration_s: float = Field(
        default=600.0, description="officer time per stop (identity check), s (>= 0; assumption: 10 min)"
    )
    arrest_duration_s: float = Field(
        default=3600.0,
        description="extra officer time per arrest (hand-over to transport), s (>= 0; assumption)",
    )
    arrest_probability: float = Field(
        default=0.47,
        description="probability that an engaged true alert ends in an arrest (the Met's 2024 deployments: "
        "372 arrests from 793 engaged true alerts; 2023: 0.61; 2020: 1 of 1)",
    )
    target_engaged_share: float = Field(
        default=0.8, description="share of true alerts engaged the plan must reach (planner's choice, (0, 1])"
    )
    max_officers_searched: int = Field(
        default=12, description="largest officer count tried when searching the officers needed (1-200)"
    )

    _p_dispatch = _probability("false_alert_dispatch_probability")
    _p_arrest = _probability("arrest_probability")

    @field_validator("operators")
    @classmethod
    def _operators(cls, v: int) -> int:
        if v < 1:
            raise ValueError(
                f"operators {v} must be >= 1: a trained officer reviews every alert (College of Policing APP "
                "2022); give the number of operators, e.g. 1"
            )
        if v > MAX_STAFF:
            raise ValueError(f"operators {v} is above the limit of {MAX_STAFF}; e.g. 1 per van")
        return v

    @field_validator("officers")
    @classmethod
    def _officers(cls, v: int) -> int:
        if v < 0:
            raise ValueError(
                f"officers {v} must be >= 0 (0: nobody intercepts, every dispatched alert is lost); "
                "give the number of intercept officers, e.g. 4"
            )
        if v > MAX_STAFF:
            raise ValueError(f"officers {v} is above the limit of {MAX_STAFF}; e.g. 4 per van")
        return v

    @field_validator("dispatch_latency_s", "stop_duration_s", "arrest_duration_s", "officer_post_m")
    @classmethod
    def _nonneg_s(cls, v: float, info: ValidationInfo) -> float:
        unit = "metres" if info.field_name == "officer_post_m" else "seconds"
        if not (v >= 0 and math.isfinite(v)):
            raise ValueError(f"{info.field_name} {v} must be a finite number of {unit} >= 0")
        cap = 1000.0 if info.field_name == "officer_post_m" else 86_400.0
        if v > cap:
            raise ValueError(f"{info.field_name} {v:g} is above the limit of {cap:g} {unit}")
        return v

    @field_validator("officer_speed_m_s")
    @classmethod
    def _speed(cls, v: float) -> float:
        if not (0 < v <= 8):
            raise ValueError(
                f"officer_speed_m_s {v} must be > 0 and at most 8 m/s (a sprint); e.g. 2.0 for a brisk walk"
            )
        return v

    @field_validator("target_engaged_share")
    @classmethod
    def _target(cls, v: float) -> float:
        if not (0 < v <= 1):
            raise ValueError(f"target_engaged_share {v} must be a share in (0, 1], e.g. 0.8")
        return v

    @field_validator("max_officers_searched")
    @classmethod
    def _max_officers(cls, v: int) -> int:
        if not (1 <= v <= 200):
            raise ValueError(f"max_officers_searched {v} must be between 1 and 200")
        return v


class Scenario(StrictModel):
    """One planned LFR deployment, as read from a scenario YAML file."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    site: SiteSpec
    time: TimeWindow = Field(default_factory=TimeWindow)
    footfall: FootfallSpec = Field(default_factory=FootfallSpec)
    crowd: CrowdSpec = Field(default_factory=CrowdSpec)
    cameras: list[CameraSpec] = Field(min_length=1, max_length=MAX_CAMERAS)
    capture: CaptureGate = Field(default_factory=CaptureGate)
    watchlist: WatchlistSpec = Field(default_factory=WatchlistSpec)
    engine: EngineSpec = Field(default_factory=EngineSpec)
    population: dict[str, float] = Field(
        default_factory=lambda: dict(LONDON_2021_SHARES),
        max_length=32,
        description="share of passers-by per demographic group for the equitability analysis "
        "(default: London, census 2021, ONS TS021)",
    )
    governance: Governance | None = Field(default=None, description="required for a deployment record")
    operations: OperationsSpec = Field(
        default_factory=OperationsSpec,
        description="operators review alerts, officers intercept (twin/sim/operations.py)",
    )
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    replications: int = Field(default=10, ge=1, le=MAX_REPLICATIONS)

    @field_validator("population")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        return check_population(v)

    @field_validator("cameras")
    @classmethod
    def _unique_ids(cls, v: list[CameraSpec]) -> list[CameraSpec]:
        dup = repeated([c.id for c in v])
        if dup:
            raise ValueError(f"camera ids must be unique, repeated: {dup}")
        return v
