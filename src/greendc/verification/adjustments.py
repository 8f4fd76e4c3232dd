"""Non-routine adjustments (IPMVP Core Concepts 2022, 4.6): changes that are not the measure, written down.

A YAML file lists periods to leave out (a meter fault, a hall being commissioned, a chiller replaced) and
changes of static factors to add to the adjusted baseline (a hall added after the baseline year, whose
constant load the baseline model cannot know)::

    exclude:
      - {start: 2024-03-04 00:00, end: 2024-03-11 00:00, reason: "chiller 2 replaced"}
    adjust_baseline:
      - {start: 2024-06-01 00:00, end: 2025-01-01 00:00, energy_kwh_per_hour: 12.5,
         reason: "hall C added: lighting and CRAH fans, 12.5 kW measured at commissioning"}

Times are interval ends, local, like the telemetry's; a period covers start < time <= end. Each adjustment
is listed in the verification record with the hours and energy it moved.
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Annotated

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from greendc.files import InputFileError, load_yaml_mapping
from greendc.validation import bracketed, first_problem
from greendc.verification.meter_data import VerificationRefusedError
from greendc.verification.record import Adjustment


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Window(_Strict):
    start: datetime
    end: datetime
    reason: Annotated[str, Field(min_length=3, description="What happened, for the auditor")]

    @model_validator(mode="after")
    def _ordered(self) -> _Window:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("give local times without a time zone, as the telemetry's")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def covers(self, index: pd.DatetimeIndex) -> pd.Series:
        return pd.Series((index > pd.Timestamp(self.start)) & (index <= pd.Timestamp(self.end)), index=index)


class Exclusion(_Window):
    """Hours left out of the baseline fit or the reporting period."""


class BaselineAdjustment(_Window):
    """Energy added to (or, negative, removed from) the adjusted baseline in every hour of the window."""

    energy_kwh_per_hour: Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)]


class Adjustments(_Strict):
    """The non-routine adjustments of a verification. Windows of one kind must not overlap: an hour excluded
    twice says nothing more, an hour adjusted twice would count the same change twice."""

    exclude: list[Exclusion] = []
    adjust_baseline: list[BaselineAdjustment] = []

    def exclusion_windows(self) -> tuple[tuple[pd.Timestamp, pd.Timestamp], ...]:
        """Each exclusion's start and end, the gaps in the telemetry's time axis they excuse."""
        return tuple((pd.Timestamp(w.start), pd.Timestamp(w.end)) for w in self.exclude)

    @model_validator(mode="after")
    def _apart(self) -> Adjustments:
        for kind in ("exclude", "adjust_baseline"):
            windows = sorted(enumerate(getattr(self, kind)), key=lambda item: item[1].start)
            for (first, a), (second, b) in pairwise(windows):
                if b.start < a.end:
                    raise ValueError(f"{kind}[{first}] and {kind}[{second}] overlap; give each hour once")
        return self


def load_adjustments(path: Path | str) -> Adjustments:
    """Read an adjustments YAML; a problem is one :class:`InputFileError` naming the field and the range."""
    data = load_yaml_mapping(path, "file of adjustments")
    try:
        return Adjustments.model_validate(data)
    except ValidationError as error:
        location, message = first_problem(error, Adjustments, "unknown key (the file takes exclude, adjust_baseline)")
        raise InputFileError(path, bracketed(location), message) from None


def apply_exclusions(frame: pd.DataFrame, adjustments: Adjustments) -> tuple[pd.DataFrame, list[Adjustment]]:
    """``frame`` without the excluded hours, and what each exclusion removed."""
    applied = []
    keep = pd.Series(True, index=frame.index)
    for window in adjustments.exclude:
        covered = window.covers(frame.index)
        hours = float((covered & keep).sum())
        keep &= ~covered
        applied.append(Adjustment(kind="exclude", start=window.start, end=window.end, reason=window.reason,
                                  hours=hours, energy_kwh=0.0))
    return frame[keep], applied


def baseline_adjustment_kwh(index: pd.DatetimeIndex, adjustments: Adjustments) -> tuple[pd.Series, list[Adjustment]]:
    """Energy to add to each reporting hour's adjusted baseline, and what each adjustment added."""
    added = pd.Series(0.0, index=index)
    applied = []
    for window in adjustments.adjust_baseline:
        covered = window.covers(index)
        added[covered] += window.energy_kwh_per_hour
        if not covered.any():
            raise VerificationRefusedError(f"adjust_baseline ({window.start} to {window.end}, {window.reason!r}) "
                                           "covers no hour of the reporting period")
        applied.append(Adjustment(kind="adjust-baseline", start=window.start, end=window.end, reason=window.reason,
                                  hours=float(covered.sum()),
                                  energy_kwh=float(covered.sum() * window.energy_kwh_per_hour)))
    return added, applied
