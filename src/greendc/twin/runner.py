"""Co-simulation: run a twin in EnergyPlus and let a controller act at every zone timestep.

Order of events:

1. ``after_new_environment_warmup_complete`` (Python, once per environment): when the weather-file run
   period starts, write the controller's first action.
2. ``AfterPredictorAfterHVACManagers`` (an EMS program the runner adds to the model, run by EnergyPlus at
   every system timestep): after the setpoint managers ran, overwrite each zone's supply-air setpoint nodes
   with the controller's value (EMS globals ``greendc_supply_air_c_i``, on when ``greendc_override_i`` is 1)
   and set the mixed-air node to it minus the measured fan heat, as the mixed-air manager would; otherwise
   the economizer keeps mixing to the old setpoint and overcools. Done in EnergyPlus's own language
   because a Python callback at every system timestep cost more than a second per simulated year.
3. ``end_system_timestep_after_hvac_reporting`` and ``end_zone_timestep_after_zone_reporting`` (compiled
   code, no Python; ``greendc.twin.recorder``): record every sensor of the registry
   (``greendc.telemetry.sensors``), the HVAC ones at every system timestep.
4. ``end_zone_timestep_after_zone_reporting`` (Python, every zone timestep of the run period, registered when
   it starts, so that sizing and warm-up run without Python and leave it free for a controller's own
   preparation, such as the ai's compiled search loading on the other core): hand the controller a live
   observation (it reads the recorder's copy of the sensors as it looks at them), take its next action, clip
   it to the site's bounds (the one place that does) and write what changed: zone cooling and chilled-water
   setpoints into their actuated schedules, supply air into the EMS globals. Both keep their values, so they
   act from the next timestep.

The telemetry holds every sensor at every zone timestep as EnergyPlus's own timestep output would report it:
HVAC values averaged over the system timesteps (water volumes summed), zone values at the end of the step.
"""

from __future__ import annotations

import copy
import gc
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from greendc.errors import GreendcError
from greendc.site.schema import Bounds, Setpoints
from greendc.telemetry.contract import Action, Controller
from greendc.telemetry.decisions import DecisionRecord
from greendc.telemetry.sensors import FACILITY, ZONE, Derivation, Equipment, cooling_power_columns
from greendc.twin.builder import CHILLED_WATER_SETPOINT_SCHEDULE, Twin, ZoneSystem, control_context
from greendc.twin.engine import check_engine
from greendc.twin.live import LiveObservation, LiveZoneObservation, SensorReader
from greendc.twin.recorder import Recorder
from greendc.twin.run_folder import temporary_run_folder
from greendc.twin.schema_check import validate_epjson

RUN_PERIOD_WEATHER = 3  # EnergyPlus KindOfSim::RunPeriodWeather
_NOTHING = object()  # a setpoint not yet written: unequal to every value, None included


class EnergyPlusError(GreendcError, RuntimeError):
    """EnergyPlus stopped with a fatal error; the message quotes the .err file."""


class StopRun(Exception):  # noqa: N818 - a request, not an error
    """Raised by a controller to end a run early (a served building told to stop): the run returns the
    telemetry of the timesteps simulated so far instead of failing."""


@dataclass
class ErrSummary:
    """What the EnergyPlus .err file says about a run."""

    warnings: int
    severe: int
    severe_messages: list[str]
    fatal_messages: list[str]


_COUNTS = re.compile(r"EnergyPlus (?:Completed Successfully|Terminated)--\s*(\d+) Warning; (\d+) Severe Errors")


def read_err(path: Path) -> ErrSummary:
    """Count warnings and quote severe and fatal messages (with their continuation lines)."""
    if not path.is_file():
        return ErrSummary(0, 0, [], [])
    lines = path.read_text(errors="replace").splitlines()
    severe: list[str] = []
    fatal: list[str] = []
    target: list[str] | None = None
    for line in lines:
        text = line.strip()
        if text.startswith("** Severe  **"):
            target = severe
            severe.append(text)
        elif text.startswith("**  Fatal  **"):
            target = fatal
            fatal.append(text)
        elif text.startswith("**   ~~~   **") and target is not None:
            target[-1] += " " + text.removeprefix("**   ~~~   **").strip()
        else:
            target = None
    warnings = severe_count = 0
    for line in lines:
        match = _COUNTS.search(line)
        if match:
            warnings, severe_count = int(match.group(1)), int(match.group(2))
    return ErrSummary(warnings, max(severe_count, len(severe)), severe, fatal)


@dataclass
class _Sensor:
    column: str
    variable: str
    key: str
    handle: int = -1


@dataclass
class RunResult:
    """Telemetry and facts of one co-simulation."""

    telemetry: pd.DataFrame
    timestep_h: float
    err: ErrSummary
    wall_s: float
    controller: str
    zone_names: list[str]
    has_chiller_plant: bool
    epjson: dict[str, Any] = field(repr=False, default_factory=dict)
    #: The decision records of a controller that logs them (the ai), oldest first.
    decisions: list[DecisionRecord] | None = field(repr=False, default=None)


_C_DECLARATIONS = """
double getVariableValue(void *state, int handle);
void setActuatorValue(void *state, int handle, double value);
void resetActuator(void *state, int handle);
void setEMSGlobalVariableValue(void *state, int handle, double value);
int kindOfSim(void *state);
int month(void *state);
int dayOfMonth(void *state);
int hour(void *state);
int apiErrorFlag(void *state);
void callbackAfterNewEnvironmentWarmupComplete(void *state, void (*f)(void *));
void callbackEndOfSystemTimeStepAfterHVACReporting(void *state, void (*f)(void *));
void callbackEndOfZoneTimeStepAfterZoneReporting(void *state, void (*f)(void *));
"""


@lru_cache(maxsize=1)
def _raw_exchange() -> tuple[Any, Any]:
    """The few C functions of libenergyplusapi that run at every timestep, bound through cffi.

    pyenergyplus's ctypes wrappers check their arguments on every call and ctypes' own conversion costs
    more than the read itself. cffi (ABI mode, no compiler needed) calls the same library, already loaded
    by pyenergyplus, for about half the cost.
    """
    import cffi
    from pyenergyplus.api import api_path

    ffi = cffi.FFI()
    ffi.cdef(_C_DECLARATIONS)
    return ffi, ffi.dlopen(str(api_path()))


def _sensors(twin: Twin) -> list[_Sensor]:
    """The twin's recorded sensors (``greendc.telemetry.sensors``), in telemetry column order: the facility's,
    each zone's, then the chiller plant's (after the zones, where telemetry files have always had them)."""
    facility = [sensor for sensor in FACILITY if sensor.recorded]
    sensors = [_Sensor(s.column, s.variable, s.key) for s in facility if s.equipment is Equipment.ALWAYS]
    for system in twin.zones:
        present = _zone_equipment(system)
        sensors += [_Sensor(s.of(system.names.zone), s.variable, s.key_for(system.names))
                    for s in ZONE if s.recorded and present[s.equipment]]
    if twin.has_chiller_plant:
        sensors += [_Sensor(s.column, s.variable, s.key) for s in facility if s.equipment is Equipment.CHILLER_PLANT]
    return sensors


def _zone_equipment(system: ZoneSystem) -> dict[Equipment, bool]:
    """Which of the registry's kinds of zone equipment a zone's air system has."""
    names = system.names
    return {Equipment.ALWAYS: True, Equipment.DX_COIL: system.coil == "dx",
            Equipment.DIRECT_EVAPORATIVE: names.dec in system.evaporative_coolers,
            Equipment.INDIRECT_EVAPORATIVE: names.iec in system.evaporative_coolers, Equipment.CHILLER_PLANT: False}


def clip_to_bounds(action: Action, bounds: Setpoints) -> Action:
    """The action with every setpoint inside the site's bounds (the same object when it already is).

    The runner is the one place that clips setpoints: controllers may plan within the bounds (the context
    gives them), but only what comes out of here reaches EnergyPlus. A setpoint that is not a finite number
    (NaN from an agent, say) raises ValueError: there is no safe value to clip it to.
    """
    supply, cooling, water = action
    changed = False
    if supply and _outside(supply.values(), bounds.supply_air_c):
        supply, changed = {z: _clip(v, bounds.supply_air_c, f"supply air of {z}") for z, v in supply.items()}, True
    if cooling and _outside(cooling.values(), bounds.zone_cooling_c):
        cooling = {z: _clip(v, bounds.zone_cooling_c, f"zone cooling of {z}") for z, v in cooling.items()}
        changed = True
    if water is not None and _outside((water,), bounds.chilled_water_c):
        water, changed = _clip(water, bounds.chilled_water_c, "chilled water"), True
    return Action(supply, cooling, water) if changed else action


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


def run_period_calendar(twin: Twin) -> list[tuple[int, int, int, int]]:
    """(month, day, hour, minute) of every zone timestep in the run period, as EnergyPlus labels them.

    A timestep is labelled with its end: the hour it starts in (0-23) and the minute it ends at (so the
    step ending at 01:00 is hour 0, minute 60). The runner checks the first and last step's month, day and
    hour against EnergyPlus's clock and the number of steps against EnergyPlus's.
    """
    sim = twin.site.simulation
    minutes = 60 // sim.timesteps_per_hour
    start = pd.Timestamp(2001, sim.begin_month, sim.begin_day)
    days = pd.date_range(start, pd.Timestamp(2001, sim.end_month, sim.end_day), freq="D")
    ends = np.arange(minutes, 24 * 60 + 1, minutes)
    hours = (ends - 1) // 60
    # Whole columns at once: a tuple per step built in a Python loop costs 0.1 s a year, paid by every run.
    return list(zip(np.repeat(days.month, len(ends)).tolist(), np.repeat(days.day, len(ends)).tolist(),
                    np.tile(hours, len(days)).tolist(), np.tile(ends - 60 * hours, len(days)).tolist(), strict=True))


class _Session:
    """State of one EnergyPlus run driven from Python."""

    def __init__(self, api: Any, state: Any, twin: Twin, controller: Controller,
                 progress: Callable[[float], None] | None):
        self.api = api
        self.state = state
        self.twin = twin
        self.controller = controller
        self.progress = progress
        self.sensors = _sensors(twin)
        self.columns = [s.column for s in self.sensors]
        self.steps = 0
        self.ready = False
        self.active = False
        self.failed: BaseException | None = None
        self.stopped_early = False
        self.zone_names = [z.names.zone for z in twin.zones]
        self.context = control_context(twin.site)
        if (self.context.zone_names, self.context.has_chiller_plant) != (self.zone_names, twin.has_chiller_plant):
            raise RuntimeError("the twin's zones or plant differ from its site's")
        self._last_action = controller.reset(self.context)
        self.action = clip_to_bounds(self._last_action, self.context.bounds)
        self._written: Action | None = None
        for sensor in self.sensors:
            api.exchange.request_variable(state, sensor.variable, sensor.key)
        self.calendar = run_period_calendar(twin)
        self.recorder = Recorder([sensor.variable for sensor in self.sensors], len(self.calendar))
        ffi, _ = _raw_exchange()
        self._state_pointer = ffi.cast("void *", getattr(state, "value", state))
        self._register_callbacks()

    def _register_callbacks(self) -> None:
        """Hand EnergyPlus the recorder's compiled callbacks and this session's warm-up one (the timestep one
        follows when the run period starts).

        Through cffi, with the Python callbacks owned by the session: pyenergyplus's own registration keeps
        every callback in a module-level list for the life of the process, and with it every finished run's
        session and telemetry.
        """
        ffi, raw = _raw_exchange()
        pointer = self._state_pointer
        self._callbacks = [ffi.callback("void (void *)", self.warmup_complete),
                           ffi.callback("void (void *)", self.end_timestep)]
        self._timestep_registered = False
        raw.callbackAfterNewEnvironmentWarmupComplete(pointer, self._callbacks[0])
        raw.callbackEndOfSystemTimeStepAfterHVACReporting(
            pointer, ffi.cast("void (*)(void *)", self.recorder.end_system_timestep_address))
        raw.callbackEndOfZoneTimeStepAfterZoneReporting(
            pointer, ffi.cast("void (*)(void *)", self.recorder.end_zone_timestep_address))

    def _init_handles(self) -> bool:
        ex = self.api.exchange
        if not ex.api_data_fully_ready(self.state):
            return False
        missing = []
        for sensor in self.sensors:
            sensor.handle = ex.get_variable_handle(self.state, sensor.variable, sensor.key)
            if sensor.handle < 0:
                missing.append(f"{sensor.variable} [{sensor.key}]")
        self.cooling_setpoint_handles = {}
        self.supply_air_globals: dict[str, tuple[int, int]] = {}
        for index, system in enumerate(self.twin.zones, start=1):
            n = system.names
            handle = ex.get_actuator_handle(self.state, "Schedule:Constant", "Schedule Value",
                                            n.cooling_setpoint_schedule)
            self.cooling_setpoint_handles[n.zone] = handle
            self.supply_air_globals[n.zone] = (ex.get_ems_global_handle(self.state, f"greendc_override_{index}"),
                                               ex.get_ems_global_handle(self.state, f"greendc_supply_air_c_{index}"))
            if handle < 0 or min(self.supply_air_globals[n.zone]) < 0:
                missing.append(f"actuators of zone {n.zone}")
        self.chilled_water_handle = -1
        if self.twin.has_chiller_plant:
            self.chilled_water_handle = ex.get_actuator_handle(self.state, "Schedule:Constant", "Schedule Value",
                                                               CHILLED_WATER_SETPOINT_SCHEDULE)
            if self.chilled_water_handle < 0:
                missing.append("chilled-water setpoint actuator")
        if missing:
            raise EnergyPlusError("EnergyPlus does not expose: " + ", ".join(missing))
        _, raw = _raw_exchange()
        self._set, self._reset = raw.setActuatorValue, raw.resetActuator
        self._set_global = raw.setEMSGlobalVariableValue
        self._kind = raw.kindOfSim
        self._latest = self.recorder.latest
        # Observations read the recorder's copy of each sensor's current value, by its position there.
        position = {sensor.column: self.recorder.latest_position(index) for index, sensor in enumerate(self.sensors)}
        # In the order the live observations read them (greendc.twin.live); a sensor the twin lacks is None.
        self._zone_positions = [
            (zone, tuple(position.get(f"{zone}/{column}") for column in LiveZoneObservation.reads))
            for zone in self.zone_names
        ]
        self._site_positions = tuple(position.get(column) for column in LiveObservation.reads)
        self._cooling_positions = {column: position[column] for column in cooling_power_columns(self.columns)}
        self._clock = (raw.month, raw.dayOfMonth, raw.hour)
        self.ready = True
        return True

    def _start_run_period(self) -> None:
        """At the end of an environment's warm-up: if it is the weather-file run period, take control."""
        if not self.ready and not self._init_handles():
            return
        if self._kind(self._state_pointer) == RUN_PERIOD_WEATHER:
            self.active = True
            self.recorder.start([sensor.handle for sensor in self.sensors])
            if not self._timestep_registered:
                # After the recorder's, so a zone timestep is recorded before the controller acts on it. From a
                # callback of another calling point, so EnergyPlus is not walking the list it joins.
                _, raw = _raw_exchange()
                raw.callbackEndOfZoneTimeStepAfterZoneReporting(self._state_pointer, self._callbacks[1])
                self._timestep_registered = True
            self._write_action()

    def _write_action(self) -> None:
        """Hand the action's changes to EnergyPlus; a setpoint left as None goes back to the model's own control."""
        pointer, action, written = self._state_pointer, self.action, self._written
        supply, cooling, water = action
        # Before the first write nothing is known to be in place, so everything counts as changed.
        before_supply, before_cooling, before_water = written if written is not None else (_NOTHING,) * 3
        if cooling != before_cooling:
            for zone, handle in self.cooling_setpoint_handles.items():
                if cooling is None:
                    self._reset(pointer, handle)
                else:
                    self._set(pointer, handle, cooling[zone])
        if self.chilled_water_handle >= 0 and water != before_water:
            if water is None:
                self._reset(pointer, self.chilled_water_handle)
            else:
                self._set(pointer, self.chilled_water_handle, water)
        if supply != before_supply:
            supply = supply or {}
            before = {} if written is None else before_supply or {}
            for zone, (override, value) in self.supply_air_globals.items():
                if written is None or (zone in supply) != (zone in before):
                    self._set_global(pointer, override, 1.0 if zone in supply else 0.0)
                if zone in supply:
                    self._set_global(pointer, value, supply[zone])
        self._written = action

    def _stop(self, error: BaseException) -> None:
        # An exception must not unwind through the C library: keep it, stop EnergyPlus, raise it afterwards.
        self.failed = error
        self.api.runtime.stop_simulation(self.state)

    # -- callbacks -------------------------------------------------------------------------------
    def warmup_complete(self, state: Any) -> None:
        if self.failed is None:
            try:
                self._start_run_period()
            except BaseException as error:
                self._stop(error)

    def end_timestep(self, state: Any) -> None:
        """Hand the controller a live observation and write what its action changed (every zone timestep)."""
        if not self.active or self.failed is not None:
            return
        try:
            step, calendar = self.steps, self.calendar
            if step >= len(calendar):
                raise EnergyPlusError(f"EnergyPlus simulated more than the run period's {len(calendar)} timesteps")
            month, day, hour, minute = calendar[step]
            if step == 0 or step == len(calendar) - 1:
                self._check_clock(step)
            self.steps = step + 1
            reader = SensorReader(self._latest)
            zones = {zone: LiveZoneObservation(reader, positions) for zone, positions in self._zone_positions}
            try:
                action = self.controller.act(LiveObservation(month, day, hour, minute, zones, reader,
                                                             self._site_positions, self._cooling_positions))
            finally:
                reader.open = False
            if action is not self._last_action:
                # Actuated schedules and EMS globals keep their values, so writing now acts from the next
                # timestep on, exactly as writing at its beginning would; only what changed is written.
                self._last_action, self.action = action, clip_to_bounds(action, self.context.bounds)
                self._write_action()
            if self.progress is not None and minute == 60 and hour == 23:
                self.progress(self.steps / len(calendar))
        except StopRun:
            self.stopped_early = True
            self.api.runtime.stop_simulation(self.state)
        except BaseException as error:
            self._stop(error)

    def _check_clock(self, step: int) -> None:
        # The API's minute and time of day count system timesteps, which may be shorter than the zone timestep;
        # month, day and hour at the first and last step, with the number of steps, pin the calendar down.
        clock = tuple(function(self._state_pointer) for function in self._clock)
        if clock != self.calendar[step][:3]:
            raise EnergyPlusError(f"EnergyPlus's clock reads (month, day, hour) {clock} at timestep {step} of the "
                                  f"run period, which should be {self.calendar[step][:3]}")

    def telemetry(self) -> pd.DataFrame:
        """The run period's recorded telemetry, one row per zone timestep."""
        _, raw = _raw_exchange()
        if raw.apiErrorFlag(self._state_pointer):
            # A read or write through an unknown handle returns 0 or does nothing and only raises this flag.
            raise EnergyPlusError("EnergyPlus flagged an API error during the run: a sensor was read or a "
                                  "setpoint written through a handle it did not know")
        recorded = self.recorder.recorded_steps
        expected = self.steps if self.stopped_early else len(self.calendar)
        if self.steps != expected or recorded != self.steps:
            raise EnergyPlusError(f"EnergyPlus called the controller at {self.steps} timesteps and the recorder at "
                                  f"{recorded}, but the run period has {len(self.calendar)} ({self.calendar[0]} to "
                                  f"{self.calendar[-1]})")
        frame = pd.DataFrame(self.recorder.values(), columns=self.columns)
        seen = np.asarray(self.calendar[:recorded], dtype=np.int64).reshape(-1, 4)
        days = pd.to_datetime(pd.DataFrame({"year": 2001, "month": seen[:, 0], "day": seen[:, 1]}))
        stamps = days + pd.to_timedelta(seen[:, 2] * 60 + seen[:, 3], unit="min")
        frame.insert(0, "time", pd.DatetimeIndex(stamps))
        return with_derived_columns(frame, self.zone_names)


def with_derived_columns(frame: pd.DataFrame, zone_names: list[str]) -> pd.DataFrame:
    """The recorded telemetry with the registry's derived columns added: each zone's, then the facility's."""
    recorded = list(frame.columns)
    for sensor in ZONE:
        if sensor.derivation is Derivation.SUM_OF_SOURCES:
            for zone in zone_names:
                first, *rest = sensor.sources
                total = frame[f"{zone}/{first}"]
                for source in rest:
                    total = total + frame[f"{zone}/{source}"]
                frame[sensor.of(zone)] = total
    for sensor in FACILITY:
        if sensor.derivation is Derivation.SUM_OVER_ZONES:
            frame[sensor.column] = frame[[getattr(ZONE, sensor.column).of(z) for z in zone_names]].sum(axis=1)
        elif sensor.derivation is Derivation.COOLING_POWER:
            frame[sensor.column] = frame[cooling_power_columns(recorded)].sum(axis=1)
    return frame


def with_timestep_output(epjson: dict[str, Any], sensors: list[_Sensor]) -> dict[str, Any]:
    """A copy of the model that writes every telemetry sensor at every timestep to its ESO file.

    The runner records the telemetry itself; this is EnergyPlus's own record of the same values, against
    which tests check the recorder and benchmarks measure what writing it costs.
    """
    model = copy.deepcopy(epjson)
    model["Output:Variable"] = {
        f"Telemetry {index}": {"key_value": sensor.key, "variable_name": sensor.variable,
                               "reporting_frequency": "Timestep"}
        for index, sensor in enumerate(sensors)
    }
    for files in model["OutputControl:Files"].values():
        files["output_eso"] = "Yes"
    return model


def with_supply_air_override(epjson: dict[str, Any], twin: Twin) -> dict[str, Any]:
    """A copy of the model with the EMS program that applies a controller's supply-air setpoints.

    For zone ``i`` the runner sets the EMS globals ``greendc_override_i`` (1 = the controller sets the
    supply air, 0 = the model's single-zone reset does) and ``greendc_supply_air_c_i``. At every system
    timestep, after the setpoint managers, the program writes the setpoint to every setpoint node of the
    zone's air loop and the mixed-air node's setpoint to it minus the fan heat (fan outlet minus mixed-air
    temperature), or releases those actuators.
    """
    model = copy.deepcopy(epjson)
    global_names: list[str] = []
    sensors: dict[str, dict[str, str]] = {}
    actuators: dict[str, dict[str, str]] = {}
    lines: list[str] = []
    for index, system in enumerate(twin.zones, start=1):
        names = system.names
        override, supply = f"greendc_override_{index}", f"greendc_supply_air_c_{index}"
        global_names += [override, supply]
        mixed_c, fan_outlet_c = f"greendc_mixed_air_c_{index}", f"greendc_fan_outlet_c_{index}"
        sensors[mixed_c] = {"output_variable_or_output_meter_index_key_name": names.mixed_air_node,
                            "output_variable_or_output_meter_name": "System Node Temperature"}
        sensors[fan_outlet_c] = {"output_variable_or_output_meter_index_key_name": names.fan_outlet_node,
                                 "output_variable_or_output_meter_name": "System Node Temperature"}
        nodes = [f"greendc_node_{index}_{number}" for number in range(1, len(system.setpoint_nodes) + 1)]
        mixed_setpoint = f"greendc_mixed_air_setpoint_{index}"
        for actuator, node in [*zip(nodes, system.setpoint_nodes, strict=True), (mixed_setpoint, names.mixed_air_node)]:
            actuators[actuator] = {"actuated_component_unique_name": node,
                                   "actuated_component_type": "System Node Setpoint",
                                   "actuated_component_control_type": "Temperature Setpoint"}
        fan_heat = f"greendc_fan_heat_{index}"
        lines += [f"IF {override} > 0.5", *[f"SET {node} = {supply}" for node in nodes],
                  f"SET {fan_heat} = {fan_outlet_c} - {mixed_c}", f"IF {fan_heat} < 0", f"SET {fan_heat} = 0",
                  "ENDIF", f"SET {mixed_setpoint} = {supply} - {fan_heat}", "ELSE",
                  *[f"SET {node} = Null" for node in [*nodes, mixed_setpoint]], "ENDIF"]
    model["EnergyManagementSystem:GlobalVariable"] = {
        "greendc supply air globals": {"variables": [{"erl_variable_name": name} for name in global_names]}}
    model["EnergyManagementSystem:Sensor"] = sensors
    model["EnergyManagementSystem:Actuator"] = actuators
    # Erl globals start uninitialized; until the runner writes them, the model's own control is in charge.
    start = [f"SET {name} = 0" for name in global_names]
    model["EnergyManagementSystem:Program"] = {
        "greendc_supply_air_start": {"lines": [{"program_line": line} for line in start]},
        "greendc_supply_air_override": {"lines": [{"program_line": line} for line in lines]}}
    model["EnergyManagementSystem:ProgramCallingManager"] = {
        "greendc supply air start": {"energyplus_model_calling_point": "BeginNewEnvironment",
                                     "programs": [{"program_name": "greendc_supply_air_start"}]},
        "greendc supply air override": {"energyplus_model_calling_point": "AfterPredictorAfterHVACManagers",
                                        "programs": [{"program_name": "greendc_supply_air_override"}]}}
    return model


def run_simulation(
    twin: Twin,
    controller: Controller,
    workdir: Path | None = None,
    progress: Callable[[float], None] | None = None,
    keep_files: bool = False,
    freeze_older_objects: bool = True,
) -> RunResult:
    """Validate the twin's model, run it with the controller in the loop and return its telemetry.

    Each run uses its own directory (a fresh temporary one unless ``workdir`` is given), so runs are
    independent and repeatable. A fatal EnergyPlus error raises :class:`EnergyPlusError` quoting the
    ``.err`` file. ``freeze_older_objects`` leaves the objects that exist before the run out of Python's
    garbage collections until it ends (see :func:`older_objects_frozen`); a caller whose own code runs
    while the simulation does, such as the Gymnasium environment, can turn that off.
    """
    with older_objects_frozen() if freeze_older_objects else nullcontext():
        return _run_simulation(twin, controller, workdir, progress, keep_files)


_freezing = threading.Lock()
_frozen_runs = [0, False]  # runs inside older_objects_frozen, and whether the first of them froze


@contextmanager
def older_objects_frozen() -> Iterator[None]:
    """Leave every object that exists now out of Python's garbage collections until the block ends.

    A full collection, triggered by what a run makes (its calendar, the controller's records), scans every
    object in the process: the libraries and the model, a tenth of a second each time, three times in an
    annual ai run. Frozen (``gc.freeze``), what existed before is left out; what the run makes is collected as
    before, and garbage left from before is kept until the block ends. Nested and concurrent blocks share
    one freeze, released when the last ends; a process that froze its objects itself stays frozen.
    """
    with _freezing:
        if _frozen_runs[0] == 0:
            _frozen_runs[1] = gc.get_freeze_count() == 0
            if _frozen_runs[1]:
                gc.freeze()
        _frozen_runs[0] += 1
    try:
        yield
    finally:
        with _freezing:
            _frozen_runs[0] -= 1
            if _frozen_runs[0] == 0 and _frozen_runs[1]:
                gc.unfreeze()


def _run_simulation(twin: Twin, controller: Controller, workdir: Path | None,
                    progress: Callable[[float], None] | None, keep_files: bool) -> RunResult:
    check_engine()
    model = with_supply_air_override(twin.epjson, twin)
    from pyenergyplus.api import EnergyPlusAPI

    api = EnergyPlusAPI()
    start = time.perf_counter()
    state = _new_state_while(api, lambda: validate_epjson(model))
    own_dir = workdir is None
    with ExitStack() as cleanup:
        cleanup.callback(api.state_manager.delete_state, state)
        run_dir = cleanup.enter_context(temporary_run_folder(keep_files)) if own_dir else Path(workdir)
        run_dir.mkdir(parents=True, exist_ok=True)
        model_path = run_dir / "model.epJSON"
        model_path.write_text(json.dumps(model, indent=1))
        api.runtime.set_console_output_status(state, False)
        session = _Session(api, state, twin, controller, progress)
        code = api.runtime.run_energyplus(state, ["-d", str(run_dir), "-w", str(twin.weather_path), str(model_path)])
        err = read_err(run_dir / "eplusout.err")
        if session.failed is not None:
            raise session.failed
        if (code != 0 or err.fatal_messages) and not session.stopped_early:
            quoted = " | ".join((err.fatal_messages + err.severe_messages)[:3]) or "no .err file written"
            raise EnergyPlusError(f"EnergyPlus failed (exit {code}): {quoted}")
        if not session.steps:
            raise EnergyPlusError("EnergyPlus finished without simulating a single run-period timestep")
        telemetry = session.telemetry()
        if progress is not None:
            progress(1.0)
        return RunResult(
            telemetry=telemetry,
            timestep_h=1.0 / twin.site.simulation.timesteps_per_hour,
            err=err,
            wall_s=time.perf_counter() - start,
            controller=controller.name,
            zone_names=session.zone_names,
            has_chiller_plant=twin.has_chiller_plant,
            epjson=model,
            decisions=list(controller.decision_log) if getattr(controller, "decision_log", None) else None,
        )


def _new_state_while(api: Any, meanwhile: Callable[[], None]) -> Any:
    """A new EnergyPlus state, built in C while ``meanwhile`` runs in Python; deleted again if that fails.

    Building the state takes EnergyPlus a few tenths of a second without the GIL, about as long as the
    schema validation of the model that runs meanwhile (a model that fails validation never runs).
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        building = pool.submit(api.state_manager.new_state)
        try:
            meanwhile()
        except BaseException:
            api.state_manager.delete_state(building.result())
            raise
        return building.result()


def run_bare(twin: Twin, workdir: Path) -> float:
    """Run the model with the EnergyPlus binary and no Python in the loop; return wall seconds."""
    import subprocess

    from greendc.twin.engine import energyplus_binary

    validate_epjson(twin.epjson)
    workdir.mkdir(parents=True, exist_ok=True)
    model_path = workdir / "model.epJSON"
    model_path.write_text(json.dumps(twin.epjson, indent=1))
    start = time.perf_counter()
    completed = subprocess.run(
        [str(energyplus_binary()), "-d", str(workdir), "-w", str(twin.weather_path), str(model_path)],
        capture_output=True, text=True, check=False,
    )
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        err = read_err(workdir / "eplusout.err")
        raise EnergyPlusError(f"EnergyPlus failed: {' | '.join(err.fatal_messages[:2])}")
    return wall
