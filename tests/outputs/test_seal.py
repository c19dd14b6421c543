"""Signed audit heads: a forged, truncated or re-hashed run folder fails `twin audit verify --public-key`.

The attacks are the issue's (drop the triggers, delete the last row, edit the record) and the ones a
hash chain alone cannot catch: every entry re-hashed after an edit, the seals deleted, the folder
re-signed with a key of the forger's own. A signed folder must also refuse a later command that
would add to it without the key, and the key must never sit inside the folder it signs.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import governance_doc, tiny_scenario_doc
from twin.cli.main import app
from twin.errors import AuditError
from twin.outputs.audit import AUDIT_FILE, entry_hash, verify_folder
from twin.outputs.runstore import write_run
from twin.outputs.seal import SigningKey, generate_key, load_public_key, read_seals, seal_folder
from twin.scenario.load import load_scenario
from twin.sim.run import run

runner = CliRunner()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("keys")
    priv, pub = generate_key(d / "force.pem")
    other, _ = generate_key(d / "forger.pem")
    return {"priv": priv, "pub": pub, "forger": other}


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory: pytest.TempPathFactory, keys: dict) -> Path:
    """A governed run on the square site, sealed with the force's key by `twin run --audit-key`."""
    from conftest import square_site_doc

    d = tmp_path_factory.mktemp("signed")
    (d / "square.geojson").write_text(json.dumps(square_site_doc()))
    doc = tiny_scenario_doc(d / "square.geojson", governance=governance_doc(), replications=1)
    doc["watchlist"] = {"size": 1000, "prevalence": 0.01, "threshold": 0.6}
    (d / "s.yaml").write_text(yaml.safe_dump(doc))
    r = runner.invoke(
        app,
        ["run", str(d / "s.yaml"), "--out", str(d / "runs"), "--no-map", "--audit-key", str(keys["priv"])],
    )
    assert r.exit_code == 0, r.output
    (folder,) = (d / "runs").iterdir()
    return folder


def _copy(folder: Path, tmp_path: Path) -> Path:
    dst = tmp_path / folder.name
    shutil.copytree(folder, dst)
    return dst


def _verify(folder: Path, keys: dict) -> tuple[int, str]:
    r = runner.invoke(app, ["audit", "verify", str(folder), "--public-key", str(keys["pub"])])
    return r.exit_code, " ".join(r.output.split())


def _sql(folder: Path, *statements: str) -> None:
    con = sqlite3.connect(folder / AUDIT_FILE)
    for t in ("entries_no_update", "entries_no_delete", "seals_no_update", "seals_no_delete"):
        con.execute(f"DROP TRIGGER IF EXISTS {t}")
    for s in statements:
        con.execute(s)
    con.commit()
    con.close()


def _rehash(folder: Path) -> None:
    """Recompute every entry's chain hash in place, and the head run.json recorded (what a forger does
    after editing one entry)."""
    con = sqlite3.connect(folder / AUDIT_FILE)
    rows = con.execute("SELECT seq, t_utc, kind, detail FROM entries ORDER BY seq").fetchall()
    prev, hashes = "0" * 64, {}
    for seq, t, kind, body in rows:
        h = entry_hash(prev, seq, t, kind, body)
        con.execute("UPDATE entries SET prev_hash=?, hash=? WHERE seq=?", (prev, h, seq))
        prev = hashes[seq] = h
    con.commit()
    con.close()
    meta = json.loads((folder / "run.json").read_text())
    meta["audit_head"]["sha256"] = hashes[meta["audit_head"]["seq"]]
    (folder / "run.json").write_text(json.dumps(meta, indent=2) + "\n")


def test_signed_run_verifies_and_the_record_names_its_head_and_key(signed_run: Path, keys: dict) -> None:
    code, out = _verify(signed_run, keys)
    assert code == 0 and "audit log intact" in out and "signed by sha256:" in out, out
    rec = json.loads((signed_run / "record.json").read_text())
    pub = load_public_key(keys["pub"])
    signer = SigningKey.resolve(keys["priv"])
    assert signer is not None and rec["audit"]["signed_by"]["fingerprint"] == signer.fingerprint
    seals = read_seals(signed_run / AUDIT_FILE)
    assert len(seals) == 1 and seals[0].head_seq == rec["audit"]["head_seq"] + 1  # + record_written
    assert verify_folder(signed_run, public_key=pub).ok
    assert "Signed after this record" in (signed_run / "record.html").read_text()


def test_issue_forgery_drop_triggers_delete_last_row_edit_record(
    signed_run: Path, keys: dict, tmp_path
) -> None:
    f = _copy(signed_run, tmp_path)
    _sql(f, "DELETE FROM entries WHERE seq = (SELECT MAX(seq) FROM entries)")
    (f / "record.html").write_text((f / "record.html").read_text().replace("Op T", "Op FORGED"))
    rec = json.loads((f / "record.json").read_text())
    rec["operation"] = "Op FORGED"
    (f / "record.json").write_text(json.dumps(rec))
    code, out = _verify(f, keys)
    assert code == 1 and "FAILS" in out and "missing: the log was truncated" in out, out


def test_fully_rehashed_log_with_the_seals_deleted_fails(signed_run: Path, keys: dict, tmp_path) -> None:
    f = _copy(signed_run, tmp_path)
    _sql(
        f,
        "UPDATE entries SET detail = replace(detail, 'Op T', 'Op X') WHERE kind = 'run_start'",
        "DELETE FROM seals",
    )
    _rehash(f)
    assert verify_folder(f).ok  # the chain alone cannot tell: it is a valid chain
    code, out = _verify(f, keys)
    assert code == 1 and "no signed head" in out, out


def test_rehashed_log_keeping_the_seal_fails(signed_run: Path, keys: dict, tmp_path) -> None:
    f = _copy(signed_run, tmp_path)
    _sql(f, "UPDATE entries SET detail = replace(detail, 'Op T', 'Op X') WHERE kind = 'run_start'")
    _rehash(f)
    code, out = _verify(f, keys)
    assert code == 1 and "differs: rewritten" in out, out


def test_resigned_with_the_forgers_own_key_fails(signed_run: Path, keys: dict, tmp_path) -> None:
    f = _copy(signed_run, tmp_path)
    (f / "summary.json").write_text((f / "summary.json").read_text().replace('"seed"', '"seed" '))
    _sql(f, "DELETE FROM seals")
    seal_folder(f, SigningKey.resolve(keys["forger"]).key)  # type: ignore[union-attr]
    assert verify_folder(f).ok is False  # summary.json no longer matches the run_end entry
    f2 = _copy(signed_run, tmp_path / "b")
    _sql(f2, "DELETE FROM seals")
    seal_folder(f2, SigningKey.resolve(keys["forger"]).key)  # type: ignore[union-attr]
    assert verify_folder(f2).ok  # self-consistent without the force's key ...
    code, out = _verify(f2, keys)
    assert code == 1 and "not by the key given" in out, out  # ... but not the force's


def test_an_edited_unvouched_file_or_an_added_one_fails(signed_run: Path, keys: dict, tmp_path) -> None:
    f = _copy(signed_run, tmp_path)
    (f / "hourly.csv").write_text("hour\n0\n")
    code, out = _verify(f, keys)
    assert code == 1 and "hourly.csv was changed after the last seal" in out, out
    g = _copy(signed_run, tmp_path / "g")
    (g / "extra.png").write_bytes(b"\x89PNG....")
    code, out = _verify(g, keys)
    assert code == 1 and "extra.png was added after the last seal" in out, out


def test_appending_without_the_key_is_refused_and_with_it_resealed(
    signed_run: Path, keys: dict, tmp_path
) -> None:
    f = _copy(signed_run, tmp_path)
    before = sorted(p.name for p in f.iterdir())
    r = runner.invoke(app, ["record", str(f)])
    assert r.exit_code == 2 and "audit log is signed" in r.output and "--audit-key" in r.output
    assert sorted(p.name for p in f.iterdir()) == before  # nothing written
    r = runner.invoke(app, ["record", str(f), "--audit-key", str(keys["priv"])])
    assert r.exit_code == 0, r.output
    assert len(read_seals(f / AUDIT_FILE)) == 2 and _verify(f, keys)[0] == 0


def test_unsigned_run_fails_with_a_public_key(tmp_path: Path, square_site: Path, keys: dict) -> None:
    doc = tiny_scenario_doc(square_site, replications=1)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(doc))
    folder = write_run(run(load_scenario(tmp_path / "s.yaml")), tmp_path / "runs", with_map=False)
    assert verify_folder(folder).ok and verify_folder(folder).signature == "unsigned"
    code, out = _verify(folder, keys)
    assert code == 1 and "no signed head" in out


def test_keys_are_never_overwritten_nor_kept_inside_the_folder(
    signed_run: Path, keys: dict, tmp_path
) -> None:
    r = runner.invoke(app, ["audit", "keygen", str(keys["priv"])])
    assert r.exit_code == 2 and "never overwritten" in r.output
    f = _copy(signed_run, tmp_path)
    inside, _ = generate_key(f / "key.pem")
    with pytest.raises(AuditError, match="lies inside the run folder"):
        seal_folder(f, SigningKey.resolve(inside).key, key_path=inside)  # type: ignore[union-attr]
    (tmp_path / "bad.pem").write_text("not a key")
    r = runner.invoke(app, ["audit", "verify", str(signed_run), "--public-key", str(tmp_path / "bad.pem")])
    assert r.exit_code == 2 and "not a PEM public key" in r.output and len(r.output.strip().splitlines()) == 1
