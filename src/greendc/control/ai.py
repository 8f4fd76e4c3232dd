"""The AI cooling optimizer: a learned facility model, a constrained search, and a safety layer that knows
what the model does not know.

Every zone timestep it

1. judges its readings: missing (None and NaN alike), out of physical range, stuck, or implausible against
   physics and their neighbours (``greendc.control.sensor_checks``); a reading it cannot trust hands the
   step to the fallback rule, which moves toward the site's safe setpoints and never trims up;
2. compares what the model predicted with what was measured (``greendc.control.drift``): a plant that runs
   warmer than predicted widens the safety margin by that much, and a model that stops explaining the plant
   hands control to the fallback until it does again (guard ``model-drift``);
3. recovers when a measured inlet is at or over the limit and that is corroborated (a second step or a second
   zone), by a bounded drop of the supply air;
4. at each decision (every ``decide_every_steps`` timesteps), hands over when the state lies outside what the
   model learned from (guard ``outside-training``), else searches setpoints near the current ones, within the
   site's bounds and the setpoints the model saw in training, for the lowest predicted objective (IT +
   cooling electricity by default, or cooling alone) such that every zone's predicted inlet plus ``k_sigma``
   calibrated standard deviations stays at or below the limit minus the margin;
5. falls back to the rule when no candidate is feasible or the model is too uncertain.

In advisory mode nothing it decides reaches the plant: the site's own control runs exactly as without greendc
and every decision, urgent ones included, is a recommendation in the log. Every decision is recorded with its
inputs, the chosen and the baseline action, predictions with uncertainty, the predicted saving, the guard
that fired, the drift state and the latest residuals (``decision_log``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np

from greendc.control.baselines import TrimRespondController
from greendc.control.drift import DriftMonitor
from greendc.control.search import (
    CHILLED_WATER,
    HUMID_FLOOR_TOLERANCE_K,
    MAX,
    MIN,
    SUPPLY_AIR,
    ZONE_COOLING,
    candidate_rows,
    evaluate_rows,
    search_setpoints,
)
from greendc.control.sensor_checks import InletTrust, outdoor_problem
from greendc.errors import UsageError
from greendc.learning.envelope import TrainingEnvelope, check_model_for_site
from greendc.learning.facility_model import FacilityModel
from greendc.learning.features import action_columns, feature_names, hour_of_day_features
from greendc.site.weather import (
    dew_point_on_wet_bulb_line_c,
    dry_bulb_at_relative_humidity_c,
    dry_bulb_on_wet_bulb_line_c,
    humidity_ratio_at_dew_point,
    wet_bulb_at_dew_point_c,
)
from greendc.telemetry.contract import Action, ControlContext, Observation, ZoneObservation, frozen, is_missing
from greendc.telemetry.decisions import DecisionRecord, Prediction
from greendc.telemetry.sensors import FACILITY, ZONE

Guard = Literal["none", "kill-switch", "missing-input", "out-of-range", "stuck-sensor", "implausible-sensor",
                "unconfirmed-over-limit", "inlet-over-limit", "outside-training", "model-drift", "no-feasible-action",
                "model-uncertain"]

#: The inputs the optimizer relies on, checked at every step against their physical ranges (the registry's):
#: outdoor air, then each zone's (the inlet dew point only with a humidity limit, last).
_OUTDOOR_INPUTS = (FACILITY.outdoor_dry_bulb_c, FACILITY.outdoor_wet_bulb_c, FACILITY.outdoor_relative_humidity_pct)
_ZONE_INPUTS = (ZONE.inlet_temp_c, ZONE.it_power_w, ZONE.supply_air_setpoint_c, ZONE.inlet_dew_point_c)
#: What advisory mode hands the plant: nothing, so that the site's own control stays in charge.
_SITE_CONTROL = Action()


class _Pending(NamedTuple):
    """The model's prediction for the setpoints applied at a decision, waiting for its measurement."""

    step: int
    cooling_power_w: float
    cooling_power_std_w: float
    inlets_c: dict[str, float]
    inlet_stds_c: dict[str, float]


def outdoor_air_dew_point_c(observation: Observation) -> float:
    """The outdoor air's dew point, C: the higher of the measured one and the one of its wet and dry bulb.

    Weather files hold dew points that disagree with their wet and dry bulbs, most at the seams where a
    typical year joins months of different years: in Golden at 01:00 on 1 July the dew point reads 7.9 C
    and the relative humidity 94 % at 15.4 C (a 14.4 C dew point, and the wet bulb EnergyPlus reports is
    that air's). The simulated air took the moister value: the halls' inlet dew point went from 7 to 12.4 C
    in three steps with the economizer open. The economizer and the supply air judge the air's moisture,
    so the higher of the two counts.
    """
    dew_point_c, dry_bulb_c, wet_bulb_c = (observation.outdoor_dew_point_c, observation.outdoor_dry_bulb_c,
                                           observation.outdoor_wet_bulb_c)
    if is_missing(wet_bulb_c) or is_missing(dry_bulb_c) or wet_bulb_c > dry_bulb_c:
        return dew_point_c
    from_bulbs_c = dew_point_on_wet_bulb_line_c(wet_bulb_c, dry_bulb_c)
    return from_bulbs_c if is_missing(dew_point_c) else max(dew_point_c, from_bulbs_c)


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
    max_inlet_dew_point_c : the envelope's highest inlet dew point, C (15: ASHRAE recommended); with the
        relative humidity limit it makes the humidity limit a constraint (see ``_humid_below_c``), and an inlet
        that comes within the allowances of either makes a decision at once instead of at the end of the
        control period
    humidity_margin_pct : how close to the relative humidity limit an inlet may come before it counts as at
        the envelope's edge, percentage points
    outdoor_air_margin_c : with humid outdoor air, how far above the outdoor dry bulb the inlets are kept, K,
        so that the plant does not humidify the supply air with outdoor air and evaporation
    evaporative_passes : (only where the site's air side is unknown or ``air_side_humidity`` is off) how many
        times the air an evaporative stage humidified may come back to it as return
        air before a decision sees it (``_wet_bulb_floor_c``); with the economizer closed the air handler
        recirculates the zone air; 0 turns the wet-bulb floor off. It is the dial between humidity and energy
        (annual runs on the example site, bench/README.md, issue 16): one pass cut the humid steps from 162 to
        18 in Chicago and from 487 to 220 (trim-respond's) in Tampa and keeps the ai below trim-respond's
        facility electricity in every shipped climate; two passes reach trim-respond's humid steps in four
        climates of six but cost 7-14 MWh a year more and lose to trim-respond in Tampa and San Francisco.
        In Golden the halls' dew point went up in two steps after the economizer closed, so even two passes
        leave 383 humid steps there (trim-respond 27)
    air_side_humidity : where the site describes a zone's economizer and direct evaporative stage
        (``ControlContext.air_side``), replace the outdoor-air and wet-bulb floors by what that plant does to
        the supply air's moisture (``_air_side_floor_c``); ``evaporative_passes`` then does not apply
    outdoor_change_c : how far the outdoor dry bulb and dew point may move before the next decision, K: within
        it of an economizer limit, the economizer may open or close
    outdoor_wet_bulb_change_c : the same for the outdoor wet bulb, K (evaporation into outdoor air)
    evaporation_margin_c : how far below the dew-point limit evaporation may take the supply air, K
    humidity_step_up_c : how much further than ``max_step_c`` the supply air may rise in one decision to reach
        a humid-air floor, K
    stage_off_margin_c : how far above a direct evaporative stage's wet-bulb limit the return air's wet bulb
        must stay for the ai to count on the stage staying off with the economizer closed, K (in annual Golden
        runs the stage ran at 1 % of the steps with a return-air wet bulb 0-1 K above its limit, 0.03 % above)
    margin_c : safety margin inside the inlet limits, K (also kept above the humid-air floor); the drift
        monitor adds how much warmer than predicted the plant runs
    k_sigma : calibrated standard deviations of model uncertainty added to the predicted inlet
    max_step_c : largest setpoint change per control step, K (the supply air may rise ``humidity_step_up_c``
        more to reach an air-side humid-air floor)
    grid_step_c : resolution of the setpoint search, K
    max_uncertainty_c : above this predicted inlet standard deviation (K) the model is not trusted
    stuck_steps : a sensor reading identical for this many steps counts as stuck
    mode : ``closed-loop`` applies decisions, ``advisory`` only logs them (the site's own control runs)
    kill_switch : a file whose existence hands control to the baseline rule at once
    decide_every_steps : control period in zone timesteps (4 = hourly at 15-minute steps); setpoints are
        held in between, while the input and inlet guards check every timestep
    accept_model_mismatch : use a model whose zones' IT design power differs from the site's by more than 20 %
        (refused otherwise; ``greendc.learning.envelope.check_model_for_site``)
    weather_tolerance_c : how far outdoor dry and wet bulb may lie outside the training range, K
    load_tolerance : how far a zone's IT load may lie outside its training range, as a fraction of design
    setpoint_tolerance_c : how far the search may go beyond the setpoints seen in training, K
    max_recovery_drop_c : the largest supply-air drop of a recovery from an over-limit inlet, K; it deepens by
        ``max_step_c`` per control period while the inlet stays over, so that one reading cannot send the
        supply air to its floor and keep it there for hours
    drift : the drift monitor (its parameters: ``greendc.control.drift.DriftMonitor``)
    """

    model: FacilityModel | str | Path
    objective: Literal["facility", "cooling"] = "facility"
    inlet_limit_c: float = 27.0
    inlet_min_c: float = 18.0
    max_inlet_relative_humidity_pct: float | None = 60.0
    dew_point_rise_c: float = 1.0
    max_inlet_dew_point_c: float = 15.0
    humidity_margin_pct: float = 5.0
    outdoor_air_margin_c: float = 1.0
    evaporative_passes: int = 1
    air_side_humidity: bool = True
    outdoor_change_c: float = 1.5
    outdoor_wet_bulb_change_c: float = 0.5
    evaporation_margin_c: float = 0.5
    humidity_step_up_c: float = 1.5
    stage_off_margin_c: float = 1.0
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
    accept_model_mismatch: bool = False
    weather_tolerance_c: float = 2.0
    load_tolerance: float = 0.05
    setpoint_tolerance_c: float = 0.5
    max_recovery_drop_c: float = 3.0
    drift: DriftMonitor = field(default_factory=DriftMonitor)
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
        self._check_options()
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
            raise UsageError(f"the model's features {self.model.feature_names_} are not the ones greendc makes for "
                             f"this site: {expected}")
        #: What differs between the site and the one the model learned from (each one line; the run goes on).
        self.model_warnings_ = check_model_for_site(self.model.envelope_, context, self.accept_model_mismatch)
        self._context = context
        self._zone_names = list(context.zone_names)
        self._baseline = TrimRespondController()
        self._action = self._baseline.reset(context)
        self._step = 0
        self._records, self._entries = [], []
        column = {name: index for index, name in enumerate(self.model.feature_names_)}
        self._supply_columns = np.array([column[ZONE.supply_air_setpoint_c.of(z)] for z in context.zone_names])
        self._cooling_columns = np.array([column[ZONE.zone_cooling_setpoint_c.of(z)] for z in context.zone_names])
        self._water_column = column[FACILITY.chilled_water_setpoint_c.column] if context.has_chiller_plant else -1
        self._columns = (self._supply_columns, self._cooling_columns, self._water_column)
        # The site's bounds as the compiled search reads them (search.py), narrowed to what the model saw.
        self._bounds_c = _learned_bounds_c(np.array(context.bounds, dtype=float), self.model.envelope_,
                                           self._zone_names, context.has_chiller_plant, self.setpoint_tolerance_c)
        self._unknown_actions = [math.nan] * len(action_columns(list(context.zone_names), context.has_chiller_plant))
        means, quantiles = self.model.ensembles()
        self._trees = (means.arrays, quantiles.arrays, self.model.inlet_std_calibration())
        self._cooling_std_w = self.model.cooling_power_std_w()
        self._envelope_checks = _envelope_checks(self.model.envelope_, context, self.weather_tolerance_c,
                                                 self.load_tolerance)
        self._reset_guards(context)
        # Time of day as the model sees it (sine, cosine), by hour of day: it takes one of a few values.
        self._hour_features: dict[float, tuple[float, float]] = {}
        # Phase 1's candidates as offsets from the current setpoints: every common supply-air step with
        # every zone rise and chilled-water step (the same for every decision, so made once).
        steps = np.arange(-self.max_step_c, self.max_step_c + 1e-9, self.grid_step_c)
        water_steps = [-self.max_step_c, 0.0, self.max_step_c] if context.has_chiller_plant else [0.0]
        grid = np.array([(d, r, w) for d in steps for r in self.zone_rises_c for w in water_steps])
        self._grid = (steps, grid)
        # The same with larger rises of the supply air, for a decision whose humid-air floor lies beyond one step.
        wide = np.arange(-self.max_step_c, self.max_step_c + self.humidity_step_up_c + 1e-9, self.grid_step_c)
        self._wide_grid = (wide, np.array([(d, r, w) for d in wide for r in self.zone_rises_c for w in water_steps]))
        self._air_side = ({zone: context.air_side[zone] for zone in context.zone_names}
                          if self.air_side_humidity and self.max_inlet_relative_humidity_pct is not None
                          and all(zone in context.air_side for zone in context.zone_names)
                          else {})
        self._prepare_search()
        return self._action if self.mode == "closed-loop" else _SITE_CONTROL

    def _check_options(self) -> None:
        if self.objective not in ("facility", "cooling"):
            raise UsageError(f"objective must be facility or cooling, not {self.objective!r}")
        if self.mode not in ("closed-loop", "advisory"):
            raise UsageError(f"mode must be closed-loop or advisory, not {self.mode!r}")
        humidity = self.max_inlet_relative_humidity_pct
        if humidity is not None and not 0.0 < humidity <= 100.0:
            raise UsageError(f"max_inlet_relative_humidity_pct must be above 0 and at most 100 (or None), "
                             f"not {humidity}")
        if not 0.0 <= self.dew_point_rise_c <= 10.0:
            raise UsageError(f"dew_point_rise_c must be 0-10 K, not {self.dew_point_rise_c}")
        if not 0.0 < self.max_recovery_drop_c <= 10.0:
            raise UsageError(f"max_recovery_drop_c must be above 0 and at most 10 K, not {self.max_recovery_drop_c}")

    def _reset_guards(self, context: ControlContext) -> None:
        """What the guards remember from step to step, as a run starts."""
        # The stuck-sensor check: the outdoor dry bulb's last reading and for how many readings it has not
        # changed; the same for each zone's inlet, with the zone's recent supply-air readings.
        self._dry_bulb_unchanged: list[Any] = [None, 0]
        self._zone_stuck = {zone: ([None, 0], deque(maxlen=self.stuck_steps)) for zone in context.zone_names}
        self._outdoor_checks = [(sensor.column, *sensor.physical_range) for sensor in _OUTDOOR_INPUTS]
        zone_inputs = _ZONE_INPUTS if self.max_inlet_relative_humidity_pct is not None else _ZONE_INPUTS[:-1]
        self._zone_checks = [(zone, [(sensor.of(zone), *sensor.physical_range) for sensor in zone_inputs])
                             for zone in context.zone_names]
        self._trust = {zone: InletTrust() for zone in context.zone_names}
        self._over_limit_steps = dict.fromkeys(context.zone_names, 0)
        #: The step a recovery started and each zone's supply-air setpoint then (None: no recovery).
        self._recovery_start: tuple[int, dict[str, float]] | None = None
        self.drift.reset()
        #: Predictions waiting for their measurement, oldest first (a decision's inlets are measured two steps on).
        self._pending: deque[_Pending] = deque(maxlen=3)
        self._residuals: dict[str, float] = {}
        self._extra_margin_c = 0.0
        self._humid_zones: set[str] = set()
        #: Each zone's air-side regime at the last decision (``_air_regime``): a change makes a decision.
        self._regimes: dict[str, tuple[bool, bool]] = {}
        #: The inlets the last decision's choice was predicted to give, C: a humid-air floor above both these
        #: and the measured inlets makes a decision at every step until one of them reaches it.
        self._held_inlets_c: dict[str, float] = {}
        #: The outdoor dry bulb and dew point at the last step, and how fast they rose since, K per step.
        self._last_outdoor_c: tuple[float, float] | None = None
        self._outdoor_rise_c = (0.0, 0.0)
        #: Whether the last decision handed the control period to the fallback rule.
        self._rule_in_charge = False

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

    def wait_until_ready(self) -> None:
        """Block until the search that ``reset`` started compiling is ready: a live agent calls this (in a
        thread) before its first step, so that its first decision does not stall its event loop, its reads and
        its heartbeat for the ~30 s numba needs after a fresh install (bench/README.md, issue 17)."""
        self._search_prepared()

    def _search_prepared(self) -> None:
        """Wait for the search's preparation, if it is still running; raise what it raised."""
        if self._preparing is not None:
            self._preparing.join()
            self._preparing = None
            if self._preparation_error is not None:
                raise self._preparation_error

    # -- guards -------------------------------------------------------------------------------------------
    def _trusted(self, observation: Observation) -> tuple[Observation, Guard, str]:
        """The observation with every inlet the ai cannot believe made missing (NaN), the guard for the first
        it did not believe (``implausible-sensor`` or ``stuck-sensor``; ``none`` when it believed all) and
        why: see ``greendc.control.sensor_checks`` and :meth:`_inlet_stuck`. The outdoor readings are checked
        against each other too. Every check runs at every step, so that each sensor's memory stays current."""
        guard: Guard = "none"
        problem = ""
        outdoor = (observation.outdoor_dry_bulb_c, observation.outdoor_wet_bulb_c,
                   observation.outdoor_relative_humidity_pct)
        # Readings missing or out of their physical range are the input guard's to name.
        if all(not is_missing(value) and low <= value <= high
               for value, (_, low, high) in zip(outdoor, self._outdoor_checks, strict=True)):
            problem = outdoor_problem(*outdoor)
            guard = "implausible-sensor" if problem else guard
        # The latest prediction whose setpoints have reached the racks (two steps after its decision).
        pending = next((p for p in reversed(self._pending) if self._step >= p.step + 2), None)
        distrusted = set()
        for zone, state in observation.zones.items():
            predicted_c, std_c = None, 0.0
            if pending is not None:
                predicted_c = pending.inlets_c[zone] + self.drift.bias_.get(ZONE.inlet_temp_c.of(zone), 0.0)
                std_c = pending.inlet_stds_c[zone]
            why = self._trust[zone].check(state.inlet_temp_c, state.supply_air_temp_c, state.zone_air_temp_c,
                                          predicted_c, std_c)
            kind: Guard = "implausible-sensor"
            stuck = self._inlet_stuck(zone, state)
            if stuck and why in ("", "missing"):
                why, kind = stuck, "stuck-sensor"
            if why and why != "missing":
                distrusted.add(zone)
                if guard == "none":
                    guard, problem = kind, f"{ZONE.inlet_temp_c.of(zone)} {why}"
        if not distrusted:
            return observation, guard, problem
        # A live observation reads EnergyPlus on access: a changed copy is made from a frozen one.
        still = frozen(observation)
        zones = {zone: state._replace(inlet_temp_c=math.nan) if zone in distrusted else state
                 for zone, state in still.zones.items()}
        return still._replace(zones=zones), guard, problem

    def _inlet_stuck(self, zone: str, state: ZoneObservation) -> str:
        """Why a zone's inlet reading counts as stuck ("" when it does not).

        An inlet may rightly read the same for hours while its supply air holds steady (in a simulation to
        the last digit, whatever the IT load: servers draw the air they are given, and a change of load moves
        the return air, not the inlet); it is stuck when it stays put while the measured supply air moves. A
        reading frozen while the supply air holds steady goes unnoticed; with steady supply air the inlet it
        froze at stays close to the truth.
        """
        unchanged, supply_c = self._zone_stuck[zone]
        supply_c.append(state.supply_air_temp_c)
        if is_missing(state.inlet_temp_c):  # nothing read is missing, not stuck
            unchanged[:] = [None, 0]
        elif _unchanged_for(unchanged, state.inlet_temp_c) >= self.stuck_steps:
            # Supply air reaches the racks a step later, so a change in this very step does not count.
            earlier = list(supply_c)[:-1]
            if earlier and max(earlier) - min(earlier) > 0.2:
                return f"unchanged for {self.stuck_steps} steps while its zone's supply air changed"
        return ""

    def _input_guard(self, observation: Observation) -> tuple[Guard, str]:
        """Missing, out-of-range or stuck inputs (checked every timestep, so kept cheap)."""
        outdoor = (observation.outdoor_dry_bulb_c, observation.outdoor_wet_bulb_c,
                   observation.outdoor_relative_humidity_pct)
        for value, (name, low, high) in zip(outdoor, self._outdoor_checks, strict=True):
            # NaN fails both comparisons; None (a sensor that gave nothing) is told apart in _bad_input.
            if value is None or not low <= value <= high:
                return _bad_input(name, value, low, high)
        zones = observation.zones
        for zone, checks in self._zone_checks:
            state = zones[zone]
            # The dew point's check is left out (zip stops early) when the humidity limit is off.
            readings = (state.inlet_temp_c, state.it_power_w, state.supply_air_setpoint_c, state.inlet_dew_point_c)
            for value, (name, low, high) in zip(readings, checks, strict=False):
                if value is None or not low <= value <= high:
                    return _bad_input(name, value, low, high)
        # A stuck inlet is the trust stage's (_inlet_stuck). Weather files repeat hourly values, so the outdoor
        # reading gets a longer window.
        window = 3 * self.stuck_steps
        if _unchanged_for(self._dry_bulb_unchanged, outdoor[0]) >= window:
            return "stuck-sensor", f"{FACILITY.outdoor_dry_bulb_c.column} unchanged for {window} steps"
        return "none", ""

    def _outside_training(self, observation: Observation) -> str:
        """Why the state lies outside what the model learned from, beyond the tolerances ("" when inside)."""
        for label, read, allowed, tolerance, unit in self._envelope_checks:
            value = read(observation)
            if not allowed.contains(value, tolerance):
                return (f"{label} {value:.3g} {unit} outside the training range {allowed.min:.3g}-{allowed.max:.3g} "
                        f"{unit} (tolerance {tolerance:.2g})")
        return ""

    def _compare_with_prediction(self, observation: Observation) -> None:
        """Feed the drift monitor what was measured once the last decision's setpoints took effect: cooling
        power during the interval they applied to (one step later), inlets one interval after (two steps)."""
        for pending in self._pending:
            age = self._step - pending.step
            if age == 1 and not is_missing(observation.cooling_power_w):
                self._residuals[FACILITY.cooling_power_w.column] = self.drift.update(
                    FACILITY.cooling_power_w.column, observation.cooling_power_w, pending.cooling_power_w,
                    pending.cooling_power_std_w)
            elif age == 2:
                for zone, state in observation.zones.items():
                    if not is_missing(state.inlet_temp_c):
                        target = ZONE.inlet_temp_c.of(zone)
                        self._residuals[target] = self.drift.update(
                            target, state.inlet_temp_c, pending.inlets_c[zone], pending.inlet_stds_c[zone])

    def _over_limit(self, observation: Observation) -> tuple[list[str], bool]:
        """The zones whose (trusted) inlet is at or over the limit, and whether that is corroborated: by a
        second consecutive step over it, or by a second zone over it at the same step."""
        over = []
        for zone, state in observation.zones.items():
            hot = not is_missing(state.inlet_temp_c) and state.inlet_temp_c >= self.inlet_limit_c - 1e-9
            self._over_limit_steps[zone] = self._over_limit_steps[zone] + 1 if hot else 0
            if hot:
                over.append(zone)
        confirmed = len(over) >= 2 or any(self._over_limit_steps[zone] >= 2 for zone in over)
        return over, confirmed

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
        highest_c = self.inlet_limit_c - self.margin_c - self._extra_margin_c
        return floors_c, self.k_sigma, highest_c, self.inlet_min_c + self.margin_c, self.objective == "cooling"

    def _humid_below_c(self, observation: Observation) -> dict[str, float]:
        """Each zone's humid-air floor, C (none when the humidity limit is off): the highest of

        - the margin above the dry bulb at which its inlet dew point, plus the allowance for its rise, reaches
          the relative humidity limit (cooling air of a given moisture raises its relative humidity);
        - when the outdoor wet bulb is within ``dew_point_rise_c`` of the dew-point limit, the outdoor dry bulb
          plus ``outdoor_air_margin_c``: below it the plant cools with outdoor air and its direct evaporative
          stage, which brings the supply air's dew point toward the outdoor wet bulb (on the example site a
          supply-air setpoint a few tenths under the outdoor dry bulb on a humid September afternoon in
          Chicago took a hall's inlet dew point from 10.5 to 15.8 C in one step, bench/README.md, issue 16);
        - the margin above the supply-air dry bulb at which evaporation into the zone's return air (the zone
          air at the inlet's dew point) or outdoor air may take it out of the envelope (``_wet_bulb_floor_c``):
          an evaporative stage cools the mix of the two along its wet-bulb line, and once the economizer closes
          (above its dry-bulb or dew-point limit) it evaporates into recirculated air whose moisture stays for
          hours (in Golden the halls' inlet dew point went from 5.6 to 15 C within two steps of the economizer
          closing on a June morning, at 21 C supply air, and stayed there all day; at trim-respond's 24.5 C it
          reached 13.3 C, issue 16, item 7). The ai does not know whether the economizer is open or whether the
          stage runs, so this floor assumes that it may.

        Where the control context describes the zone's economizer and direct evaporative stage
        (``ControlContext.air_side``), the last two give way to ``_air_side_floor_c``, which knows when the
        economizer may be closed and so which air the stage evaporates into.

        The next interval's inlet dew point is taken from the measured one: it follows the outdoor air through
        the economizer, and the setpoints move it only where the coil condenses water or an evaporative stage
        humidifies. A learned dew point did worse (bench/README.md, section 4).
        """
        if self.max_inlet_relative_humidity_pct is None:
            return {}
        evaporative_floor_c = -math.inf
        if observation.outdoor_wet_bulb_c + self.dew_point_rise_c >= self.max_inlet_dew_point_c:
            evaporative_floor_c = observation.outdoor_dry_bulb_c + self.outdoor_air_margin_c
        floors_c = {}
        for zone, state in observation.zones.items():
            if self._air_side:
                floors_c[zone] = max(self._air_side_floor_c(observation, zone, state), self.margin_c + (
                    dry_bulb_at_relative_humidity_c(self._coming_dew_point_c(observation, zone, state)
                                                    + self.dew_point_rise_c, self.max_inlet_relative_humidity_pct)))
                continue
            wet_bulb_floor_c = -math.inf if self.evaporative_passes == 0 else self.margin_c + self._wet_bulb_floor_c(
                observation.outdoor_wet_bulb_c, state.zone_air_temp_c, state.inlet_dew_point_c)
            floors_c[zone] = max(evaporative_floor_c, wet_bulb_floor_c, self.margin_c + dry_bulb_at_relative_humidity_c(
                state.inlet_dew_point_c + self.dew_point_rise_c, self.max_inlet_relative_humidity_pct))
        return floors_c

    def _coming_dew_point_c(self, observation: Observation, zone: str, state: ZoneObservation) -> float:
        """The dew point a zone's inlet may have before the next decision, C: its measured one, or the outdoor
        air's where the economizer may be open and the outdoor air is the moister (the supply air then takes
        the outdoor air's moisture; on the three-hall site, which has no evaporative stage, every humid step
        of the ai was an inlet above 60 % with the economizer open, at weather-file seams where the outdoor
        air was moister than its recorded dew point, bench/README.md, issue 16)."""
        dew_point_c = state.inlet_dew_point_c
        # Where the outdoor dew point is rising, what two more steps bring at the rate of the last one (the
        # choice reaches the racks a step on).
        outdoor_c = outdoor_air_dew_point_c(observation) + 2.0 * self._outdoor_rise_c[1]
        if not is_missing(outdoor_c) and outdoor_c > dew_point_c and self._air_regime(observation, zone)[1]:
            return outdoor_c
        return dew_point_c

    def _air_side_onset(self, observation: Observation) -> bool:
        """Whether the air side asks for a decision at this step: a zone's regime (``_air_regime``) changed
        since the last decision, or its humid-air floor rose above both its measured inlet and the inlet the
        last decision expected (the outdoor air's wet bulb or dew point moved within the control period)."""
        outdoor_c = (observation.outdoor_dry_bulb_c, outdoor_air_dew_point_c(observation))
        if self._last_outdoor_c is not None:
            self._outdoor_rise_c = tuple(max(0.0, now - before) if math.isfinite(now - before) else 0.0
                                         for now, before in zip(outdoor_c, self._last_outdoor_c, strict=True))
        self._last_outdoor_c = outdoor_c
        if self._step <= 1:
            return False
        if {zone: self._air_regime(observation, zone) for zone in self._zone_names} != self._regimes:
            return True
        floors_c = self._humid_below_c(observation)
        return any(floors_c[zone] > max(state.inlet_temp_c, self._held_inlets_c.get(zone, -math.inf))
                   + HUMID_FLOOR_TOLERANCE_K for zone, state in observation.zones.items())

    def _air_regime(self, observation: Observation, zone: str) -> tuple[bool, bool]:
        """What a zone's air handler may do to the supply air's moisture before the next decision: whether its
        economizer may close (the handler recirculates the return air) and whether it may open (outdoor air),
        within ``outdoor_change_c`` of its limits, plus what two more steps bring at the rate of the last one.
        A change makes a decision at once."""
        limits = self._air_side[zone]
        dry_bulb_c, dew_point_c = observation.outdoor_dry_bulb_c, outdoor_air_dew_point_c(observation)
        change_c = self.outdoor_change_c
        # What the next two steps may bring at the rate of the last one (the choice reaches the racks a step on).
        rise_c, dew_rise_c = (2.0 * rise for rise in self._outdoor_rise_c)
        if limits.economizer_max_dry_bulb_c is None:
            may_close, may_open = True, False
        else:
            high_c, humid_c, low_c = (limits.economizer_max_dry_bulb_c, limits.economizer_max_dew_point_c,
                                      limits.economizer_min_dry_bulb_c)
            if is_missing(dew_point_c):
                may_close, may_open = True, True
            else:
                may_close = (dry_bulb_c + change_c + rise_c >= high_c or dew_point_c + change_c + dew_rise_c >= humid_c
                             or dry_bulb_c - change_c <= low_c)
                may_open = (dry_bulb_c - change_c < high_c and dew_point_c - change_c < humid_c
                            and dry_bulb_c + change_c > low_c)
        return may_close, may_open

    def _air_side_floor_c(self, observation: Observation, zone: str, state: ZoneObservation) -> float:
        """A zone's inlet floor, C, from what its air handler may do to the supply air's moisture before the
        next decision (``ControlContext.air_side``): a direct evaporative stage cools the air it gets along
        that air's wet-bulb line down to the supply-air setpoint, adding water.

        - With the economizer open and the outdoor air warmer than the supply air, the stage cools outdoor
          air: the supply air must stay where the outdoor wet-bulb line (plus ``outdoor_wet_bulb_change_c``)
          keeps it within the envelope, or at the outdoor dry bulb (no evaporation).
        - With the economizer closed, it cools the recirculated return air, and the water it adds comes back
          again and again until the air's wet bulb reaches the stage's limit (in Golden the halls' dew point
          went from -2 to 16 C in three steps at 19.75 C supply air): the supply air must stay where that
          limit's wet-bulb line keeps it within the envelope, unless the return air is already that humid.

        The inlet is the supply air plus the measured difference between the two (the racks take in some of
        the hot aisle's air); its relative humidity is judged at the inlet.
        """
        limits = self._air_side[zone]
        most_c = limits.direct_evaporative_max_wet_bulb_c
        if most_c is None:
            return -math.inf
        may_close, may_open = self._air_regime(observation, zone)
        offset_c = state.inlet_temp_c - state.supply_air_temp_c
        offset_c = min(max(offset_c, 0.0), 3.0) if math.isfinite(offset_c) else 0.0
        floor_c = -math.inf
        dry_bulb_c = observation.outdoor_dry_bulb_c
        if may_open and dry_bulb_c + self.outdoor_change_c > (limits.direct_evaporative_min_dry_bulb_c or -math.inf):
            wet_bulb_c = min(observation.outdoor_wet_bulb_c + self.outdoor_wet_bulb_change_c, most_c)
            floor_c = min(self._lowest_dry_supply_c(wet_bulb_c, offset_c), dry_bulb_c + self.outdoor_change_c)
        if may_close:
            # The stage stays off while the return air is warm enough for its wet bulb to stay
            # ``stage_off_margin_c`` above the stage's limit, and the return air follows the supply air (the
            # measured difference of the two).
            return_rise_c = state.zone_air_temp_c - state.supply_air_temp_c
            return_rise_c = max(return_rise_c, 0.0) if math.isfinite(return_rise_c) else 0.0
            off_c = most_c + self.stage_off_margin_c
            dry_return_c = dry_bulb_on_wet_bulb_line_c(off_c, humidity_ratio_at_dew_point(
                min(state.inlet_dew_point_c, off_c)))
            floor_c = max(floor_c, min(self._lowest_dry_supply_c(most_c, offset_c), dry_return_c - return_rise_c))
        return floor_c + offset_c

    def _lowest_dry_supply_c(self, wet_bulb_c: float, offset_c: float) -> float:
        """The lowest supply-air dry bulb, C, on this wet-bulb line whose dew point stays ``evaporation_margin_c``
        below the dew-point limit and whose relative humidity at the inlet (``offset_c`` warmer) stays within
        the limit (bisection: both fall as the dry bulb rises along the line)."""
        limit_c = self.max_inlet_dew_point_c - self.evaporation_margin_c

        def inside(supply_c: float) -> bool:
            dew_point_c = dew_point_on_wet_bulb_line_c(wet_bulb_c, supply_c)
            return dew_point_c <= limit_c and dry_bulb_at_relative_humidity_c(
                dew_point_c, self.max_inlet_relative_humidity_pct) <= supply_c + offset_c

        return _lowest_inside(inside, wet_bulb_c, wet_bulb_c + 30.0, iterations=14)

    def _wet_bulb_floor_c(self, outdoor_wet_bulb_c: float, return_air_c: float, dew_point_c: float) -> float:
        """The supply-air dry bulb, C, below which evaporative cooling may take a zone's air out of the humidity
        envelope (its dew point within ``dew_point_rise_c`` of ``max_inlet_dew_point_c``, or its relative
        humidity over the limit), for return air at ``return_air_c`` and ``dew_point_c``.

        An evaporative stage cools the mix of outdoor and return air along its wet-bulb line, at most the
        higher of the two's, and the air it humidified comes back as return air while the economizer is closed:
        ``evaporative_passes`` such passes to the supply air's dry bulb are allowed for. Warmer supply air
        evaporates less, so the bound is found by bisection between the treated air's wet bulb and the return
        air.
        """
        limit_dew_point_c = self.max_inlet_dew_point_c - self.dew_point_rise_c

        def inside(supply_c: float) -> bool:
            humid_c = dew_point_c
            for _ in range(self.evaporative_passes):
                wet_bulb_c = max(outdoor_wet_bulb_c, wet_bulb_at_dew_point_c(return_air_c, humid_c))
                # Supply air as warm as the return air needs no cooling, and nothing evaporates.
                if supply_c < return_air_c:
                    humid_c = max(humid_c, dew_point_on_wet_bulb_line_c(wet_bulb_c, supply_c))
            return humid_c <= limit_dew_point_c and dry_bulb_at_relative_humidity_c(
                humid_c, self.max_inlet_relative_humidity_pct) <= supply_c

        low_c = max(outdoor_wet_bulb_c, wet_bulb_at_dew_point_c(return_air_c, dew_point_c))
        return _lowest_inside(inside, low_c, max(return_air_c, low_c), iterations=12)

    def _humid_risk(self, state: ZoneObservation) -> bool:
        """Whether a zone's inlet air is within the allowances of the humidity envelope's edge: its dew point
        within ``dew_point_rise_c`` of ``max_inlet_dew_point_c``, or its relative humidity within
        ``humidity_margin_pct`` of the limit."""
        return (state.inlet_dew_point_c + self.dew_point_rise_c >= self.max_inlet_dew_point_c
                or state.inlet_relative_humidity_pct >= self.max_inlet_relative_humidity_pct - self.humidity_margin_pct)

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
        if self._air_side and any(humid_below_c[z] - observation.zones[z].inlet_temp_c > self.max_step_c
                                  for z in zones):
            steps, grid = self._wide_grid
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

    def _recovery(self, observation: Observation, over: list[str]) -> Action:
        """Cool the zones over the limit: supply air down by 2 K plus the excess, at most
        ``max_recovery_drop_c`` below where it was when the recovery began, and ``max_step_c`` further for every
        control period the inlet stays over."""
        bounds = self._context.bounds
        held = self._action.supply_air_setpoint_c or {}
        if self._recovery_start is None:
            self._recovery_start = (self._step, {zone: state.supply_air_setpoint_c if not is_missing(
                state.supply_air_setpoint_c) else held.get(zone, bounds.supply_air_c.min)
                for zone, state in observation.zones.items()})
        started_step, started_c = self._recovery_start
        periods_over = (self._step - started_step) // self.decide_every_steps
        supply = {zone: held.get(zone, started_c[zone]) for zone in self._zone_names}
        for zone in over:
            excess = observation.zones[zone].inlet_temp_c - (self.inlet_limit_c - self.margin_c)
            drop = min(2.0 + excess, self.max_recovery_drop_c) + periods_over * self.max_step_c
            supply[zone] = bounds.supply_air_c.clip(min(supply[zone], started_c[zone] - drop))
        cooling = {z: bounds.zone_cooling_c.clip(supply[z] + self._baseline.server_delta_t_c) for z in supply}
        self._baseline.continue_from(min(supply.values()))
        return Action(supply, cooling, self._action.chilled_water_setpoint_c)

    def _applied(self, action: Action) -> Action:
        """What reaches the plant: the action in closed loop, the site's own control in advisory mode."""
        return action if self.mode == "closed-loop" else _SITE_CONTROL

    def act(self, observation: Observation) -> Action:
        # The ai plans within the site's bounds (its candidates and its recovery stay inside them, so that what
        # it predicts is what is applied); the runner alone clips what it returns.
        started = time.perf_counter()
        self._step += 1
        trusted, distrust, distrust_detail = self._trusted(observation)
        # The rule runs at every step on the readings the ai believes, so that it is ready to take over; its
        # action is made only when needed.
        self._baseline.follow(trusted)
        self._compare_with_prediction(trusted)
        guard, detail = (distrust, distrust_detail) if distrust != "none" else self._input_guard(trusted)
        if guard == "none" and self._kill_switch_engaged():
            guard, detail = "kill-switch", str(self.kill_switch)
        over, confirmed = self._over_limit(trusted) if guard == "none" else ([], False)
        if not over:
            self._recovery_start = None
        if guard != "none":
            return self._hand_over(observation, guard, detail, started)
        if over and confirmed:
            self._action, self._rule_in_charge = self._recovery(trusted, over), False
            self._pending.clear()
            self._log(observation, "inlet-over-limit", f"measured inlet at or over the limit in {', '.join(over)}",
                      self._action, self._baseline.action(), None, started)
            return self._applied(self._action)
        if over:
            self._log(observation, "unconfirmed-over-limit", f"{', '.join(over)} at or over the limit for one step "
                      "only: holding, waiting for a second step or sensor", self._action, self._baseline.action(),
                      None, started)
            return self._applied(self._action)
        humidity_onset = self._humidity_onset(trusted)
        if self._air_side:
            humidity_onset = self._air_side_onset(trusted) or humidity_onset
        if (self._step - 1) % self.decide_every_steps != 0 and not humidity_onset:
            if self._rule_in_charge:
                # A decision handed the period to the rule: it trims and responds every step, as on its own.
                self._action = self._baseline.action()
            return self._applied(self._action)
        return self._decide(observation, started)

    def _humidity_onset(self, observation: Observation) -> bool:
        """Whether a zone's inlet air reached the humidity envelope's edge at this step (it was inside at the
        last one): worth a decision now rather than at the end of the control period."""
        if self.max_inlet_relative_humidity_pct is None:
            return False
        at_risk = {zone for zone, state in observation.zones.items() if self._humid_risk(state)}
        onset, self._humid_zones = bool(at_risk - self._humid_zones), at_risk
        return onset

    def _hand_over(self, observation: Observation, guard: Guard, detail: str, started: float,
                   search: _Search | None = None) -> Action:
        """Give the step to the fallback rule (which fails safe on missing inlets) and log why."""
        baseline = self._baseline.action()
        self._action, self._rule_in_charge = baseline, True
        if search is None:
            self._pending.clear()
        self._log(observation, guard, detail, baseline, baseline, search, started)
        return self._applied(baseline)

    def _decide(self, observation: Observation, started: float) -> Action:
        """A control decision: the envelope and drift guards, then the search."""
        if self._air_side:
            # Before any hand-over: a regime kept only by the search would look changed at every step after one,
            # and each step would be decided (and logged) instead of each control period.
            self._regimes = {zone: self._air_regime(observation, zone) for zone in self._zone_names}
        outside = self._outside_training(observation)
        if outside:
            return self._hand_over(observation, "outside-training", outside, started)
        drifting = self.drift.decide()
        self._extra_margin_c = self.drift.warm_bias_k([ZONE.inlet_temp_c.of(zone) for zone in self._zone_names])
        baseline = self._baseline.action() if self.mode == "closed-loop" else _SITE_CONTROL
        humid_below = self._humid_below_c(observation)
        if self._preparing is not None:
            self._search_prepared()
        search = self._search(observation, baseline, humid_below)
        if self._air_side:
            self._held_inlets_c = dict(zip(self._zone_names, search.outcomes[0 if search.found else 1, 3:].tolist(),
                                           strict=True))
        if drifting:
            self._expect(search, chosen=False)
            return self._hand_over(observation, "model-drift", f"prediction residuals {self.drift.statistic:.1f} "
                                   f"standard deviations off (hands back below {self.drift.clear_below:g})",
                                   started, search)
        if not search.found:
            self._expect(search, chosen=False)
            return self._hand_over(observation, "no-feasible-action", f"none of {search.candidates} candidates is "
                                   "safe", started, search)
        spread = max(search.chosen_std_c.tolist())
        if spread > self.max_uncertainty_c:
            self._expect(search, chosen=False)
            return self._hand_over(observation, "model-uncertain", f"inlet std {spread:.2f} K > "
                                   f"{self.max_uncertainty_c} K", started, search)
        action = self._to_action(search.chosen_row)
        self._action, self._rule_in_charge = action, False
        # In advisory mode the site's own setpoints (the search's baseline row) are what takes effect, so they are
        # what the drift monitor must judge the model by: the chosen row's outcome never happens.
        self._expect(search, chosen=self.mode == "closed-loop")
        # The rule continues from the optimizer's setpoint if it has to take over, instead of jumping back
        # to wherever its own state had drifted.
        self._baseline.continue_from(min(action.supply_air_setpoint_c.values()))
        detail, floor_c = f"{search.candidates} candidates searched", None
        if self._extra_margin_c > 0.05:
            detail += f"; margin widened by {self._extra_margin_c:.1f} K (the plant runs warmer than predicted)"
        if search.humidity_mattered:
            floor_c = max(humid_below.values())
            detail += (f"; inlets kept at or above {floor_c:.1f} C (not the cheapest safe choice) for relative "
                       f"humidity at most {self.max_inlet_relative_humidity_pct:g} %")
        self._log(observation, "none", detail, action, baseline, search, started, floor_c)
        return self._applied(action)

    def _expect(self, search: _Search, chosen: bool) -> None:
        """Remember what the model predicts for the setpoints that will apply (the chosen row, or the
        baseline's when the rule or the site's own control keeps charge), to compare once they took effect."""
        outcome = search.outcomes[0 if chosen else 1].tolist()
        stds = (search.chosen_std_c if chosen else search.spread_c).tolist()
        self._pending.append(_Pending(self._step, outcome[0], self._cooling_std_w,
                                      dict(zip(self._zone_names, outcome[3:], strict=True)),
                                      dict(zip(self._zone_names, stds, strict=True))))

    def _log(self, observation: Observation, guard: Guard, detail: str, chosen: Action, baseline: Action,
             search: _Search | None, started: float,
             humid_air_floor_c: float | None = None) -> None:
        """Keep what the decision's record needs; ``decision_log`` makes the records when it is read (after the
        run, in one warm loop, rather than one dict at a time inside EnergyPlus). The observation's values are
        read now: a live observation expires with its timestep."""
        self._entries.append((
            observation.month, observation.day, observation.hour, observation.minute, guard, detail, self.mode,
            observation.outdoor_dry_bulb_c, observation.it_power_w, observation.hottest_inlet_c, chosen, baseline,
            search, humid_air_floor_c, 1000.0 * (time.perf_counter() - started), self.drift.statistic,
            self._extra_margin_c, dict(self._residuals)))

    def _record(self, month: int, day: int, hour: int, minute: int, guard: Guard, detail: str, mode: str,
                outdoor_dry_bulb_c: float, it_power_w: float, hottest_inlet_c: float, chosen: Action,
                baseline: Action, search: _Search | None, humid_air_floor_c: float | None,
                decision_ms: float, drift_statistic: float, drift_margin_c: float,
                residuals: dict[str, float]) -> DecisionRecord:
        """One decision's record: its inputs, the chosen and the baseline's setpoints, the predictions with
        their uncertainty, the predicted saving, the guard that fired, the drift state and what it cost."""
        prediction = None
        if search is not None:
            (cooling_w, it_w, objective_w, *inlets_c), baseline_outcome = search.outcomes.tolist()
            prediction = Prediction(
                cooling_power_w=cooling_w, it_power_w=it_w, objective_w=objective_w,
                baseline_objective_w=baseline_outcome[2],
                inlet_temp_c=dict(zip(self._zone_names, inlets_c, strict=True)),
                inlet_temp_std_c=dict(zip(self._zone_names, search.chosen_std_c.tolist(), strict=True)),
            )
        if mode == "advisory":
            applied = "site"
        else:
            applied = "ai" if guard == "none" else {"inlet-over-limit": "recovery",
                                                     "unconfirmed-over-limit": "held"}.get(guard, "baseline")
        return DecisionRecord(
            # datetime, not pandas.Timestamp: a tenth of the cost, and the log's table stores it the same way.
            time=datetime(2001, month, day) + timedelta(hours=hour, minutes=minute),
            guard=guard, detail=detail, mode=mode, applied=applied,
            outdoor_dry_bulb_c=_reading(outdoor_dry_bulb_c), it_power_w=_reading(it_power_w),
            hottest_inlet_c=hottest_inlet_c, chosen=chosen, baseline=baseline, prediction=prediction,
            decision_ms=decision_ms, humid_air_floor_c=humid_air_floor_c, drift_statistic=drift_statistic,
            drift_margin_c=drift_margin_c, residuals=residuals,
        )


def _reading(value: float | None) -> float:
    """A reading as a number for the log: a missing one (None) as NaN."""
    return math.nan if value is None else float(value)


def _learned_bounds_c(bounds_c: np.ndarray, envelope: TrainingEnvelope, zones: list[str], has_chiller_plant: bool,
                      tolerance_c: float) -> np.ndarray:
    """The site's setpoint bounds (rows as ``search.py`` reads them) narrowed to the setpoints the model saw
    in training, plus a tolerance: the model is not asked about setpoints it never saw."""
    learned = bounds_c.copy()
    rows = [(SUPPLY_AIR, [ZONE.supply_air_setpoint_c.of(z) for z in zones]),
            (ZONE_COOLING, [ZONE.zone_cooling_setpoint_c.of(z) for z in zones])]
    if has_chiller_plant:
        rows.append((CHILLED_WATER, [FACILITY.chilled_water_setpoint_c.column]))
    for row, features in rows:
        low = max(envelope.feature_ranges[name].min for name in features) - tolerance_c
        high = min(envelope.feature_ranges[name].max for name in features) + tolerance_c
        learned[row, MIN], learned[row, MAX] = max(learned[row, MIN], low), min(learned[row, MAX], high)
        if learned[row, MIN] > learned[row, MAX]:
            raise UsageError(f"the model learned {', '.join(features)} within {low + tolerance_c:g}-"
                             f"{high - tolerance_c:g} C, outside the site's bounds {bounds_c[row, MIN]:g}-"
                             f"{bounds_c[row, MAX]:g} C: train a model on this site's telemetry")
    return learned


def _envelope_checks(envelope: TrainingEnvelope, context: ControlContext, weather_tolerance_c: float,
                     load_tolerance: float) -> list[tuple[str, Any, Any, float, str]]:
    """The state checks of the training envelope: (label, reader of an observation, learned range, tolerance,
    unit) for outdoor dry and wet bulb, and each zone's IT power in W and as a fraction of its design power."""
    ranges = envelope.feature_ranges
    checks: list[tuple[str, Any, Any, float, str]] = [
        ("outdoor dry bulb", lambda o: o.outdoor_dry_bulb_c, ranges[f"state:{FACILITY.outdoor_dry_bulb_c.column}"],
         weather_tolerance_c, "C"),
        ("outdoor wet bulb", lambda o: o.outdoor_wet_bulb_c, ranges[f"state:{FACILITY.outdoor_wet_bulb_c.column}"],
         weather_tolerance_c, "C"),
    ]
    for zone in context.zone_names:
        design_w = context.zone_it_design_power_w.get(zone) or envelope.zone_it_design_power_w[zone]
        learned_w = ranges[f"state:{ZONE.it_power_w.of(zone)}"]
        checks.append((f"{zone} IT power", lambda o, z=zone: o.zones[z].it_power_w, learned_w,
                       load_tolerance * envelope.zone_it_design_power_w[zone], "W"))
        checks.append((f"{zone} IT load", lambda o, z=zone, d=design_w: o.zones[z].it_power_w / d,
                       envelope.zone_it_load_fraction[zone], load_tolerance, "of design"))
    return checks


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


def _lowest_inside(inside: Callable[[float], bool], low_c: float, high_c: float, iterations: int) -> float:
    """The lowest supply-air dry bulb, C, in ``low_c``-``high_c`` that ``inside`` accepts, to within
    ``(high_c - low_c) / 2**iterations`` from above (bisection: ``inside`` holds from some dry bulb upward)."""
    if inside(low_c):
        return low_c
    for _ in range(iterations):
        middle_c = 0.5 * (low_c + high_c)
        low_c, high_c = (low_c, middle_c) if inside(middle_c) else (middle_c, high_c)
    return high_c
