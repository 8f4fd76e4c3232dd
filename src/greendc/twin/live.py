"""Observations that read EnergyPlus's sensors only when a controller looks at them.

A read through the EnergyPlus API costs about a microsecond on a small machine, and a full observation
holds about 35 values; at 35,040 timesteps a year, reading them all for a controller that looks at two
(trim-and-respond reads the inlets) would cost more than a second per run. These objects have the same
attributes as :class:`~greendc.control.base.Observation` and :class:`~greendc.control.base.ZoneObservation`
and read each value once, on first access, during the controller's ``act``. Afterwards EnergyPlus has
moved on: reading a value not yet read raises, and :meth:`LiveObservation.freeze` makes a plain copy for
anyone who keeps observations (the Gymnasium wrapper does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from greendc.control.base import Observation, ZoneObservation


class ExpiredObservationError(RuntimeError):
    """A live observation was read after its timestep ended."""


class SensorReader:
    """Reads and caches sensor values of the current timestep through one C function."""

    __slots__ = ("_cache", "_get", "_pointer", "open")

    def __init__(self, get: Callable[[Any, int], float], pointer: Any):
        self._get = get
        self._pointer = pointer
        self._cache: dict[int, float] = {}
        self.open = False

    def start_step(self) -> None:
        self._cache = {}
        self.open = True

    def value(self, handle: int) -> float:
        cached = self._cache.get(handle)
        if cached is not None:
            return cached
        if not self.open:
            raise ExpiredObservationError("this observation's timestep has ended; keep observation.freeze() instead")
        value = self._cache[handle] = self._get(self._pointer, handle)
        return value


def _sensor(index: int) -> property:
    return property(lambda self: self._reader.value(self._handles[index]))


class LiveZoneObservation:
    """A zone's sensors, read on first access (see :class:`~greendc.control.base.ZoneObservation`).

    ``handles`` holds, in order, CPU power, server fan power and then the handles of
    ``ZoneObservation``'s fields after ``it_power_w``.
    """

    __slots__ = ("_handles", "_reader")

    def __init__(self, reader: SensorReader, handles: tuple[int, ...]):
        self._reader = reader
        self._handles = handles

    @property
    def it_power_w(self) -> float:
        return self._reader.value(self._handles[0]) + self._reader.value(self._handles[1])

    zone_air_temp_c = _sensor(2)
    inlet_temp_c = _sensor(3)
    inlet_dew_point_c = _sensor(4)
    inlet_relative_humidity_pct = _sensor(5)
    supply_air_temp_c = _sensor(6)
    supply_air_setpoint_c = _sensor(7)
    zone_cooling_setpoint_c = _sensor(8)
    supply_fan_power_w = _sensor(9)

    def freeze(self) -> ZoneObservation:
        return ZoneObservation(*(getattr(self, name) for name in ZoneObservation._fields))


class LiveObservation:
    """The facility's sensors at the end of a timestep, read on first access.

    ``site_handles``: outdoor dry-bulb, wet-bulb, relative humidity, dew point, facility power;
    ``cooling_handles``: column name -> handle of each cooling power component; ``water_handle``: the
    chilled-water setpoint schedule (None without a plant).
    """

    __slots__ = ("_cooling", "_handles", "_reader", "_water", "day", "hour", "minute", "month", "zones")

    def __init__(self, month: int, day: int, hour: int, minute: int, zones: dict[str, LiveZoneObservation],
                 reader: SensorReader, site_handles: tuple[int, ...], cooling_handles: dict[str, int],
                 water_handle: int | None):
        self.month, self.day, self.hour, self.minute = month, day, hour, minute
        self.zones = zones
        self._reader = reader
        self._handles = site_handles
        self._cooling = cooling_handles
        self._water = water_handle

    outdoor_dry_bulb_c = _sensor(0)
    outdoor_wet_bulb_c = _sensor(1)
    outdoor_relative_humidity_pct = _sensor(2)
    outdoor_dew_point_c = _sensor(3)
    facility_power_w = _sensor(4)

    @property
    def it_power_w(self) -> float:
        return sum(zone.it_power_w for zone in self.zones.values())

    @property
    def cooling_power_by_component_w(self) -> dict[str, float]:
        value = self._reader.value
        return {column: value(handle) for column, handle in self._cooling.items()}

    @property
    def cooling_power_w(self) -> float:
        value = self._reader.value
        return float(sum(value(handle) for handle in self._cooling.values()))

    @property
    def chilled_water_setpoint_c(self) -> float | None:
        return None if self._water is None else self._reader.value(self._water)

    hottest_inlet_c = Observation.hottest_inlet_c
    mean_zone_air_temp_c = Observation.mean_zone_air_temp_c

    def freeze(self) -> Observation:
        """A plain :class:`Observation` with every value read now."""
        zones = {name: zone.freeze() for name, zone in self.zones.items()}
        return Observation(
            self.month, self.day, self.hour, self.minute, self.outdoor_dry_bulb_c, self.outdoor_wet_bulb_c,
            self.outdoor_relative_humidity_pct, self.outdoor_dew_point_c, zones,
            sum(zone.it_power_w for zone in zones.values()), self.cooling_power_w, self.facility_power_w,
            self.chilled_water_setpoint_c, self.cooling_power_by_component_w,
        )
