"""A Gymnasium environment over the twin, for reinforcement-learning agents.

EnergyPlus drives time through its own loop, so the simulation runs in a worker thread and hands each
observation to :meth:`DataCenterEnv.step` through a queue, as Sinergym does. One episode is the site's
run period.

Observation (``Box``, float32), in this order: outdoor dry-bulb C, outdoor wet-bulb C, outdoor
relative humidity %, month, hour; then per zone: IT power kW, zone air C, hottest ITE inlet C,
supply-air C; then cooling power kW and facility power kW.

Action (``Box``): per zone a supply-air setpoint C, then per zone a zone cooling setpoint C, then (with
a chiller plant) the chilled-water setpoint C, bounded by the site's safe setpoint bounds (the runner clips
an action outside them, as it clips every controller's).

Reward: minus facility power per unit of IT design power, minus ``violation_weight`` for every kelvin
an ITE inlet is above ``inlet_limit_c`` (ASHRAE recommended 27 C by default).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from pathlib import Path
from typing import Any, ClassVar

import gymnasium
import numpy as np

from greendc.site.loader import load_site
from greendc.site.schema import Site
from greendc.telemetry.contract import Action, ControlContext, Observation, frozen
from greendc.twin.builder import build_twin
from greendc.twin.runner import run_simulation


class _EpisodeStoppedError(Exception):
    """Raised inside the EnergyPlus thread to end an episode early."""


class _QueueController:
    name = "gymnasium"

    def __init__(self, first_action: Action):
        self.observations: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
        self.actions: queue.Queue[Action | None] = queue.Queue(maxsize=1)
        self.first_action = first_action

    def reset(self, context: ControlContext) -> Action:
        return self.first_action

    def act(self, observation: Observation) -> Action:
        # The agent may keep observations past this timestep; the runner's are read live from EnergyPlus.
        self.observations.put(("observation", frozen(observation)))
        action = self.actions.get()
        if action is None:
            raise _EpisodeStoppedError
        return action


class DataCenterEnv(gymnasium.Env):
    """Gymnasium environment of a greendc site (see module docstring for spaces and reward)."""

    metadata: ClassVar[dict[str, list[str]]] = {"render_modes": []}

    def __init__(self, site: Site | str | Path, weather: str | None = None, inlet_limit_c: float = 27.0,
                 violation_weight: float = 1.0):
        if isinstance(site, Site):
            self.site, self.site_dir = site, None
        else:
            self.site, self.site_dir = load_site(site)
        self.twin = build_twin(self.site, site_dir=self.site_dir, weather=weather)
        self.zone_names = [zone.names.zone for zone in self.twin.zones]
        self.inlet_limit_c = inlet_limit_c
        self.violation_weight = violation_weight
        self._it_design_kw = self.site.it_design_power_w / 1000.0
        bounds = self.site.setpoints
        n = len(self.zone_names)
        low = [bounds.supply_air_c.min] * n + [bounds.zone_cooling_c.min] * n
        high = [bounds.supply_air_c.max] * n + [bounds.zone_cooling_c.max] * n
        if self.twin.has_chiller_plant:
            low.append(bounds.chilled_water_c.min)
            high.append(bounds.chilled_water_c.max)
        self.action_space = gymnasium.spaces.Box(np.array(low, np.float32), np.array(high, np.float32))
        size = 5 + 4 * n + 2
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float32)
        self._controller: _QueueController | None = None
        self._thread: threading.Thread | None = None

    # -- conversions ----------------------------------------------------------------------------------
    def _vector(self, observation: Observation) -> np.ndarray:
        values = [observation.outdoor_dry_bulb_c, observation.outdoor_wet_bulb_c,
                  observation.outdoor_relative_humidity_pct, observation.month, observation.hour]
        for name in self.zone_names:
            zone = observation.zones[name]
            values += [zone.it_power_w / 1000.0, zone.zone_air_temp_c, zone.inlet_temp_c, zone.supply_air_temp_c]
        values += [observation.cooling_power_w / 1000.0, observation.facility_power_w / 1000.0]
        return np.asarray(values, dtype=np.float32)

    def action_from_vector(self, vector: np.ndarray) -> Action:
        """Interpret an action vector (the runner clips it to the site's bounds, the action space)."""
        vector = np.asarray(vector, dtype=float)
        n = len(self.zone_names)
        supply = {name: float(vector[i]) for i, name in enumerate(self.zone_names)}
        cooling = {name: float(vector[n + i]) for i, name in enumerate(self.zone_names)}
        water = float(vector[2 * n]) if self.twin.has_chiller_plant else None
        return Action(supply, cooling, water)

    def reward(self, observation: Observation) -> float:
        excess_k = sum(max(0.0, zone.inlet_temp_c - self.inlet_limit_c) for zone in observation.zones.values())
        return -observation.facility_power_w / 1000.0 / self._it_design_kw - self.violation_weight * excess_k

    # -- episode thread -------------------------------------------------------------------------------
    def _simulate(self, controller: _QueueController) -> None:
        try:
            # The agent's own code runs while the episode does: its older objects stay collectable.
            run_simulation(self.twin, controller, freeze_older_objects=False)
            controller.observations.put(("done", None))
        except _EpisodeStoppedError:
            pass
        except BaseException as error:  # surfaced to the caller of step()
            controller.observations.put(("error", error))

    def _stop_episode(self) -> None:
        if self._thread is None or self._controller is None:
            return
        while self._thread.is_alive():
            # Unblock the simulation thread whichever queue it waits on.
            with contextlib.suppress(queue.Full):
                self._controller.actions.put(None, timeout=0.1)
            with contextlib.suppress(queue.Empty):
                self._controller.observations.get(timeout=0.1)
            self._thread.join(timeout=0.1)
        self._thread = None
        self._controller = None

    def _next(self) -> tuple[str, Any]:
        assert self._controller is not None
        kind, payload = self._controller.observations.get()
        if kind == "error":
            self._thread = None
            raise payload
        return kind, payload

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._stop_episode()
        self._controller = _QueueController(self.action_from_vector(self._initial()))
        self._thread = threading.Thread(target=self._simulate, args=(self._controller,), daemon=True)
        self._thread.start()
        kind, observation = self._next()
        if kind != "observation":
            raise RuntimeError("the simulation ended before its first timestep")
        self._last = observation
        return self._vector(observation), {"observation": observation}

    def _initial(self) -> np.ndarray:
        """Start from the site's design setpoints: the top of the legacy supply-air reset, the legacy zone
        setpoint and the site's chilled water (all within the site's bounds)."""
        n, design = len(self.zone_names), self.twin.design_setpoints
        values = [design.supply_air_reset_c.max] * n + [design.zone_cooling_c] * n
        if self.twin.has_chiller_plant:
            values.append(design.chilled_water_c)
        return np.asarray(values, dtype=float)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self._controller is None:
            raise RuntimeError("call reset() before step()")
        self._controller.actions.put(self.action_from_vector(action))
        kind, observation = self._next()
        if kind == "done":
            self._thread = None
            self._controller = None
            return self._vector(self._last), 0.0, True, False, {"observation": self._last}
        self._last = observation
        return self._vector(observation), self.reward(observation), False, False, {"observation": observation}

    def close(self) -> None:
        self._stop_episode()
