"""Exploration: drive the twin with safe, varied setpoints to collect training telemetry.

A facility model can only learn what the data shows it. The legacy control keeps supply air at
12-18 C, so its telemetry says nothing about warmer setpoints; this controller holds random setpoints
(per zone supply air within the site's bounds, zone cooling setpoints a random design rise above them,
chilled water within its bounds) for a few hours at a time, and backs off at once when a server inlet
comes near the ASHRAE recommended limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from greendc.telemetry.contract import Action, ControlContext, Observation


@dataclass
class ExplorationController:
    """Random piecewise-constant setpoints with an inlet-temperature guard.

    Parameters
    ----------
    hold_steps : timesteps each random setpoint is held
    max_supply_air_c : highest supply-air setpoint tried (C), below the site's upper bound if lower
    guard_inlet_c : an inlet above this (C) lowers that zone's supply air by ``guard_step_c`` at once
    random_state : seed; the same seed gives the same setpoint sequence
    """

    hold_steps: int = 8
    max_supply_air_c: float = 25.5
    zone_rise_c: tuple[float, float] = (3.0, 12.0)
    guard_inlet_c: float = 26.5
    guard_step_c: float = 2.0
    random_state: int = 0
    name: str = "explore"

    def reset(self, context: ControlContext) -> Action:
        self._rng = np.random.default_rng(self.random_state)
        self._context = context
        self._step = 0
        self._draw()
        return self._action()

    def _draw(self) -> None:
        bounds = self._context.bounds
        high = min(bounds.supply_air_c.max, self.max_supply_air_c)
        self._supply = {z: float(self._rng.uniform(bounds.supply_air_c.min, high)) for z in self._context.zone_names}
        self._rise = {z: float(self._rng.uniform(*self.zone_rise_c)) for z in self._context.zone_names}
        self._water = float(self._rng.uniform(bounds.chilled_water_c.min, bounds.chilled_water_c.max))

    def _action(self) -> Action:
        return Action(
            supply_air_setpoint_c=dict(self._supply),
            zone_cooling_setpoint_c={z: self._supply[z] + self._rise[z] for z in self._supply},
            chilled_water_setpoint_c=self._water if self._context.has_chiller_plant else None,
        )

    def act(self, observation: Observation) -> Action:
        self._step += 1
        if self._step % self.hold_steps == 0:
            self._draw()
        bounds = self._context.bounds.supply_air_c
        for zone, state in observation.zones.items():
            if state.inlet_temp_c > self.guard_inlet_c:
                self._supply[zone] = bounds.clip(self._supply[zone] - self.guard_step_c)
        return self._action()
