"""Property tests (Hypothesis): a scenario document that is structurally valid but wrong anywhere never ends
in a traceback, only in a ScenarioError; YAML text of any shape either parses to a mapping or is refused.

A valid scenario (the tiny one, with a governance block) is changed at a path drawn from its own keys:
the value replaced by a value of another kind (None, a bool, a huge or negative number, NaN, infinity, a
hostile string, a list, a mapping), deleted, or joined by an unknown key.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import governance_doc, tiny_scenario_doc
from twin.errors import TwinError
from twin.scenario.load import apply_overrides, parse_scenario
from twin.scenario.yamlread import parse_yaml_bytes

pytestmark = pytest.mark.slow

BASE: dict[str, Any] = tiny_scenario_doc(Path("/nonexistent/square.geojson"), governance=governance_doc())

#: Values of every kind a YAML file can hold, the edges included.
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "NO", "12:00", "1e30", "${x}", "<script>x</script>", "`", "a" * 500, "\x00"]),
    st.lists(st.integers(), max_size=30),
    st.dictionaries(st.sampled_from(["a", "id", "lat", "size"]), st.integers(), max_size=3),
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(BASE)


def _mutate(doc: dict[str, Any], path: tuple[Any, ...], how: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    node: Any = doc
    for p in path[:-1]:
        node = node[p]
    last = path[-1]
    if how == "replace":
        node[last] = value
    elif how == "delete" and isinstance(node, dict):
        del node[last]
    elif how == "unknown" and isinstance(node, dict):
        node["unexpected_key"] = value
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), how=st.sampled_from(["replace", "delete", "unknown"]), value=VALUES)
def test_a_wrong_value_anywhere_is_a_scenario_error(path: tuple[Any, ...], how: str, value: Any) -> None:
    doc = _mutate(BASE, path, how, value)
    try:
        sc = parse_scenario(doc, source="s.yaml")
    except TwinError as exc:
        msg = str(exc)
        assert msg.startswith("s.yaml") and "\n" not in msg
        return
    # accepted: then it is in range where the schema says so
    assert 1 <= sc.watchlist.size <= 20_000_000 and math.isfinite(sc.watchlist.threshold)
    assert 0 <= sc.seed <= 2**53 - 1 and 1 <= sc.replications <= 10_000
    assert all(c.id.replace("_", "").replace("-", "").replace(".", "").isalnum() for c in sc.cameras)


@settings(max_examples=150, deadline=None)
@given(path=st.sampled_from(PATHS), value=st.text(max_size=40))
def test_any_set_override_is_a_scenario_error_or_valid(path: tuple[Any, ...], value: str) -> None:
    key = ".".join(str(p) for p in path)
    try:
        parse_scenario(apply_overrides(BASE, [f"{key}={value}"]), source="s.yaml")
    except TwinError as exc:
        assert "\n" not in str(exc)


YAMLISH = st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#%@ \n\t0123456789.,?")), max_size=200)


@settings(max_examples=400, deadline=None)
@given(text=YAMLISH)
def test_any_yaml_text_parses_to_a_mapping_or_is_refused(text: str) -> None:
    try:
        doc = parse_yaml_bytes(text.encode(), name="t.yaml")
    except TwinError as exc:
        assert str(exc).startswith("t.yaml: ") and "\n" not in str(exc)
        return
    assert isinstance(doc, dict)
