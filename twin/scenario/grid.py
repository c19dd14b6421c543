"""Sweep grids: ``--grid key.path=v1,v2,...`` axes and the scenarios of their Cartesian product.

An axis names one scenario key (the ``--set`` override syntax of :mod:`twin.scenario.load`) and a
comma-separated list of values, each parsed as YAML. ``cameras=FILE1,FILE2`` is the one special
key: each value is a YAML file holding a camera list (or a scenario whose ``cameras`` are taken), so
placements are swept. Every point of the product is validated here, before a sweep writes anything.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.errors import ScenarioError
from twin.scenario.load import _coerce, apply_overrides, parse_scenario, read_yaml
from twin.scenario.specs import Scenario

__all__ = ["GridAxis", "GridPoint", "expand_grid", "load_grid", "parse_grid", "split_values"]


@dataclass(frozen=True, kw_only=True)
class GridAxis:
    """One swept key.

    Attributes:
        key: the key path (``watchlist.threshold``, ``operations.officers``, ``cameras``).
        values: the parsed values (YAML scalars; for ``cameras``, each file's camera list).
        labels: how each value is shown (its text; for ``cameras``, the file's stem).
    """

    key: str
    values: tuple[Any, ...]
    labels: tuple[str, ...]

    @property
    def numeric(self) -> bool:
        """True when every value is a number (not a bool): the axis can be drawn to scale."""
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in self.values)


@dataclass(frozen=True, kw_only=True)
class GridPoint:
    """One point of the grid: its index, the label of each axis's value, and the validated scenario."""

    index: int
    labels: dict[str, str]
    values: dict[str, Any]
    scenario: Scenario


def split_values(text: str) -> list[str]:
    """Split a value list at commas outside brackets and quotes.

    >>> split_values("0.6,0.62, 0.64")
    ['0.6', '0.62', '0.64']
    >>> split_values("[1,2],[3]")
    ['[1,2]', '[3]']
    """
    out, depth, quote, cur = [], 0, "", ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    out.append(cur.strip())
    return out


def _camera_file(path_text: str) -> list[Any]:
    """The camera list in a YAML file: a list of cameras, or a mapping with a ``cameras`` list."""
    path = Path(path_text)
    if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
        raise ScenarioError(
            f"--grid cameras: {path_text!r} is not a YAML file here; give camera files, e.g. "
            "cameras=placements/a.yaml,placements/b.yaml (a scenario file's cameras are taken)"
        )
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"--grid cameras: {path_text!r} is not readable YAML ({exc})") from exc
    cams = doc.get("cameras") if isinstance(doc, dict) else doc
    if not isinstance(cams, list) or not cams:
        raise ScenarioError(
            f"--grid cameras: {path_text!r} holds no camera list; write a YAML list of cameras "
            "(id, lat, lon, heading_deg, ...) or a scenario with a cameras key"
        )
    return cams


def parse_grid(items: list[str] | tuple[str, ...]) -> list[GridAxis]:
    """Parse ``--grid`` items into axes.

    Raises:
        ScenarioError: an item without ``=``, an empty key or value list, an empty value, a key given
            twice, or an unreadable camera file.

    >>> [(a.key, a.values) for a in parse_grid(["watchlist.threshold=0.6,0.64", "operations.officers=2,6"])]
    [('watchlist.threshold', (0.6, 0.64)), ('operations.officers', (2, 6))]
    """
    if not items:
        raise ScenarioError(
            "a sweep needs at least one --grid key.path=v1,v2, e.g. watchlist.threshold=0.6,0.64"
        )
    axes: list[GridAxis] = []
    for item in items:
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ScenarioError(
                f"--grid {item!r} must look like key.path=v1,v2, e.g. watchlist.threshold=0.6,0.64"
            )
        if any(a.key == key for a in axes):
            raise ScenarioError(f"--grid key {key!r} is given twice; list all its values in one --grid")
        raw = split_values(text) if text.strip() else []
        if not raw or any(not v for v in raw):
            raise ScenarioError(
                f"--grid {item!r} has an empty value list or an empty value; give values after '=', "
                f"e.g. {key}=v1,v2"
            )
        if key == "cameras":
            values = tuple(_camera_file(v) for v in raw)
            labels = tuple(Path(v).stem for v in raw)
        else:
            values = tuple(_coerce(v) for v in raw)
            labels = tuple(raw)
        axes.append(GridAxis(key=key, values=values, labels=labels))
    return axes


def _check_key(raw: dict[str, Any], key: str) -> None:
    """A grid key must name a key the scenario has or may have (no silent new sections)."""
    if key == "cameras":
        return
    from twin.scenario.specs import Scenario as _S

    model: Any = _S
    node: Any = raw
    parts = key.split(".")
    for i, part in enumerate(parts):
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ScenarioError(
                    f"--grid key {key!r}: {'.'.join(parts[: i + 1])} is not a valid list index"
                )
            node = node[int(part)]
            model = None
            continue
        fields = getattr(model, "model_fields", None) if model is not None else None
        if fields is not None and part not in fields:
            raise ScenarioError(
                f"--grid key {key!r}: {'.'.join(parts[: i + 1])} is not a scenario key "
                f"(keys here: {', '.join(sorted(fields))}); see `twin schema`"
            )
        if fields is not None:
            ann = fields[part].annotation
            model = ann if isinstance(ann, type) and hasattr(ann, "model_fields") else None
        node = node.get(part) if isinstance(node, dict) else None


def expand_grid(raw: dict[str, Any], axes: list[GridAxis], *, base_dir: Path, source: str) -> list[GridPoint]:
    """Every point of the axes' Cartesian product (first axis slowest), each validated as a scenario.

    Args:
        raw: the scenario file's mapping (:func:`twin.scenario.load.read_yaml`).
        axes: from :func:`parse_grid`.
        base_dir: the scenario file's folder (relative paths).
        source: the scenario's name in error messages.

    Raises:
        ScenarioError: a key the scenario has not, or a value the scenario rejects (wrong type, out of
            range); the message names the key, the value and the rule.
    """
    for a in axes:
        _check_key(raw, a.key)
    points = []
    for i, combo in enumerate(itertools.product(*[range(len(a.values)) for a in axes])):
        data = raw
        labels, values = {}, {}
        for a, j in zip(axes, combo, strict=True):
            if a.key == "cameras":
                data = {**data, "cameras": a.values[j]}
            else:
                data = apply_overrides(data, [f"{a.key}={a.labels[j]}"])
            labels[a.key], values[a.key] = a.labels[j], a.values[j]
        shown = ", ".join(f"{k}={v}" for k, v in labels.items())
        sc = parse_scenario(data, base_dir=base_dir, source=f"{source} with --grid {shown}")
        points.append(GridPoint(index=i, labels=labels, values=values, scenario=sc))
    return points


def load_grid(
    path: Path | str, items: list[str] | tuple[str, ...]
) -> tuple[dict[str, Any], list[GridAxis], list[GridPoint]]:
    """Read a scenario file and expand a grid on it: (its mapping, the axes, the points).

    Raises:
        ScenarioError: see :func:`read_yaml`, :func:`parse_grid` and :func:`expand_grid`.
    """
    path = Path(path)
    raw = read_yaml(path)
    base = path.resolve().parent
    parse_scenario(raw, base_dir=base, source=str(path))  # the file itself first
    axes = parse_grid(items)
    return raw, axes, expand_grid(raw, axes, base_dir=base, source=str(path))
