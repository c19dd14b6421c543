"""The base of every validated input model: frozen, and unknown keys rejected by name."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["StrictModel", "repeated"]


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
