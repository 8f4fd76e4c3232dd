"""The controller contract: what a controller sees, what it may set, and what it knows of the site.

At every zone timestep a controller receives an :class:`Observation` and returns an :class:`Action`.
Setpoints it leaves as ``None`` stay with the model's own managers (the legacy control). When a run starts it
gets a :class:`ControlContext`: the zones, the site's safe setpoint bounds and its design setpoints (what the
legacy control holds), so that no controller needs to know the twin. The runner is the one place that clips
setpoints to the bounds before EnergyPlus sees them.

The observations' fields are the sensors the registry (``greendc.telemetry.sensors``) marks as observed, so
a sensor added there reaches controllers without another list to keep in step.
"""

from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from greendc.site.schema import Bounds, Setpoints
from greendc.telemetry.sensors import FACILITY, ZONE, Sensor


def _described(sensors: list[Sensor]) -> str:
    return "\n".join(f"- ``{s.column}`` ({s.unit}): {s.meaning}" for s in sensors)


_ZONE_OBSERVED = [sensor for sensor in ZONE if sensor.observed]
_FACILITY_OBSERVED = [sensor for sensor in FACILITY if sensor.observed]


# Named tuples rather than dataclasses: the runner builds one per zone every timestep (when a controller
# freezes its observation), and a frozen dataclass costs several times more to construct.
class ZoneObservation(namedtuple("ZoneObservation", [sensor.column for sensor in _ZONE_OBSERVED])):
    __slots__ = ()
    __doc__ = "One IT zone at the end of a timestep (the registry's observed zone sensors):\n\n" + _described(
        _ZONE_OBSERVED)


class Observation(namedtuple("Observation", ["month", "day", "hour", "minute",
                                             *[sensor.column for sensor in _FACILITY_OBSERVED], "zones",
                                             "cooling_power_by_component_w"], defaults=(None,))):
    __slots__ = ()
    __doc__ = ("The facility at the end of a timestep: ``month``, ``day``, ``hour`` (0-23, the hour the step "
               "starts in) and ``minute`` (the minute it ends at, 60 for a full hour); the registry's observed "
               "facility sensors (the chilled-water setpoint is None without a chiller plant):\n\n"
               + _described(_FACILITY_OBSERVED)
               + "\n\nthen ``zones`` (zone name -> :class:`ZoneObservation`) and ``cooling_power_by_component_w`` "
                 "(cooling power column -> W, or None).")

    @property
    def hottest_inlet_c(self) -> float:
        """The hottest ITE inlet that reads a value, C (NaN when none does)."""
        readings = [zone.inlet_temp_c for zone in self.zones.values() if not is_missing(zone.inlet_temp_c)]
        return max(readings) if readings else math.nan

    @property
    def mean_zone_air_temp_c(self) -> float:
        """The mean zone air temperature of the zones that read a value, C (NaN when none does)."""
        readings = [zone.zone_air_temp_c for zone in self.zones.values() if not is_missing(zone.zone_air_temp_c)]
        return sum(readings) / len(readings) if readings else math.nan


def is_missing(value: float | None) -> bool:
    """Whether a reading is missing: None (a sensor that gave nothing) and NaN are the same missing value."""
    return value is None or value != value or value in (math.inf, -math.inf)


def frozen(observation: Observation) -> Observation:
    """A copy of an observation that stays valid after its timestep.

    The runner hands controllers live observations that read EnergyPlus on access (see
    ``greendc.twin.live``); anyone who keeps an observation beyond ``act`` keeps this instead.
    """
    freeze = getattr(observation, "freeze", None)
    return freeze() if freeze is not None else observation


class Action(NamedTuple):
    """Setpoints to apply from the next timestep; ``None`` leaves the model's own control in charge.

    A named tuple (immutable, like the observations) because controllers make one almost every timestep
    and a frozen dataclass costs several times more to construct. Its fields are the registry's setpoint
    sensors (checked at import); unlike a sensor, a setpoint also needs its own actuator in the runner.
    """

    supply_air_setpoint_c: dict[str, float] | None = None
    zone_cooling_setpoint_c: dict[str, float] | None = None
    chilled_water_setpoint_c: float | None = None


_SETPOINTS = tuple(sensor.column for scope in (ZONE, FACILITY) for sensor in scope if sensor.setpoint)
if Action._fields != _SETPOINTS:
    raise ImportError(f"Action's fields {Action._fields} are not the registry's setpoints {_SETPOINTS}")


class DesignSetpoints(NamedTuple):
    """The site's own setpoints: what its legacy control (the ``default`` controller) holds, within the
    site's bounds. A controller that does not move a setpoint holds this value, so that controllers are
    compared under the same plant."""

    #: Range of the legacy single-zone supply-air reset, C.
    supply_air_reset_c: Bounds
    #: Zone cooling (return-air thermostat) setpoint, C.
    zone_cooling_c: float
    #: Chilled-water supply setpoint, C; None without a chiller plant.
    chilled_water_c: float | None


class AirSide(NamedTuple):
    """What a zone's air handler does to the air's moisture before the coil, as the site describes it (the
    plant of ``greendc.twin.builder``: outdoor-air economizer, then a direct evaporative stage).

    The economizer mixes outdoor air in while the outdoor dry bulb lies within its limits and the outdoor dew
    point stays at or below its high limit, and recirculates the zone's return air otherwise; a direct
    evaporative stage cools whatever it gets along that air's wet-bulb line (adding water) while the wet bulb
    of the air it treats is below its limit. None: the zone has no such stage.
    """

    economizer_max_dry_bulb_c: float | None = None
    economizer_max_dew_point_c: float | None = None
    economizer_min_dry_bulb_c: float | None = None
    direct_evaporative_max_wet_bulb_c: float | None = None
    direct_evaporative_min_dry_bulb_c: float | None = None


@dataclass(frozen=True)
class ControlContext:
    """Facts about the facility a controller may use when it starts."""

    zone_names: list[str]
    #: Safe bounds of every setpoint; the runner clips every action to them.
    bounds: Setpoints
    has_chiller_plant: bool
    timestep_h: float
    design: DesignSetpoints
    #: Each zone's IT design power, W (empty when unknown): what a learned model is checked against.
    zone_it_design_power_w: dict[str, float] = field(default_factory=dict)
    #: ``greendc.site.fingerprint.site_fingerprint`` of the site's plant ("" when unknown).
    site_fingerprint: str = ""
    #: Each zone's economizer and direct evaporative limits (empty when unknown; see :class:`AirSide`).
    air_side: dict[str, AirSide] = field(default_factory=dict)


class Controller(Protocol):
    """Anything with ``reset`` and ``act`` can drive the twin."""

    name: str

    def reset(self, context: ControlContext) -> Action:
        """Start a run; return the action for the first timestep."""
        ...

    def act(self, observation: Observation) -> Action:
        """Choose setpoints for the next timestep."""
        ...
