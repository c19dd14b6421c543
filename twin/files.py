"""Files a user hands the twin, read within limits; JSON the twin writes, strict.

Every file the twin reads from a user (scenario YAML, site GeoJSON, score models, model-pack
manifests, run folders' JSON) goes through :func:`read_capped`: a missing path, a folder, a
dangling link, or a file over its size cap is one :class:`~twin.errors.TwinError` line naming the
file and the fix, checked *before* reading, so a 50 MB "scenario" is refused in microseconds, not
parsed for minutes. :func:`loads_json` parses JSON strictly: ``NaN``/``Infinity`` (not JSON, RFC 8259)
and nesting deeper than :data:`MAX_JSON_DEPTH` are refused (a 100,000-deep array would otherwise end
in a ``RecursionError``). :func:`dumps_json` is how the twin writes JSON: a non-finite float becomes
``null`` and ``allow_nan=False`` guarantees nothing a strict reader (``JSON.parse``) rejects is
ever written. :func:`csv_cell` keeps a user's text in a CSV the twin writes from being read as a
spreadsheet formula.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_MAP_BYTES",
    "MAX_SCENARIO_BYTES",
    "check_input_file",
    "csv_cell",
    "dumps_json",
    "json_depth",
    "json_safe",
    "loads_json",
    "read_capped",
]

#: Largest scenario YAML, bytes. A scenario is a few kB (the biggest shipped one is ~6 kB); the
#: Plan page caps uploads at the same figure.
MAX_SCENARIO_BYTES = 256 * 1024
#: Largest site map (GeoJSON), bytes. The shipped maps are 11-76 kB of OpenStreetMap geometry; a
#: whole borough's streets fit in a few MB.
MAX_MAP_BYTES = 8 * 1024 * 1024
#: Largest other JSON input (score model, model-pack manifest, run.json, summary.json, records), bytes.
MAX_JSON_BYTES = 16 * 1024 * 1024
#: Deepest JSON nesting accepted. GeoJSON needs 7 levels (collection, features, feature, geometry,
#: coordinates, ring, position); the twin's own files fewer than 12.
MAX_JSON_DEPTH = 32

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


def check_input_file(path: Path | str, *, what: str, max_bytes: int, error: type[Exception]) -> Path:
    """Check that ``path`` is a readable regular file of at most ``max_bytes`` bytes, without reading it.

    Args:
        path: the file.
        what: what the file is, for the message (e.g. "scenario file", "site.map").
        max_bytes: the size cap.
        error: the :class:`~twin.errors.TwinError` subclass to raise (this module imports no other of the
            twin's, so that every layer may use it).

    Returns:
        the path.

    Raises:
        error (the TwinError subclass given): missing, a dangling link or a link loop, a folder, not a
            regular file, or larger than ``max_bytes``.

    >>> from twin.errors import ScenarioError
    >>> check_input_file("/", what="scenario file", max_bytes=10, error=ScenarioError)
    Traceback (most recent call last):
    ...
    twin.errors.ScenarioError: scenario file '/' is a folder, not a file; give the path of the file itself
    """
    path = Path(path)
    try:
        st = path.stat()
    except OSError as exc:
        if path.is_symlink():
            raise error(
                f"{what} {str(path)!r} is a link to nothing ({exc.strerror}); point it at the file"
            ) from exc
        raise error(f"{what} {str(path)!r} not found; check the path") from exc
    if path.is_dir():
        raise error(f"{what} {str(path)!r} is a folder, not a file; give the path of the file itself")
    if not path.is_file():
        raise error(f"{what} {str(path)!r} is not a regular file (a device or a pipe); give a file")
    if st.st_size > max_bytes:
        raise error(
            f"{what} {str(path)!r} is {st.st_size / 1024:,.0f} kB, over the {max_bytes / 1024:,.0f} kB "
            "limit for this kind of file; give the right file (not a map, log or run folder)"
        )
    return path


def read_capped(path: Path | str, *, what: str, max_bytes: int, error: type[Exception]) -> bytes:
    """The bytes of a user's file, checked by :func:`check_input_file` first.

    Raises:
        error (the TwinError subclass given): see :func:`check_input_file`; unreadable (permissions).
    """
    path = check_input_file(path, what=what, max_bytes=max_bytes, error=error)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{what} {str(path)!r} cannot be read ({exc.strerror}); check its permissions") from exc
    if len(data) > max_bytes:  # grew while we looked
        raise error(f"{what} {str(path)!r} is over the {max_bytes / 1024:,.0f} kB limit")
    return data


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text (strings are skipped), in linear time.

    >>> json_depth(b'{"a": [1, [2, "]]]"]]}'), json_depth(b"5")
    (3, 0)
    """
    import numpy as np

    brackets = _STRINGS.sub(b'""', raw).translate(None, delete=_NOT_BRACKETS)
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(max(0, np.cumsum(steps).max()))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (RFC 8259); write null or a finite number")


#: Most digits in one JSON number: no value in a file the twin reads needs more (a 2**53 seed has 16);
#: Python would otherwise parse up to 4,300 and then fail with its own message.
MAX_JSON_DIGITS = 40


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's members as a dict, refusing a key given twice (JSON readers keep the last)."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(
                f"key {k!r} is given twice in one object; JSON readers silently keep the last one: "
                "delete one of them"
            )
        out[k] = v
    return out


def _number(kind: type) -> Any:
    def parse(s: str) -> Any:
        if len(s) > MAX_JSON_DIGITS:
            raise ValueError(
                f"the number {s[:12]}... has {len(s)} characters, more than the {MAX_JSON_DIGITS} any value "
                "here needs; check the value (each file's documentation gives its ranges)"
            )
        return kind(s)

    return parse


def loads_json(raw: bytes, *, name: str, error: type[Exception]) -> Any:
    """Parse JSON strictly: UTF-8, no ``NaN``/``Infinity``, no key twice in an object, no number longer
    than :data:`MAX_JSON_DIGITS`, at most :data:`MAX_JSON_DEPTH` deep.

    Args:
        raw: the file's bytes.
        name: the file's name, for the message.
        error: the :class:`~twin.errors.TwinError` subclass to raise (this module imports no other of the
            twin's, so that every layer may use it).

    Raises:
        error (the TwinError subclass given): not UTF-8, not JSON (with line and column), a non-finite
            number, a repeated key, a number too long, too deep.

    >>> from twin.errors import MapFileError
    >>> loads_json(b'{"a": 1}', name="x.json", error=MapFileError)
    {'a': 1}
    >>> loads_json(b'{"a": NaN}', name="x.json", error=MapFileError)
    Traceback (most recent call last):
    ...
    twin.errors.MapFileError: x.json: NaN is not a JSON number (RFC 8259); write null or a finite number
    """
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise error(
            f"{name}: nested {depth} levels deep, more than the {MAX_JSON_DEPTH} any file of this kind "
            "needs; this is not a file the twin wrote or documents"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{name}: not UTF-8 text ({exc.reason}); save it as UTF-8 JSON") from exc
    try:
        return json.loads(
            text,
            parse_constant=_no_constant,
            object_pairs_hook=_unique_keys,
            parse_int=_number(int),
            parse_float=_number(float),
        )
    except json.JSONDecodeError as exc:
        raise error(
            f"{name}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}; fix it there"
        ) from exc
    except ValueError as exc:
        raise error(f"{name}: {exc}") from exc


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None, numpy scalars and arrays made plain, paths as
    text; mapping keys as text.

    >>> json_safe({"tpir": float("nan"), "n": [1.0, float("inf")]})
    {'tpir': None, 'n': [1.0, None]}
    """
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, Path):
        return obj.as_posix()
    tolist = getattr(obj, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return json_safe(tolist())
    isoformat = getattr(obj, "isoformat", None)  # dates and times
    if callable(isoformat):
        return isoformat()
    return str(obj)


def dumps_json(obj: Any, **kwargs: Any) -> str:
    """JSON text of ``obj`` (:func:`json_safe` first) that a strict parser accepts: never NaN or Infinity.

    Args:
        obj: what to write.
        **kwargs: passed to :func:`json.dumps` (``indent``, ``sort_keys``, ``separators``, ...).

    >>> dumps_json({"tpir": float("nan")})
    '{"tpir": null}'
    """
    return json.dumps(json_safe(obj), allow_nan=False, **kwargs)


#: First characters that make a spreadsheet (Excel, LibreOffice, Sheets) read a cell as a formula
#: (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell holding a user's text (a location, a scenario name), never read as a formula: text
    starting with ``= + - @``, a tab or a carriage return gets a leading ``'`` (OWASP's advice), so
    ``=HYPERLINK(...)`` in a records file stays text when validation.csv is opened. Other values
    (numbers, None) are returned as they are.

    >>> csv_cell("=cmd|' /C calc'!A0"), csv_cell("Oxford Circus"), csv_cell(-0.5)
    ("'=cmd|' /C calc'!A0", 'Oxford Circus', -0.5)
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
