"""Reading YAML the way a planner means it: no silent misreadings, no surprises from the format.

PyYAML's ``safe_load`` reads YAML 1.1, which quietly changes what a planner wrote: a key given twice
keeps the last value (``threshold: 0.4`` then ``threshold: 0.9`` runs at 0.9), ``NO``, ``on`` and
``yes`` become booleans (Norway's country code ``NO`` is shown as False), and a 20,000-deep list
ends in a ``RecursionError``. :class:`ScenarioLoader` is ``SafeLoader`` with three changes:

* a repeated key is an error naming both lines;
* only ``true``/``false`` (any case, as YAML 1.2's core schema) are booleans; ``yes``/``no``/``on``/
  ``off`` stay the text written;
* nesting deeper than :data:`MAX_YAML_DEPTH` is refused before Python's stack is.

Unquoted clock times (``start: 12:00``, read by YAML 1.1 as the base-60 number 720) are left as
numbers here and refused by the scenario schema with a message to quote them
(:class:`twin.scenario.specs.TimeWindow`). Tags such as ``!!python/object`` are refused: a scenario
holds plain values and nothing in it ever runs.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode

from twin.errors import ScenarioError
from twin.files import MAX_SCENARIO_BYTES

__all__ = ["MAX_YAML_DEPTH", "ScenarioLoader", "load_yaml_text", "parse_yaml_bytes"]

#: Deepest nesting of lists and mappings accepted. A scenario needs 5 (governance → policy → ...).
MAX_YAML_DEPTH = 32
#: Most characters in one YAML integer (a 2**53 seed has 16; Python parses up to 4,300 digits, then fails).
MAX_YAML_INT_CHARS = 40

_BOOL_12 = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class _Refused(Exception):
    """A YAML document the loader refuses (the message names the line and the fix)."""


class ScenarioLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with repeated keys refused, YAML 1.2 booleans and a nesting limit (module
    docstring)."""

    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, Any]]]] = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(
                    f"nested more than {MAX_YAML_DEPTH} levels deep at line {mark.line + 1}; a scenario "
                    "needs a handful (see `twin schema`)"
                )
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _Refused(
                    f"key {key!r} is given twice, at lines {seen[key]} and {line}; YAML would silently keep "
                    "the last one: delete one of them"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        """An integer, refused when longer than :data:`MAX_YAML_INT_CHARS` (Python's own limit, 4,300
        digits, ends in a ValueError traceback; no scenario value needs more than 16)."""
        if len(node.value) > MAX_YAML_INT_CHARS:
            raise _Refused(
                f"the number at line {node.start_mark.line + 1} ({node.value[:12]}...) has {len(node.value)} "
                f"characters, more than the {MAX_YAML_INT_CHARS} any scenario value needs; see `twin schema` "
                "for each value's range"
            )
        return super().construct_yaml_int(node)  # type: ignore[no-any-return]


ScenarioLoader.add_constructor("tag:yaml.org,2002:int", ScenarioLoader.construct_yaml_int)
ScenarioLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_12, list("tTfF"))


def load_yaml_text(text: str) -> Any:
    """Parse YAML text with :class:`ScenarioLoader` (for ``--set`` values and tests).

    Raises:
        yaml.YAMLError: malformed.
        ScenarioError: a repeated key or too deep (the message has the line).

    >>> load_yaml_text("on"), load_yaml_text("true"), load_yaml_text("12:00")
    ('on', True, 720)
    """
    try:
        return yaml.load(text, Loader=ScenarioLoader)  # a SafeLoader subclass
    except _Refused as exc:
        raise ScenarioError(str(exc)) from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line for a YAML error: where, what, and a fix that fits it."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if isinstance(exc, ConstructorError) and "constructor for the tag" in problem:
        tag = problem.split("tag", 1)[1].strip(" '")
        tag = tag.replace("tag:yaml.org,2002:", "!!")
        return (
            f"the tag {tag}{where} is not allowed: a scenario holds plain values (text, numbers, lists, "
            "mappings) and nothing in it ever runs; remove the tag"
        )
    if isinstance(exc, ConstructorError) and "unhashable" in problem:
        return f"a key{where} is a list or mapping; keys are plain names such as threshold"
    return f"malformed YAML{where}: {problem}; fix the indentation or quoting there"


def parse_yaml_bytes(data: bytes, *, name: str, max_bytes: int = MAX_SCENARIO_BYTES) -> dict[str, Any]:
    """Parse a scenario's YAML bytes (a file's or an upload's) into a mapping.

    Args:
        data: the bytes.
        name: the file's name, for messages.
        max_bytes: size limit (default :data:`twin.files.MAX_SCENARIO_BYTES`).

    Raises:
        ScenarioError: too large, not UTF-8, malformed YAML (with line and column), a repeated key,
            a tag, too deep, or not a mapping.

    >>> parse_yaml_bytes(b"name: x", name="s.yaml")
    {'name': 'x'}
    """
    if len(data) > max_bytes:
        raise ScenarioError(
            f"{name}: {len(data) / 1024:,.0f} kB is too large for a scenario (limit {max_bytes / 1024:,.0f} "
            "kB); give the scenario YAML itself, not a map, log or run folder"
        )
    try:
        doc = yaml.load(data.decode("utf-8"), Loader=ScenarioLoader)  # a SafeLoader subclass
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{name}: not a UTF-8 text file ({exc.reason}); save the scenario as UTF-8 YAML"
        ) from exc
    except _Refused as exc:
        raise ScenarioError(f"{name}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{name}: {_yaml_problem(exc)}") from exc
    if not isinstance(doc, dict):
        raise ScenarioError(
            f"{name}: a scenario must be a YAML mapping of keys (name, site, cameras, ...), "
            f"got {type(doc).__name__}"
        )
    return doc
