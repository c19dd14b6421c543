"""The base of every validated input model: frozen, and unknown keys rejected by name."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = [
    "SAFE_ID_PATTERN",
    "SAFE_NAME_PATTERN",
    "StrictModel",
    "check_safe_id",
    "check_safe_name",
    "repeated",
]

#: What an id (camera, route, van, site) may hold: ASCII letters, digits, ``_``, ``-`` and ``.``,
#: 1-64 characters, starting with a letter or digit. Ids become widget keys, file names, HTML and
#: JavaScript on maps: nothing in one can be markup or script.
SAFE_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}"
#: What a site's name may hold: letters (any script), digits, spaces and ``. , ' ( ) / & + -``,
#: 1-120 characters, starting with a letter or digit ("Stratford (station / Westfield footways)").
SAFE_NAME_PATTERN = r"[^\W_][\w .,'()/&+\-]{0,119}"


def check_safe_id(value: str, what: str) -> str:
    """``value`` if it matches :data:`SAFE_ID_PATTERN`.

    Raises:
        ValueError: it does not (the message names it and the rule), for pydantic to report.

    >>> check_safe_id("van_1_cam1", "camera id")
    'van_1_cam1'
    >>> check_safe_id("x${1}", "camera id")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: camera id 'x${1}' may hold only letters, digits, '_', '-' and '.' ...
    """
    if not re.fullmatch(SAFE_ID_PATTERN, value):
        raise ValueError(
            f"{what} {value!r} may hold only letters, digits, '_', '-' and '.' (1-64 characters, starting "
            "with a letter or digit), e.g. van_1_cam1"
        )
    return value


def check_safe_name(value: str, what: str) -> str:
    """``value`` if it matches :data:`SAFE_NAME_PATTERN`.

    Raises:
        ValueError: it does not.

    >>> check_safe_name("Stratford (station / Westfield footways)", "site name")
    'Stratford (station / Westfield footways)'
    """
    if not re.fullmatch(SAFE_NAME_PATTERN, value):
        raise ValueError(
            f"{what} {value!r} may hold only letters, digits, spaces and . , ' ( ) / & + - (1-120 "
            "characters, starting with a letter or digit), e.g. Oxford Circus"
        )
    return value


def repeated(items: list[Any]) -> list[Any]:
    """Items that occur more than once, sorted (for "must be unique" messages).

    >>> repeated(["a", "b", "a", "c", "b"])
    ['a', 'b']
    """
    return sorted({i for i in items if items.count(i) > 1})


class StrictModel(BaseModel):
    """Frozen pydantic model that rejects unknown keys, listing the valid ones.

    >>> class Gate(StrictModel):
    ...     min_ied_px: float = 30
    >>> try:
    ...     Gate.model_validate({"min_ied": 20})
    ... except ValueError as exc:
    ...     print("unknown key 'min_ied'; valid keys here: min_ied_px" in str(exc))
    True
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [k for k in data if k not in cls.model_fields]
            if unknown:
                valid = ", ".join(cls.model_fields)
                raise ValueError(f"unknown key {', '.join(map(repr, unknown))}; valid keys here: {valid}")
        return data
