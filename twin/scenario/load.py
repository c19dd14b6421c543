"""Reading scenarios: YAML files and uploads, ``key.path=value`` overrides, the scenario hash, the schema.

:func:`load_scenario` reads and validates a file (paths relative to it); :func:`parse_scenario`
validates a mapping; every failure is a :class:`~twin.errors.ScenarioError` naming the key path,
the bad value and the rule. ``twin schema`` prints :func:`scenario_json_schema`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from twin.errors import ScenarioError
from twin.files import MAX_SCENARIO_BYTES, read_capped
from twin.scenario.specs import Scenario
from twin.scenario.yamlread import load_yaml_text, parse_yaml_bytes

__all__ = [
    "apply_overrides",
    "load_scenario",
    "parse_scenario",
    "parse_yaml_bytes",
    "read_yaml",
    "scenario_hash",
    "scenario_json_schema",
]


def _format_validation_error(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        shown = err.get("input")
        if err["type"] == "missing":
            lines.append(f"{loc}: required key missing")
        elif isinstance(shown, (dict, list)) or err["type"] in ("value_error",):
            lines.append(f"{loc}: {msg}")
        else:
            lines.append(f"{loc}: {msg} (got {shown!r})")
    more = f" (+{len(exc.errors()) - 5} more)" if len(exc.errors()) > 5 else ""
    return f"{source}: " + "; ".join(lines) + more


def parse_scenario(
    data: dict[str, Any], *, base_dir: Path | str | None = None, source: str = "scenario"
) -> Scenario:
    """Validate a scenario mapping.

    Args:
        data: the mapping read from YAML.
        base_dir: folder that relative paths are resolved against (the scenario file's).
        source: what to call the input in error messages.

    Raises:
        ScenarioError: anything invalid; the message names the key path, the bad value and the rule.
    """
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario must be a YAML mapping of keys, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ScenarioError(_format_validation_error(exc, source)) from exc


def read_yaml(path: Path | str) -> dict[str, Any]:
    """Read a YAML mapping from ``path`` (at most :data:`twin.files.MAX_SCENARIO_BYTES`).

    Raises:
        ScenarioError: missing, a folder, too large, unreadable, malformed YAML (with line and column),
            a repeated key, not a mapping (see :func:`twin.scenario.yamlread.parse_yaml_bytes`).
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise ScenarioError(
            f"scenario file {str(path)!r} not found; give the path of a .yaml file, e.g. "
            "scenarios/oxford_circus.yaml"
        )
    raw = read_capped(path, what="scenario file", max_bytes=MAX_SCENARIO_BYTES, error=ScenarioError)
    return parse_yaml_bytes(raw, name=str(path))


def _coerce(text: str) -> Any:
    """Turn an override's text into a YAML scalar/list (so '0.64' is a float, '[1,2]' a list).

    A clock time stays text: ``--set time.start=12:00`` means "12:00", not YAML 1.1's base-60 720.

    >>> _coerce("0.64"), _coerce("12:00"), _coerce("NO")
    (0.64, '12:00', 'NO')
    """
    try:
        value = load_yaml_text(text)
    except (yaml.YAMLError, ScenarioError):
        return text
    if isinstance(value, int) and not isinstance(value, bool) and ":" in text:
        return text.strip()
    return value


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Return a copy of ``data`` with ``key.path=value`` overrides applied.

    List items are addressed by index (``cameras.0.tilt_deg=12``). Values are parsed as YAML.

    Raises:
        ScenarioError: an override without ``=``, or a path through a non-mapping.

    >>> apply_overrides({"watchlist": {"threshold": 0.6}}, ["watchlist.threshold=0.64"])
    {'watchlist': {'threshold': 0.64}}
    """
    out = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ScenarioError(
                f"override {item!r} must look like key.path=value, e.g. watchlist.threshold=0.64"
            )
        key, _, text = item.partition("=")
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise ScenarioError(f"override {item!r} has an empty key; e.g. watchlist.threshold=0.64")
        node: Any = out
        for i, part in enumerate(parts[:-1]):
            nxt: Any
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ScenarioError(
                        f"override {item!r}: {'.'.join(parts[: i + 1])} is not a valid list index"
                    )
                nxt = node[int(part)]
            elif isinstance(node, dict):
                nxt = node.setdefault(part, {})
            else:
                raise ScenarioError(f"override {item!r}: {'.'.join(parts[:i])} is not a mapping")
            node = nxt
        last = parts[-1]
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                raise ScenarioError(f"override {item!r}: {last} is not a valid list index")
            node[int(last)] = _coerce(text)
        elif isinstance(node, dict):
            node[last] = _coerce(text)
        else:
            raise ScenarioError(f"override {item!r}: {'.'.join(parts[:-1])} is not a mapping")
    return out


def load_scenario(path: Path | str, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Load and validate a scenario YAML file, with optional ``key.path=value`` overrides.

    Raises:
        ScenarioError: see :func:`read_yaml`, :func:`apply_overrides` and :func:`parse_scenario`.
    """
    path = Path(path)
    raw = read_yaml(path)
    base = path.resolve().parent
    if not overrides:
        return parse_scenario(raw, base_dir=base, source=str(path))
    try:
        parse_scenario(raw, base_dir=base, source=str(path))
    except ScenarioError:
        raise  # the file itself is wrong: say so, not the overrides
    shown = " ".join(f"--set {o}" for o in overrides)
    return parse_scenario(apply_overrides(raw, overrides), base_dir=base, source=f"{path} with {shown}")


def scenario_hash(scenario: Scenario) -> str:
    """sha256 (hex) of the scenario's canonical JSON and of the site map file's bytes.

    Two scenarios with the same content and the same map hash equal wherever their files lie.
    """
    doc = scenario.model_dump(mode="json")
    doc["site"]["map"] = Path(doc["site"]["map"]).name
    for key in ("score_model", "model_dir", "faces"):
        if doc["engine"].get(key):
            doc["engine"][key] = Path(doc["engine"][key]).name
    h = hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())
    try:
        h.update(Path(scenario.site.map).read_bytes())
    except OSError:
        pass
    return h.hexdigest()


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (what ``twin schema`` prints)."""
    return Scenario.model_json_schema()
