"""House rules that code review would otherwise have to remember: lint, format, types, sizes, keywords.

The layer rules (imports point down, no cycle, simpy/folium/streamlit in their place) are
tests/test_layers.py.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest

from conftest import REPO

#: What ruff checks and formats (CI runs these tests: the README's test command is pytest).
RUFF_PATHS = ["twin", "tests", "bench", "app.py", "pages", "maps"]


def test_library_never_prints_or_uses_the_global_rng() -> None:
    for path in (REPO / "twin").rglob("*.py"):
        text = path.read_text()
        if "cli" not in path.relative_to(REPO).parts:
            assert not re.search(r"^\s*print\(", text, flags=re.M), path
        assert not re.search(
            r"np\.random\.(seed|rand|randn|randint|normal|uniform|choice|poisson)\(", text
        ), path


def test_ruff_clean() -> None:
    """ruff check, E501 at 110 columns included (pyproject.toml)."""
    r = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *RUFF_PATHS], capture_output=True, text=True, cwd=REPO
    )
    assert r.returncode == 0, r.stdout[-3000:]


def test_ruff_format_clean() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *RUFF_PATHS],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:] + "\nrun: ruff format " + " ".join(RUFF_PATHS)


@pytest.mark.slow
def test_mypy_clean() -> None:
    r = subprocess.run([sys.executable, "-m", "mypy", "twin"], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stdout[-3000:]


def test_value_objects_with_many_fields_take_keywords() -> None:
    """Records with more than four fields are built with keyword arguments (Camera(id=..., x=..., ...))."""
    import importlib

    loose = []
    for path in sorted((REPO / "twin").rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        if module.endswith("__main__"):  # runs the CLI on import
            continue
        mod = importlib.import_module(module)
        for name, obj in vars(mod).items():
            if (
                isinstance(obj, type)
                and dataclasses.is_dataclass(obj)
                and obj.__module__ == mod.__name__
                and not name.startswith("_")
            ):
                positional = [f.name for f in dataclasses.fields(obj) if f.init and not f.kw_only]
                if len(dataclasses.fields(obj)) > 4 and len(positional) > 2:
                    loose.append(f"{module}.{name} ({len(positional)} positional fields)")
    assert not loose, loose


def test_camera_is_keyword_only() -> None:
    from twin.world.camera import Camera

    with pytest.raises(TypeError):
        Camera("c", 0.0, 0.0)  # type: ignore[misc]
    assert Camera(id="c", x=0.0, y=0.0).hfov_deg == 30.0
