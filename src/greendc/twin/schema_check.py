"""Validate generated epJSON against the schema shipped with the engine.

EnergyPlus silently ignores unknown epJSON fields (a renamed field once set a whole IT load to 0 W), and
its schema does not forbid them, so on top of the JSON-schema check every object type and field name
is checked against the schema's declared properties.
"""

from __future__ import annotations

import gc
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from greendc.errors import GreendcError
from greendc.twin.engine import engine_dir


class ModelValidationError(GreendcError, ValueError):
    """The generated model does not conform to the EnergyPlus epJSON schema."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"generated EnergyPlus model is schema-invalid: {shown}{more}")

    def __reduce__(self) -> tuple[type, tuple[list[str]]]:
        # Keep the problem list intact when the error crosses a process boundary.
        return (type(self), (self.problems,))


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    path: Path = engine_dir() / "Energy+.schema.epJSON"
    text = path.read_text(encoding="utf-8")
    # The schema parses into a few hundred thousand dicts and lists, none of them garbage; the collections
    # their making would trigger scan them over and over (a third of a 0.13 s parse).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return json.loads(text)
    finally:
        if enabled:
            gc.enable()


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    # The schema declares draft-07 under an https URI that jsonschema does not recognise.
    return jsonschema.Draft7Validator(_schema())


def _object_properties(object_type: str) -> dict[str, Any]:
    pattern = _schema()["properties"][object_type]["patternProperties"]
    return next(iter(pattern.values())).get("properties", {})


def validate_epjson(model: dict[str, Any]) -> None:
    """Raise ModelValidationError listing every schema violation, unknown object type or unknown field."""
    problems: list[str] = []
    known_types = _schema()["properties"]
    for object_type, objects in model.items():
        if object_type not in known_types:
            problems.append(f"unknown object type {object_type!r}")
            continue
        allowed = _object_properties(object_type)
        for name, fields in objects.items():
            for field in fields:
                if field not in allowed:
                    problems.append(f"{object_type} {name!r}: unknown field {field!r}")
    for error in sorted(_validator().iter_errors(model), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(part) for part in error.absolute_path) or "<root>"
        problems.append(f"{where}: {error.message[:200]}")
    if problems:
        raise ModelValidationError(problems)
