"""Run folders on disk: written atomically, never overwritten.

A run folder holds ``scenario.yaml`` (self-contained: it points at the copied ``site.geojson``),
``site.geojson``, ``summary.json`` (deterministic: same seed, same bytes), ``run.json``
(when, how long, on what), ``events.parquet`` (replication 0: one row per person x camera track,
never per frame), ``alerts.parquet`` (every replication's alerts), ``hourly.csv``, ``report.html``
and ``map.html``. Everything is written into a hidden temporary folder beside the destination
and renamed into place at the end, so an interrupted or failed run leaves nothing half-written;
an existing folder is never replaced.

Simulated people carry no image or embedding, so nothing here is personal data. A real-engine
run (``engine.kind`` dlib or insightface) adds ``alerts/``: one PNG review crop per alert of the
real pipeline with a JSON sidecar (the candidate list: identity, score), nothing else; no image or
embedding of a non-matched face is written. Alert data are kept for the governance block's
``retention.alert_days`` (default 31) counted from the run's ``created_at``, and deleted by
``twin retention apply`` (:mod:`twin.outputs.retention`), which logs each deletion batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import platform
import re
import shutil
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from twin.errors import RunFolderError
from twin.files import dumps_json
from twin.outputs.audit import AUDIT_FILE, AuditLog
from twin.outputs.folders import atomic_folder
from twin.outputs.mapview import build_map, save_map
from twin.outputs.report import render_report
from twin.outputs.seal import SigningKey, seal_folder
from twin.scoring.metrics import Outcome
from twin.scoring.summary import RunSummary
from twin.sim.run import RunResult

__all__ = [
    "ALERTS_DIR",
    "alerts_frame",
    "hourly_frame",
    "log_run",
    "new_run_name",
    "retention_days",
    "write_run",
]

#: Folder of a run that holds the real pipeline's alert crops and their sidecars.
ALERTS_DIR = "alerts"


def _slug(text: str) -> str:
    """A folder-name slug; accented letters keep their base letter.

    >>> _slug("Été à Croydon [draft]")
    'ete-a-croydon-draft'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:48] or "run"


def new_run_name(result: RunResult, now: dt.datetime | None = None) -> str:
    """``<scenario-slug>-<YYYYmmdd-HHMMSS>-seed<seed>``."""
    now = now or dt.datetime.now()
    return f"{_slug(result.scenario.name)}-{now:%Y%m%d-%H%M%S}-seed{result.seed}"


def alerts_frame(result: RunResult) -> pd.DataFrame:
    """Every replication's alerts: replication, t_s, person, camera_id, true_alert, score, watchlisted, and
    what operations made of each (outcome, review_wait_s, intercept_t_s, arrested; twin/sim/operations.py)."""
    from twin.sim.operations import OUTCOMES

    cams = [c.id for c in result.context.cameras]
    frames = []
    for i, o in enumerate(result.outcomes):
        frame = pd.DataFrame(
            {
                "replication": np.full(len(o.alert_person), i, np.int32),
                "t_s": o.alert_t_s,
                "person": o.alert_person,
                "camera_id": [cams[c] for c in o.alert_camera],
                "true_alert": o.alert_true,
                "score": o.alert_score.astype(np.float32),
                "watchlisted": o.alert_watchlisted,
            }
        )
        if i < len(result.operations):  # alerts are in time order in both
            ops = result.operations[i]
            frame["outcome"] = [OUTCOMES[k] for k in ops.outcome]
            frame["review_wait_s"] = ops.review_start_s - o.alert_t_s
            frame["intercept_t_s"] = ops.intercept_t_s
            frame["arrested"] = ops.arrested
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def hourly_frame(summary: RunSummary | Mapping[str, Any], start_s: float) -> pd.DataFrame:
    """One row per hour of the window: clock hour and mean / 2.5% / 97.5% of each hourly metric."""
    rows = []
    hourly = RunSummary.coerce(summary).hourly
    H = len(hourly["passers_by"])
    for h in range(H):
        row: dict[str, Any] = {"hour": h, "clock": f"{int((start_s // 3600 + h) % 24):02d}:00"}
        for k, bands in hourly.items():
            row.update({f"{k}_{stat}": v for stat, v in bands[h].to_json().items()})
        rows.append(row)
    return pd.DataFrame(rows)


#: The run log's own entries describe the statistical engine's simulated deployment.
SIMULATED = True
AuditItems = list[tuple[str, dict[str, Any]]]


def log_run(
    result: RunResult,
    path: Path,
    summary_sha256: str,
    extra: list[tuple[str, dict[str, Any]]] | None = None,
    *,
    files: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Write the run's audit log: start, watchlist enrolment, every alert of the reference
    replication (replication 0, the deployment the record describes), the hourly deletion
    batches of non-matched probes, any ``extra`` entries, the watchlist's destruction (or
    keeping), and the end.

    Args:
        result: the finished run.
        path: the audit log file.
        summary_sha256: hex SHA-256 of ``summary.json`` (in the end entry).
        extra: more (kind, detail) entries, in order, logged after the simulated deployment's and
            before its end (a real-engine run's enrolment, alerts, deletion batches and watchlist
            destruction: :attr:`twin.sim.realsummary.RealEngineRun.audit`). Details hold no image or
            embedding.
        files: name -> hex SHA-256 of the inputs copied into the folder (``scenario.yaml``, whose
            governance sets the retention policy, and ``site.geojson``), vouched for by the end entry
            so that `twin audit verify` catches an edit of them in an unsigned folder too.

    Returns:
        the log's head (seq, hash) at the end of the run, recorded in ``run.json``.
    """
    sc = result.scenario
    gov = sc.governance
    out0 = result.outcomes[0]
    cams = [c.id for c in result.context.cameras]
    items = [
        *_start_entries(result, cams),
        *_alert_entries(out0, cams),
        *_deletion_entries(out0, sc.time.start_s),
        *(extra or []),
    ]
    keep = gov is not None and gov.retention.watchlist == "keep"
    items.append(
        (
            "watchlist_kept" if keep else "watchlist_destroyed",
            {"entries": sc.watchlist.size, "simulated": SIMULATED},
        )
    )
    end: dict[str, Any] = {
        "summary_sha256": summary_sha256,
        "alerts": len(out0.alert_person),
        "faces_scanned": int(out0.hourly["faces_scanned"].sum()),
    }
    if result.real is not None:
        end["real_engine_alerts"] = len(result.real.alerts)
    if files:
        end["files"] = dict(files)
    items.append(("run_end", end))
    with AuditLog(path) as log:
        return log.append_many(items)


def _start_entries(result: RunResult, cams: list[str]) -> AuditItems:
    sc = result.scenario
    gov = sc.governance
    meta = result.summary.run
    if meta is None:
        raise RunFolderError("the run's summary has no run metadata; log a result of twin.run()")
    return [
        (
            "run_start",
            {
                "scenario": sc.name,
                "scenario_sha256": meta.scenario_sha256,
                "seed": result.seed,
                "replications": result.summary.replications,
                "engine": meta.engine["model_id"],
                "site": meta.site.name,
                "window_start": sc.time.start,
                "duration_s": sc.time.duration_s,
                "cameras": cams,
                "operation": gov.operation if gov else None,
                **({"real_engine": dict(meta.real_engine)} if meta.real_engine is not None else {}),
            },
        ),
        (
            "watchlist_enrolled",
            {
                "entries": sc.watchlist.size,
                "simulated": SIMULATED,
                "threshold": sc.watchlist.threshold,
                "composition": {c.category: c.count for c in gov.watchlist_composition} if gov else None,
            },
        ),
    ]


def _alert_entries(out0: Outcome, cams: list[str]) -> AuditItems:
    """Every alert of the reference replication."""
    return [
        (
            "alert",
            {
                "replication": 0,
                "t_s": round(float(out0.alert_t_s[i]), 3),
                "camera_id": cams[int(out0.alert_camera[i])],
                "score": round(float(out0.alert_score[i]), 4),
                "true_alert": bool(out0.alert_true[i]),
                "simulated_person": int(out0.alert_person[i]),
            },
        )
        for i in range(len(out0.alert_person))
    ]


def _deletion_entries(out0: Outcome, start_s: float) -> AuditItems:
    """One deletion batch per hour: the non-matched probes, deleted at once."""
    scanned = out0.hourly["faces_scanned"]
    alerted = out0.hourly["alerts"]
    return [
        (
            "deletion_batch",
            {
                "hour": h,
                "clock": f"{int((start_s // 3600 + h) % 24):02d}:00",
                "probes_deleted": int(scanned[h] - alerted[h]),
                "what": "non-matched faces, at once",
                "stored": 0,
            },
        )
        for h in range(len(scanned))
    ]


def _scenario_doc(result: RunResult) -> dict[str, Any]:
    doc = result.scenario.model_dump(mode="json", exclude_defaults=False)
    doc["site"]["map"] = "site.geojson"
    for key in ("score_model", "model_dir", "faces"):
        if doc["engine"].get(key):
            doc["engine"][key] = str(doc["engine"][key])
    doc["seed"] = result.seed
    doc["replications"] = result.summary.replications
    return doc


def retention_days(result: RunResult) -> tuple[float, bool]:
    """(alert_days, from the governance block?); 31 days without governance (RetentionPolicy's default)."""
    from twin.scenario.governance import RetentionPolicy

    gov = result.scenario.governance
    return (gov.retention.alert_days, True) if gov is not None else (RetentionPolicy().alert_days, False)


def _write_alerts(
    result: RunResult, folder: Path, created_at: dt.datetime
) -> list[tuple[str, dict[str, Any]]]:
    """Write each real-engine alert's review crop (PNG) and candidate list (JSON) under ``folder``.

    Returns the audit entries of the files written (one per alert). Only alerts are written: the
    pipeline never cut a crop of a non-matched face.
    """
    import cv2

    real = result.real
    if real is None or not real.alerts:
        return []
    folder.mkdir()
    days, _ = retention_days(result)
    delete_after = (created_at + dt.timedelta(days=days)).isoformat(timespec="seconds")
    model_id = real.summary["engine"]["model_id"]
    entries = []
    for ra in real.alerts:
        a = ra.alert
        ok, png = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(a.probe_crop), cv2.COLOR_RGB2BGR))
        if not ok:  # pragma: no cover - PNG encoding of uint8 RGB does not fail
            raise RunFolderError(f"could not encode the review crop of {ra.name}")
        (folder / f"{ra.name}.png").write_bytes(png.tobytes())
        cl = a.candidates
        side = {
            "alert": ra.name,
            "image": f"{ra.name}.png",
            "engine": model_id,
            "t_s": round(ra.t_s, 3),
            "camera_id": a.camera_id,
            "threshold": a.threshold,
            "score": round(float(a.score), 6),
            "identity": a.identity,
            "true_alert": ra.true_alert,
            "watchlisted": ra.watchlisted,
            "simulated_person": ra.person,
            "ied_px": round(float(a.ied_px), 2),
            "box": [round(float(v), 1) for v in a.box],
            "candidates": [
                {"rank": int(r), "identity": i, "score": round(float(sc), 6), "filler": bool(f)}
                for r, i, sc, f in zip(
                    cl.ranks, cl.identities, cl.scores, cl.fillers or (False,) * len(cl.scores), strict=False
                )
            ],
            "retention": {
                "alert_days": days,
                "created_at": created_at.isoformat(timespec="seconds"),
                "delete_after": delete_after,
            },
            "note": "a simulated passer-by rendered from the face bank; kept for review as an alert "
            "(above threshold)",
        }
        (folder / f"{ra.name}.json").write_text(dumps_json(side, indent=2) + "\n", encoding="utf-8")
        entries.append(
            (
                "alert_data_written",
                {
                    "alert": ra.name,
                    "files": [f"{ALERTS_DIR}/{ra.name}.png", f"{ALERTS_DIR}/{ra.name}.json"],
                    "delete_after": delete_after,
                },
            )
        )
    return entries


def write_run(
    result: RunResult,
    out_dir: Path | str,
    *,
    name: str | None = None,
    with_map: bool = True,
    signer: SigningKey | None = None,
) -> Path:
    """Write a run folder under ``out_dir`` atomically and return its path.

    Args:
        result: the finished run.
        out_dir: parent folder (created if missing).
        name: folder name; default :func:`new_run_name`. A taken name gets ``-2``, ``-3``, ...
        with_map: also write ``map.html`` (~2 MB with embedded Leaflet).
        signer: the force's audit signing key: the finished folder is sealed with it
            (:mod:`twin.outputs.seal`); None leaves the log unsigned.

    Raises:
        RunFolderError: ``out_dir`` cannot be created or written, is a file, or is a run folder.
    """
    sc = result.scenario
    with atomic_folder(out_dir, name or new_run_name(result)) as folder:
        tmp = folder.tmp
        shutil.copyfile(sc.site.map, tmp / "site.geojson")
        scenario_yaml = yaml.safe_dump(_scenario_doc(result), sort_keys=False, allow_unicode=True)
        (tmp / "scenario.yaml").write_text(scenario_yaml, encoding="utf-8")
        summary_text = dumps_json(result.summary.to_json(), indent=2, sort_keys=True) + "\n"
        (tmp / "summary.json").write_text(summary_text, encoding="utf-8")
        created_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        extra: list[tuple[str, dict[str, Any]]] = []
        if result.real is not None:
            extra = list(result.real.audit) + _write_alerts(result, tmp / ALERTS_DIR, created_at)
        inputs = {
            n: hashlib.sha256((tmp / n).read_bytes()).hexdigest() for n in ("scenario.yaml", "site.geojson")
        }
        head = log_run(
            result,
            tmp / AUDIT_FILE,
            hashlib.sha256(summary_text.encode()).hexdigest(),
            extra=extra,
            files=inputs,
        )
        _write_run_json(result, tmp, created_at, head, with_map=with_map)
        _write_tables(result, tmp)
        (tmp / "report.html").write_text(
            render_report(
                result.summary,
                title=sc.name,
                scenario_yaml=scenario_yaml,
                start_hour=int(sc.time.start_s // 3600),
                map_file="map.html" if with_map else None,
            ),
            encoding="utf-8",
        )
        if with_map:
            events = result.tracks
            xy = events[["x_m", "y_m"]].dropna().to_numpy() if len(events) else None
            save_map(
                build_map(
                    result.context.site,
                    result.context.cameras,
                    min_ied_px=sc.capture.min_ied_px,
                    captures_xy=xy,
                ),
                tmp / "map.html",
            )
        if sc.governance is not None:
            from twin.outputs.record import SitePlan, write_record

            write_record(
                tmp,
                folder_name=folder.final.name,
                plan=SitePlan.of(result.context),
                signer=signer,
                seal=False,
            )
        if signer is not None:
            seal_folder(tmp, signer.key, key_path=signer.path)
    return folder.final


def _write_tables(result: RunResult, folder: Path) -> None:
    """events.parquet (replication 0's person x camera tracks), alerts.parquet and hourly.csv."""
    result.tracks.copy().to_parquet(folder / "events.parquet", index=False)
    alerts_frame(result).to_parquet(folder / "alerts.parquet", index=False)
    hourly_frame(result.summary, result.scenario.time.start_s).round(4).to_csv(
        folder / "hourly.csv", index=False
    )


#: Packages whose versions run.json records.
RECORDED_PACKAGES: tuple[str, ...] = ("numpy", "simpy", "shapely", "pyproj", "pandas", "pyarrow", "scipy")


def _write_run_json(
    result: RunResult, folder: Path, created_at: dt.datetime, head: tuple[int, str], *, with_map: bool
) -> None:
    """run.json: when, how long, on what, which files, how to reproduce, the audit log's head."""
    import importlib.metadata as md

    sc = result.scenario
    versions: dict[str, str | None] = {}
    for pkg in RECORDED_PACKAGES:
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    files = [
        "scenario.yaml",
        "site.geojson",
        "summary.json",
        "events.parquet",
        "alerts.parquet",
        "hourly.csv",
        "report.html",
        AUDIT_FILE,
    ] + (["map.html"] if with_map else [])
    if result.real is not None and result.real.alerts:
        files.append(f"{ALERTS_DIR}/")
    if sc.governance is not None:
        files += ["record.html", "record.json"]
    files.append("run.json")
    run_meta: dict[str, Any] = {
        "created_at": created_at.isoformat(timespec="seconds"),
        "timings_s": {k: round(v, 3) for k, v in result.timings.items()},
        "python": platform.python_version(),
        "packages": versions,
        "files": files,
        "reproduce": f"twin run scenario.yaml --seed {result.seed} --replications "
        f"{result.summary.replications}",
        "audit_head": {"seq": head[0], "sha256": head[1]},
    }
    if result.real is not None:
        days, from_gov = retention_days(result)
        run_meta["alert_retention"] = {
            "alert_days": days,
            "source": "governance.retention.alert_days" if from_gov else "default (no governance block)",
            "measured_from": "created_at",
            "alerts": len(result.real.alerts),
            "delete_after": (created_at + dt.timedelta(days=days)).isoformat(timespec="seconds"),
        }
    (folder / "run.json").write_text(dumps_json(run_meta, indent=2) + "\n", encoding="utf-8")
