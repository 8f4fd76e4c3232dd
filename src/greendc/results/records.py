"""The typed records a run and a benchmark leave behind, each with one writer and one reader.

- :class:`RunSummary` is a run's ``summary.json``: energy by end use (kWh), PUE, water, inlet conditions
  against the ASHRAE envelope, the same per month (:class:`MonthSummary`), and the facts of the run (site,
  grid region, controller, weather, EnergyPlus's warnings, the ai's decision statistics).
- :class:`BenchRecord` is one row of a benchmark's JSON: one controller in one climate, or the hindsight
  oracle's combination of constant-setpoint runs (:class:`OracleMonth` per month).

Results, carbon and the explanations read these files through :meth:`RunSummary.read` and
:func:`read_bench_records` only; a file that does not match is one :class:`RecordFileError` naming the file
and the field. Non-finite numbers (a PUE without IT energy) are written as ``null`` and read as ``None``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from greendc.atomic import write_json_atomic
from greendc.errors import quoted
from greendc.files import InputFileError, read_json_file

#: A run's or a benchmark's JSON is written by greendc: 64 MiB is far above a year of monthly figures.
MAX_RECORD_FILE_BYTES = 64 * 1024 * 1024


def _finite_or_none(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


#: A ratio that does not exist for a period (PUE of a month without IT energy) is ``None``, never NaN.
OptionalRatio = Annotated[float | None, BeforeValidator(_finite_or_none)]
EnergyKwh = Annotated[float, Field(allow_inf_nan=False)]


class RecordFileError(InputFileError):
    """A ``summary.json`` or benchmark file that is not what greendc writes; names the file and the field."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnergyFigures(_Record):
    """Electricity by end use over a period (kWh), PUE (ISO/IEC 30134-2) and water (m3)."""

    it_kwh: EnergyKwh
    cooling_kwh: EnergyKwh
    facility_kwh: EnergyKwh
    fans_kwh: EnergyKwh = 0.0
    dx_coils_kwh: EnergyKwh = 0.0
    chiller_kwh: EnergyKwh = 0.0
    tower_kwh: EnergyKwh = 0.0
    pumps_kwh: EnergyKwh = 0.0
    evaporative_kwh: EnergyKwh = 0.0
    ups_losses_kwh: EnergyKwh = 0.0
    #: Inside ``it_kwh``: the servers' own fans, which warmer inlet air speeds up.
    server_fans_kwh: EnergyKwh = 0.0
    other_kwh: EnergyKwh = 0.0
    pue: OptionalRatio = None
    water_m3: EnergyKwh = 0.0

    #: The end uses that add up (with IT) to facility electricity; server fans are part of IT.
    END_USES: ClassVar[tuple[str, ...]] = ("fans", "dx_coils", "chiller", "tower", "pumps", "evaporative",
                                           "ups_losses", "other")

    def end_uses_kwh(self) -> dict[str, float]:
        """Cooling components, UPS losses and the rest, kWh, by end-use name."""
        return {name: getattr(self, f"{name}_kwh") for name in self.END_USES}


class InletCounts(_Record):
    """Timesteps outside the ASHRAE envelope (hottest, coolest and most humid inlet of each step)."""

    steps_above_27c: int = Field(ge=0)
    steps_above_32c: int = Field(ge=0)
    steps_below_18c: int = Field(ge=0)
    steps_humid: int = Field(ge=0)


class MonthSummary(EnergyFigures, InletCounts):
    """One calendar month of a run (by the month each timestep starts in)."""

    month: int = Field(ge=1, le=12)
    inlet_max_c: float


class PeriodSummary(EnergyFigures, InletCounts):
    """What the telemetry of a run period says: energy, inlet conditions, and the same per month."""

    steps: int = Field(ge=0)
    timestep_h: float = Field(gt=0)
    inlet_max_c: float
    inlet_mean_c: float
    inlet_min_c: float
    inlet_p99_c: float
    inlet_dew_point_max_c: float
    inlet_dew_point_mean_c: float
    monthly: list[MonthSummary]


class ABScheduleRecord(_Record):
    """How a run switched between two controllers (``greendc.control.ab_schedule``); the telemetry's ``ab_arm``
    column says which one was in control over each row."""

    seed: int = Field(ge=0)
    block_days: int = Field(ge=1)
    candidate_controller: str
    baseline_controller: str
    #: The run-calendar day block 0 starts on, MM-DD (with the seed and block length: the whole schedule).
    first_block_day: str
    #: Blocks of each arm within the run (the first and last may be cut short by the run's ends).
    candidate_blocks: int = Field(ge=0)
    baseline_blocks: int = Field(ge=0)


class RunSummary(PeriodSummary):
    """A run's ``summary.json``: its period's figures and the facts of the run."""

    site: str = Field(min_length=1)
    grid_region: str = Field(min_length=1)
    controller: str
    controller_options: dict[str, str] = Field(default_factory=dict)
    weather: str
    wall_s: float = Field(ge=0)
    energyplus_warnings: int = Field(ge=0)
    energyplus_severe_errors: int = Field(ge=0)
    energyplus_severe_messages: list[str] = Field(default_factory=list)
    #: The IT equipment's design power (EU 2024/1364 P_DIT) and the IT halls' floor area, from the site file.
    installed_it_power_kw: float | None = Field(default=None, gt=0)
    it_floor_area_m2: float | None = Field(default=None, gt=0)
    #: Only for a controller that logs decisions (the ai).
    decisions: int | None = Field(default=None, ge=0)
    decision_ms_median: float | None = None
    decision_ms_p99: float | None = None
    guard_counts: dict[str, int] | None = None
    #: The sensor faults the controller observed through (``greendc.telemetry.faults``), one line each; the
    #: telemetry and these figures stay true. Empty: the controller saw the true sensors.
    faults: list[str] = Field(default_factory=list)
    #: Only for a run that switched between ``controller`` and a baseline (``--schedule ab``).
    ab_schedule: ABScheduleRecord | None = None

    def write(self, path: Path) -> Path:
        """Write ``summary.json`` atomically (the one writer of this file)."""
        return write_json_atomic(Path(path), self.model_dump(mode="json"))

    @classmethod
    def read(cls, path: Path | str) -> RunSummary:
        """Read a run's ``summary.json`` (``path`` may be the run folder); one error naming the field."""
        path = Path(path)
        if path.is_dir():
            path = path / "summary.json"
        return _validated(cls, _read_json(path, "run summary"), path)


class OracleMonth(_Record):
    """The hindsight oracle's choice in one month: the constant setpoints and that month's figures."""

    model_config = ConfigDict(extra="allow", frozen=True)
    month: int = Field(ge=1, le=12)


class BenchRecord(_Record):
    """One controller in one climate of a benchmark (energy kWh summed over the run period).

    A row that could not be made (an oracle without a safe point in some month) has only ``climate``,
    ``controller`` and ``error``.
    """

    climate: str
    controller: str
    error: str | None = None
    it_kwh: EnergyKwh | None = None
    cooling_kwh: EnergyKwh | None = None
    facility_kwh: EnergyKwh | None = None
    pue: OptionalRatio = None
    inlet_max_c: float | None = None
    steps_above_27c: int | None = Field(default=None, ge=0)
    steps_above_32c: int | None = Field(default=None, ge=0)
    steps_below_18c: int | None = Field(default=None, ge=0)
    steps_humid: int | None = Field(default=None, ge=0)
    wall_s: float | None = Field(default=None, ge=0)
    water_m3: EnergyKwh | None = None
    energyplus_severe_errors: int | None = Field(default=None, ge=0)
    #: The oracle's own: what it minimised, its inlet limit, how many runs it swept, its choice per month.
    objective: str | None = None
    inlet_limit_c: float | None = None
    swept_runs: int | None = Field(default=None, ge=0)
    monthly: list[OracleMonth] | None = None
    #: The hourly oracle's own: its limits (``temperature`` or ``temperature+humidity``), the hours it chose,
    #: those where no swept run met the limits, and how many hours each setpoint value was chosen.
    limits: str | None = None
    hours: int | None = Field(default=None, ge=0)
    hours_without_safe_run: int | None = Field(default=None, ge=0)
    setpoint_hours: dict[str, dict[str, int]] | None = None
    #: A controller that logs its decisions (the ai): how many decisions each guard took, and the faults its
    #: sensors were read through (``greendc.telemetry.faults``; the figures stay true).
    decisions: int | None = Field(default=None, ge=0)
    guard_counts: dict[str, int] | None = None
    faults: list[str] | None = None

    @classmethod
    def of_run(cls, climate: str, summary: RunSummary) -> BenchRecord:
        """The benchmark row of one run."""
        fields = ("controller", "it_kwh", "cooling_kwh", "facility_kwh", "pue", "inlet_max_c", "steps_above_27c",
                  "steps_above_32c", "steps_below_18c", "steps_humid", "wall_s", "water_m3",
                  "energyplus_severe_errors", "decisions", "guard_counts")
        return cls(climate=climate, faults=list(summary.faults) or None,
                   **{name: getattr(summary, name) for name in fields})

    def row(self) -> dict[str, Any]:
        """The record as a flat mapping without the fields it does not have (for tables)."""
        return self.model_dump(exclude_none=True)


def write_bench_records(path: Path | str, records: list[BenchRecord]) -> Path:
    """Write a benchmark's records as a JSON list (the one writer of this file)."""
    return write_json_atomic(Path(path), [record.model_dump(mode="json", exclude_none=True) for record in records])


def read_bench_records(path: Path | str) -> list[BenchRecord]:
    """Read a benchmark's JSON list of records; one error naming the record and the field."""
    path = Path(path)
    data = _read_json(path, "benchmark file")
    if not isinstance(data, list):
        raise RecordFileError(path, "<root>", "a benchmark file must be a JSON list of records")
    records = []
    for index, item in enumerate(data):
        records.append(_validated(BenchRecord, item, path, prefix=f"[{index}]"))
    return records


def _read_json(path: Path, what: str) -> Any:
    try:
        return read_json_file(path, MAX_RECORD_FILE_BYTES, what)
    except InputFileError as error:
        raise RecordFileError(error.file, error.field, error.message) from None


def _validated(model: type[_Record], data: Any, path: Path, prefix: str = "") -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        shown = "" if first["type"] == "missing" else f" (got {quoted(first.get('input'))})"
        raise RecordFileError(path, field.lstrip(".") or "<root>", f"{first['msg']}{shown}") from None
