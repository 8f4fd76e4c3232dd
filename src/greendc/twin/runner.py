"""Co-simulation: run a twin in EnergyPlus and let a controller act at every zone timestep.

Order of events in one zone timestep (EnergyPlus runtime API callbacks):

1. ``begin_zone_timestep_after_init_heat_balance``: write the pending zone cooling and chilled-water
   setpoints into their schedules.
2. ``after_predictor_after_hvac_managers`` (every HVAC iteration): after the setpoint managers ran,
   overwrite the supply-air setpoint nodes with the controller's value and set the mixed-air node to it
   minus the measured fan heat, as the mixed-air manager would; otherwise the economizer keeps mixing to
   the old setpoint and overcools.
3. ``end_zone_timestep_after_zone_reporting``: read every sensor into the telemetry table, build the
   observation and ask the controller for the next action.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from greendc.control.base import ControlContext, Controller, Observation, ZoneObservation
from greendc.twin.builder import CHILLED_WATER_SETPOINT_SCHEDULE, Twin
from greendc.twin.engine import check_engine
from greendc.twin.schema_check import validate_epjson

RUN_PERIOD_WEATHER = 3  # EnergyPlus KindOfSim::RunPeriodWeather


class EnergyPlusError(RuntimeError):
    """EnergyPlus stopped with a fatal error; the message quotes the .err file."""


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
    decisions: pd.DataFrame | None = field(repr=False, default=None)


def _sensors(twin: Twin) -> list[_Sensor]:
    sensors = [
        _Sensor("outdoor_dry_bulb_c", "Site Outdoor Air Drybulb Temperature", "Environment"),
        _Sensor("outdoor_wet_bulb_c", "Site Outdoor Air Wetbulb Temperature", "Environment"),
        _Sensor("outdoor_relative_humidity_pct", "Site Outdoor Air Relative Humidity", "Environment"),
        _Sensor("outdoor_dew_point_c", "Site Outdoor Air Dewpoint Temperature", "Environment"),
        _Sensor("facility_power_w", "Facility Total Electricity Demand Rate", "Whole Building"),
    ]
    for system in twin.zones:
        n = system.names
        z = n.zone
        sensors += [
            _Sensor(f"{z}/it_cpu_power_w", "ITE CPU Electricity Rate", n.ite),
            _Sensor(f"{z}/it_fan_power_w", "ITE Fan Electricity Rate", n.ite),
            _Sensor(f"{z}/ups_power_w", "ITE UPS Electricity Rate", n.ite),
            _Sensor(f"{z}/inlet_temp_c", "ITE Air Inlet Dry-Bulb Temperature", n.ite),
            _Sensor(f"{z}/inlet_dew_point_c", "ITE Air Inlet Dewpoint Temperature", n.ite),
            _Sensor(f"{z}/inlet_relative_humidity_pct", "ITE Air Inlet Relative Humidity", n.ite),
            _Sensor(f"{z}/zone_air_temp_c", "Zone Air Temperature", z),
            _Sensor(f"{z}/supply_air_temp_c", "System Node Temperature", n.supply_outlet_node),
            _Sensor(f"{z}/supply_air_setpoint_c", "System Node Setpoint Temperature", n.supply_outlet_node),
            _Sensor(f"{z}/supply_air_flow_kg_s", "System Node Mass Flow Rate", n.zone_inlet_node),
            _Sensor(f"{z}/zone_cooling_setpoint_c", "Schedule Value", n.cooling_setpoint_schedule),
            _Sensor(f"{z}/supply_fan_power_w", "Fan Electricity Rate", n.fan),
        ]
        if system.coil == "dx":
            sensors.append(_Sensor(f"{z}/dx_coil_power_w", "Cooling Coil Electricity Rate", n.dx_coil))
        for cooler in system.evaporative_coolers:
            kind = "direct" if cooler == n.dec else "indirect"
            sensors += [
                _Sensor(f"{z}/{kind}_evaporative_power_w", "Evaporative Cooler Electricity Rate", cooler),
                _Sensor(f"{z}/{kind}_evaporative_water_m3", "Evaporative Cooler Water Volume", cooler),
            ]
    if twin.has_chiller_plant:
        sensors += [
            _Sensor("chiller_power_w", "Chiller Electricity Rate", "Chiller"),
            _Sensor("tower_fan_power_w", "Cooling Tower Fan Electricity Rate", "Cooling Tower"),
            _Sensor("tower_basin_heater_power_w", "Cooling Tower Basin Heater Electricity Rate", "Cooling Tower"),
            _Sensor("chilled_water_pump_power_w", "Pump Electricity Rate", "Chilled Water Pump"),
            _Sensor("condenser_pump_power_w", "Pump Electricity Rate", "Condenser Pump"),
            _Sensor("tower_water_m3", "Cooling Tower Make Up Water Volume", "Cooling Tower"),
            _Sensor("chilled_water_setpoint_c", "Schedule Value", CHILLED_WATER_SETPOINT_SCHEDULE),
        ]
    return sensors


#: ZoneObservation fields after it_power_w, in declaration order, as telemetry column names.
_ZONE_OBSERVATION_FIELDS = ("zone_air_temp_c", "inlet_temp_c", "inlet_dew_point_c", "inlet_relative_humidity_pct",
                            "supply_air_temp_c", "supply_air_setpoint_c", "zone_cooling_setpoint_c",
                            "supply_fan_power_w")


def cooling_power_columns(columns: list[str]) -> list[str]:
    """Telemetry columns whose sum is the cooling electric power (HVAC + Plant end uses)."""
    suffixes = ("supply_fan_power_w", "dx_coil_power_w", "_evaporative_power_w")
    plant = {"chiller_power_w", "tower_fan_power_w", "tower_basin_heater_power_w", "chilled_water_pump_power_w",
             "condenser_pump_power_w"}
    return [c for c in columns if c in plant or c.endswith(suffixes)]


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
        self.rows: list[list[float]] = []
        self.times: list[tuple[int, int, int, int]] = []
        self.ready = False
        self.active = False
        self.failed: BaseException | None = None
        self.zone_names = [z.names.zone for z in twin.zones]
        self.cooling_index = [self.columns.index(c) for c in cooling_power_columns(self.columns)]
        self.context = ControlContext(
            zone_names=self.zone_names,
            bounds=twin.site.setpoints,
            has_chiller_plant=twin.has_chiller_plant,
            timestep_h=1.0 / twin.site.simulation.timesteps_per_hour,
        )
        self.action = controller.reset(self.context).clipped(twin.site.setpoints)
        for sensor in self.sensors:
            api.exchange.request_variable(state, sensor.variable, sensor.key)
        # Read only when a controller overrides the supply air (the fan heat), so not part of telemetry.
        for system in twin.zones:
            for node in (system.names.mixed_air_node, system.names.fan_outlet_node):
                api.exchange.request_variable(state, "System Node Temperature", node)
        sim = twin.site.simulation
        start = pd.Timestamp(2001, sim.begin_month, sim.begin_day)
        end = pd.Timestamp(2001, sim.end_month, sim.end_day)
        self.first_day = start.day_of_year
        self.minutes_per_step = 60 // sim.timesteps_per_hour
        self.n_days = (end - start).days + 1

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
        self.node_handles: dict[str, list[int]] = {}
        self.mixed_air_handles: dict[str, int] = {}
        self.node_temp_handles: dict[str, tuple[int, int]] = {}
        for system in self.twin.zones:
            n = system.names
            handle = ex.get_actuator_handle(self.state, "Schedule:Constant", "Schedule Value",
                                            n.cooling_setpoint_schedule)
            self.cooling_setpoint_handles[n.zone] = handle
            self.node_handles[n.zone] = [
                ex.get_actuator_handle(self.state, "System Node Setpoint", "Temperature Setpoint", node)
                for node in system.setpoint_nodes
            ]
            self.mixed_air_handles[n.zone] = ex.get_actuator_handle(
                self.state, "System Node Setpoint", "Temperature Setpoint", n.mixed_air_node)
            self.node_temp_handles[n.zone] = (
                ex.get_variable_handle(self.state, "System Node Temperature", n.mixed_air_node),
                ex.get_variable_handle(self.state, "System Node Temperature", n.fan_outlet_node),
            )
            if handle < 0 or min(self.node_handles[n.zone]) < 0 or self.mixed_air_handles[n.zone] < 0 \
                    or min(self.node_temp_handles[n.zone]) < 0:
                missing.append(f"actuators of zone {n.zone}")
        self.chilled_water_handle = -1
        if self.twin.has_chiller_plant:
            self.chilled_water_handle = ex.get_actuator_handle(self.state, "Schedule:Constant", "Schedule Value",
                                                               CHILLED_WATER_SETPOINT_SCHEDULE)
            if self.chilled_water_handle < 0:
                missing.append("chilled-water setpoint actuator")
        if missing:
            raise EnergyPlusError("EnergyPlus does not expose: " + ", ".join(missing))
        # The hot path calls the C functions directly: pyenergyplus's wrappers check their arguments on
        # every call, which costs more than the read itself at 49 reads per timestep.
        raw = ex.api
        self._get, self._set = raw.getVariableValue, raw.setActuatorValue
        self._calendar = (raw.month, raw.dayOfMonth, raw.hour, raw.zoneTimeStepNum)
        self._warmup, self._kind = raw.warmupFlag, raw.kindOfSim
        self._handles = [sensor.handle for sensor in self.sensors]
        index = {column: i for i, column in enumerate(self.columns)}
        self._zone_index = [
            (zone, index[f"{zone}/it_cpu_power_w"], index[f"{zone}/it_fan_power_w"],
             [index[f"{zone}/{name}"] for name in _ZONE_OBSERVATION_FIELDS])
            for zone in self.zone_names
        ]
        self._site_index = [index[c] for c in ("outdoor_dry_bulb_c", "outdoor_wet_bulb_c",
                                               "outdoor_relative_humidity_pct", "outdoor_dew_point_c",
                                               "facility_power_w")]
        self._water_index = index.get("chilled_water_setpoint_c")
        self.ready = True
        return True

    def _update_run_period(self) -> None:
        """Decide once per zone timestep whether it belongs to the run period (not sizing or warm-up)."""
        if not self.ready and not self._init_handles():
            self.active = False
            return
        self.active = not self._warmup(self.state) and self._kind(self.state) == RUN_PERIOD_WEATHER

    def _guard(self, function: Callable[[], None]) -> None:
        if self.failed is not None:
            return
        try:
            function()
        except BaseException as error:  # an exception must not unwind through the C library
            self.failed = error
            self.api.runtime.stop_simulation(self.state)

    # -- callbacks -------------------------------------------------------------------------------
    def begin_timestep(self, state: Any) -> None:
        self._guard(self._update_run_period)
        self._guard(self._apply_schedules)

    def _apply_schedules(self) -> None:
        if not self.active:
            return
        action, state, set_value = self.action, self.state, self._set
        if action.zone_cooling_setpoint_c is not None:
            for zone, value in action.zone_cooling_setpoint_c.items():
                set_value(state, self.cooling_setpoint_handles[zone], value)
        if action.chilled_water_setpoint_c is not None and self.chilled_water_handle >= 0:
            set_value(state, self.chilled_water_handle, action.chilled_water_setpoint_c)

    def after_hvac_managers(self, state: Any) -> None:
        self._guard(self._apply_supply_air)

    def _apply_supply_air(self) -> None:
        supply = self.action.supply_air_setpoint_c
        if supply is None or not self.active:
            return
        state, set_value, get = self.state, self._set, self._get
        for zone, value in supply.items():
            for handle in self.node_handles[zone]:
                set_value(state, handle, value)
            mixed, fan_out = self.node_temp_handles[zone]
            fan_heat_c = max(0.0, get(state, fan_out) - get(state, mixed))
            set_value(state, self.mixed_air_handles[zone], value - fan_heat_c)

    def end_timestep(self, state: Any) -> None:
        self._guard(self._observe_and_act)

    def _observe_and_act(self) -> None:
        if not self.active:
            return
        state, get = self.state, self._get
        row = [get(state, handle) for handle in self._handles]
        month, day, hour, step = self._calendar
        # minutes() can report the end of the last HVAC substep (e.g. 00:07); the zone timestep number
        # gives the zone step's true end.
        month, day, hour, minute = month(state), day(state), hour(state), step(state) * self.minutes_per_step
        self.rows.append(row)
        self.times.append((month, day, hour, minute))
        observation = self._observation(row, month, day, hour, minute)
        self.action = self.controller.act(observation).clipped(self.twin.site.setpoints)
        if self.progress is not None and minute == 60 and hour == 23:
            done = (self.api.exchange.day_of_year(state) - self.first_day + 1) / self.n_days
            self.progress(min(1.0, max(0.0, done)))

    def _observation(self, row: list[float], month: int, day: int, hour: int, minute: int) -> Observation:
        zones = {}
        it_total = 0.0
        for zone, cpu, fan, fields in self._zone_index:
            it_power = row[cpu] + row[fan]
            it_total += it_power
            zones[zone] = ZoneObservation(it_power, *[row[i] for i in fields])
        dry, wet, humidity, dew, facility = (row[i] for i in self._site_index)
        cooling = {self.columns[i]: row[i] for i in self.cooling_index}
        return Observation(
            month=month, day=day, hour=hour, minute=minute,
            outdoor_dry_bulb_c=dry, outdoor_wet_bulb_c=wet, outdoor_relative_humidity_pct=humidity,
            outdoor_dew_point_c=dew, zones=zones, it_power_w=it_total, cooling_power_w=float(sum(cooling.values())),
            facility_power_w=facility,
            chilled_water_setpoint_c=None if self._water_index is None else row[self._water_index],
            cooling_power_by_component_w=cooling,
        )

    def telemetry(self) -> pd.DataFrame:
        frame = pd.DataFrame(np.asarray(self.rows, dtype=float).reshape(len(self.rows), len(self.columns)),
                             columns=self.columns)
        # EnergyPlus stamps a timestep with its end; hour 24 / minute 60 roll into the next period.
        times = np.asarray(self.times, dtype=np.int64).reshape(-1, 4)
        days = pd.to_datetime(pd.DataFrame({"year": 2001, "month": times[:, 0], "day": times[:, 1]}))
        stamps = days + pd.to_timedelta(times[:, 2] * 60 + times[:, 3], unit="min")
        frame.insert(0, "time", pd.DatetimeIndex(stamps))
        for zone in self.zone_names:
            frame[f"{zone}/it_power_w"] = frame[f"{zone}/it_cpu_power_w"] + frame[f"{zone}/it_fan_power_w"]
        frame["it_power_w"] = frame[[f"{z}/it_power_w" for z in self.zone_names]].sum(axis=1)
        frame["cooling_power_w"] = frame[cooling_power_columns(self.columns)].sum(axis=1)
        return frame


def run_simulation(
    twin: Twin,
    controller: Controller,
    workdir: Path | None = None,
    progress: Callable[[float], None] | None = None,
    keep_files: bool = False,
) -> RunResult:
    """Validate the twin's model, run it with the controller in the loop and return its telemetry.

    Each run uses its own directory (a fresh temporary one unless ``workdir`` is given), so runs are
    independent and repeatable. A fatal EnergyPlus error raises :class:`EnergyPlusError` quoting the
    ``.err`` file.
    """
    check_engine()
    validate_epjson(twin.epjson)
    from pyenergyplus.api import EnergyPlusAPI

    start = time.perf_counter()
    own_dir = workdir is None
    run_dir = Path(tempfile.mkdtemp(prefix="greendc-run-")) if workdir is None else Path(workdir)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        model_path = run_dir / "model.epJSON"
        model_path.write_text(json.dumps(twin.epjson, indent=1))
        for name, text in twin.side_files.items():
            (run_dir / name).write_text(text)
        api = EnergyPlusAPI()
        state = api.state_manager.new_state()
        try:
            api.runtime.set_console_output_status(state, False)
            session = _Session(api, state, twin, controller, progress)
            api.runtime.callback_begin_zone_timestep_after_init_heat_balance(state, session.begin_timestep)
            api.runtime.callback_after_predictor_after_hvac_managers(state, session.after_hvac_managers)
            api.runtime.callback_end_zone_timestep_after_zone_reporting(state, session.end_timestep)
            code = api.runtime.run_energyplus(
                state, ["-d", str(run_dir), "-w", str(twin.weather_path), str(model_path)]
            )
        finally:
            api.state_manager.delete_state(state)
        err = read_err(run_dir / "eplusout.err")
        if session.failed is not None:
            raise session.failed
        if code != 0 or err.fatal_messages:
            quoted = " | ".join((err.fatal_messages + err.severe_messages)[:3]) or "no .err file written"
            raise EnergyPlusError(f"EnergyPlus failed (exit {code}): {quoted}")
        if not session.rows:
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
            epjson=twin.epjson,
            decisions=pd.DataFrame(controller.decision_log) if getattr(controller, "decision_log", None) else None,
        )
    finally:
        if own_dir and not keep_files:
            shutil.rmtree(run_dir, ignore_errors=True)


def run_bare(twin: Twin, workdir: Path) -> float:
    """Run the model with the EnergyPlus binary and no Python in the loop; return wall seconds."""
    import subprocess

    from greendc.twin.engine import energyplus_binary

    validate_epjson(twin.epjson)
    workdir.mkdir(parents=True, exist_ok=True)
    model_path = workdir / "model.epJSON"
    model_path.write_text(json.dumps(twin.epjson, indent=1))
    for name, text in twin.side_files.items():
        (workdir / name).write_text(text)
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
