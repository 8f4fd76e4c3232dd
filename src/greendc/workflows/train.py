"""Fit the facility model on telemetry and write it, with its held-out accuracy (ASHRAE Guideline 14)."""

from __future__ import annotations

from pathlib import Path

from greendc.errors import UsageError
from greendc.learning.facility_model import FacilityModel
from greendc.telemetry.schema import Telemetry


def train(telemetry: Telemetry, out_path: Path, seed: int = 0) -> FacilityModel:
    """Fit a :class:`FacilityModel` with ``random_state=seed`` and save it to ``out_path`` (``.gdm``).

    Telemetry too short or too uniform to learn from is a :class:`UsageError` naming why; nothing is written.
    """
    try:
        model = FacilityModel(random_state=seed).fit(telemetry)
    except ValueError as error:
        raise UsageError(str(error)) from error
    model.save(out_path)
    return model
