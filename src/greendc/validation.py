"""How a problem pydantic found in a user's file is told: one field, one message, the allowed range.

Every file greendc reads from a user (site, faults, point map, model metadata) is validated by a pydantic
model; :func:`first_problem` turns the first problem of a :class:`~pydantic.ValidationError` into the field's
location and a message that names the allowed range of the field where the schema has one, quotes (and cuts)
the value that was given, and counts the other problems. Each reader formats the location its own way
(``zones.0.name`` or ``faults[2].kind``) and prefixes its file's name.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any

import annotated_types
from pydantic import BaseModel, ValidationError

from greendc.errors import plain_text, quoted


def first_problem(error: ValidationError, model: type[BaseModel], unknown_key: str) -> tuple[tuple[Any, ...], str]:
    """The location of the first problem of ``error`` and its message, ``unknown_key`` being what an unknown
    key is told (e.g. "unknown key (a fault has sensor, kind, ...)").

    The message (which may repeat a value, such as an unknown ``kind``) and the value are each cut to about
    200 characters; the allowed range of the field follows where ``model`` declares one.
    """
    first = error.errors(include_url=False)[0]
    location = tuple(first["loc"])
    message = plain_text(str(first["msg"]).removeprefix("Value error, "), limit_chars=600)
    if first["type"] == "extra_forbidden":
        message = unknown_key
    elif first["type"] == "missing":
        message = "required field is missing"
    elif first["type"] == "finite_number":
        message = "must be a finite number, not NaN or infinity"
    value = first.get("input")
    hidden = first["type"] == "missing" or value is None or isinstance(value, dict | list)
    shown = "" if hidden else f" (got {quoted(value)})"
    more = f"; {error.error_count() - 1} more problem(s)" if error.error_count() > 1 else ""
    return location, f"{message}{shown}{_field_range(model, location)}{more}"


def bracketed(location: tuple[Any, ...]) -> str:
    """A location as ``faults[2].kind`` (``<top level>`` when empty)."""
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".")
    return text or "<top level>"


def _field_types(container: Any, name: str) -> tuple[Any, list[Any]] | None:
    """The type and constraints of field ``name`` of a pydantic model or a named tuple (``None``: no such)."""
    if not isinstance(container, type):
        return None
    if issubclass(container, BaseModel):
        info = container.model_fields.get(name)
        return None if info is None else (info.annotation, list(info.metadata))
    if issubclass(container, tuple) and hasattr(container, "_fields"):
        try:
            hint = typing.get_type_hints(container, include_extras=True).get(name)
        except (NameError, TypeError):
            return None
        metadata: list[Any] = []
        while typing.get_origin(hint) is Annotated:
            hint, *extras = typing.get_args(hint)
            for extra in extras:  # a pydantic Field(...) carries its constraints in .metadata
                metadata.extend(getattr(extra, "metadata", [extra]))
        return None if hint is None else (hint, metadata)
    return None


def _containers(annotation: Any, depth: int = 0) -> list[Any]:
    """The models and named tuples inside a type such as ``list[Zone]`` or ``Economizer | None``."""
    if isinstance(annotation, type) and (issubclass(annotation, BaseModel) or hasattr(annotation, "_fields")):
        return [annotation]
    if depth > 8:
        return []
    return [inner for argument in typing.get_args(annotation) for inner in _containers(argument, depth + 1)]


def _field_range(model: type[BaseModel], location: tuple[Any, ...]) -> str:
    """Describe the allowed range of the field at ``location`` (``''`` when it has none)."""
    containers: list[Any] = [model]
    metadata: list[Any] = []
    for part in location:
        if isinstance(part, int):  # an index into a list
            continue
        found = next((f for f in (_field_types(c, str(part)) for c in containers) if f is not None), None)
        if found is None:  # a union's tag (it_load.csv.path) or an unknown key: no range of its own
            metadata = []
            continue
        annotation, metadata = found
        containers = _containers(annotation) or containers
    bounds = []
    for meta in metadata:
        for attribute, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            if isinstance(meta, getattr(annotated_types, attribute.capitalize())):
                bounds.append(f"{symbol} {getattr(meta, attribute)}")
    return f" (allowed: {' and '.join(bounds)})" if bounds else ""
