"""The agent: the same controllers that drive the twin, on a building management system.

Every control step the agent reads the map's points, builds the same :class:`Observation` the twin's runner
builds, and hands it to the controller (whose own guards, such as the ai's envelope, drift and plausibility
checks, act on the live data). What it does with the answer depends on its mode:

- ``read-only``: nothing is written; the telemetry is recorded (to learn from, or to compare with).
- ``advisory``: the controller's recommendations are logged (the ai's decision log) and nothing is written.
- ``closed-loop``: each setpoint is written at the map's priority, clipped to the map's bounds, and the
  heartbeat every step so that the building's watchdog can tell the agent is alive.

Reading: each step starts when the building's clock changes. The agent subscribes to the clock's change of
value (BACnet COV, renewed every third of its lifetime) so that a step starts as soon as the building's does,
and polls the clock as the fallback (a lost notification, a device that refuses or forgot the subscription,
a clock on Modbus). Every point is then read (ReadPropertyMultiple of up to 50 objects, the fewest Modbus
register runs): the values are those of the step, because the building publishes its readings with the
clock, in one change of the store. The readings themselves are polled, not taken from COV notifications, on
purpose: a notification comes only when a value changes, one datagram per object in no guaranteed order, so
the agent could not tell when all of a step's notifications had arrived, and a step decided on a mix of
this step's and the last step's values would break the equivalence with the in-process run that the live
demo checks; on loopback a poll of the whole map takes some 10 ms.

Faults of the link have guards of their own, checked before the controller is asked; each logs one line when
it starts (naming the devices or points and why) and one when it clears, and while it lasts the agent gives
every commanded point back to the building (its own control), except as said for device-restarted:

- ``device-unreachable``: a device did not answer (all of its points are missing). Its own points cannot be
  given back until it answers; the agent does not wait out a timeout on each of them every step, keeps them in
  the ledger, and gives them back (or commands them again) once the device answers;
- ``stale-values``: the building's clock (the ``clock`` point) did not advance for several steps, or, without
  one, every reading stayed the same: the BMS is frozen or a gateway serves a cache;
- ``write-rejected``: the device refused a write (a missing point, a wrong type, a value it will not take, an
  operator's lock). The agent writes the refused setpoints again every :data:`REJECTED_RETRY_STEPS` steps,
  and only those: the guard clears once the device takes them. A refused write is not in force, so a point
  that held no command of the agent's leaves the ledger at once;
- ``device-restarted``: a device answered again after it was lost, or its clock went back: its priority
  arrays may have been wiped, so every command is written again. (A device that restarts between two steps
  goes unseen; the agent still writes again any command that its point does not read back.)

A missing or wrong-typed sensor point is a missing reading: the controller's own missing-input guard and
fallback handle it. A slow or lossy link costs readings (a point whose request timed out is missing for that
step) and, when a whole device misses a step, a step of device-unreachable; the agent keeps stepping. It
relinquishes every point it commanded on any exit, trying a point that did not answer again, and gives back
its heartbeat last and only when every setpoint is back: otherwise the heartbeat is left to lapse, so that
the building's watchdog takes back what the agent could not (an agent that signed off would leave those
commands in force for good). Its ledger (:mod:`greendc.agent.ledger`) lets a restarted agent clean up after
one that was killed or could not finish.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import pandas as pd

from greendc.agent.client import BmsClient, Refusal
from greendc.agent.ledger import Ledger
from greendc.agent.service_link import LinkControl, ServiceLink, action_of
from greendc.agent.storage import LiveStorage
from greendc.bms.points import CLOCK, HEARTBEAT, Point, PointMap
from greendc.telemetry.contract import Action, ControlContext, Controller, Observation, ZoneObservation
from greendc.telemetry.faults import CALENDAR_YEAR, calendar_of_reading_minute
from greendc.telemetry.sensors import FACILITY

Mode = Literal["read-only", "advisory", "closed-loop"]
MODES: tuple[Mode, ...] = ("read-only", "advisory", "closed-loop")
#: Steps without a new clock value (or with every reading unchanged) before the values count as stale.
STALE_STEPS = 3
#: While a write is refused, the agent tries it again every this many steps.
REJECTED_RETRY_STEPS = 10
#: The guards during which the building has its own control back (device-restarted writes everything again).
HANDING_BACK = frozenset({"device-unreachable", "stale-values", "write-rejected"})
#: The lifetime of the clock's change-of-value subscription, s (renewed every third of it).
COV_LIFETIME_S = 300.0
#: How long the final relinquish may take, s: an agent that exits must not hang on a dead device.
RELINQUISH_TIMEOUT_S = 10.0
#: How many times, on stopping, the agent tries to give back a point that did not answer.
RELINQUISH_ROUNDS = 3
_FACILITY_OBSERVED = [s.column for s in FACILITY if s.observed]


@dataclass(frozen=True)
class AgentSettings:
    mode: Mode
    #: The control step, wall-clock s (with a clock point, the longest the agent waits for the next step).
    interval_s: float
    #: Stop after this many steps (None: until stopped).
    max_steps: int | None = None
    #: Steps between two flushes of the telemetry to disk.
    flush_every_steps: int = 16


@dataclass
class AgentSummary:
    steps: int = 0
    writes: int = 0
    relinquishes: int = 0
    #: Link guards and how many steps each held.
    guard_steps: Counter[str] = field(default_factory=Counter)
    #: Wall time of each step (read, decide, write), s.
    step_s: list[float] = field(default_factory=list)
    leftovers_relinquished: int = 0
    problems: list[str] = field(default_factory=list)

    def step_s_quantile(self, fraction: float) -> float | None:
        """The step time below which ``fraction`` of the steps fall, s (0.99: the p99; 1: the longest);
        None before the first step."""
        steps = sorted(self.step_s)
        return steps[min(len(steps) - 1, int(fraction * len(steps)))] if steps else None


class Agent:
    """One agent on one point map (see the module docstring)."""

    def __init__(self, point_map: PointMap, context: ControlContext, controller: Controller, settings: AgentSettings,
                 client: BmsClient, storage: LiveStorage, ledger: Ledger, log: Callable[[str], None] = print,
                 monotonic: Callable[[], float] = time.monotonic, link: ServiceLink | None = None) -> None:
        self.point_map, self.context, self.controller = point_map, context, controller
        #: The greendc service (optional): the control state fetched at each step's start, the steps sent after.
        self.link = link
        self.settings, self.client, self.storage, self.ledger = settings, client, storage, ledger
        self.log, self._monotonic = log, monotonic
        self.summary = AgentSummary()
        self._read_points = [p for p in point_map.points if p.column != HEARTBEAT]
        self._setpoints = [p for p in point_map.points if p.writable and p.column != HEARTBEAT]
        self._heartbeat = point_map.point(HEARTBEAT)
        self._has_clock = point_map.point(CLOCK) is not None
        self._written: dict[str, float] = {}
        self._active_guard: str | None = None
        self._last_clock: float | None = None
        self._last_stamp_minute: float | None = None
        self._stale_steps = 0
        self._last_values: dict[str, float | None] | None = None
        self._lost_devices: set[str] = set()
        self._answered_devices: set[str] = set()  # devices that have answered at least once
        self._heartbeat_count = 0
        self._decisions_seen = 0
        self._decisions: list[Any] = []
        #: Setpoints whose last write the device refused, and why (the write-rejected guard).
        self._rejected: dict[str, str] = {}
        self._restarted: list[str] = []
        self._guard_steps = 0  # steps the active guard (or no guard) has held
        self._give_back_failed: dict[str, str] = {}

    # -- the loop -------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> AgentSummary:
        """Run until ``stop`` is set or ``max_steps`` are done; relinquish everything on the way out."""
        try:
            await self._relinquish_leftovers()
            await self._watch_clock()
            # The action reset returns is for a run's first step; an agent joins a building already running
            # on its own sequence, so its first command is the first act's.
            self.controller.reset(self.context)
            ready = getattr(self.controller, "wait_until_ready", None)
            if ready is not None:
                await asyncio.to_thread(ready)
            while not stop.is_set() and (self.settings.max_steps is None
                                         or self.summary.steps < self.settings.max_steps):
                if not await self._wait_for_step(stop):
                    break
                await self.step()
        finally:
            await asyncio.shield(self._relinquish_all("the agent stops"))
            self.storage.consolidate()
        return self.summary

    async def _wait_for_step(self, stop: asyncio.Event) -> bool:
        """Wait for the next control step: a new value of the building's clock, or one interval.

        The clock is read again whenever its change-of-value notification arrives (see :meth:`_watch_clock`)
        and, as the fallback for a lost notification or subscription, every tenth of an interval (at most
        0.5 s). A notification only wakes the agent: the step's values are read after it, so they are the
        step's (the building publishes the readings with, or before, the clock)."""
        if not self._has_clock:
            return not await _stopped_within(stop, self.settings.interval_s if self.summary.steps else 0.0)
        deadline = self._monotonic() + self.settings.interval_s * STALE_STEPS
        clock = self.point_map.point(CLOCK)
        changed = getattr(self.client, "changed", None)
        waiting_logged = False
        # A clock never read is waited for as long as a stalled one: then the step runs, and its guards say
        # why (a building that does not answer is device-unreachable), rather than the agent hanging silently.
        while self._monotonic() < deadline:
            if changed is not None:
                changed.clear()  # before the read: a notification from now on wakes the wait below
            value = (await self.client.read([clock]))[CLOCK]  # type: ignore[list-item]
            if value is not None and value != self._last_clock:
                return True
            if self._last_clock is None and not waiting_logged:
                self.log("waiting for the building's clock point to read a value")
                waiting_logged = True
            if await _stopped_within(stop, min(0.5, self.settings.interval_s / 10.0), changed):
                return False
        return True  # the clock stalled: the step runs, and its stale-values guard says so

    async def _watch_clock(self) -> None:
        """Subscribe to the clock's changes of value, so that a step starts as soon as the building's does;
        without a subscription (a Modbus clock, a device that refuses it) the clock is polled."""
        clock = self.point_map.point(CLOCK)
        watch = getattr(self.client, "watch", None)
        if clock is None or watch is None:
            return
        problem = await watch([clock], COV_LIFETIME_S)
        if problem is not None:
            self.log(f"no change-of-value subscription to the building's clock ({problem}); polling it")

    async def step(self) -> None:
        started = self._monotonic()
        # The service's state before the controller decides: a kill switch flipped during the last step is
        # obeyed at this one (the link holds the ai's own kill-switch file).
        control = await self.link.control() if self.link is not None else None
        values = await self.client.read(self._read_points)
        guard = self._link_guard(values)
        observation, stamp = self._observation(values)
        self._decisions = []
        action: Action | None = None
        if guard == "write-rejected" and self._guard_steps % REJECTED_RETRY_STEPS == REJECTED_RETRY_STEPS - 1 \
                and self.settings.mode == "closed-loop":
            action = self._decide(observation)
            guard = await self._try_rejected_again(action)
        self._announce(guard)
        if guard in HANDING_BACK:
            await self._relinquish_all(f"guard {guard}", during_guard=True)
        else:
            if guard == "device-restarted":
                self._written.clear()  # its priority arrays may be gone: write every command again
            if self.settings.mode != "read-only":
                action = action or self._decide(observation)
                if self.settings.mode == "closed-loop":
                    await self._apply(action, values)
                elif self.settings.mode == "advisory" and control is not None:
                    await self._apply_approved(control, values)
        if self.settings.mode == "closed-loop" or self._written:
            await self._beat()  # an advisory agent beats while approved setpoints of its own are in force
        if guard is not None:
            self.summary.guard_steps[guard] += 1
        self.summary.steps += 1
        self.summary.step_s.append(self._monotonic() - started)
        if not self._has_clock or self._last_stamp_minute is not None:
            # A row needs a time: with a clock point, the building's (none before it was first read).
            row = self._row(stamp, values, guard)
            self.storage.append(row, self._decisions)
            if self.link is not None:
                self.link.record(row, self._decisions)
        if self.storage.pending_rows >= self.settings.flush_every_steps:
            self.storage.flush()

    def _decide(self, observation: Observation) -> Action:
        action = self.controller.act(observation)
        self._decisions = self._new_decisions()
        return action

    # -- guards ---------------------------------------------------------------------------------------
    def _link_guard(self, values: dict[str, float | None]) -> str | None:
        lost = set(self.client.unreachable)
        # Only a device that had answered before can have restarted (not one still starting when the agent did).
        came_back = (self._lost_devices - lost) & self._answered_devices
        self._lost_devices = lost
        self._answered_devices |= {point.device for point in self._read_points} - lost
        clock = values.get(CLOCK)
        went_back = self._has_clock and clock is not None and self._last_clock is not None \
            and clock < self._last_clock
        stale = self._is_stale(values, clock)
        if clock is not None:
            self._last_clock = clock
        if lost:
            return "device-unreachable"
        if stale:
            return "stale-values"
        if came_back or went_back:
            self._restarted = sorted(came_back) or ["the building's clock went back"]
            return "device-restarted"
        if self._rejected:
            return "write-rejected"
        return None

    def _is_stale(self, values: dict[str, float | None], clock: float | None) -> bool:
        if self._has_clock:
            unchanged = clock is None or clock == self._last_clock
        else:
            unchanged = self._last_values is not None and values == self._last_values
        self._last_values = values
        self._stale_steps = self._stale_steps + 1 if unchanged else 0
        return self._stale_steps >= STALE_STEPS

    async def _try_rejected_again(self, action: Action) -> str | None:
        """Write the refused setpoints again (every :data:`REJECTED_RETRY_STEPS` steps of the guard): the
        guard holds while any is still refused, and clears once the device takes them all."""
        for name in sorted(self._rejected):
            point = self.point_map.point(name)
            wanted = None if point is None or name == HEARTBEAT else _wanted(action, point)
            if wanted is None:
                self._rejected.pop(name, None)  # the controller no longer sets it, or it is the heartbeat
                continue
            await self._write(point, min(max(wanted, point.min), point.max))  # type: ignore[arg-type,type-var]
        return "write-rejected" if self._rejected else None

    def _announce(self, guard: str | None) -> None:
        """One line when a guard starts (with its reasons) and one when it clears."""
        self._guard_steps = self._guard_steps + 1 if guard == self._active_guard else 0
        if guard == self._active_guard:
            return
        if guard is None:
            self.log(f"link guard {self._active_guard} cleared: the agent is back in charge")
        elif guard == "device-restarted":
            self.log(f"link guard device-restarted: {', '.join(self._restarted)} answered again; every command is "
                     "written again, as its priority arrays may have been wiped")
            self.summary.problems.append(f"{guard}: {', '.join(self._restarted)}")
        else:
            reasons = self._reasons(guard)
            self.log(f"link guard {guard}: the building's own control is in charge ({reasons})")
            self.summary.problems.append(f"{guard}: {reasons}")
        self._active_guard = guard

    def _reasons(self, guard: str) -> str:
        if guard == "device-unreachable":
            found = self.client.unreachable
        elif guard == "write-rejected":
            found = self._rejected
        elif self._has_clock:
            return f"the building's clock stayed at {self._last_clock} for {self._stale_steps} steps"
        else:
            return f"every reading stayed the same for {self._stale_steps} steps"
        return "; ".join(f"{k}: {v}" for k, v in list(found.items())[:3]) + \
            (f"; and {len(found) - 3} more" if len(found) > 3 else "")

    # -- writing --------------------------------------------------------------------------------------
    async def _apply(self, action: Action, values: dict[str, float | None]) -> None:
        """Write each setpoint the action sets (clipped to the map's bounds); give back those it leaves."""
        for point in self._setpoints:
            wanted = _wanted(action, point)
            if wanted is None:
                if point.name in self.ledger.entries:
                    await self._give_back(point)
                continue
            value = min(max(wanted, point.min), point.max)  # type: ignore[type-var]
            in_force = values.get(point.name)
            if self._written.get(point.name) == value and in_force is not None and abs(in_force - value) < 0.01:
                continue
            await self._write(point, value)

    async def _apply_approved(self, control: LinkControl, values: dict[str, float | None]) -> None:
        """Advisory mode: write the setpoints an operator approved, as closed loop writes them (clipped to the
        map's bounds, at its priority); under the kill switch give every one back to the building instead."""
        if control.kill_switch:
            if self._written:
                await self._relinquish_all("the kill switch", during_guard=True)
            return
        for recommendation_id, setpoints in control.approved:
            approved = action_of(setpoints)
            for point in self._setpoints:
                wanted = _wanted(approved, point)
                if wanted is not None:
                    await self._write(point, min(max(wanted, point.min), point.max))  # type: ignore[type-var]
            self.log(f"approved recommendation {recommendation_id} written: "
                     f"{', '.join(f'{k} {v:g}' for k, v in sorted(setpoints.items()))}")
        control.approved = []  # delivered once

    async def _write(self, point: Point, value: float) -> None:
        """Write one setpoint, write-ahead in the ledger. A refusal is the write-rejected guard's (and, when the
        point held no command of the agent's, leaves the ledger as it was); no answer leaves it to be
        written again next step."""
        held = point.name in self._written
        self.ledger.record(point.name, point.write_priority)
        problem = await self.client.write(point, value, point.write_priority)
        if problem is None:
            self._written[point.name] = value
            self.summary.writes += 1
            self._rejected.pop(point.name, None)
            return
        self._written.pop(point.name, None)
        if isinstance(problem, Refusal):
            if not held:
                self.ledger.forget(point.name)  # refused: no command of the agent's is in force there
            self._rejected[point.name] = f"{value:g} refused: {problem}"  # the guard's line says it

    async def _give_back(self, point: Point) -> bool:
        priority = self.ledger.entries.get(point.name, point.write_priority)
        problem = await self.client.relinquish(point, priority)
        if problem is not None:
            if self._give_back_failed.get(point.name) != problem:  # one line per point and reason
                self.log(f"relinquishing {point.name} failed: {problem} (kept in the ledger)")
            self._give_back_failed[point.name] = problem
            return False
        self._give_back_failed.pop(point.name, None)
        self.ledger.forget(point.name)
        self._written.pop(point.name, None)
        self.summary.relinquishes += 1
        return True

    async def _relinquish_all(self, why: str, during_guard: bool = False) -> None:
        """Give back every point in the ledger; the heartbeat last, and only once every setpoint is back: a
        building whose heartbeat lapses takes back, by its watchdog, what the agent could not.

        While a guard holds (``during_guard``) the agent is alive: its heartbeat stays, each point gets one
        attempt a step, and the points of unreachable devices wait until they answer (each attempt would wait
        out a timeout). On stopping (and starting) a point is tried up to :data:`RELINQUISH_ROUNDS` times within
        :data:`RELINQUISH_TIMEOUT_S`, so that a lost datagram or two leave no command behind."""
        def owed() -> list[Point]:
            return [point for name in self.ledger.entries if name != HEARTBEAT
                    and (point := self.point_map.point(name)) is not None
                    and not (during_guard and point.device in self.client.unreachable)]

        try:
            async with asyncio.timeout(RELINQUISH_TIMEOUT_S):
                for _ in range(1 if during_guard else RELINQUISH_ROUNDS):
                    for point in owed():
                        await self._give_back(point)
                if during_guard or self._heartbeat is None or HEARTBEAT not in self.ledger.entries:
                    return
                if left := owed():
                    self.log(f"{len(left)} point(s) could not be given back on {why} "
                             f"({', '.join(point.name for point in left[:3])}); the heartbeat is left to lapse so that "
                             "the building's watchdog takes them back, and the ledger keeps them for the next agent")
                    return
                await self._give_back(self._heartbeat)
        except TimeoutError:
            self.log(f"relinquishing on {why} timed out; {len(self.ledger.entries)} point(s) stay in the ledger "
                     "for the next agent to relinquish")

    async def _relinquish_leftovers(self) -> None:
        if not self.ledger.entries:
            return
        count = len(self.ledger.entries)
        origin = "an unreadable ledger (every writable point)" if self.ledger.unreadable else "the ledger"
        self.log(f"relinquishing {count} point(s) a previous agent left commanded, from {origin}")
        await self._relinquish_all("start")
        self.summary.leftovers_relinquished = count - len(self.ledger.entries)

    async def _beat(self) -> None:
        if self._heartbeat is None:
            return
        self._heartbeat_count += 1
        self.ledger.record(HEARTBEAT, self._heartbeat.write_priority)
        problem = await self.client.write(self._heartbeat, float(self._heartbeat_count),
                                          self._heartbeat.write_priority)
        if problem is None:
            self._rejected.pop(HEARTBEAT, None)
        elif isinstance(problem, Refusal):
            self._rejected[HEARTBEAT] = problem  # the watchdog would drop every command: hand them back now

    # -- records --------------------------------------------------------------------------------------
    def _calendar(self, values: dict[str, float | None]) -> tuple[int, int, int, int, pd.Timestamp]:
        """The step's (month, day, hour, minute) and time stamp: the building's clock where it has one (one
        step past the last clock value while the clock cannot be read), else the wall clock."""
        clock = values.get(CLOCK)
        if self._has_clock:
            if clock is None and self._last_stamp_minute is not None:
                clock = self._last_stamp_minute + self.context.timestep_h * 60.0
            if clock is not None:
                self._last_stamp_minute = clock
                month, day, hour, minute = calendar_of_reading_minute(clock)
                return month, day, hour, minute, pd.Timestamp(CALENDAR_YEAR, 1, 1) + pd.Timedelta(minutes=round(clock))
        now = datetime.now().replace(second=0, microsecond=0)
        stamp = pd.Timestamp(now)
        if now.minute == 0:  # a step that ends on the hour belongs to the hour before, as minute 60
            before = stamp - pd.Timedelta(minutes=1)
            return before.month, before.day, before.hour, 60, stamp
        return now.month, now.day, now.hour, now.minute, stamp

    def _observation(self, values: dict[str, float | None]) -> tuple[Observation, pd.Timestamp]:
        month, day, hour, minute, stamp = self._calendar(values)
        zones = {zone: ZoneObservation(**{column: values.get(f"{zone}/{column}")
                                          for column in ZoneObservation._fields})
                 for zone in self.context.zone_names}
        facility = {column: values.get(column) for column in _FACILITY_OBSERVED}
        return Observation(month, day, hour, minute, **facility, zones=zones), stamp

    @staticmethod
    def _row(stamp: pd.Timestamp, values: dict[str, float | None], guard: str | None) -> dict[str, Any]:
        row: dict[str, Any] = {"time": stamp}
        row.update({name: value for name, value in values.items() if name != CLOCK})
        row["agent_guard"] = guard or "none"
        return row

    def _new_decisions(self) -> list[Any]:
        log = getattr(self.controller, "decision_log", None)
        if not log:
            return []
        records = list(log)[self._decisions_seen:]
        self._decisions_seen = len(log)
        return records


def _wanted(action: Action, point: Point) -> float | None:
    """The value an action sets for a setpoint point (None: the action leaves it to the building)."""
    if point.zone is None:
        return getattr(action, point.column, None)
    setpoints = getattr(action, point.column, None)
    return None if setpoints is None else setpoints.get(point.zone)


async def _stopped_within(stop: asyncio.Event, seconds: float, wake: asyncio.Event | None = None) -> bool:
    """Wait up to ``seconds`` (or until ``wake`` is set); True if ``stop`` was set meanwhile."""
    waits = [asyncio.ensure_future(stop.wait())] + ([asyncio.ensure_future(wake.wait())] if wake is not None else [])
    try:
        await asyncio.wait(waits, timeout=max(seconds, 0.0), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
    return stop.is_set()
