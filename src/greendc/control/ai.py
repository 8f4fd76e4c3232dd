"""The AI cooling optimizer: a learned facility model, a constrained search, and a safety layer.

Every control step (``decide_every_steps`` zone timesteps) it

1. checks its inputs (missing, out of physical range, stuck) and the operator's kill switch;
2. recovers at once when a measured inlet is at or over the limit;
3. otherwise searches setpoints near the current ones (rate-limited, within the site's bounds) for the
   lowest predicted objective (IT + cooling electricity by default, or cooling alone) such that every
   zone's predicted inlet plus ``k_sigma`` standard deviations stays at or below the limit minus a margin;
4. falls back to the baseline rule when no candidate is feasible or the model is too uncertain.

In advisory mode it logs what it would do and leaves the baseline rule in charge. Every decision is
recorded with its inputs, the chosen and the baseline action, predictions with uncertainty, the
predicted saving and the guard that fired (``decision_log``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np

from greendc.control.baselines import TrimRespondController
from greendc.control.search import candidate_rows, evaluate_rows, search_setpoints
from greendc.errors import UsageError
from greendc.learning.facility_model import FacilityModel
from greendc.learning.features import action_columns, feature_names, hour_of_day_features
from greendc.site.weather import dry_bulb_at_relative_humidity_c
from greendc.telemetry.contract import Action, ControlContext, Observation, ZoneObservation
from greendc.telemetry.decisions import DecisionRecord, Prediction
from greendc.telemetry.sensors import FACILITY, ZONE

Guard = Literal["none", "kill-switch", "advisory", "missing-input", "out-of-range", "stuck-sensor", "inlet-over-limit",
                "no-feasible-action", "model-uncertain"]

#: The inputs the optimizer relies on, checked at every step against their physical ranges (the registry's):
#: outdoor air, then each zone's (the inlet dew point only with a humidity limit, last).
_OUTDOOR_INPUTS = (FACILITY.outdoor_dry_bulb_c, FACILITY.outdoor_wet_bulb_c, FACILITY.outdoor_relative_humidity_pct)
_ZONE_INPUTS = (ZONE.inlet_temp_c, ZONE.it_power_w, ZONE.supply_air_setpoint_c, ZONE.inlet_dew_point_c)


@dataclass
class AIController:
    """Model-based cooling optimizer with guards (see module docstring).

    Parameters
    ----------
    model : a fitted FacilityModel or the path of a ``.gdm`` file
    objective : ``facility`` (IT + cooling electricity) or ``cooling``
    inlet_limit_c : ASHRAE recommended maximum inlet temperature, C
    inlet_min_c : ASHRAE recommended minimum inlet temperature, C (predicted inlets must stay the margin above it)
    max_inlet_relative_humidity_pct : maximum inlet relative humidity, % (60: the recommended envelope the
        results count, ``greendc.results.summary``). Among the candidates that meet the temperature limits,
        those that keep every inlet at or above the dry bulb at which its measured dew point reaches this
        humidity are preferred (cooling humid air further raises its relative humidity). It yields to the
        temperature limits: when no safe candidate meets it, the search takes those that come closest. None
        turns it off.
    dew_point_rise_c : allowance for the rise of an inlet's dew point while the setpoints hold, K: the humid-air
        floor is the dry bulb at which the measured dew point plus this reaches the humidity limit. 1 K is the
        95th percentile of the rise within the next hour over an annual ai run in Chicago (bench/README.md,
        section 4); without it the ai had 2.5 times as many humid steps in Chicago and 3 times in Tampa.
    margin_c : safety margin inside the inlet limits, K (also kept above the humid-air floor)
    k_sigma : standard deviations of model uncertainty added to the predicted inlet
    max_step_c : largest setpoint change per control step, K
    grid_step_c : resolution of the setpoint search, K
    max_uncertainty_c : above this predicted inlet standard deviation (K) the model is not trusted
    stuck_steps : a sensor reading identical for this many steps counts as stuck
    mode : ``closed-loop`` applies decisions, ``advisory`` only logs them
    kill_switch : a file whose existence hands control to the baseline rule at once
    decide_every_steps : control period in zone timesteps (4 = hourly at 15-minute steps); setpoints are
        held in between, while the input and inlet guards check every timestep
    """

    model: FacilityModel | str | Path
    objective: Literal["facility", "cooling"] = "facility"
    inlet_limit_c: float = 27.0
    inlet_min_c: float = 18.0
    max_inlet_relative_humidity_pct: float | None = 60.0
    dew_point_rise_c: float = 1.0
    margin_c: float = 0.5
    k_sigma: float = 2.0
    max_step_c: float = 1.0
    grid_step_c: float = 0.25
    max_uncertainty_c: float = 1.5
    stuck_steps: int = 16
    mode: Literal["closed-loop", "advisory"] = "closed-loop"
    kill_switch: str | Path | None = None
    decide_every_steps: int = 4
    zone_rises_c: tuple[float, ...] = (4.0, 7.0, 10.0)
    name: str = "ai"
    _records: list[DecisionRecord] = field(default_factory=list, init=False, repr=False)
    _entries: list[tuple[Any, ...]] = field(default_factory=list, init=False, repr=False)
    _preparing: threading.Thread | None = field(default=None, init=False, repr=False)
    _preparation_error: BaseException | None = field(default=None, init=False, repr=False)

    @property
    def decision_log(self) -> list[DecisionRecord]:
        """Every decision of this run, oldest first, as a record (see ``_record``)."""
        if self._entries:
            self._records += [self._record(*entry) for entry in self._entries]
            self._entries.clear()
        return self._records

    def reset(self, context: ControlContext) -> Action:
        if not isinstance(self.model, FacilityModel):
            self.model = FacilityModel.load(self.model, zone_names=context.zone_names)
        elif self.model.zone_names_ != list(context.zone_names):
            raise UsageError(f"the model was trained for zones {self.model.zone_names_}, the site has "
                             f"{list(context.zone_names)}")
        if self.model.has_chiller_plant_ != context.has_chiller_plant:
            raise UsageError("the model and the site disagree on whether there is a chiller plant: train a model "
                             "on this site's telemetry (greendc explore, then greendc train)")
        expected = feature_names(list(context.zone_names), context.has_chiller_plant)
        if self.model.feature_names_ != expected:
            raise UsageError(f"the model's features {self.model.feature_names_} are not the ones greendc builds for "
                             f"this site: {expected}")
        if self.objective not in ("facility", "cooling"):
            raise UsageError(f"objective must be facility or cooling, not {self.objective!r}")
        humidity = self.max_inlet_relative_humidity_pct
        if humidity is not None and not 0.0 < humidity <= 100.0:
            raise UsageError(f"max_inlet_relative_humidity_pct must be above 0 and at most 100 (or None), "
                             f"not {humidity}")
        if not 0.0 <= self.dew_point_rise_c <= 10.0:
            raise UsageError(f"dew_point_rise_c must be 0-10 K, not {self.dew_point_rise_c}")
        self._context = context
        self._baseline = TrimRespondController()
        self._action = self._baseline.reset(context)
        self._step = 0
        self._records, self._entries = [], []
        column = {name: index for index, name in enumerate(self.model.feature_names_)}
        self._supply_columns = np.array([column[ZONE.supply_air_setpoint_c.of(z)] for z in context.zone_names])
        self._cooling_columns = np.array([column[ZONE.zone_cooling_setpoint_c.of(z)] for z in context.zone_names])
        self._water_column = column[FACILITY.chilled_water_setpoint_c.column] if context.has_chiller_plant else -1
        self._columns = (self._supply_columns, self._cooling_columns, self._water_column)
        # The site's bounds as the compiled search reads them (search.py): the same record, as an array.
        self._bounds_c = np.array(context.bounds, dtype=float)
        self._unknown_actions = [math.nan] * len(action_columns(list(context.zone_names), context.has_chiller_plant))
        means, quantiles = self.model.ensembles()
        self._trees = (means.arrays, quantiles.arrays, self.model.inlet_std_floor_c())
        # What the stuck-sensor check remembers: the outdoor dry bulb's last reading and for how many readings
        # it has not changed; the same for each zone's inlet, with the zone's recent supply-air readings.
        self._dry_bulb_unchanged: list[Any] = [None, 0]
        self._zone_stuck = [(zone, ZONE.inlet_temp_c.of(zone), [None, 0], deque(maxlen=self.stuck_steps))
                            for zone in context.zone_names]
        self._inlets_c: list[float] = []
        self._outdoor_checks = [(sensor.column, *sensor.physical_range) for sensor in _OUTDOOR_INPUTS]
        zone_inputs = _ZONE_INPUTS if humidity is not None else _ZONE_INPUTS[:-1]
        self._zone_checks = [(zone, [(sensor.of(zone), *sensor.physical_range) for sensor in zone_inputs])
                             for zone in context.zone_names]
        self._zone_names = list(context.zone_names)
        # Time of day as the model sees it (sine, cosine), by hour of day: it takes one of a few values.
        self._hour_features: dict[float, tuple[float, float]] = {}
        # Phase 1's candidates as offsets from the current setpoints: every common supply-air step with
        # every zone rise and chilled-water step (the same for every decision, so made once).
        steps = np.arange(-self.max_step_c, self.max_step_c + 1e-9, self.grid_step_c)
        water_steps = [-self.max_step_c, 0.0, self.max_step_c] if context.has_chiller_plant else [0.0]
        grid = np.array([(d, r, w) for d in steps for r in self.zone_rises_c for w in water_steps])
        self._grid = (steps, grid)
        self._prepare_search()
        return self._action

    def _prepare_search(self) -> None:
        """Run the compiled search once, on a made-up observation, in a background thread.

        Its first call in a process costs about half a second (numba loads the cached code and sets up its
        typing and target context). Started here, it overlaps with what follows until the first decision:
        EnergyPlus reading the model, sizing and warming up, which run in C without Python's lock (the runner
        calls Python only from the run period on). The first decision waits for it (``_search_prepared``).
        The made-up observation goes through ``_search`` itself, so the call has the types of the real ones.
        """
        self._search_prepared()  # a run reset twice: the first preparation finishes first
        context = self._context
        # Sensors the search does not read stay NaN, so that a sensor added to the registry needs nothing here.
        zone = ZoneObservation(**dict.fromkeys(ZoneObservation._fields, math.nan))._replace(
            it_power_w=1e5, inlet_temp_c=22.0, inlet_dew_point_c=10.0, supply_air_setpoint_c=20.0,
            zone_cooling_setpoint_c=27.0)
        observation = Observation(**dict.fromkeys(Observation._fields, math.nan))._replace(
            month=7, day=1, hour=12, minute=15, outdoor_dry_bulb_c=25.0, outdoor_wet_bulb_c=18.0,
            outdoor_relative_humidity_pct=50.0, zones=dict.fromkeys(context.zone_names, zone),
            it_power_w=1e5 * len(context.zone_names), chilled_water_setpoint_c=context.design.chilled_water_c,
            cooling_power_by_component_w=None)

        def prepare() -> None:
            try:
                self._search(observation, self._action, self._humid_below_c(observation))
            except BaseException as error:  # raised by the first decision, in the caller's thread
                self._preparation_error = error

        self._preparation_error = None
        self._preparing = threading.Thread(target=prepare, name="greendc-ai-prepare-search", daemon=True)
        self._preparing.start()

    def _search_prepared(self) -> None:
        """Wait for the search's preparation, if it is still running; raise what it raised."""
        if self._preparing is not None:
            self._preparing.join()
            self._preparing = None
            if self._preparation_error is not None:
                raise self._preparation_error

    # -- guards -------------------------------------------------------------------------------------------
    def _input_guard(self, observation: Observation) -> tuple[Guard, str]:
        """Missing, out-of-range or stuck inputs (checked every timestep, so kept cheap). Keeps the inlets it
        read in ``_inlets_c``."""
        outdoor = (observation.outdoor_dry_bulb_c, observation.outdoor_wet_bulb_c,
                   observation.outdoor_relative_humidity_pct)
        for value, (name, low, high) in zip(outdoor, self._outdoor_checks, strict=True):
            # NaN fails both comparisons; None (a sensor that gave nothing) is told apart in _bad_input.
            if value is None or not low <= value <= high:
                return _bad_input(name, value, low, high)
        zones = observation.zones
        self._inlets_c = inlets_c = []
        for zone, checks in self._zone_checks:
            state = zones[zone]
            inlets_c.append(state.inlet_temp_c)
            # The dew point's check is left out (zip stops early) when the humidity limit is off.
            readings = (inlets_c[-1], state.it_power_w, state.supply_air_setpoint_c, state.inlet_dew_point_c)
            for value, (name, low, high) in zip(readings, checks, strict=False):
                if value is None or not low <= value <= high:
                    return _bad_input(name, value, low, high)
        # An inlet may rightly read the same for hours while its supply air holds steady (in a simulation to
        # the last digit, whatever the IT load: servers draw the air they are given, and a change of load moves
        # the return air, not the inlet); it is stuck when it stays put while the measured supply air moves.
        # A reading frozen while the supply air holds steady goes unnoticed; with steady supply air the inlet
        # it froze at stays close to the truth.
        # Weather files repeat hourly values, so the outdoor reading gets a longer window.
        window = 3 * self.stuck_steps
        if _unchanged_for(self._dry_bulb_unchanged, outdoor[0]) >= window:
            return "stuck-sensor", f"{FACILITY.outdoor_dry_bulb_c.column} unchanged for {window} steps"
        for (zone, inlet, unchanged, supply_c), inlet_c in zip(self._zone_stuck, inlets_c, strict=True):
            supply_c.append(zones[zone].supply_air_temp_c)
            if _unchanged_for(unchanged, inlet_c) >= self.stuck_steps:
                # Supply air reaches the racks a step later, so a change in this very step does not count.
                earlier = list(supply_c)[:-1]
                if earlier and max(earlier) - min(earlier) > 0.2:
                    return "stuck-sensor", (f"{inlet} unchanged for {self.stuck_steps} steps while its zone's "
                                            "supply air changed")
        return "none", ""

    def _kill_switch_engaged(self) -> bool:
        return self.kill_switch is not None and Path(self.kill_switch).exists()

    # -- search -------------------------------------------------------------------------------------------
    def _state_vector(self, observation: Observation) -> np.ndarray:
        """Model inputs that describe the state (actions are filled in per candidate)."""
        assert isinstance(self.model, FacilityModel)
        # The action applies during the next interval: its time of day is the observation's plus one step.
        hour_of_day = (observation.hour + observation.minute / 60.0 + self._context.timestep_h) % 24.0
        hour_features = self._hour_features.get(hour_of_day)
        if hour_features is None:
            sine, cosine = hour_of_day_features(hour_of_day)
            hour_features = self._hour_features[hour_of_day] = (float(sine), float(cosine))
        # In the model's feature order (checked in reset): state, time of day, then the actions, unknown here.
        return np.array([observation.outdoor_dry_bulb_c, observation.outdoor_wet_bulb_c,
                         observation.outdoor_relative_humidity_pct, observation.it_power_w,
                         *[state.it_power_w for state in observation.zones.values()], *hour_features,
                         *self._unknown_actions])

    def _matrix(self, state: np.ndarray, supply: np.ndarray, rise: np.ndarray, water: np.ndarray | None) -> np.ndarray:
        """Candidate rows: ``supply`` is (n, zones), ``rise`` (n, zones), ``water`` (n,) or None."""
        water = np.zeros(len(supply)) if water is None else np.asarray(water, dtype=float)
        return candidate_rows(state, np.asarray(supply, dtype=float), np.asarray(rise, dtype=float), water,
                              self._columns, self._bounds_c)

    def _evaluate(self, matrix: np.ndarray, spread_c: dict[str, float], humid_below_c: dict[str, float]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """Raw mean predictions (targets, rows), objective (W) and feasibility of candidate rows, and whether
        humidity ruled out the cheapest row that meets the temperature limits (``search.evaluate_rows``)."""
        return evaluate_rows(np.ascontiguousarray(matrix, dtype=float), self._trees[0],
                             np.array([spread_c[z] for z in self._context.zone_names]),
                             *self._constraints(humid_below_c))

    def _constraints(self, humid_below_c: dict[str, float]) -> tuple[np.ndarray, float, float, float, bool]:
        """What makes a candidate safe and what it costs, as the compiled search takes them: each zone's
        humid-air floor (empty without one), k, the highest and lowest allowed predicted inlet (C), and
        whether the objective is cooling alone."""
        floors_c = np.array([humid_below_c[z] for z in self._context.zone_names]) if humid_below_c else np.empty(0)
        return (floors_c, self.k_sigma, self.inlet_limit_c - self.margin_c, self.inlet_min_c + self.margin_c,
                self.objective == "cooling")

    def _humid_below_c(self, observation: Observation) -> dict[str, float]:
        """Each zone's humid-air floor, C: the margin above the dry bulb at which its inlet dew point, plus
        the allowance for its rise, reaches the humidity limit (none when the limit is off).

        The next interval's inlet dew point is taken from the measured one: it follows the outdoor air through
        the economizer, and the setpoints move it only where the coil condenses water or an evaporative stage
        humidifies. A learned dew point did worse (bench/README.md, section 4).
        """
        if self.max_inlet_relative_humidity_pct is None:
            return {}
        return {zone: self.margin_c + dry_bulb_at_relative_humidity_c(state.inlet_dew_point_c + self.dew_point_rise_c,
                                                                       self.max_inlet_relative_humidity_pct)
                for zone, state in observation.zones.items()}

    def _search(self, observation: Observation, baseline: Action, humid_below_c: dict[str, float]) -> _Search:
        """The compiled search (``greendc.control.search.search_setpoints``) around the current setpoints."""
        zones = self._context.zone_names
        water_now_c = 0.0
        if self._context.has_chiller_plant:
            base = observation.chilled_water_setpoint_c
            water_now_c = base if base is not None and math.isfinite(base) else self._context.design.chilled_water_c
        setpoints_c = np.array([*[observation.zones[z].supply_air_setpoint_c for z in zones],
                                *self._setpoints_of(baseline, observation), water_now_c])
        steps, grid = self._grid
        means, quantiles, floor_c = self._trees
        return _Search(*search_setpoints(
            self._state_vector(observation), setpoints_c, steps, grid, self._columns, self._bounds_c,
            means, quantiles, floor_c, *self._constraints(humid_below_c)))

    # -- decision -------------------------------------------------------------------------------------------
    def _to_action(self, row: np.ndarray) -> Action:
        zones = self._context.zone_names
        water = None
        if self._context.has_chiller_plant:
            water = float(row[self._water_column])
        return Action(
            supply_air_setpoint_c=dict(zip(zones, row[self._supply_columns].tolist(), strict=True)),
            zone_cooling_setpoint_c=dict(zip(zones, row[self._cooling_columns].tolist(), strict=True)),
            chilled_water_setpoint_c=water,
        )

    def _setpoints_of(self, action: Action, observation: Observation) -> list[float]:
        """An action's setpoints, those it leaves to the model's own control as observed: each zone's supply
        air, each zone's cooling setpoint, then chilled water (NaN without a plant), C."""
        zones = self._context.zone_names
        supply = action.supply_air_setpoint_c or {z: observation.zones[z].supply_air_setpoint_c for z in zones}
        cooling = action.zone_cooling_setpoint_c or {z: observation.zones[z].zone_cooling_setpoint_c for z in zones}
        water = math.nan
        if self._context.has_chiller_plant:
            water = action.chilled_water_setpoint_c
            if water is None:
                water = observation.chilled_water_setpoint_c or self._context.design.chilled_water_c
        return [*[supply[z] for z in zones], *[cooling[z] for z in zones], water]

    def _recovery(self, baseline: Action, observation: Observation) -> Action:
        """Cool every zone at or over the limit at once: supply air 2 K plus the excess below its current value."""
        bounds = self._context.bounds
        supply = dict(baseline.supply_air_setpoint_c or {})
        for zone, state in observation.zones.items():
            if state.inlet_temp_c >= self.inlet_limit_c - 1e-9:
                excess = state.inlet_temp_c - (self.inlet_limit_c - self.margin_c)
                supply[zone] = bounds.supply_air_c.clip(min(supply.get(zone, 99.0),
                                                            state.supply_air_setpoint_c - 2.0 - excess))
        cooling = {z: bounds.zone_cooling_c.clip(supply[z] + self._baseline.server_delta_t_c) for z in supply}
        self._baseline.continue_from(min(supply.values()))
        return Action(supply, cooling, baseline.chilled_water_setpoint_c)

    def act(self, observation: Observation) -> Action:
        # The ai plans within the site's bounds (its candidates and its recovery stay inside them, so that what
        # it predicts is what is applied); the runner alone clips what it returns.
        started = time.perf_counter()
        # The rule runs at every step, so that it is ready to take over; its action is made only when needed.
        self._baseline.follow(observation)
        self._step += 1
        guard, detail = self._input_guard(observation)
        if guard == "none" and self._kill_switch_engaged():
            guard, detail = "kill-switch", str(self.kill_switch)
        if guard != "none":
            self._action = baseline = self._baseline.action()
            self._log(observation, guard, detail, baseline, baseline, None, started)
            return baseline
        if max(self._inlets_c) >= self.inlet_limit_c:
            baseline = self._baseline.action()
            self._action = self._recovery(baseline, observation)
            self._log(observation, "inlet-over-limit", "measured inlet at or over the limit", self._action,
                      baseline, None, started)
            return self._action
        if (self._step - 1) % self.decide_every_steps != 0:
            return self._action if self.mode == "closed-loop" else self._baseline.action()
        baseline = self._baseline.action()
        humid_below = self._humid_below_c(observation)
        if self._preparing is not None:
            self._search_prepared()
        search = self._search(observation, baseline, humid_below)
        if not search.found:
            self._action = baseline
            self._log(observation, "no-feasible-action", f"none of {search.candidates} candidates is safe",
                      baseline, baseline, None, started)
            return baseline
        action = self._to_action(search.chosen_row)
        spread = max(search.chosen_std_c.tolist())
        if spread > self.max_uncertainty_c:
            self._action = baseline
            self._log(observation, "model-uncertain", f"inlet std {spread:.2f} K > {self.max_uncertainty_c} K",
                      baseline, baseline, search, started)
            return baseline
        if self.mode == "advisory":
            self._action = baseline
            self._log(observation, "advisory", "recommendation logged, baseline in charge", action, baseline,
                      search, started)
            return baseline
        self._action = action
        # The rule continues from the optimizer's setpoint if it has to take over, instead of jumping back
        # to wherever its own state had drifted.
        self._baseline.continue_from(min(action.supply_air_setpoint_c.values()))
        detail, floor_c = f"{search.candidates} candidates searched", None
        if search.humidity_mattered:
            floor_c = max(humid_below.values())
            detail += (f"; inlets kept at or above {floor_c:.1f} C (not the cheapest safe choice) for relative "
                       f"humidity at most {self.max_inlet_relative_humidity_pct:g} %")
        self._log(observation, "none", detail, action, baseline, search, started, floor_c)
        return action

    def _log(self, observation: Observation, guard: Guard, detail: str, chosen: Action, baseline: Action,
             search: _Search | None, started: float,
             humid_air_floor_c: float | None = None) -> None:
        """Keep what the decision's record needs; ``decision_log`` makes the records when it is read (after the
        run, in one warm loop, rather than one dict at a time inside EnergyPlus). The observation's values are
        read now: a live observation expires with its timestep."""
        self._entries.append((
            observation.month, observation.day, observation.hour, observation.minute, guard, detail, self.mode,
            observation.outdoor_dry_bulb_c, observation.it_power_w,
            max(z.inlet_temp_c for z in observation.zones.values()), chosen, baseline, search, humid_air_floor_c,
            1000.0 * (time.perf_counter() - started)))

    def _record(self, month: int, day: int, hour: int, minute: int, guard: Guard, detail: str, mode: str,
                outdoor_dry_bulb_c: float, it_power_w: float, hottest_inlet_c: float, chosen: Action,
                baseline: Action, search: _Search | None, humid_air_floor_c: float | None,
                decision_ms: float) -> DecisionRecord:
        """One decision's record: its inputs, the chosen and the baseline's setpoints, the predictions with
        their uncertainty, the predicted saving, the guard that fired and what the decision cost."""
        prediction = None
        if search is not None:
            (cooling_w, it_w, objective_w, *inlets_c), baseline_outcome = search.outcomes.tolist()
            prediction = Prediction(
                cooling_power_w=cooling_w, it_power_w=it_w, objective_w=objective_w,
                baseline_objective_w=baseline_outcome[2],
                inlet_temp_c=dict(zip(self._zone_names, inlets_c, strict=True)),
                inlet_temp_std_c=dict(zip(self._zone_names, search.chosen_std_c.tolist(), strict=True)),
            )
        return DecisionRecord(
            # datetime, not pandas.Timestamp: a tenth of the cost, and the log's table stores it the same way.
            time=datetime(2001, month, day) + timedelta(hours=hour, minutes=minute),
            guard=guard, detail=detail, mode=mode,
            applied="ai" if guard == "none" else ("recovery" if guard == "inlet-over-limit" else "baseline"),
            outdoor_dry_bulb_c=outdoor_dry_bulb_c, it_power_w=it_power_w, hottest_inlet_c=hottest_inlet_c,
            chosen=chosen, baseline=baseline, prediction=prediction, decision_ms=decision_ms,
            humid_air_floor_c=humid_air_floor_c,
        )


def _unchanged_for(last: list[Any], value: float) -> int:
    """Record a reading in ``last`` ([last reading, count]); return for how many consecutive readings (this one
    included) it has not changed."""
    last[1] = last[1] + 1 if value == last[0] else 1
    last[0] = value
    return last[1]


def _bad_input(name: str, value: float | None, low: float, high: float) -> tuple[Guard, str]:
    """The guard and detail for a reading that failed its range check."""
    if value is None or not math.isfinite(value):
        return "missing-input", name
    return "out-of-range", f"{name}={value:.4g} outside {low}-{high}"


class _Search(NamedTuple):
    """What ``search.search_setpoints`` found for one decision (see there)."""

    found: bool
    chosen_row: np.ndarray
    #: Predicted cooling power, IT power, objective (W) and each zone's inlet (C): the chosen row, then the baseline's.
    outcomes: np.ndarray
    spread_c: np.ndarray
    chosen_std_c: np.ndarray
    humidity_mattered: bool
    candidates: int
