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
import json
import os
import platform
import re
import shutil
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from twin.errors import RunFolderError
from twin.outputs.audit import AUDIT_FILE, AuditLog
from twin.outputs.mapview import build_map, save_map
from twin.outputs.report import render_report
from twin.sim.run import RunResult

__all__ = [
    "ALERTS_DIR", "alerts_frame", "ensure_writable", "hourly_frame", "log_run", "new_run_name", "retention_days", "write_run",
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
        frame = pd.DataFrame({
            "replication": np.full(len(o.alert_person), i, np.int32),
            "t_s": o.alert_t_s,
            "person": o.alert_person,
            "camera_id": [cams[c] for c in o.alert_camera],
            "true_alert": o.alert_true,
            "score": o.alert_score.astype(np.float32),
            "watchlisted": o.alert_watchlisted,
        })
        if i < len(result.operations):  # alerts are in time order in both
            ops = result.operations[i]
            frame["outcome"] = [OUTCOMES[k] for k in ops.outcome]
            frame["review_wait_s"] = ops.review_start_s - o.alert_t_s
            frame["intercept_t_s"] = ops.intercept_t_s
            frame["arrested"] = ops.arrested
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def hourly_frame(summary: dict[str, Any], start_s: float) -> pd.DataFrame:
    """One row per hour of the window: clock hour and mean / 2.5% / 97.5% of each hourly metric."""
    rows = []
    hourly = summary["hourly"]
    H = len(hourly["passers_by"])
    for h in range(H):
        row: dict[str, Any] = {"hour": h, "clock": f"{int((start_s // 3600 + h) % 24):02d}:00"}
        for k, bands in hourly.items():
            for stat in ("mean", "p2_5", "p97_5"):
                row[f"{k}_{stat}"] = bands[h][stat]
        rows.append(row)
    return pd.DataFrame(rows)


def log_run(result: RunResult, path: Path, summary_sha256: str,
            extra: list[tuple[str, dict[str, Any]]] | None = None) -> tuple[int, str]:
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
            destruction: :attr:`twin.sim.realpass.RealEngineRun.audit`). Details hold no image or embedding.

    Returns:
        the log's head (seq, hash) at the end of the run, recorded in ``run.json``.
    """
    sc = result.scenario
    gov = sc.governance
    meta = result.summary["run"]
    out0 = result.outcomes[0]
    cams = [c.id for c in result.context.cameras]
    simulated = True  # these entries describe the statistical engine's simulated deployment
    items: list[tuple[str, dict[str, Any]]] = [
        ("run_start", {"scenario": sc.name, "scenario_sha256": meta["scenario_sha256"], "seed": result.seed,
                       "replications": result.summary["replications"], "engine": meta["engine"]["model_id"],
                       "site": meta["site"]["name"], "window_start": sc.time.start, "duration_s": sc.time.duration_s,
                       "cameras": cams, "operation": gov.operation if gov else None,
                       **({"real_engine": meta["real_engine"]} if "real_engine" in meta else {})}),
        ("watchlist_enrolled", {"entries": sc.watchlist.size, "simulated": simulated, "threshold": sc.watchlist.threshold,
                                "composition": {c.category: c.count for c in gov.watchlist_composition} if gov else None}),
    ]
    for i in range(len(out0.alert_person)):
        items.append(("alert", {"replication": 0, "t_s": round(float(out0.alert_t_s[i]), 3),
                                "camera_id": cams[int(out0.alert_camera[i])], "score": round(float(out0.alert_score[i]), 4),
                                "true_alert": bool(out0.alert_true[i]), "simulated_person": int(out0.alert_person[i])}))
    scanned = out0.hourly["faces_scanned"]
    alerted = out0.hourly["alerts"]
    for h in range(len(scanned)):
        items.append(("deletion_batch", {"hour": h, "clock": f"{int((sc.time.start_s // 3600 + h) % 24):02d}:00",
                                         "probes_deleted": int(scanned[h] - alerted[h]), "what": "non-matched faces, at once",
                                         "stored": 0}))
    items.extend(extra or [])
    keep = gov is not None and gov.retention.watchlist == "keep"
    items.append(("watchlist_kept" if keep else "watchlist_destroyed", {"entries": sc.watchlist.size, "simulated": simulated}))
    end: dict[str, Any] = {"summary_sha256": summary_sha256, "alerts": len(out0.alert_person),
                           "faces_scanned": int(scanned.sum())}
    if result.real is not None:
        end["real_engine_alerts"] = len(result.real.alerts)
    items.append(("run_end", end))
    with AuditLog(path) as log:
        return log.append_many(items)


def ensure_writable(out_dir: Path | str) -> Path:
    """Create ``out_dir`` if needed and prove a file can be written there (before a long run).

    Raises:
        RunFolderError: it is a file, lies under a file, or is not writable.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".write-test-{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"")
        probe.unlink()
    except (OSError, NotADirectoryError, FileExistsError) as exc:
        raise RunFolderError(
            f"cannot write run folders in {str(out_dir)!r} ({getattr(exc, 'strerror', None) or exc}); choose another with --out"
        ) from exc
    return out_dir


def make_temp_folder(out_dir: Path, base: str) -> Path:
    """A new hidden ``.tmp-<base>-<random>`` folder in ``out_dir`` to write into before the final rename.

    Raises:
        RunFolderError: the folder cannot be created.
    """
    tmp = out_dir / f".tmp-{base}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
    except OSError as exc:
        raise RunFolderError(f"cannot write in {str(out_dir)!r} ({exc.strerror}); choose another folder with --out") from exc
    return tmp


def free_name(out_dir: Path, base: str) -> Path:
    """``out_dir / base``, or ``base-2``, ``base-3``, ... if taken: a folder is never overwritten.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); (d / "run").mkdir()
    >>> free_name(d, "run").name, free_name(d, "new").name
    ('run-2', 'new')
    """
    final, k = out_dir / base, 2
    while final.exists():
        final, k = out_dir / f"{base}-{k}", k + 1
    return final


def _scenario_doc(result: RunResult) -> dict[str, Any]:
    doc = result.scenario.model_dump(mode="json", exclude_defaults=False)
    doc["site"]["map"] = "site.geojson"
    for key in ("score_model", "model_dir", "faces"):
        if doc["engine"].get(key):
            doc["engine"][key] = str(doc["engine"][key])
    doc["seed"] = result.seed
    doc["replications"] = result.summary["replications"]
    return doc


def retention_days(result: RunResult) -> tuple[float, bool]:
    """(alert_days, from the governance block?); 31 days without governance (RetentionPolicy's default)."""
    from twin.scenario.governance import RetentionPolicy

    gov = result.scenario.governance
    return (gov.retention.alert_days, True) if gov is not None else (RetentionPolicy().alert_days, False)


def _write_alerts(result: RunResult, folder: Path, created_at: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
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
            "alert": ra.name, "image": f"{ra.name}.png", "engine": model_id, "t_s": round(ra.t_s, 3),
            "camera_id": a.camera_id, "threshold": a.threshold, "score": round(float(a.score), 6),
            "identity": a.identity, "true_alert": ra.true_alert, "watchlisted": ra.watchlisted,
            "simulated_person": ra.person, "ied_px": round(float(a.ied_px), 2),
            "box": [round(float(v), 1) for v in a.box],
            "candidates": [{"rank": int(r), "identity": i, "score": round(float(sc), 6), "filler": bool(f)}
                           for r, i, sc, f in zip(cl.ranks, cl.identities, cl.scores, cl.fillers or (False,) * len(cl.scores),
                                                  strict=False)],
            "retention": {"alert_days": days, "created_at": created_at.isoformat(timespec="seconds"),
                          "delete_after": delete_after},
            "note": "a simulated passer-by rendered from the face bank; kept for review as an alert (above threshold)",
        }
        (folder / f"{ra.name}.json").write_text(json.dumps(side, indent=2) + "\n", encoding="utf-8")
        entries.append(("alert_data_written", {"alert": ra.name, "files": [f"{ALERTS_DIR}/{ra.name}.png",
                                                                           f"{ALERTS_DIR}/{ra.name}.json"],
                                               "delete_after": delete_after}))
    return entries


def write_run(result: RunResult, out_dir: Path | str, *, name: str | None = None, with_map: bool = True) -> Path:
    """Write a run folder under ``out_dir`` atomically and return its path.

    Args:
        result: the finished run.
        out_dir: parent folder (created if missing).
        name: folder name; default :func:`new_run_name`. A taken name gets ``-2``, ``-3``, ...
        with_map: also write ``map.html`` (~2 MB with embedded Leaflet).

    Raises:
        RunFolderError: ``out_dir`` cannot be created or written, or is a file.
    """
    out_dir = ensure_writable(out_dir)
    base = name or new_run_name(result)
    tmp = make_temp_folder(out_dir, base)
    try:
        sc = result.scenario
        shutil.copyfile(sc.site.map, tmp / "site.geojson")
        scenario_yaml = yaml.safe_dump(_scenario_doc(result), sort_keys=False, allow_unicode=True)
        (tmp / "scenario.yaml").write_text(scenario_yaml, encoding="utf-8")
        summary_text = json.dumps(result.summary, indent=2, sort_keys=True) + "\n"
        (tmp / "summary.json").write_text(summary_text, encoding="utf-8")
        created_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        extra: list[tuple[str, dict[str, Any]]] = []
        if result.real is not None:
            extra = list(result.real.audit) + _write_alerts(result, tmp / ALERTS_DIR, created_at)
        head = log_run(result, tmp / AUDIT_FILE, hashlib.sha256(summary_text.encode()).hexdigest(), extra=extra)
        import importlib.metadata as md

        versions: dict[str, str | None] = {}
        for pkg in ("numpy", "simpy", "shapely", "pyproj", "pandas", "pyarrow", "scipy"):
            try:
                versions[pkg] = md.version(pkg)
            except md.PackageNotFoundError:
                versions[pkg] = None
        files = ["scenario.yaml", "site.geojson", "summary.json", "events.parquet", "alerts.parquet", "hourly.csv",
                 "report.html", AUDIT_FILE] + (["map.html"] if with_map else [])
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
            "reproduce": f"twin run scenario.yaml --seed {result.seed} --replications {result.summary['replications']}",
            "audit_head": {"seq": head[0], "sha256": head[1]},
        }
        if result.real is not None:
            days, from_gov = retention_days(result)
            run_meta["alert_retention"] = {
                "alert_days": days, "source": "governance.retention.alert_days" if from_gov else "default (no governance block)",
                "measured_from": "created_at", "alerts": len(result.real.alerts),
                "delete_after": (created_at + dt.timedelta(days=days)).isoformat(timespec="seconds"),
            }
        (tmp / "run.json").write_text(json.dumps(run_meta, indent=2) + "\n", encoding="utf-8")
        events = result.tracks.copy()
        events.to_parquet(tmp / "events.parquet", index=False)
        alerts_frame(result).to_parquet(tmp / "alerts.parquet", index=False)
        hourly_frame(result.summary, sc.time.start_s).round(4).to_csv(tmp / "hourly.csv", index=False)
        (tmp / "report.html").write_text(
            render_report(result.summary, title=sc.name, scenario_yaml=scenario_yaml,
                          start_hour=int(sc.time.start_s // 3600), map_file="map.html" if with_map else None),
            encoding="utf-8",
        )
        if with_map:
            xy = events[["x_m", "y_m"]].dropna().to_numpy() if len(events) else None
            save_map(build_map(result.context.site, result.context.cameras, min_ied_px=sc.capture.min_ied_px,
                               captures_xy=xy), tmp / "map.html")
        final = free_name(out_dir, base)
        if sc.governance is not None:
            from twin.outputs.record import write_record

            write_record(tmp, folder_name=final.name)
        if final.exists():  # taken meanwhile by another process
            final = free_name(out_dir, base)
        os.rename(tmp, final)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
