"""What a controller sees and what it may set.

At every zone timestep a controller receives an :class:`Observation` and returns an :class:`Action`.
Setpoints it leaves as ``None`` stay with the model's own managers (the legacy control). The runner
clips every setpoint to the site's safe bounds before EnergyPlus sees it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from greendc.site.schema import Bounds, Setpoints


class ZoneObservation(NamedTuple):
    """One IT zone at the end of a timestep (temperatures in C, powers in W).

    A named tuple rather than a dataclass: the runner builds one per zone every timestep, and a
    frozen dataclass costs several times more to construct.
    """

    it_power_w: float
    zone_air_temp_c: float
    inlet_temp_c: float
    inlet_dew_point_c: float
    inlet_relative_humidity_pct: float
    supply_air_temp_c: float
    supply_air_setpoint_c: float
    zone_cooling_setpoint_c: float
    supply_fan_power_w: float


class Observation(NamedTuple):
    """The facility at the end of a timestep (a named tuple, for the same reason as ZoneObservation)."""

    month: int
    day: int
    hour: int
    minute: int
    outdoor_dry_bulb_c: float
    outdoor_wet_bulb_c: float
    outdoor_relative_humidity_pct: float
    outdoor_dew_point_c: float
    zones: dict[str, ZoneObservation]
    it_power_w: float
    cooling_power_w: float
    facility_power_w: float
    chilled_water_setpoint_c: float | None
    cooling_power_by_component_w: dict[str, float] | None = None

    @property
    def hottest_inlet_c(self) -> float:
        return max(zone.inlet_temp_c for zone in self.zones.values())

    @property
    def mean_zone_air_temp_c(self) -> float:
        return sum(zone.zone_air_temp_c for zone in self.zones.values()) / len(self.zones)


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
    and a frozen dataclass costs several times more to construct.
    """

    supply_air_setpoint_c: dict[str, float] | None = None
    zone_cooling_setpoint_c: dict[str, float] | None = None
    chilled_water_setpoint_c: float | None = None

    def clipped(self, bounds: Setpoints) -> Action:
        """This action with every setpoint inside the site's bounds (the same object when it already is).

        A setpoint that is not a finite number (NaN from an agent, say) raises ValueError: there is no safe
        value to clip it to.
        """
        supply, cooling, water = self
        changed = False
        if supply and _outside(supply.values(), bounds.supply_air_c):
            supply, changed = {z: _clip(v, bounds.supply_air_c, f"supply air of {z}") for z, v in supply.items()}, True
        if cooling and _outside(cooling.values(), bounds.zone_cooling_c):
            cooling = {z: _clip(v, bounds.zone_cooling_c, f"zone cooling of {z}") for z, v in cooling.items()}
            changed = True
        if water is not None and _outside((water,), bounds.chilled_water_c):
            water, changed = _clip(water, bounds.chilled_water_c, "chilled water"), True
        return Action(supply, cooling, water) if changed else self


def _outside(setpoints: Iterable[float], bounds: Bounds) -> bool:
    # A plain loop: the runner checks every action at every timestep, and any() over a generator or
    # min()/max() cost two to three times as much. NaN fails the comparison and counts as outside.
    low, high = bounds.min, bounds.max
    for value in setpoints:  # noqa: SIM110
        if not low <= value <= high:
            return True
    return False


def _clip(value: float, bounds: Bounds, what: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"the controller set the {what} setpoint to {value}; setpoints must be finite numbers")
    return bounds.clip(value)


@dataclass(frozen=True)
class ControlContext:
    """Facts about the facility a controller may use when it starts."""

    zone_names: list[str]
    bounds: Setpoints
    has_chiller_plant: bool
    timestep_h: float
    extra: dict[str, float] = field(default_factory=dict)


class Controller(Protocol):
    """Anything with ``reset`` and ``act`` can drive the twin."""

    name: str

    def reset(self, context: ControlContext) -> Action:
        """Start a run; return the action for the first timestep."""
        ...

    def act(self, observation: Observation) -> Action:
        """Choose setpoints for the next timestep."""
        ...
