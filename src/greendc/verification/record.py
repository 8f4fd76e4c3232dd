"""The verification record: what ``greendc verify --json`` writes and carbon, the service and an auditor read.

One format for both methods (a baseline model over a reporting period, IPMVP Option C; or randomized A/B
switching within one period). Energy is in kWh; fractions are 0-1; the interval is at ``confidence`` (a
two-sided interval, e.g. 90 %: 5 % below ``avoided_kwh_lower`` and 5 % above ``avoided_kwh_upper``).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from greendc.atomic import write_json_atomic
from greendc.files import InputFileError, read_json_file
from greendc.validation import bracketed

RECORD_KIND = "greendc-verification"
#: A verification record of a site-year with monthly rows is a few kilobytes.
MAX_RECORD_BYTES = 4 * 1024 * 1024

Energy = Literal["facility", "cooling"]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Record):
    """A period of metered data: first and last interval (interval-end times, local) and its length."""

    start: datetime
    end: datetime
    hours: Annotated[float, Field(ge=0)]


class IndependentVariable(_Record):
    """A variable the baseline model predicts from, with where it came from and the range the baseline saw."""

    name: str
    unit: str
    source: str
    baseline_min: Finite
    baseline_max: Finite
    reporting_min: Finite | None = None
    reporting_max: Finite | None = None


class ModelStatistics(_Record):
    """ASHRAE Guideline 14 goodness of fit of the baseline model, with the limits it was held to."""

    interval: Literal["hourly"]
    observations: Annotated[int, Field(ge=1)]
    parameters: Annotated[int, Field(ge=1)]
    cv_rmse: Fraction
    cv_rmse_limit: Fraction
    nmbe: Finite
    nmbe_limit: Fraction
    r2: Finite
    lag1_autocorrelation: Finite
    effective_observations: Annotated[float, Field(gt=0)]
    passes: bool


class Month(_Record):
    """One calendar month of the reporting period (the same fields as the total)."""

    month: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")]
    hours: Annotated[float, Field(ge=0)]
    adjusted_baseline_kwh: Finite
    measured_kwh: Finite
    avoided_kwh: Finite
    avoided_kwh_lower: Finite
    avoided_kwh_upper: Finite


class Adjustment(_Record):
    """A non-routine adjustment or exclusion as it was applied (IPMVP: changes in static factors)."""

    kind: Literal["exclude", "adjust-baseline"]
    start: datetime
    end: datetime
    reason: str
    hours: Annotated[float, Field(ge=0)]
    energy_kwh: Finite = 0.0


class Verification(_Record):
    """A verified saving: the JSON contract of ``greendc verify``."""

    kind: Literal["greendc-verification"] = RECORD_KIND
    schema_version: Literal[1] = 1
    method: str
    ipmvp_option: str
    energy: Energy
    confidence: Annotated[float, Field(gt=0, lt=100)]
    avoided_kwh: Finite
    avoided_kwh_lower: Finite
    avoided_kwh_upper: Finite
    adjusted_baseline_kwh: Finite
    measured_kwh: Finite
    savings_fraction: Finite
    #: The interval's half-width over the avoided energy; None when nothing was avoided.
    fractional_savings_uncertainty: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None
    distinguishable_from_zero: bool
    conclusion: str
    baseline_period: Period
    reporting_period: Period
    independent_variables: list[IndependentVariable]
    it_load_signal: str
    cv_rmse: Fraction
    nmbe: Finite
    r2: Finite
    statistics: ModelStatistics
    uncertainty_components_kwh: dict[str, Annotated[float, Field(ge=0)]]
    monthly: list[Month]
    adjustments: list[Adjustment] = []
    #: Hours of both periods left out because an interval or a value was missing.
    hours_without_data: Annotated[float, Field(ge=0)] = 0.0
    baseline_controller: str = ""
    candidate_controller: str = ""
    baseline_source: str
    reporting_source: str
    notes: list[str] = []

    @model_validator(mode="after")
    def _consistent(self) -> Verification:
        if not self.avoided_kwh_lower <= self.avoided_kwh <= self.avoided_kwh_upper:
            raise ValueError("avoided_kwh must lie within avoided_kwh_lower and avoided_kwh_upper")
        if not self.monthly:
            raise ValueError("monthly: a verification has at least one month")
        months = sum(m.avoided_kwh for m in self.monthly)
        if abs(months - self.avoided_kwh) > 1e-6 * max(1.0, abs(self.avoided_kwh)) + 1e-3:
            raise ValueError("the months' avoided_kwh do not add up to avoided_kwh")
        return self

    @property
    def avoided_mwh(self) -> float:
        return self.avoided_kwh / 1000.0


def write_verification(record: Verification, path: Path) -> Path:
    """Write the record as JSON, atomically (a reader never sees half a file)."""
    return write_json_atomic(path, json.loads(record.model_dump_json()))


def read_verification(path: Path | str) -> Verification:
    """Read a ``greendc verify --json`` record; any problem is one :class:`InputFileError` naming the field."""
    data = read_json_file(path, MAX_RECORD_BYTES, "verification record")
    if not isinstance(data, dict) or data.get("kind") != RECORD_KIND:
        raise InputFileError(path, "kind", f"not a greendc verification record (kind must be {RECORD_KIND!r})")
    try:
        return Verification.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        raise InputFileError(path, bracketed(first["loc"]), first["msg"]) from None
