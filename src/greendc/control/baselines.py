"""Baseline controllers every smarter controller is measured against.

- ``default``: the legacy control of the EnergyPlus example. Zone cooling setpoint 23 C, supply air
  reset between 12 and 18 C by single-zone cooling setpoint managers (both within the site's bounds),
  chilled water at the site's design setpoint. It changes nothing: the model's own managers are in charge.
- ``rbc``: Sinergym's data-center rule (``RBCDatacenter``): move the zone cooling setpoints 1 C at a
  time to keep the mean zone air temperature within 18-27 C.
- ``trim-respond``: ASHRAE Guideline 36 (section 5.16.2) trim and respond on the supply-air
  temperature, with "requests" from zones whose hottest ITE inlet comes near the ASHRAE recommended
  limit of 27 C.

What a controller does not move it holds at the site's design setpoint (``ControlContext.design``), as the
legacy control does, so that every controller is compared under the same plant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from greendc.telemetry.contract import Action, ControlContext, Observation, is_missing

ASHRAE_RECOMMENDED_MAX_C = 27.0
ASHRAE_RECOMMENDED_MIN_C = 18.0


class DefaultController:
    """Leave every setpoint to the model's own managers (the legacy control)."""

    name = "default"
    _LEGACY = Action()

    def reset(self, context: ControlContext) -> Action:
        return self._LEGACY

    def act(self, observation: Observation) -> Action:
        return self._LEGACY


@dataclass
class RuleBasedController:
    """Sinergym's incremental data-center rule on the zone cooling setpoints.

    Parameters
    ----------
    band_low_c, band_high_c : comfort band of the mean zone air temperature in C
    step_c : setpoint change per timestep in C
    initial_setpoint_c : zone cooling setpoint to start from, C (None: the site's design setpoint)
    """

    band_low_c: float = ASHRAE_RECOMMENDED_MIN_C
    band_high_c: float = ASHRAE_RECOMMENDED_MAX_C
    step_c: float = 1.0
    initial_setpoint_c: float | None = None
    name: str = "rbc"

    def reset(self, context: ControlContext) -> Action:
        self._zones = list(context.zone_names)
        self._bounds = context.bounds
        initial_c = context.design.zone_cooling_c if self.initial_setpoint_c is None else self.initial_setpoint_c
        # The rule moves within the bounds (otherwise it would wind up past them while the runner clips).
        self._setpoint_c = context.bounds.zone_cooling_c.clip(initial_c)
        self._safe_setpoint_c = context.bounds.zone_cooling_c.clip(context.design.zone_cooling_c)
        self._last: tuple[float | None, Action | None] = (None, None)
        return self._action()

    def _action(self) -> Action:
        # The same object while the setpoint holds, so the runner knows at once that nothing changed.
        if self._last[0] != self._setpoint_c:
            self._last = (self._setpoint_c,
                          Action(zone_cooling_setpoint_c={zone: self._setpoint_c for zone in self._zones}))
        return self._last[1]

    def act(self, observation: Observation) -> Action:
        mean_c = observation.mean_zone_air_temp_c
        if is_missing(mean_c):
            # No zone reads its air temperature: step toward the site's own setpoint, never away from cooling.
            if self._setpoint_c > self._safe_setpoint_c:
                self._setpoint_c = max(self._safe_setpoint_c, self._setpoint_c - self.step_c)
        elif mean_c < self.band_low_c:
            self._setpoint_c += self.step_c
        elif mean_c > self.band_high_c:
            self._setpoint_c -= self.step_c
        self._setpoint_c = self._bounds.zone_cooling_c.clip(self._setpoint_c)
        return self._action()


@dataclass
class TrimRespondController:
    """Guideline 36-style trim and respond of one supply-air temperature for all zones.

    Every timestep each zone may send cooling requests: one when its ITE inlet is above
    ``request_above_c``, two when above ``urgent_above_c``. With no more than ``ignored_requests``
    the setpoint is trimmed up by ``trim_c``; otherwise it responds down by ``respond_c`` per request
    beyond those ignored, at most ``max_response_c``. The zone (return-air) cooling setpoints follow the
    supply air plus the servers' design temperature rise, so that the VAV boxes do not drive the fans
    to full flow chasing a return temperature the supply air cannot reach. The chilled water stays at the
    site's design setpoint. The rule trims and responds within the site's supply-air bounds (Guideline 36's
    minimum and maximum setpoint), so that it never winds up beyond what the runner would apply.

    A zone whose inlet reads nothing (None or NaN) cannot say it is warm, so its silence is no reason to
    trim: while any inlet is missing the rule goes to the site's safe supply air, the warmest setpoint of its
    own control (``ControlContext.design.supply_air_reset_c.max``, which the site ran without greendc), and
    holds it: from above by ``respond_c`` a step, from below (after a response to a hot reading) by
    ``trim_c``, never past it, so that a blind rule neither warms the room nor overcools it for hours.
    Requests from the zones that do read still count as usual.
    """

    initial_supply_air_c: float = 18.0
    request_above_c: float = 25.5
    urgent_above_c: float = 26.5
    ignored_requests: int = 0
    trim_c: float = 0.1
    respond_c: float = 0.3
    max_response_c: float = 1.0
    server_delta_t_c: float = 8.0
    name: str = "trim-respond"

    def reset(self, context: ControlContext) -> Action:
        self._zones = list(context.zone_names)
        self._bounds = context.bounds
        self._low_c, self._high_c = context.bounds.supply_air_c.min, context.bounds.supply_air_c.max
        self._supply_c = context.bounds.supply_air_c.clip(self.initial_supply_air_c)
        self._safe_supply_c = context.bounds.supply_air_c.clip(context.design.supply_air_reset_c.max)
        self._water_c = context.design.chilled_water_c
        self._last: tuple[float | None, Action] = (None, Action())
        return self.action()

    def action(self) -> Action:
        """The setpoints the rule holds now: its supply air, and the zones at that plus the servers' rise."""
        # The same object while the setpoint holds (e.g. at its upper bound), so the runner skips it.
        supply_c = self._supply_c
        last_c, action = self._last
        if last_c != supply_c:
            cooling_c = self._bounds.zone_cooling_c.clip(supply_c + self.server_delta_t_c)
            action = Action(dict.fromkeys(self._zones, supply_c), dict.fromkeys(self._zones, cooling_c), self._water_c)
            self._last = (supply_c, action)
        return action

    def continue_from(self, supply_air_c: float) -> None:
        """Carry on trimming and responding from this supply-air setpoint (after another controller set it)."""
        self._supply_c = self._bounds.supply_air_c.clip(supply_air_c)

    def act(self, observation: Observation) -> Action:
        self.follow(observation)
        return self.action()

    def follow(self, observation: Observation) -> None:
        """Trim or respond to this timestep's requests: ``act`` without making the action, for a controller
        that keeps this rule running as its fallback and needs its action only now and then."""
        requests, missing = 0, False
        for zone in observation.zones.values():
            inlet_c = zone.inlet_temp_c
            if is_missing(inlet_c):
                missing = True
            elif inlet_c > self.urgent_above_c:
                requests += 2
            elif inlet_c > self.request_above_c:
                requests += 1
        supply_c = self._supply_c
        if requests > self.ignored_requests:
            supply_c -= min(self.max_response_c, self.respond_c * (requests - self.ignored_requests))
        elif missing and supply_c > self._safe_supply_c:
            supply_c = max(self._safe_supply_c, supply_c - self.respond_c)
        elif missing:
            supply_c = min(self._safe_supply_c, supply_c + self.trim_c)
        else:
            supply_c += self.trim_c
        self._supply_c = min(max(supply_c, self._low_c), self._high_c)


@dataclass
class ConstantController:
    """Hold fixed setpoints all year: the building block of the hindsight ``oracle`` sweep.

    Parameters
    ----------
    supply_air_c : supply-air setpoint of every zone, C
    zone_rise_c : zone (return-air) cooling setpoint above the supply air, K
    chilled_water_c : chilled-water supply setpoint, C (plants only; None: the site's design setpoint)
    """

    supply_air_c: float = 18.0
    zone_rise_c: float = 7.0
    chilled_water_c: float | None = None
    name: str = "constant"

    def reset(self, context: ControlContext) -> Action:
        water_c = None
        if context.has_chiller_plant:
            water_c = context.design.chilled_water_c if self.chilled_water_c is None else self.chilled_water_c
        self._action = Action(
            supply_air_setpoint_c={zone: self.supply_air_c for zone in context.zone_names},
            zone_cooling_setpoint_c={zone: self.supply_air_c + self.zone_rise_c for zone in context.zone_names},
            chilled_water_setpoint_c=water_c,
        )
        return self._action

    def act(self, observation: Observation) -> Action:
        return self._action


@dataclass
class HourlySetpointsController:
    """Replay a year of constant-setpoint hours: hour ``h`` of the run calendar (0 = 1 January 00:00-01:00)
    holds ``hours[h]``, a ``(supply_air_c, zone_rise_c, chilled_water_c)`` as :class:`ConstantController`
    takes them (chilled water None: the site's design setpoint). Hours past the table's end hold its last row.

    It turns the hourly-hindsight oracle's choice (``greendc.results.oracle.hourly_choice``) into a trajectory
    the twin can run: the oracle adds up hours of runs that held their setpoints all along, and a replay shows
    what the switches between them cost, moisture carried from one hour into the next included.
    """

    hours: tuple[tuple[float, float, float | None], ...]
    name: str = "hourly-setpoints"

    def reset(self, context: ControlContext) -> Action:
        if not self.hours:
            raise ValueError("hourly-setpoints needs at least one hour of setpoints")
        self._context = context
        self._actions: dict[tuple[float, float, float | None], Action] = {}
        return self._action_of(0)

    def _action_of(self, hour_of_year: int) -> Action:
        setpoints = self.hours[min(hour_of_year, len(self.hours) - 1)]
        if setpoints not in self._actions:
            supply_air_c, zone_rise_c, chilled_water_c = setpoints
            self._actions[setpoints] = ConstantController(supply_air_c, zone_rise_c, chilled_water_c).reset(
                self._context)
        return self._actions[setpoints]

    def act(self, observation: Observation) -> Action:
        # The action applies to the step that starts at this observation's end (minute 60 of hour 23 starts the
        # next day). Any non-leap year serves: weather files hold 365 days.
        step_start = (date(2001, observation.month, observation.day) - date(2001, 1, 1)) + timedelta(
            hours=observation.hour, minutes=observation.minute)
        return self._action_of(int(step_start / timedelta(hours=1)) % (365 * 24))
