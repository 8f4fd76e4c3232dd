"""Observations that hand a controller EnergyPlus's sensor values as it looks at them.

The telemetry recorder (``greendc.twin.recorder``) copies every sensor's current value at the end of each
zone timestep, in compiled code, just before the controller is called; these objects read from that copy.
A read through the EnergyPlus API from Python instead costs one to three microseconds inside a run, where
every timestep starts with cold caches, and the ai's guards look at about fifteen values a step. Building a
full observation object at every step would cost the controllers that look at two (trim-and-respond reads
the inlets) or none (``default``) more than it saves, so these objects have the same attributes as
:class:`~greendc.control.base.Observation` and :class:`~greendc.control.base.ZoneObservation` and look a
value up only when it is read, during the controller's ``act`` (see :class:`SensorReader` for afterwards);
:meth:`LiveObservation.freeze` makes a plain copy for anyone who keeps observations (the Gymnasium wrapper
does).
"""

from __future__ import annotations

import numpy as np

from greendc.control.base import Observation, ZoneObservation


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


def _sensor(index: int) -> property:
    return property(lambda self: self._reader.value(self._positions[index]))


class LiveZoneObservation:
    """A zone's sensors, read on first access (see :class:`~greendc.control.base.ZoneObservation`).

    ``positions`` holds the reader's positions of, in order, CPU power, server fan power and then
    ``ZoneObservation``'s fields after ``it_power_w``.
    """

    __slots__ = ("_positions", "_reader")

    def __init__(self, reader: SensorReader, positions: tuple[int, ...]):
        self._reader = reader
        self._positions = positions

    @property
    def it_power_w(self) -> float:
        return self._reader.value(self._positions[0]) + self._reader.value(self._positions[1])

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

    The reader's positions of: ``site_positions``: outdoor dry-bulb, wet-bulb, relative humidity, dew point,
    facility power; ``cooling_positions``: column name -> each cooling power component; ``water_position``: the
    chilled-water setpoint schedule (None without a plant).
    """

    __slots__ = ("_cooling", "_positions", "_reader", "_water", "day", "hour", "minute", "month", "zones")

    def __init__(self, month: int, day: int, hour: int, minute: int, zones: dict[str, LiveZoneObservation],
                 reader: SensorReader, site_positions: tuple[int, ...], cooling_positions: dict[str, int],
                 water_position: int | None):
        self.month, self.day, self.hour, self.minute = month, day, hour, minute
        self.zones = zones
        self._reader = reader
        self._positions = site_positions
        self._cooling = cooling_positions
        self._water = water_position

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
        return {column: value(position) for column, position in self._cooling.items()}

    @property
    def cooling_power_w(self) -> float:
        value = self._reader.value
        return float(sum(value(position) for position in self._cooling.values()))

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
