"""Read a site file and turn every problem into one line that names the file and the field."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ValidationError

from greendc.errors import QUOTE_LIMIT_CHARS, GreendcError, quoted
from greendc.files import InputFileError, load_yaml_mapping, shown_path
from greendc.site.schema import Site
from greendc.validation import first_problem


class SiteFileError(GreendcError, ValueError):
    """A site file that cannot be used; the message names the file and the field."""


def describe_validation_error(path: Path, error: ValidationError, model: type[BaseModel]) -> str:
    """One line for the first problem of a pydantic error, naming the file and the field
    (``greendc.validation.first_problem``)."""
    location, message = first_problem(error, model, "unknown key (not part of the site schema)")
    field = ".".join(str(part) for part in location) or "<top level>"
    if len(field) > QUOTE_LIMIT_CHARS or not field.isprintable():
        field = quoted(field)
    return f"{shown_path(path)}: {field}: {message}"


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
