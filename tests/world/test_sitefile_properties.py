"""Property tests (Hypothesis): a site file that is structurally valid GeoJSON but wrong anywhere never ends
in a traceback, only in a MapFileError or GeofenceError naming the file.

The square test site is changed at a path drawn from its own members (the value replaced by one of
another kind, deleted, or joined by an unknown key), written as JSON (NaN and Infinity included, as a
careless exporter writes them) and loaded.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import square_site_doc
from twin.errors import TwinError
from twin.world.site import load_site

pytestmark = pytest.mark.slow

BASE: dict[str, Any] = square_site_doc()
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "route", "Polygon", "${x}", "</script>", "51.5", "a" * 300]),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=4),
    st.lists(st.lists(st.floats(min_value=-200, max_value=600_000), max_size=3), max_size=4),
    st.dictionaries(st.sampled_from(["type", "coordinates", "role", "id"]), st.integers(), max_size=2),
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:6]):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(BASE)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), how=st.sampled_from(["replace", "delete", "unknown"]), value=VALUES)
def test_a_wrong_member_anywhere_is_a_map_error(
    tmp_path: Path, path: tuple[Any, ...], how: str, value: Any
) -> None:
    doc = copy.deepcopy(BASE)
    node: Any = doc
    for p in path[:-1]:
        node = node[p]
    if how == "replace":
        node[path[-1]] = value
    elif how == "delete" and isinstance(node, dict):
        del node[path[-1]]
    elif isinstance(node, dict):
        node["unexpected_member"] = value
    f = tmp_path / "m.geojson"
    f.write_text(json.dumps(doc, allow_nan=True))
    try:
        site = load_site(f)
    except TwinError as exc:
        assert str(exc).startswith(("m.geojson", "site map", "site.route_weights")) and "\n" not in str(
            exc
        ), exc
        return
    assert site.routes and site.geofence.area >= 100
