"""House rules that code review would otherwise have to remember: lint, format, types, sizes, keywords.

The layer rules (imports point down, no cycle, simpy/folium/streamlit in their place) are
tests/test_layers.py.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import subprocess
import sys
from pathlib import Path

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


#: A module longer than this (lines of code: no blanks, comments or docstrings) says why at its top
#: ("Long on purpose: ...") or is split.
MAX_MODULE_CODE_LINES = 400
MAX_FUNCTION_LINES = 80


def _code_lines(tree: ast.Module, text: str) -> int:
    """Lines holding code: not blank, not only a comment, not inside a docstring."""
    doc: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                doc.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return sum(
        1
        for i, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#") and i not in doc
    )


def _sources() -> list[Path]:
    out: list[Path] = []
    for p in ("twin", "maps", "pages", "bench", "app.py"):
        path = REPO / p
        out.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return out


def test_modules_and_functions_stay_small() -> None:
    too_long: list[str] = []
    for path in _sources():
        text = path.read_text()
        tree = ast.parse(text)
        n = _code_lines(tree, text)
        if n > MAX_MODULE_CODE_LINES and "Long on purpose" not in (ast.get_docstring(tree) or ""):
            too_long.append(f"{path.relative_to(REPO)}: {n} lines of code (say why at the top, or split it)")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}: {length} lines")
    assert not too_long, "\n".join(too_long)


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
