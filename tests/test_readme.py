"""README carries exactly two set-up commands, and CI runs the second one verbatim."""

from __future__ import annotations

import re

from conftest import REPO


def _blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)\n```", (REPO / "README.md").read_text(), flags=re.S)


def test_two_setup_commands() -> None:
    blocks = _blocks()
    assert len(blocks) == 2
    install_run, tests = blocks
    assert "twin run scenarios/oxford_circus.yaml" in install_run and "-c constraints.txt" in install_run
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert _blocks()[1].strip() in ci.splitlines()


def test_odbl_attribution_kept() -> None:
    assert "OpenStreetMap contributors" in (REPO / "README.md").read_text()
    assert "ODbL" in (REPO / "README.md").read_text()
