"""The layers of ``twin/`` (DESIGN.md, STYLE.md "Layers"): imports point down only, no cycle, heavy packages
in one place.

One rule per folder, read from the source (every ``import`` statement, also those inside functions
and under ``TYPE_CHECKING``), plus a run-time check that the lower layers pull in no simpy, folium
or streamlit through their dependencies.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

TWIN = REPO / "twin"

#: The floors, bottom up. A module may import its own folder and any lower floor, never a higher
#: one, and never a different folder on the same floor (app/ and cli/ are siblings). ``records``
#: holds the published deployment records and the forecast fitted on them.
LAYERS: dict[str, int] = {
    "_version": 0, "errors": 0, "files": 0, "rng": 0,
    "scenario": 1,
    "world": 2,
    "scoring": 3,
    "records": 4,
    "recognition": 5,
    "sim": 6,
    "outputs": 7,
    "app": 8, "cli": 8,
}  # fmt: skip
#: Entry points that may import anything: the lazy facade (``twin.run``, ...) and ``python -m twin``.
ENTRY_POINTS = {"twin", "twin.__main__"}

#: Third-party packages allowed only in these modules or folders (a prefix of the dotted name).
CONFINED: dict[str, tuple[str, ...]] = {
    "simpy": ("twin.sim.",),
    "streamlit": ("twin.app.ui",),
    "streamlit_folium": ("twin.app.ui",),
    "folium": ("twin.outputs.mapview", "twin.app.webassets"),
    "branca": ("twin.outputs.mapview", "twin.app.webassets"),
    "offlinefolium": ("twin.outputs.mapview", "twin.app.webassets"),
    "typer": ("twin.cli.",),
    "rich": ("twin.cli.",),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(TWIN.rglob("*.py"))}


MODULES = _modules()


def _imports(path: Path) -> list[str]:
    """Every module an ``import`` statement in ``path`` names (absolute imports; ``from a import b``
    counts as ``a.b`` when that is a module of the twin, else as ``a``)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES]
            out.extend(subs)
            if len(subs) < len(node.names):
                out.append(node.module)
    return out


def _layer(module: str) -> tuple[str, int] | None:
    """(folder or root module, floor) of a ``twin.*`` module; None for an entry point."""
    if module in ENTRY_POINTS:
        return None
    top = module.split(".")[1]
    assert top in LAYERS, (
        f"{module}: {top!r} is on no floor; add it to LAYERS (tests/test_layers.py) and DESIGN.md"
    )
    return top, LAYERS[top]


def _twin_edges() -> dict[str, set[str]]:
    """Module -> the twin modules it imports (the facade ``twin`` aside: see :data:`ENTRY_POINTS`)."""
    return {name: {t for t in _imports(path) if t in MODULES and t != name} for name, path in MODULES.items()}


EDGES = _twin_edges()


def test_every_folder_is_on_a_floor() -> None:
    for name in MODULES:
        if name not in ENTRY_POINTS:
            _layer(name)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m not in ENTRY_POINTS))
def test_imports_point_down(module: str) -> None:
    src = _layer(module)
    assert src is not None
    bad = []
    for target in sorted(EDGES[module]):
        dst = _layer(target)
        if dst is None:
            bad.append(f"{target} (the facade: import the module that defines the name)")
        elif dst[0] != src[0] and dst[1] >= src[1]:
            bad.append(f"{target} ({dst[0]}/, floor {dst[1]})")
    assert not bad, f"{module} ({src[0]}/, floor {src[1]}) imports upward or sideways: {', '.join(bad)}"


def test_no_import_cycle() -> None:
    edges = {k: {t for t in v if t not in ENTRY_POINTS} for k, v in EDGES.items() if k not in ENTRY_POINTS}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


@pytest.mark.parametrize("package", sorted(CONFINED))
def test_heavy_packages_stay_in_their_place(package: str) -> None:
    allowed = CONFINED[package]
    offenders = sorted(
        name
        for name, path in MODULES.items()
        if any(t == package or t.startswith(package + ".") for t in _imports(path))
        and not any(name == a or name.startswith(a) for a in allowed)
    )
    assert not offenders, f"{package} is imported outside {', '.join(allowed)}: {offenders}"


def test_entry_points_import_only_the_app_layer() -> None:
    """``app.py`` and ``pages/`` draw; everything they call comes from ``twin.app``."""
    for path in [REPO / "app.py", *sorted((REPO / "pages").glob("*.py"))]:
        twin_imports = [t for t in _imports(path) if t == "twin" or t.startswith("twin.")]
        bad = [t for t in twin_imports if t != "twin.app" and not t.startswith("twin.app.")]
        assert not bad, f"{path.relative_to(REPO)} imports {bad}; go through twin.app"


#: Floors below the simulation: importing them must not pull in simpy, folium or streamlit.
PURE_FLOORS = ("scenario", "world", "scoring", "records", "recognition")
FORBIDDEN = ("simpy", "folium", "offlinefolium", "streamlit", "streamlit_folium")


@pytest.mark.parametrize("floor", PURE_FLOORS)
def test_lower_floors_pull_in_no_simulation_or_ui(floor: str) -> None:
    mods = sorted(m for m in MODULES if m.startswith(f"twin.{floor}."))
    if not mods:
        pytest.skip(f"twin/{floor}/ does not exist (yet)")
    code = (
        f"import sys\nfor m in {mods!r}: __import__(m)\nprint(','.join(m for m in {FORBIDDEN!r} if m "
        "in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    assert out.strip() == "", f"twin/{floor}/ pulls in {out.strip()}"
