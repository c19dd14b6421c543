"""House rules that code review would otherwise have to remember: layers, lint, types."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO

#: The pure core imports no simpy, folium or streamlit (STYLE.md, Layers).
PURE = [
    "twin.errors", "twin.rng", "twin.scenario.base", "twin.scenario.specs", "twin.scenario.governance", "twin.world.geo", "twin.world.site",
    "twin.world.camera", "twin.world.capture", "twin.sim.arrivals", "twin.scoring.metrics", "twin.scoring.equitability", "twin.world.signage",
    "twin.outputs.audit", "twin.recognition.engines.base", "twin.scoring.score_model", "twin.recognition.watchlist", "twin.recognition.faces.io",
    "twin.recognition.faces.render", "twin.recognition.faces.compose", "twin.app.plan",
]  # fmt: skip
FORBIDDEN = ("simpy", "folium", "offlinefolium", "streamlit", "streamlit_folium")


@pytest.mark.parametrize("module", PURE)
def test_pure_core_imports_no_simulation_or_ui(module: str) -> None:
    code = f"import sys, {module}; print(','.join(m for m in {FORBIDDEN!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{module} pulls in {out}"


def test_library_never_prints_or_uses_the_global_rng() -> None:
    import re

    for path in (REPO / "twin").rglob("*.py"):
        text = path.read_text()
        if not path.name.startswith("cli"):
            assert not re.search(r"^\s*print\(", text, flags=re.M), path
        assert not re.search(r"np\.random\.(seed|rand|randn|randint|normal|uniform|choice|poisson)\(", text), path


def test_ruff_clean() -> None:
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "twin", "tests", "bench", "app.py", "pages", "maps"],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stdout[-3000:]


@pytest.mark.slow
def test_mypy_clean() -> None:
    r = subprocess.run([sys.executable, "-m", "mypy", "twin"], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stdout[-3000:]
