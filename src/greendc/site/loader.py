"""Read a site file and turn every problem into one line that names the file and the field."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Annotated, Any

import annotated_types
from pydantic import BaseModel, ValidationError

from greendc.errors import QUOTE_LIMIT_CHARS, GreendcError, plain_text, quoted
from greendc.files import InputFileError, load_yaml_mapping, shown_path
from greendc.site.schema import Site


class SiteFileError(GreendcError, ValueError):
    """A site file that cannot be used; the message names the file and the field."""


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


def describe_validation_error(path: Path, error: ValidationError, model: type[BaseModel]) -> str:
    """One line for the first problem of a pydantic error, naming the file and the field.

    The field (whose keys come from the file), the message (which may repeat a value, such as an unknown
    ``kind``) and the value are each cut to about 200 characters.
    """
    first = error.errors(include_url=False)[0]
    location = tuple(first["loc"])
    field = ".".join(str(part) for part in location) or "<top level>"
    if len(field) > QUOTE_LIMIT_CHARS or not field.isprintable():
        field = quoted(field)
    message = plain_text(str(first["msg"]).removeprefix("Value error, "))
    if first["type"] == "extra_forbidden":
        message = "unknown key (not part of the site schema)"
    elif first["type"] == "missing":
        message = "required field is missing"
    elif first["type"] == "finite_number":
        message = "must be a finite number, not NaN or infinity"
    value = first.get("input")
    shown = "" if first["type"] == "missing" or isinstance(value, dict | list) else f" (got {quoted(value)})"
    more = f"; {error.error_count() - 1} more problem(s)" if error.error_count() > 1 else ""
    return f"{shown_path(path)}: {field}: {message}{shown}{_field_range(model, location)}{more}"


def load_site(path: Path | str) -> tuple[Site, Path]:
    """Load and validate a site file; return the site and the directory relative paths refer to."""
    path = Path(path)
    try:
        raw = load_yaml_mapping(path, what="site file")
    except InputFileError as error:
        message = "site file not found" if error.message.endswith("not found") else error.message
        raise SiteFileError(f"{error.file}: {message}") from None
    try:
        site = Site.model_validate(raw)
    except ValidationError as error:
        raise SiteFileError(describe_validation_error(path, error, Site)) from None
    return site, path.resolve().parent
