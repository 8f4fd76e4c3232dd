"""Fit the facility model on telemetry and write it, with its held-out accuracy (ASHRAE Guideline 14) and the
coverage of its calibrated uncertainty."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from greendc.errors import GreendcError, UsageError
from greendc.files import read_json_file, shown_path
from greendc.learning.facility_model import FacilityModel
from greendc.site.loader import SiteFileError, describe_validation_error, load_site
from greendc.site.schema import Site
from greendc.telemetry.schema import Telemetry
from greendc.workflows.explore import SITE_FILE

#: A site description is a few kilobytes; a site.json this large is not one.
MAX_SITE_JSON_BYTES = 8 * 2**20


def training_site(data: Path | str, site_file: Path | str | None = None) -> Site:
    """The site the telemetry at ``data`` comes from: ``site_file`` (YAML) when given, else the ``site.json``
    that ``greendc explore`` wrote into the folder ``data``; neither is a one-line :class:`UsageError`."""
    if site_file is not None:
        site, _ = load_site(site_file)
        return site
    recorded = Path(data) / SITE_FILE
    if not Path(data).is_dir() or not recorded.is_file():
        raise UsageError(f"{shown_path(data)}: no {SITE_FILE} beside the telemetry (greendc explore writes one); "
                         "give --site SITE.yaml, the site the telemetry comes from")
    raw = read_json_file(recorded, MAX_SITE_JSON_BYTES, "site description")  # its errors name the file
    try:
        return Site.model_validate(raw)
    except ValidationError as error:
        raise SiteFileError(describe_validation_error(recorded, error, Site)) from None


def train(telemetry: Telemetry, out_path: Path, site: Site, seed: int = 0,
          on_progress: Callable[[int, int], None] | None = None) -> FacilityModel:
    """Fit a :class:`FacilityModel` of ``site`` with ``random_state=seed`` and save it to ``out_path`` (``.gdm``).

    Telemetry that lacks a column of one of the site's zones, or too short or too uniform to learn from, is a
    :class:`UsageError` naming why; nothing is written. ``on_progress(done, total)`` follows the boosting rounds.
    """
    try:
        model = FacilityModel(random_state=seed).fit(telemetry, site, on_progress=on_progress)
    except GreendcError:
        raise
    except ValueError as error:
        raise UsageError(str(error)) from error
    model.save(out_path)
    return model
