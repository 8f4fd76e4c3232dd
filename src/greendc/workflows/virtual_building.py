"""The twin served as a virtual building: a BMS that speaks BACnet/IP and Modbus TCP (``greendc bms serve``).

The site's twin runs paced at ``speed`` times real time. At the end of every timestep the building publishes
what its sensors read and what its own sequence holds to the point store (:mod:`greendc.bms.store`), which
the protocol servers expose; until the end of the step's wall-clock slot it lets the agent read and write;
then it applies, for every setpoint, the highest-priority command in the point's priority array, and its own
(legacy) sequence where the array is empty. The agent's heartbeat is checked all the while: once it is older
than the watchdog timeout, the building relinquishes the agent's slot and returns to its own sequence.

What EnergyPlus simulates and records is the building's true telemetry, written with a summary when the
building stops (at the end of its run period, or earlier on SIGINT/SIGTERM through :class:`StopRun`).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from greendc.bms.points import CLOCK, DEFAULT_PRIORITY, PointMap, check_points_against_site
from greendc.bms.store import PointStore, WatchdogSummary
from greendc.errors import UsageError
from greendc.results.store import write_directory_atomic, write_json_atomic
from greendc.results.summary import summarize
from greendc.site.schema import Site
from greendc.telemetry.contract import Action, ControlContext, Observation, ZoneObservation
from greendc.telemetry.faults import CALENDAR_YEAR, reading_minute
from greendc.telemetry.sensors import FACILITY, ZONE
from greendc.twin.builder import build_twin
from greendc.twin.runner import RunResult, StopRun, run_simulation

#: How often the building checks the agent's heartbeat while it waits for the end of a step, s.
WATCHDOG_POLL_S = 0.02
_ZONE_PUBLISHED = [s.column for s in ZONE if s.observed]
_FACILITY_PUBLISHED = [s.column for s in FACILITY if s.observed]


@dataclass
class PaceRecord:
    """How well the building kept its pace."""

    steps: int = 0
    #: Steps whose simulation ended after their wall-clock slot had already passed.
    late_steps: int = 0
    #: The most a step's end lagged behind its slot, s.
    max_lag_s: float = 0.0


class BuildingController:
    """The virtual building's side of the co-simulation: publish, wait for the slot's end, apply commands.

    ``clock`` and ``sleep`` are the wall clock's (tests give fakes); ``stop`` ends the run at the next step.
    """

    name = "virtual building"

    def __init__(self, store: PointStore, speed: float, stop: threading.Event | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        if not math.isfinite(speed) or speed <= 0:
            raise UsageError(f"speed must be a positive number of times real time, not {speed}")
        self.store = store
        self.speed = speed
        self.stop = stop or threading.Event()
        self.pace = PaceRecord()
        self._clock, self._sleep = clock, sleep
        self._deadline_s: float | None = None
        self._own: dict[str, float] = {}

    def reset(self, context: ControlContext) -> Action:
        self.context = context
        self.step_wall_s = context.timestep_h * 3600.0 / self.speed
        self._setpoints = [ZONE.supply_air_setpoint_c.of(zone) for zone in context.zone_names]
        self._cooling = [ZONE.zone_cooling_setpoint_c.of(zone) for zone in context.zone_names]
        return Action()

    def act(self, observation: Observation) -> Action:
        if self.stop.is_set():
            raise StopRun()
        self.store.publish(self._readings(observation))
        self._wait_for_slot_end()
        action = self._commanded_action()
        if action == Action():
            self.store.note_local_control()
        return action

    def _readings(self, observation: Observation) -> dict[str, float | None]:
        """The points' values: the sensors, the clock, and each setpoint's own-sequence value."""
        values: dict[str, float | None] = {column: getattr(observation, column) for column in _FACILITY_PUBLISHED}
        zone: ZoneObservation
        for name, zone in observation.zones.items():
            values.update({f"{name}/{column}": getattr(zone, column) for column in _ZONE_PUBLISHED})
        values[CLOCK] = reading_minute(observation)
        # What the building's own sequence holds is the relinquish default; while a command is in force the
        # observed setpoint is the command's, so the last own value is kept.
        for name in (*self._setpoints, *self._cooling, FACILITY.chilled_water_setpoint_c.column):
            if name in values:
                if self.store.command(name) is None and values[name] is not None:
                    self._own[name] = values[name]  # type: ignore[assignment]
                values[name] = self._own.get(name, values[name])
        return values

    def _wait_for_slot_end(self) -> None:
        """Sleep until this step's wall-clock slot ends, checking the watchdog meanwhile."""
        now = self._clock()
        if self._deadline_s is None:
            self._deadline_s = now
        self._deadline_s += self.step_wall_s
        lag_s = now - self._deadline_s
        self.pace.steps += 1
        if lag_s > 0:
            self.pace.late_steps += 1
            self.pace.max_lag_s = max(self.pace.max_lag_s, lag_s)
            # A building that fell behind does not rush to catch up: it starts its next slot now.
            self._deadline_s = now
        while (remaining_s := self._deadline_s - self._clock()) > 0:
            self.store.check_watchdog()
            if self.stop.is_set():
                raise StopRun()
            self._sleep(min(WATCHDOG_POLL_S, remaining_s))
        self.store.check_watchdog()

    def _commanded_action(self) -> Action:
        """The setpoints the priority arrays command; None (the building's own sequence) where none does."""
        supply = {zone: value for zone, name in zip(self.context.zone_names, self._setpoints, strict=True)
                  if (value := self.store.command(name)) is not None}
        cooling_commands = {zone: self.store.command(name)
                            for zone, name in zip(self.context.zone_names, self._cooling, strict=True)}
        cooling = None
        if any(value is not None for value in cooling_commands.values()):
            # The twin sets every zone's thermostat at once; an uncommanded zone keeps the site's own setpoint.
            design_c = self.context.design.zone_cooling_c
            cooling = {zone: design_c if value is None else value for zone, value in cooling_commands.items()}
        water = self.store.command(FACILITY.chilled_water_setpoint_c.column) if self.context.has_chiller_plant \
            else None
        return Action(supply_air_setpoint_c=supply or None, zone_cooling_setpoint_c=cooling,
                      chilled_water_setpoint_c=water)


@dataclass
class BuildingRun:
    """What a served building leaves: its true telemetry and how it dealt with the agent."""

    result: RunResult
    watchdog: WatchdogSummary
    pace: PaceRecord
    speed: float


def with_run_period(site: Site, start: str | None, days: float | None) -> Site:
    """The site with its run period moved to ``start`` ("MM-DD") for ``days`` days (unchanged if both None)."""
    if start is None and days is None:
        return site
    simulation = site.simulation
    begin = (simulation.begin_month, simulation.begin_day) if start is None else _month_day(start)
    first = datetime(CALENDAR_YEAR, *begin)
    if days is None:
        end = (simulation.end_month, simulation.end_day)
    else:
        if not 0 < days <= 365 or days != int(days):
            raise UsageError(f"--days must be a whole number of days, 1-365, not {days:g}")
        last = first + timedelta(days=int(days) - 1)
        if last.year != CALENDAR_YEAR:
            raise UsageError(f"--days {int(days)} from {start} runs past 31 December; a run period stays in one year")
        end = (last.month, last.day)
    update = {"begin_month": begin[0], "begin_day": begin[1], "end_month": end[0], "end_day": end[1]}
    return site.model_copy(update={"simulation": simulation.model_copy(update=update)})


def _month_day(text: str) -> tuple[int, int]:
    try:
        moment = datetime.strptime(f"{CALENDAR_YEAR}-{text}", "%Y-%m-%d")
    except ValueError:
        raise UsageError(f"--start must be MM-DD, a day of a year without 29 February, not {text!r}") from None
    return moment.month, moment.day


async def serve_building(site: Site, site_dir: Path | None, point_map: PointMap, speed: float,
                         weather: str | None = None, stop: threading.Event | None = None,
                         agent_priority: int = DEFAULT_PRIORITY, on_ready: Callable[[], None] | None = None,
                         serve_protocols: bool = True, store: PointStore | None = None,
                         before_close: Callable[[], Awaitable[None]] | None = None) -> BuildingRun:
    """Run the site's twin as a building that serves ``point_map``'s points until its run period ends or
    ``stop`` is set; ``on_ready`` is called once the servers listen, ``before_close`` is awaited after the
    run and before the servers close (so that an agent can give its points back). ``serve_protocols=False``
    (tests of the pacing and the store alone) serves nothing."""
    check_points_against_site(point_map, site, "the building's point map")
    store = store or PointStore(point_map, agent_priority=agent_priority)
    controller = BuildingController(store, speed, stop=stop)
    twin = build_twin(site, site_dir=site_dir, weather=weather)
    servers = await start_servers(store, point_map) if serve_protocols else []
    try:
        if on_ready is not None:
            on_ready()
        result = await asyncio.to_thread(run_simulation, twin, controller, freeze_older_objects=False)
        if before_close is not None:
            await before_close()
    finally:
        for server in servers:
            await server.close()
    return BuildingRun(result, store.summary(), controller.pace, speed)


async def start_servers(store: PointStore, point_map: PointMap) -> list[Any]:
    """A BACnet/IP device per BACnet device of the map, and a Modbus TCP server per Modbus address."""
    from greendc.bms.bacnet import BacnetServer
    from greendc.bms.modbus import ModbusServer

    servers: list[Any] = []
    modbus_addresses: dict[str, list[str]] = {}
    try:
        for name, device in point_map.devices.items():
            if device.protocol == "bacnet":
                points = [p for p in point_map.points if p.device == name]
                server = BacnetServer(store, device, points)
                await server.start()
                servers.append(server)
            else:
                modbus_addresses.setdefault(device.address, []).append(name)
        for address in modbus_addresses:
            server = ModbusServer(point_map, store, address)
            await server.start()
            servers.append(server)
    except BaseException:
        for server in servers:
            await server.close()
        raise
    return servers


def building_summary(run: BuildingRun, site: Site) -> dict[str, Any]:
    """The served building's summary: its period's figures and what the watchdog did."""
    period = summarize(run.result.telemetry, run.result.zone_names, run.result.timestep_h)
    return {
        "site": site.name,
        "speed": run.speed,
        **period.model_dump(mode="json"),
        "agent_writes": run.watchdog.agent_writes,
        "watchdog_trips": run.watchdog.watchdog_trips,
        "return_to_local_control_s": list(run.watchdog.return_to_local_s),
        "late_steps": run.pace.late_steps,
        "max_lag_s": run.pace.max_lag_s,
        "wall_s": run.result.wall_s,
    }


def write_building_files(run: BuildingRun, site: Site, out_dir: Path, summary_json: Path | None = None) -> Path:
    """Write the building's true telemetry (``telemetry.parquet``) and ``summary.json`` into a new folder."""
    summary = building_summary(run, site)

    def fill(folder: Path) -> None:
        run.result.telemetry.to_parquet(folder / "telemetry.parquet", index=False)
        write_json_atomic(folder / "summary.json", summary)

    written = write_directory_atomic(out_dir, fill)
    if summary_json is not None:
        write_json_atomic(summary_json, summary)
    return written
