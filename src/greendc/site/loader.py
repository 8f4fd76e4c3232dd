"""Read a site file and turn every problem into one line that names the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError

from greendc.errors import GreendcError, quoted
from greendc.files import InputFileError, load_yaml_mapping
from greendc.site.schema import Site


class SiteFileError(GreendcError, ValueError):
    """A site file that cannot be used; the message names the file and the field."""


def _field_range(model: type[BaseModel], location: tuple[Any, ...]) -> str:
    """Describe the allowed range of the field at ``location`` (``'' `` when it has none)."""
    current: Any = model
    info = None
    for part in location:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        info = current.model_fields.get(str(part))
        if info is None:
            return ""
        annotation = info.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        for candidate in candidates:
            inner = [candidate, *getattr(candidate, "__args__", ())]
            model_types = [c for c in inner if isinstance(c, type) and issubclass(c, BaseModel)]
            if model_types:
                current = model_types[0]
                break
    if info is None:
        return ""
    bounds = []
    for meta in info.metadata:
        for attribute, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            if isinstance(meta, getattr(annotated_types, attribute.capitalize())):
                bounds.append(f"{symbol} {getattr(meta, attribute)}")
    return f" (allowed: {' and '.join(bounds)})" if bounds else ""


def describe_validation_error(path: Path, error: ValidationError, model: type[BaseModel]) -> str:
    """One line for the first problem of a pydantic error, naming the file and the field."""
    first = error.errors()[0]
    location = tuple(first["loc"])
    field = ".".join(str(part) for part in location) or "<top level>"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key (not part of the site schema)"
    elif first["type"] == "missing":
        message = "required field is missing"
    value = first.get("input")
    shown = "" if first["type"] == "missing" or isinstance(value, dict | list) else f" (got {quoted(value)})"
    more = f"; {error.error_count() - 1} more problem(s)" if error.error_count() > 1 else ""
    return f"{path}: {field}: {message}{shown}{_field_range(model, location)}{more}"


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
        raise SiteFileError(describe_validation_error(path, error, Site)) from error
    return site, path.resolve().parent
