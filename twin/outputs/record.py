"""The deployment record: what a data protection officer files for one planned LFR deployment.

Built from a run folder (its scenario copy, summary, audit log), never from live state, so the
record says exactly what the run found. It answers the governance points of
``shared/reference/public_figures.md``: who is on the watchlist and why, where and why there,
the expected error rates against the force's own limits, bias checks, signage, what is deleted
and when. Every breach of the scenario's own limits is listed first.

``twin record RUN_FOLDER`` adds ``record.json`` and ``record.html`` to the folder (results stay
untouched; a second record gets ``record-2.*``) and appends a ``record_written`` audit entry.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin._version import __version__
from twin.errors import RunFolderError, ScenarioError
from twin.files import MAX_JSON_BYTES, dumps_json, loads_json, read_capped
from twin.outputs.audit import AUDIT_FILE, AuditLog
from twin.outputs.folders import write_new_files
from twin.outputs.record_audit import AuditFacts, audit_facts, retention_and_audit
from twin.outputs.record_html import render_record_html
from twin.outputs.seal import SigningKey, require_key_if_sealed, seal_folder
from twin.scenario.governance import APP_CATEGORIES, Governance
from twin.scenario.load import load_scenario
from twin.scenario.specs import Scenario
from twin.scoring.metric_table import RECORD_ROWS
from twin.scoring.policy import (
    EQUITY_RATIO_LIMIT,
    breach,
    expected_false_alert_rates,
    plan_breaches,
    policy_breaches,
)
from twin.scoring.summary import RunSummary
from twin.world.camera import Camera
from twin.world.signage import RouteSignage, signage_coverage
from twin.world.site import Site

__all__ = ["EQUITY_RATIO_LIMIT", "SitePlan", "build_record", "write_record"]


@dataclass(frozen=True, kw_only=True)
class SitePlan:
    """What the record needs of the prepared run: the site, the cameras, and the signage coverage of every
    route.

    ``twin run`` passes the run's own (:meth:`of` its context); ``twin record RUN_FOLDER`` prepares
    the folder's scenario copy again (:func:`twin.sim.context.prepare`), the only way to know the
    coverage from the files alone.
    """

    site: Site
    cameras: Sequence[Camera]
    signage: Sequence[RouteSignage]

    @classmethod
    def of(cls, context: Any) -> SitePlan:
        """From a run's :class:`~twin.sim.context.Context` (site, cameras, view tables)."""
        return cls(
            site=context.site,
            cameras=list(context.cameras),
            signage=signage_coverage(context.site, context.tables),
        )


def _read_run_folder(folder: Path) -> tuple[Scenario, Governance, RunSummary, dict[str, Any]]:
    """(scenario copy, its governance block, summary, run.json) of a run folder.

    Raises:
        RunFolderError: not a run folder.
        ScenarioError: the scenario has no governance block.
    """
    if not folder.is_dir():
        raise RunFolderError(
            f"run folder {str(folder)!r} does not exist; give a folder written by `twin run` (under runs/)"
        )
    for name in ("scenario.yaml", "summary.json", "run.json"):
        if not (folder / name).is_file():
            raise RunFolderError(
                f"{folder} is not a run folder (no {name}); give a folder written by `twin run`"
            )
    sc = load_scenario(folder / "scenario.yaml")
    if sc.governance is None:
        raise ScenarioError(
            f"{folder / 'scenario.yaml'} has no governance block; a deployment record needs one "
            "(purpose, intelligence case, authorising officer role, watchlist composition, ...: see "
            "`twin schema`)"
        )
    docs = [
        loads_json(
            read_capped(folder / n, what=n, max_bytes=MAX_JSON_BYTES, error=RunFolderError),
            name=str(folder / n),
            error=RunFolderError,
        )
        for n in ("summary.json", "run.json")
    ]
    if not all(isinstance(d, dict) for d in docs):
        raise RunFolderError(
            f"{folder}: summary.json or run.json is not a JSON object; the run folder is damaged"
        )
    try:
        summary = RunSummary.from_json(docs[0])
    except (KeyError, TypeError, ValueError) as exc:
        raise RunFolderError(
            f"{folder / 'summary.json'} is not a summary the twin wrote ({type(exc).__name__}: {exc}); "
            "the run folder is damaged: run `twin audit verify` on it"
        ) from exc
    return sc, sc.governance, summary, docs[1]


def _band_json(summary: RunSummary, metric_id: str) -> dict[str, Any]:
    band = summary.band(metric_id)
    return band.to_json() if band is not None else {}


def _breaches(
    sc: Scenario, gov: Governance, summary: RunSummary, plan: SitePlan, audit: AuditFacts
) -> list[dict[str, Any]]:
    """Every breach of the deployment's own limits, in the record's order (the Plan page shows the same
    policy checks as the planner works: :mod:`twin.scoring.policy`)."""
    return policy_breaches(sc, gov, summary) + _plan_breaches(sc, gov, plan, audit)


def _plan_breaches(sc: Scenario, gov: Governance, plan: SitePlan, audit: AuditFacts) -> list[dict[str, Any]]:
    """Breaches of notice (signage), authorisation (window), audit and retention."""
    out = plan_breaches(sc, gov, plan.signage)
    if audit.check is not None and not audit.check.ok:
        out.append(
            breach(
                "audit log fails verification",
                audit.check.problem,
                "intact hash chain",
                "twin/audit.py",
                "investigate: the log was altered after the run",
            )
        )
    if audit.watchlist_kept and gov.retention.watchlist == "destroy_at_end":
        out.append(
            breach(
                "watchlist kept after the deployment",
                "kept",
                "destroyed at end",
                "retention policy",
                "destroy the watchlist",
            )
        )
    return out


def build_record(
    folder: Path | str,
    *,
    folder_name: str | None = None,
    plan: SitePlan | None = None,
    signer: SigningKey | None = None,
) -> dict[str, Any]:
    """The deployment record of a run folder, as a JSON-ready dict.

    Args:
        folder: the run folder.
        folder_name: the name to print for it (default its own; ``twin run`` builds the record
            in a temporary folder before renaming it).
        plan: the run's site, cameras and signage coverage (``twin run`` passes its own); default:
            the folder's scenario copy prepared again.
        signer: the key that will sign the folder after the record is written; the record names it.

    Raises:
        RunFolderError: not a run folder.
        ScenarioError: the scenario has no governance block (the record needs one).
    """
    folder = Path(folder)
    sc, gov, summary, run_meta = _read_run_folder(folder)
    if plan is None:
        from twin.sim.context import prepare  # heavy: only for `twin record` on a folder

        plan = SitePlan.of(prepare(sc))
    audit = audit_facts(folder)
    fpir_model, fa_per_face, _ = expected_false_alert_rates(summary)
    return {
        "kind": "deployment_record",
        "twin_version": __version__,
        "breaches": _breaches(sc, gov, summary, plan, audit),
        "operation": gov.operation,
        **_authorisation(gov),
        "site": _site_section(sc, plan),
        "watchlist": _watchlist_section(sc, gov),
        "expected": {
            **{
                m.key: _band_json(summary, m.id) for m in RECORD_ROWS
            },  # faces, true and false alerts, precision, TPIR
            "fpir_model": fpir_model,
            "false_alerts_per_face": fa_per_face,
            "policy_cap_per_face": gov.policy.max_false_alert_rate_per_face,
            "interval": summary.interval or "",
            "engine": summary.model.model_id if summary.model is not None else None,
        },
        "operations": summary.operations.to_json() if summary.operations is not None else None,
        "equitability": summary.equitability.to_json() if summary.equitability is not None else {},
        "signage": _signage_section(gov, plan),
        **retention_and_audit(gov, audit, folder, signer),
        "run": {
            "folder": folder_name or folder.name,
            "seed": summary.run.seed if summary.run else None,
            "scenario_sha256": summary.run.scenario_sha256 if summary.run else None,
            "created_at": run_meta.get("created_at"),
        },
    }


def _authorisation(gov: Governance) -> dict[str, Any]:
    return {
        "authorisation": {
            "officer_role": gov.authorising_officer_role,
            "start": gov.start.isoformat(),
            "end": gov.end.isoformat(),
            "hours": round(gov.authorised_hours, 2),
            "dpia_reference": gov.dpia_reference,
            "policy_document_reference": gov.policy_document_reference,
        },
        "necessity": {
            "purpose": gov.purpose,
            "intelligence_case": gov.intelligence_case,
            "less_intrusive_means": gov.less_intrusive_means,
        },
    }


def _watchlist_section(sc: Scenario, gov: Governance) -> dict[str, Any]:
    return {
        "size": sc.watchlist.size,
        "threshold": sc.watchlist.threshold,
        "built": gov.watchlist_built,
        "composition": [
            {
                "category": c.category,
                "label": APP_CATEGORIES[c.category],
                "count": c.count,
                "image_source": c.image_source,
                "justification": c.justification,
            }
            for c in gov.watchlist_composition
        ],
    }


def _signage_section(gov: Governance, plan: SitePlan) -> dict[str, Any]:
    return {
        "plan": gov.signage_plan,
        "advance_notice": gov.advance_notice,
        "signs": int(len(plan.site.signage)),
        "routes": [
            {
                "route": s.route_id,
                "enters_zone": s.enters_zone,
                "covered": s.covered,
                "zone_start_m": None if math.isnan(s.zone_start_m) else round(s.zone_start_m, 1),
                "first_sign_m": None if math.isnan(s.first_sign_m) else round(s.first_sign_m, 1),
            }
            for s in plan.signage
        ],
    }


def _site_section(sc: Scenario, plan: SitePlan) -> dict[str, Any]:
    site = plan.site
    return {
        "name": site.name,
        "area_m2": round(site.area_m2),
        "approximate": site.approximate,
        "routes": len(site.routes),
        "geometry_source": site.geometry_source,
        "cameras": [
            {
                "id": c.id,
                "heading_deg": c.heading_deg,
                "mount_height_m": c.mount_height_m,
                "hfov_deg": c.hfov_deg,
            }
            for c in plan.cameras
        ],
        "window": {"start": sc.time.start, "hours": round(sc.time.duration_s / 3600, 2)},
    }


def write_record(
    folder: Path | str,
    *,
    folder_name: str | None = None,
    plan: SitePlan | None = None,
    signer: SigningKey | None = None,
    seal: bool = True,
) -> tuple[Path, Path]:
    """Add ``record.json`` and ``record.html`` to a run folder (``record-2.*`` if taken) and log it.

    Args:
        folder, folder_name, plan, signer: see :func:`build_record`.
        seal: with a ``signer``, seal the folder afterwards (``twin run`` seals once, at its end).

    Raises:
        RunFolderError, ScenarioError: see :func:`build_record`.
        AuditError: the folder is signed and no ``signer`` is given (nothing is written).
    """
    folder = Path(folder)
    require_key_if_sealed(folder, signer, "a new record")
    rec = build_record(folder, folder_name=folder_name, plan=plan, signer=signer)
    body = dumps_json(rec, indent=2, sort_keys=True) + "\n"
    written = write_new_files(folder, "record", {".json": body, ".html": render_record_html(rec)})
    jpath, hpath = written[".json"], written[".html"]
    if (folder / AUDIT_FILE).is_file():
        with AuditLog(folder / AUDIT_FILE, existing=True) as log:
            log.append(
                "record_written",
                files={p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (jpath, hpath)},
                breaches=len(rec["breaches"]),
            )
        if signer is not None and seal:
            seal_folder(folder, signer.key, key_path=signer.path)
    return jpath, hpath
