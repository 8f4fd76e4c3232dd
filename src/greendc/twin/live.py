"""Observations that hand a controller EnergyPlus's sensor values as it looks at them.

The telemetry recorder (``greendc.twin.recorder``) copies every sensor's current value at the end of each
zone timestep, in compiled code, just before the controller is called; these objects read from that copy.
A read through the EnergyPlus API from Python instead costs one to three microseconds inside a run, where
every timestep starts with cold caches, and the ai's guards look at about fifteen values a step. Building a
full observation object at every step would cost the controllers that look at two (trim-and-respond reads
the inlets) or none (``default``) more than it saves, so these objects have the same attributes as
:class:`~greendc.telemetry.contract.Observation` and :class:`~greendc.telemetry.contract.ZoneObservation`
(made, like them, from the sensor registry's observed sensors) and look a value up only when it is read,
during the controller's ``act`` (see :class:`SensorReader` for afterwards);
:meth:`LiveObservation.freeze` makes a plain copy for anyone who keeps observations (the Gymnasium wrapper
does).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from greendc.telemetry.contract import Observation, ZoneObservation
from greendc.telemetry.sensors import FACILITY, ZONE, Derivation, Equipment, Sensor


class ExpiredObservationError(RuntimeError):
    """A live observation was read after its timestep ended."""


class SensorReader:
    """One timestep's sensor values, copied from the recorder's (``Recorder.latest``) on the first read.

    The runner makes one per timestep and closes it when the controller's ``act`` returns. An observation
    read during ``act`` keeps its own timestep's values afterwards; one that was not raises, since the
    recorder's copy has moved on by then.
    """

    __slots__ = ("_latest", "_values", "open")

    def __init__(self, latest: np.ndarray):
        self._latest = latest
        self._values: list[float] | None = None
        self.open = True

    def value(self, position: int) -> float:
        values = self._values
        if values is None:
            if not self.open:
                raise ExpiredObservationError("this observation's timestep has ended and it was not read during it; "
                                              "keep observation.freeze() instead")
            # Python floats, made once per step on the first read (a controller that looks at none pays none).
            values = self._values = self._latest.tolist()
        return values[position]


def _reads(sensors: list[Sensor]) -> tuple[str, ...]:
    """The recorded columns (without the zone) that observations of these sensors read, in order: each recorded
    sensor, then the sources of each sum."""
    recorded = [sensor.column for sensor in sensors if sensor.recorded]
    return (*recorded, *[source for sensor in sensors for source in sensor.sources if source not in recorded])


def _sensor(index: int, always: bool) -> property:
    """The sensor at the observation's ``index``-th position; one the twin may lack (its position None) is None."""
    if always:
        return property(lambda self: self._reader.value(self._positions[index]))
    return property(lambda self: None if self._positions[index] is None else self._reader.value(self._positions[index]))


def _sum_of(indices: list[int]) -> property:
    """The sum of the sensors at these positions, added in order (as the telemetry adds them)."""
    if len(indices) == 2:  # the zone's IT power (CPUs + fans), read at every step: no loop
        first, second = indices
        return property(lambda self: (self._reader.value(self._positions[first])
                                      + self._reader.value(self._positions[second])))

    def total(self: Any) -> float:
        value, positions = self._reader.value, self._positions
        result = value(positions[indices[0]])
        for index in indices[1:]:
            result += value(positions[index])
        return result

    return property(total)


def _sum_over_zones(column: str) -> property:
    """A facility sum of the zone column of the same name (added as ``sum`` adds them)."""
    of_zone = operator.attrgetter(column)
    return property(lambda self: sum(map(of_zone, self.zones.values())))


def _cooling_power(column: str) -> property:
    def total(self: Any) -> float:
        value = self._reader.value
        return float(sum(value(position) for position in self._cooling.values()))

    return property(total)


_FACILITY_SUMS: dict[Derivation, Callable[[str], property]] = {
    Derivation.SUM_OVER_ZONES: _sum_over_zones, Derivation.COOLING_POWER: _cooling_power}


def _sensor_properties(sensors: list[Sensor]) -> Callable[[type], type]:
    """A class decorator: a property for every one of ``sensors``, read at its position among the class's
    ``reads`` (made once, at import: the properties cost what hand-written ones do)."""

    def install(cls: type) -> type:
        reads: tuple[str, ...] = cls.reads
        for sensor in sensors:
            if sensor.recorded:
                made = _sensor(reads.index(sensor.column), sensor.equipment is Equipment.ALWAYS)
            elif sensor.derivation is Derivation.SUM_OF_SOURCES:
                made = _sum_of([reads.index(source) for source in sensor.sources])
            else:
                made = _FACILITY_SUMS[sensor.derivation](sensor.column)
            setattr(cls, sensor.column, made)
        return cls

    return install


_ZONE_OBSERVED = [sensor for sensor in ZONE if sensor.observed]
_FACILITY_OBSERVED = [sensor for sensor in FACILITY if sensor.observed]


@_sensor_properties(_ZONE_OBSERVED)
class LiveZoneObservation:
    """A zone's sensors, read on first access (see :class:`~greendc.telemetry.contract.ZoneObservation`).

    ``positions`` holds the reader's position of each of the zone's columns in :attr:`reads`.
    """

    __slots__ = ("_positions", "_reader")
    #: The zone's columns (without the zone) whose positions the runner hands over, in this order.
    reads = _reads(_ZONE_OBSERVED)

    def __init__(self, reader: SensorReader, positions: tuple[int, ...]):
        self._reader = reader
        self._positions = positions

    def freeze(self) -> ZoneObservation:
        return ZoneObservation(*(getattr(self, name) for name in ZoneObservation._fields))


@_sensor_properties(_FACILITY_OBSERVED)
class LiveObservation:
    """The facility's sensors at the end of a timestep, read on first access.

    ``positions``: the reader's position of each column of :attr:`reads` (None for one the twin lacks, such as
    the chilled-water setpoint without a plant); ``cooling_positions``: column name -> position of each
    cooling power component.
    """

    __slots__ = ("_cooling", "_positions", "_reader", "day", "hour", "minute", "month", "zones")
    #: The facility columns whose positions the runner hands over, in this order.
    reads = _reads(_FACILITY_OBSERVED)

    def __init__(self, month: int, day: int, hour: int, minute: int, zones: dict[str, LiveZoneObservation],
                 reader: SensorReader, positions: tuple[int | None, ...], cooling_positions: dict[str, int]):
        self.month, self.day, self.hour, self.minute = month, day, hour, minute
        self.zones = zones
        self._reader = reader
        self._positions = positions
        self._cooling = cooling_positions

    @property
    def cooling_power_by_component_w(self) -> dict[str, float]:
        value = self._reader.value
        return {column: value(position) for column, position in self._cooling.items()}

    hottest_inlet_c = Observation.hottest_inlet_c
    mean_zone_air_temp_c = Observation.mean_zone_air_temp_c

    def freeze(self) -> Observation:
        """A plain :class:`Observation` with every value read now."""
        zones = {name: zone.freeze() for name, zone in self.zones.items()}
        return Observation(**{name: zones if name == "zones" else getattr(self, name) for name in Observation._fields})

