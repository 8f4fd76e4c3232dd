"""Sensor faults injected into what a controller observes, to test it before trusting it.

A faults file (``greendc simulate|bench ... --faults FAULTS.yaml``) lists faults under ``faults:``::

    faults:
      - {sensor: West Hall/inlet_temp_c, kind: offset, value_k: -10, start: "07-05 00:00", hours: 48}
      - {sensor: East Hall/*, kind: nan, start: "07-06 12:00", hours: 6}
      - {sensor: outdoor_dry_bulb_c, kind: stale, every_hours: 3, start: "07-05 00:00", hours: 48}

``sensor`` is a telemetry column of a sensor the registry (``greendc.telemetry.sensors``) marks as observed:
a zone sensor as ``Zone Name/<column>``, a facility sensor by its bare column, or ``Zone Name/*`` for every
observed sensor of a zone. The zone names are checked against the site when the run starts
(:func:`check_fault_zones`). ``start`` is ``"MM-DD HH:MM"`` in the run calendar (a year without a leap day,
as the runner's), ``hours`` how long the fault lasts. A reading taken at time ``t`` (a timestep's end,
``Observation.month/day/hour/minute``) is faulted when ``start <= t < start + hours``. The kinds:

- ``nan``: the reading is NaN (a sensor reporting garbage);
- ``none``: the reading is None (a sensor that gave nothing: a lost packet, a dead gateway);
- ``stuck``: the reading stays at the value it had at the first faulted reading (a frozen transmitter);
- ``offset``: true value + ``value_k`` (a miscalibrated or displaced sensor);
- ``spike``: true value + ``value_k`` during the first ``for_hours`` of every ``every_hours``, counted from
  the start of the window (an intermittent fault, e.g. a sensor in the sun or near an exhaust);
- ``stale``: the reading updates only every ``every_hours`` (default 1 h), counted from the start of the
  window: it holds the value of the first reading at or after each update time (a gateway polling late, a
  BMS trend cache). A stale reading is true at every update and lags in between, unlike ``stuck``.

``value_k`` is required for ``offset`` and ``spike`` (K, or the sensor's own unit for a non-temperature);
``every_hours`` and ``for_hours`` are required for ``spike`` (``for_hours < every_hours``), ``every_hours``
is optional for ``stale``; each is refused where it means nothing, like any unknown key.

Faults apply in the order of the file, each to the value the previous ones left. Only the named column is
faulted: a zone's IT power under a fault does not change the facility's IT power, which is a meter of its own.
What EnergyPlus simulates and the runner records stays true: :class:`FaultInjectingController` wraps the
controller and changes only the observation it hands on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from greendc.errors import UsageError, quoted
from greendc.files import InputFileError, load_yaml_mapping
from greendc.telemetry.contract import Action, ControlContext, Controller, Observation, ZoneObservation, frozen
from greendc.telemetry.sensors import FACILITY
from greendc.validation import bracketed, first_problem

FaultKind = Literal["nan", "none", "stuck", "offset", "spike", "stale"]
#: ``Zone Name/*``: every observed sensor of the zone.
ALL_ZONE_SENSORS = "*"
#: The run calendar's year: the runner's (``greendc.twin.runner.run_period_calendar``), without a leap day.
CALENDAR_YEAR = 2001
#: How often a ``stale`` reading updates unless the file says, h.
STALE_DEFAULT_EVERY_HOURS = 1.0

_ZONE_COLUMNS = frozenset(ZoneObservation._fields)
_FACILITY_COLUMNS = frozenset(sensor.column for sensor in FACILITY if sensor.observed)
_START = re.compile(r"(\d{2})-(\d{2}) (\d{2}):(\d{2})")
_NEEDS_VALUE = ("offset", "spike")
_PERIODIC = {"every_hours": ("spike", "stale"), "for_hours": ("spike",)}


class FaultsFileError(InputFileError):
    """A faults file that cannot be used: ``file: faults[i].field: message``."""


def split_sensor(sensor: str) -> tuple[str | None, str]:
    """``(zone, column)`` of a fault's sensor: ``(None, column)`` for a facility sensor."""
    if "/" not in sensor:
        return None, sensor
    zone, column = sensor.rsplit("/", 1)
    return zone, column


class SensorFault(BaseModel):
    """One fault of a faults file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sensor: str = Field(min_length=1, max_length=200)
    kind: FaultKind
    #: ``"MM-DD HH:MM"``: when the fault starts, in the run calendar.
    start: str
    #: How long the fault lasts, h.
    hours: float = Field(gt=0, le=8760, allow_inf_nan=False)
    #: Added to the reading for ``offset`` and ``spike``, K (or the sensor's unit).
    value_k: float | None = Field(default=None, allow_inf_nan=False, validate_default=True)
    #: ``spike``: the period of the spikes; ``stale``: how often the reading updates, h.
    every_hours: float | None = Field(default=None, gt=0, allow_inf_nan=False, validate_default=True)
    #: ``spike``: how long each spike lasts, h (less than ``every_hours``).
    for_hours: float | None = Field(default=None, gt=0, allow_inf_nan=False, validate_default=True)

    @field_validator("sensor")
    @classmethod
    def _observed_sensor(cls, sensor: str) -> str:
        zone, column = split_sensor(sensor)
        if zone is None:
            if column in _ZONE_COLUMNS and column not in _FACILITY_COLUMNS:
                raise ValueError(f"{quoted(column)} is a zone sensor: write 'Zone Name/{column}' (or 'Zone Name/*' "
                                 "for all of a zone's sensors)")
            if column not in _FACILITY_COLUMNS:
                raise ValueError(f"{quoted(column)} is not an observed facility sensor; choose from "
                                 f"{', '.join(sorted(_FACILITY_COLUMNS))}, or 'Zone Name/<zone sensor>' or "
                                 "'Zone Name/*'")
            return sensor
        if not zone.strip():
            raise ValueError("the zone name before the '/' is empty")
        if column != ALL_ZONE_SENSORS and column not in _ZONE_COLUMNS:
            raise ValueError(f"{quoted(column)} is not an observed zone sensor; choose from "
                             f"{', '.join(sorted(_ZONE_COLUMNS))} or * (all of them)")
        return sensor

    @field_validator("start")
    @classmethod
    def _real_time(cls, start: str) -> str:
        _start_time(start)
        return start

    @field_validator("value_k")
    @classmethod
    def _value_where_it_means_something(cls, value: float | None, info: ValidationInfo) -> float | None:
        kind = info.data.get("kind")
        if kind is None:  # the kind itself was refused; that is the error to report
            return value
        if kind in _NEEDS_VALUE and value is None:
            raise ValueError(f"required for kind {kind} (the K added to the reading)")
        if kind not in _NEEDS_VALUE and value is not None:
            raise ValueError(f"means nothing for kind {kind} (only offset and spike take one); remove it")
        return value

    @field_validator("every_hours", "for_hours")
    @classmethod
    def _period_where_it_means_something(cls, value: float | None, info: ValidationInfo) -> float | None:
        kind = info.data.get("kind")
        if kind is None:
            return value
        kinds = _PERIODIC[info.field_name]
        if value is not None and kind not in kinds:
            raise ValueError(f"means nothing for kind {kind} (only {' and '.join(kinds)} take one); remove it")
        if value is None and kind == "spike":
            raise ValueError("required for kind spike")
        if info.field_name == "for_hours" and value is not None:
            every = info.data.get("every_hours")
            if every is not None and value >= every:
                raise ValueError(f"must be less than every_hours ({every:g}): a spike that never ends is an offset")
        return value

    @property
    def zone(self) -> str | None:
        return split_sensor(self.sensor)[0]

    @property
    def column(self) -> str:
        return split_sensor(self.sensor)[1]

    def start_minute(self) -> float:
        """Minutes from 01-01 00:00 of the run calendar to the start."""
        return minutes_into_year(_start_time(self.start))

    def describe(self) -> str:
        """One line, e.g. ``West Hall/inlet_temp_c offset -10 K 07-05 00:00 for 48 h``."""
        what = self.kind
        if self.kind == "offset":
            what += f" {self.value_k:+g} K"
        elif self.kind == "spike":
            what += f" {self.value_k:+g} K for {self.for_hours:g} h every {self.every_hours:g} h"
        elif self.kind == "stale":
            what += f" updating every {self.stale_every_hours:g} h"
        return f"{self.sensor} {what} {self.start} for {self.hours:g} h"

    @property
    def stale_every_hours(self) -> float:
        return self.every_hours if self.every_hours is not None else STALE_DEFAULT_EVERY_HOURS


class FaultsFile(BaseModel):
    """A faults file: its list of faults, in the order they apply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    faults: list[SensorFault] = Field(min_length=1, max_length=1000)


def _start_time(start: str) -> datetime:
    match = _START.fullmatch(start)
    if match is None:
        raise ValueError('must be "MM-DD HH:MM", e.g. "07-05 00:00"')
    month, day, hour, minute = (int(part) for part in match.groups())
    try:
        return datetime(CALENDAR_YEAR, month, day, hour, minute)
    except ValueError as error:
        raise ValueError(f"not a date and time of the run calendar, a year without a leap day with hours 00-23 "
                         f"({error})") from None


def minutes_into_year(moment: datetime) -> float:
    """Minutes from 01-01 00:00 of the moment's year."""
    return (moment - datetime(moment.year, 1, 1)).total_seconds() / 60.0


_DAYS_BEFORE_MONTH = [0, *[minutes_into_year(datetime(CALENDAR_YEAR, m, 1)) / 1440.0 for m in range(1, 13)]]


def reading_minute(observation: Observation) -> float:
    """When an observation's readings were taken (its timestep's end), in minutes from 01-01 00:00."""
    day = _DAYS_BEFORE_MONTH[observation.month] + observation.day - 1
    return day * 1440.0 + observation.hour * 60.0 + observation.minute


def calendar_of_reading_minute(minute_of_year: float) -> tuple[int, int, int, int]:
    """The inverse of :func:`reading_minute`: ``(month, day, hour, minute)`` of a timestep that ends
    ``minute_of_year`` minutes after 01-01 00:00 (``hour`` the hour it starts in, ``minute`` 1-60)."""
    end = round(minute_of_year)
    inside = end - 1  # a minute inside the step, so that a step ending at midnight belongs to its day
    day_of_year, minute_of_day = divmod(inside, 1440)
    month = next(m for m in range(12, 0, -1) if _DAYS_BEFORE_MONTH[m] <= day_of_year)
    hour = minute_of_day // 60
    return month, int(day_of_year - _DAYS_BEFORE_MONTH[month]) + 1, hour, end - (day_of_year * 1440 + hour * 60)


def load_faults(path: Path | str) -> tuple[SensorFault, ...]:
    """Read and check a faults file; every problem is one :class:`FaultsFileError` naming the entry and field."""
    try:
        raw = load_yaml_mapping(path, what="faults file")
    except InputFileError as error:
        raise FaultsFileError(error.file, error.field, error.message) from None
    try:
        return tuple(FaultsFile.model_validate(raw).faults)
    except ValidationError as error:
        location, message = first_problem(error, FaultsFile, "unknown key (a fault has sensor, kind, start, "
                                                             "hours, value_k, every_hours, for_hours)")
        raise FaultsFileError(path, bracketed(location), message) from None


def check_fault_zones(faults: Sequence[SensorFault], zone_names: Sequence[str]) -> None:
    """Refuse a fault on a zone the site does not have (:class:`UsageError` naming the entry and the zones)."""
    for index, fault in enumerate(faults):
        if fault.zone is not None and fault.zone not in zone_names:
            raise UsageError(f"faults[{index}].sensor: the site has no zone {quoted(fault.zone)}; its zones are "
                             f"{', '.join(zone_names)}")


_UNSET = object()


class _Target:
    """One faulted column of one zone (``zone`` None: a facility sensor), with what its fault remembers."""

    __slots__ = ("column", "held", "update", "zone")

    def __init__(self, zone: str | None, column: str):
        self.zone, self.column = zone, column
        self.held: Any = _UNSET
        self.update = -1


class _Window:
    """A fault, when it applies (minutes from 01-01 00:00) and the columns it applies to."""

    def __init__(self, fault: SensorFault):
        self.fault = fault
        self.start_min = fault.start_minute()
        self.end_min = self.start_min + fault.hours * 60.0
        zone, column = fault.zone, fault.column
        columns = ZoneObservation._fields if column == ALL_ZONE_SENSORS else (column,)
        self.targets = [_Target(zone, name) for name in columns]

    def faulted(self, target: _Target, value: Any, elapsed_min: float) -> Any:
        """The reading under this fault, ``elapsed_min`` after it started."""
        fault, kind = self.fault, self.fault.kind
        if kind == "nan":
            return math.nan
        if kind == "none":
            return None
        if kind == "stuck":
            if target.held is _UNSET:
                target.held = value
            return target.held
        if kind == "stale":
            update = int(elapsed_min // (fault.stale_every_hours * 60.0))
            if update != target.update:
                target.held, target.update = value, update
            return target.held
        if value is None:  # offset and spike add to a reading; a sensor that gave nothing stays so
            return None
        assert fault.value_k is not None
        if kind == "offset":
            return value + fault.value_k
        assert fault.every_hours is not None and fault.for_hours is not None
        in_spike = elapsed_min % (fault.every_hours * 60.0) < fault.for_hours * 60.0
        return value + fault.value_k if in_spike else value


class FaultInjectingController:
    """A controller that sees its sensors through faults; EnergyPlus and the recorded telemetry stay true.

    It implements the controller protocol around ``controller``: ``reset`` checks the faults' zones against
    the site and starts every fault afresh; ``act`` hands the inner controller the live observation when no
    fault applies, and otherwise a frozen copy (:func:`~greendc.telemetry.contract.frozen`) with the faulted
    values. ``name``, ``decision_log`` and any other attribute are the inner controller's.
    """

    def __init__(self, controller: Controller, faults: Sequence[SensorFault]):
        self.inner = controller
        self.faults = tuple(faults)
        self.name = controller.name
        self._windows: list[_Window] = []

    @property
    def decision_log(self) -> Any:
        return getattr(self.inner, "decision_log", None)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def reset(self, context: ControlContext) -> Action:
        check_fault_zones(self.faults, context.zone_names)
        self._windows = [_Window(fault) for fault in self.faults]
        return self.inner.reset(context)

    def act(self, observation: Observation) -> Action:
        now = reading_minute(observation)
        active = [window for window in self._windows if window.start_min <= now < window.end_min]
        if active:
            observation = _with_faults(frozen(observation), active, now)
        return self.inner.act(observation)


def _with_faults(observation: Observation, active: list[_Window], now: float) -> Observation:
    """A frozen observation with the active windows' faults applied, in order."""
    facility: dict[str, Any] = {}
    zones: dict[str, dict[str, Any]] = {}
    for window in active:
        elapsed = now - window.start_min
        for target in window.targets:
            if target.zone is None:
                value = facility.get(target.column, getattr(observation, target.column))
                facility[target.column] = window.faulted(target, value, elapsed)
            else:
                changes = zones.setdefault(target.zone, {})
                value = changes.get(target.column, getattr(observation.zones[target.zone], target.column))
                changes[target.column] = window.faulted(target, value, elapsed)
    if zones:
        facility["zones"] = {name: zone._replace(**zones[name]) if name in zones else zone
                             for name, zone in observation.zones.items()}
    return observation._replace(**facility)


def describe_faults(faults: Sequence[SensorFault]) -> list[str]:
    """One line per fault (:meth:`SensorFault.describe`), for a run's summary."""
    return [fault.describe() for fault in faults]

