"""Live operation over BACnet/IP and Modbus TCP (issue 17): the agent on the twin served as a virtual building.

Four sub-benchmarks, everything on 127.0.0.1 with ports the OS hands out:

* ``equivalence``: ``trim-respond`` and ``ai`` (the shipped model) in closed loop over the wire
  (``greendc.workflows.live_demo.live_run``: the building and the agent in one process, the agent reading every
  point, deciding and writing at priority 13 through the real protocol stacks) against the in-process
  co-simulation (``greendc.workflows.simulation.simulate``) of the same period, on the example site; a slot of
  0.25 s per 15-minute step (3,600 times real time). Facility kWh both ways and the difference, steps above
  27 C both ways, late building steps, agent step p50/p99.
* ``kill``: the command line as separate processes (``greendc points template``, ``greendc bms serve`` at 900x,
  ``greendc agent --mode closed-loop --interval 1`` with trim-respond). After about 20 s the agent gets
  ``kill -9``; the bench polls the building's priority arrays (BACnet) and enable coils (Modbus) and times how
  long until no setpoint holds a command at priority 13. Then a new agent starts on the same ``--out`` folder
  and must give back the dead agent's leftovers before it writes. Run twice: with a 5 s watchdog (the
  building cleans up by itself) and with a 600 s watchdog (the leftovers are still commanded when the new
  agent starts, so only the new agent's ledger can clean them up).
* ``step``: the ten-hall site (``bench/sites/ten-hall.yaml``, 100 points: chilled-water halls on BACnet/IP, the
  DX halls' CRACs on Modbus TCP), building and agent as separate processes (CLI), trim-respond in closed loop
  at a 1 s slot: the agent's step time (read all points, decide, write) p50/p99/max.
* ``pace``: the example site's building alone (no agent, the protocol servers up), at several speeds: late
  steps, the largest lag, and the speed it reaches when asked for more than it can do.

Each sub-benchmark merges its part into ``--json`` (default ``bench/results/live.json``), so they can be run
one at a time. Every wait is bounded and every child process is killed on the way out.

Usage::

    python bench/live.py equivalence --january     # about 10 minutes
    python bench/live.py kill                      # about 3 minutes
    python bench/live.py step                      # about 3 minutes
    python bench/live.py pace                      # about 5 minutes
    python bench/live.py all --january

In a tree that others edit while it runs, run a fixed commit's code (an editable install would pick up a
module changed half-way through a run)::

    git archive HEAD src | tar -x -C /tmp/snap && \
        PYTHONPATH=/tmp/snap/src python bench/live.py all --january --commit "$(git rev-parse --short HEAD) (export)"

(the ai's compiled search is cached beside its source: the first ai run of a fresh export compiles it, some
30 s in the agent's first step; run one ai simulation from the export first).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "bench" / "results" / "live.json"
TEN_HALL = REPO / "bench" / "sites" / "ten-hall.yaml"
GREENDC = [sys.executable, "-m", "greendc"]
EQUIVALENCE_PERIODS = {"july": ("07-15", 7), "january": ("01-15", 2)}
PACE_SPEEDS = (60.0, 900.0, 3600.0, 9000.0, 18000.0, 36000.0)
#: A speed no machine keeps: the building then runs as fast as it can, and its throughput is measured.
FLAT_OUT_SPEED = 1e7


# -- helpers -------------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile as ``greendc.workflows.live.summary_record`` takes it (nearest rank, no interpolation)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _commit() -> str:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown"
    # Other work goes on in the shared tree: say whether the code under test had changes not yet committed.
    return commit + (" (src/ with uncommitted changes)" if git("status", "--porcelain", "--", "src") else "")


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _say(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(1000 * seconds, 1)


# -- equivalence ---------------------------------------------------------------------------------------
def equivalence(periods: list[str], slot_s: float) -> list[dict[str, Any]]:
    from greendc.results.summary import summarize
    from greendc.site.loader import load_site
    from greendc.workflows.demo import demo_model_path, demo_site_path
    from greendc.workflows.live_demo import live_run
    from greendc.workflows.simulation import controller_options, simulate
    from greendc.workflows.virtual_building import with_run_period

    base, site_dir = load_site(demo_site_path())
    zone_names = [zone.name for zone in base.zones]
    rows = []
    for period in periods:
        start, days = EQUIVALENCE_PERIODS[period]
        site = with_run_period(base, start, days)
        for controller in ("trim-respond", "ai"):
            options = controller_options([controller], zone_names, demo_model_path())[controller]
            _say(f"equivalence {period} {controller}: live over the wire (load {_load()})")
            log_lines: list[str] = []
            began = time.monotonic()
            with tempfile.TemporaryDirectory() as scratch:
                run, agent = asyncio.run(live_run(site, site_dir, controller, options, slot_s,
                                                  Path(scratch) / "agent", log_lines.append))
            live_wall = time.monotonic() - began
            live = summarize(run.result.telemetry, run.result.zone_names, run.result.timestep_h)
            _say(f"equivalence {period} {controller}: in-process (load {_load()})")
            began = time.monotonic()
            in_process = simulate(site, site_dir, controller, controller_options=options).summary
            in_process_wall = time.monotonic() - began
            row = {
                "period": period, "start": start, "days": days, "controller": controller, "slot_s": slot_s,
                "speed": 900.0 / slot_s,
                "facility_kwh_live": round(live.facility_kwh, 2),
                "facility_kwh_in_process": round(in_process.facility_kwh, 2),
                "facility_difference_pct": round(100 * (live.facility_kwh - in_process.facility_kwh)
                                                 / in_process.facility_kwh, 3),
                "cooling_kwh_live": round(live.cooling_kwh, 2),
                "cooling_kwh_in_process": round(in_process.cooling_kwh, 2),
                "steps_above_27c_live": live.steps_above_27c,
                "steps_above_27c_in_process": in_process.steps_above_27c,
                "inlet_max_c_live": round(live.inlet_max_c, 2),
                "inlet_max_c_in_process": round(in_process.inlet_max_c, 2),
                "building_steps": run.pace.steps, "late_building_steps": run.pace.late_steps,
                "max_lag_s": round(run.pace.max_lag_s, 3),
                "agent_steps": agent.steps, "agent_writes": agent.writes,
                "agent_step_ms_p50": _ms(percentile(agent.step_s, 0.5)),
                "agent_step_ms_p99": _ms(percentile(agent.step_s, 0.99)),
                "agent_step_ms_max": _ms(max(agent.step_s, default=None)),
                "link_guard_steps": dict(agent.guard_steps),
                "watchdog_trips": run.watchdog.watchdog_trips,
                "agent_log": log_lines[:20],
                "wall_s_live": round(live_wall, 1), "wall_s_in_process": round(in_process_wall, 1),
                "load_after": _load(),
            }
            _say(json.dumps({k: v for k, v in row.items() if k != "agent_log"}))
            rows.append(row)
    return rows


# -- child processes -----------------------------------------------------------------------------------
class Children:
    """Child processes, each with its output in a file; all of them killed on the way out."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("wb")
        proc = subprocess.Popen([*GREENDC, *args], stdout=log, stderr=subprocess.STDOUT, cwd=self.folder,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"})
        log.close()
        self.procs[name] = proc
        return proc

    def output(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def wait_for_text(self, name: str, text: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in self.output(name):
                return True
            if self.procs[name].poll() is not None:
                return text in self.output(name)
            await asyncio.sleep(0.1)
        return False

    async def wait_exit(self, name: str, timeout_s: float) -> int | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = self.procs[name].poll()
            if code is not None:
                return code
            await asyncio.sleep(0.1)
        return None

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


class Poller:
    """Reads over the wire which setpoints hold a command at the agent's priority: slot 13 of each BACnet
    point's priority array, each Modbus setpoint's enable coil."""

    def __init__(self, point_map: Any) -> None:
        from greendc.bms.bacnet import BacnetClient
        from greendc.bms.modbus import ModbusClient
        from greendc.bms.points import HEARTBEAT

        self.point_map = point_map
        self.setpoints = [p for p in point_map.points if p.writable and p.column != HEARTBEAT]
        self.heartbeat = point_map.point(HEARTBEAT)
        self.bacnet = BacnetClient(point_map.devices)
        self.modbus = ModbusClient(point_map)

    async def __aenter__(self) -> Poller:
        await self.bacnet.open()
        await self.modbus.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.bacnet.close()
        with contextlib.suppress(Exception):
            await self.modbus.close()

    def _protocol(self, point: Any) -> str:
        return self.point_map.devices[point.device].protocol

    async def commanded(self) -> dict[str, float | bool]:
        """Setpoint -> its priority-13 value (BACnet) or True (Modbus coil on), for those commanded."""
        out: dict[str, float | bool] = {}
        for point in self.setpoints:
            if self._protocol(point) == "bacnet":
                slot = (await self.bacnet.priority_array(point))[point.write_priority - 1]
                if slot is not None:
                    out[point.name] = round(slot, 3)
            elif await self.modbus.command_enabled(point):
                out[point.name] = True
        return out

    async def present_and_default(self) -> dict[str, dict[str, float | None]]:
        """Each setpoint's present value, and for BACnet its relinquish default (the building's own value)."""
        values = await self.bacnet.read([p for p in self.setpoints if self._protocol(p) == "bacnet"])
        values |= await self.modbus.read([p for p in self.setpoints if self._protocol(p) == "modbus"])
        out: dict[str, dict[str, float | None]] = {}
        for point in self.setpoints:
            default = await self.bacnet.relinquish_default(point) if self._protocol(point) == "bacnet" else None
            out[point.name] = {"present": _round(values.get(point.name)), "relinquish_default": _round(default)}
        return out

    async def clock(self) -> float | None:
        from greendc.bms.points import CLOCK

        return (await self.bacnet.read([self.point_map.point(CLOCK)]))[CLOCK]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _agent_args(points: Path, out: Path, steps: int | None = None, interval_s: float = 1.0) -> list[str]:
    args = ["agent", str(points), "--controller", "trim-respond", "--mode", "closed-loop", "--interval",
            f"{interval_s:g}", "--out", str(out)]
    return args + (["--steps", str(steps)] if steps is not None else [])


async def _serve(children: Children, site: Path, folder: Path, watchdog_s: float, speed: float,
                 start: str, days: int) -> Path:
    """``greendc points template`` and ``greendc bms serve`` on free loopback ports; the points file."""
    from greendc.workflows.live_demo import free_loopback_ports

    bacnet_port, modbus_port = free_loopback_ports()
    addresses = ["--bacnet", f"127.0.0.1:{bacnet_port}", "--modbus", f"127.0.0.1:{modbus_port}"]
    points = folder / "points.yaml"
    subprocess.run([*GREENDC, "points", "template", str(site), *addresses, "--watchdog-s", f"{watchdog_s:g}",
                    "--out", str(points)], check=True, timeout=120, capture_output=True, cwd=folder)
    children.start("building", ["bms", "serve", str(site), *addresses, "--speed", f"{speed:g}", "--start", start,
                                "--days", str(days), "--watchdog-s", f"{watchdog_s:g}", "--out",
                                str(folder / "building"), "--json", str(folder / "building.json")])
    if not await children.wait_for_text("building", "listening", 180):
        raise RuntimeError(f"the building did not come up:\n{children.output('building')[-2000:]}")
    # The servers listen before EnergyPlus has sized and warmed up the model: wait for the first published
    # step, so that the agent's first steps are real ones (not device-unreachable guards on empty points).
    from greendc.bms.bacnet import BacnetClient
    from greendc.bms.points import CLOCK, load_point_map

    point_map = load_point_map(points)
    deadline = time.monotonic() + 180
    async with BacnetClient(point_map.devices) as client:
        while (await client.read([point_map.point(CLOCK)]))[CLOCK] is None:
            if time.monotonic() > deadline or children.procs["building"].poll() is not None:
                raise RuntimeError(f"the building published no step:\n{children.output('building')[-2000:]}")
            await asyncio.sleep(0.1)
    return points


async def _stop_building(children: Children, folder: Path) -> dict[str, Any]:
    building = children.procs["building"]
    if building.poll() is None:
        building.send_signal(signal.SIGINT)
    code = await children.wait_exit("building", 120)
    summary_path = folder / "building.json"
    if code is None or not summary_path.exists():
        raise RuntimeError(f"the building did not stop with its summary (exit {code}):\n"
                           f"{children.output('building')[-2000:]}")
    return json.loads(summary_path.read_text())


# -- kill ----------------------------------------------------------------------------------------------
async def kill_case(watchdog_s: float, run_before_kill_s: float = 20.0, restart_steps: int = 8) -> dict[str, Any]:
    import pandas as pd

    from greendc.bms.points import load_point_map
    from greendc.telemetry.faults import CALENDAR_YEAR
    from greendc.workflows.demo import demo_site_path

    slot_s = 1.0
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        children = Children(folder)
        try:
            points = await _serve(children, demo_site_path(), folder, watchdog_s, 900.0 / slot_s, "07-15", 1)
            point_map = load_point_map(points)
            agent_out = folder / "agent"
            children.start("agent-1", _agent_args(points, agent_out))
            async with Poller(point_map) as poller:
                await asyncio.sleep(run_before_kill_s)
                if children.procs["agent-1"].poll() is not None:
                    raise RuntimeError(f"the agent exited early:\n{children.output('agent-1')[-2000:]}")
                before_kill = await poller.commanded()
                os.kill(children.procs["agent-1"].pid, signal.SIGKILL)
                killed_at = time.monotonic()
                await children.wait_exit("agent-1", 10)
                ledger_after_kill = json.loads((agent_out / "commanded-points.json").read_text())["points"]
                # Poll until no setpoint holds a priority-13 command, at most the watchdog plus 15 s.
                bound_s = watchdog_s + slot_s
                cleared_after_s = None
                polls = 0
                commanded_at_restart: dict[str, float | bool] = {}
                observe_s = bound_s + 10.0 if watchdog_s < 60 else 5.0
                while time.monotonic() - killed_at < observe_s:
                    commanded_at_restart = await poller.commanded()
                    polls += 1
                    if not commanded_at_restart:
                        cleared_after_s = time.monotonic() - killed_at
                        break
                    await asyncio.sleep(0.05)
                values_before_restart = await poller.present_and_default()
                clock_before_restart = await poller.clock()
                # The new agent, on the dead one's folder; the bench watches slot 13 while it starts.
                children.start("agent-2", _agent_args(points, agent_out, restart_steps))
                restarted_at = time.monotonic()
                timeline: list[tuple[float, int]] = []
                while children.procs["agent-2"].poll() is None and time.monotonic() - restarted_at < 60:
                    count = len(await poller.commanded())
                    if not timeline or timeline[-1][1] != count:
                        timeline.append((round(time.monotonic() - restarted_at, 3), count))
                    await asyncio.sleep(0.005)
                code_2 = await children.wait_exit("agent-2", 30)
                commanded_after_agent_2 = await poller.commanded()
            building = await _stop_building(children, folder)
            agent_2_log = children.output("agent-2").splitlines()
            summary_2 = json.loads((agent_out / "agent-summary.json").read_text()) \
                if (agent_out / "agent-summary.json").exists() else {}
            first_read: dict[str, float | None] = {}
            telemetry = agent_out / "telemetry.parquet"
            if telemetry.exists() and clock_before_restart is not None:
                frame = pd.read_parquet(telemetry)
                since = pd.Timestamp(CALENDAR_YEAR, 1, 1) + pd.Timedelta(minutes=round(clock_before_restart))
                mine = frame[frame["time"] >= since].sort_values("time")
                if len(mine):
                    first_read = {name: _round(float(mine.iloc[0][name])) for name in values_before_restart
                                  if name in mine.columns}
        finally:
            children.stop_all()
    leftover_line = next((line for line in agent_2_log if "previous agent left commanded" in line), None)
    # What agent 2 read in its first step (after its start-up relinquish, before its first write) against the
    # dead agent's commands still in force and the building's own values, read just before agent 2 started.
    # A point whose dead command equals the building's own value (BACnet's relinquish default) tells nothing.
    first_read_check = {}
    for name, dead in commanded_at_restart.items():
        before = values_before_restart.get(name, {})
        command = before.get("present") if dead is True else dead
        first, default = first_read.get(name), before.get("relinquish_default")
        informative = command is not None and (default is None or abs(command - default) >= 0.01)
        first_read_check[name] = {
            "dead_agent_command": command, "relinquish_default": default, "agent_2_first_read": first,
            "first_read_is_not_the_dead_command": None if first is None or not informative
            else abs(first - command) >= 0.01,
        }
    # The slot-13 count over the wire while agent 2 starts: it must reach 0 before it rises again.
    counts = [count for _, count in timeline]
    first_rise = next((i for i in range(1, len(counts)) if counts[i] > counts[i - 1]), len(counts))
    cleared_before_rewrite = 0 in counts[:first_rise]
    leftovers_ok = (summary_2.get("leftovers_relinquished", 0) == len(ledger_after_kill)
                    and leftover_line is not None and not commanded_after_agent_2 and cleared_before_rewrite
                    and all(c["first_read_is_not_the_dead_command"] is not False for c in first_read_check.values()))
    return {
        "watchdog_s": watchdog_s, "slot_s": slot_s, "speed": 900.0 / slot_s, "controller": "trim-respond",
        "agent_ran_before_kill_s": run_before_kill_s,
        "commanded_before_kill": before_kill,
        "ledger_after_kill": ledger_after_kill,
        "all_priority_13_clear_after_kill_s": None if cleared_after_s is None else round(cleared_after_s, 3),
        "bound_watchdog_plus_step_s": bound_s,
        "met": None if watchdog_s >= 60 else (cleared_after_s is not None and cleared_after_s <= bound_s),
        "polls": polls,
        "commanded_when_agent_2_started": commanded_at_restart,
        "setpoints_before_restart": values_before_restart,
        "agent_2_first_read_setpoints": first_read,
        "agent_2_first_read_against_leftovers": first_read_check,
        "agent_2_leftover_log_line": leftover_line,
        "agent_2_commanded_count_timeline_s": timeline,
        "slot_13_empty_seen_before_agent_2_wrote": cleared_before_rewrite,
        "agent_2_exit_code": code_2,
        "agent_2_log_head": agent_2_log[:8],
        "agent_2_summary": {k: summary_2.get(k) for k in ("steps", "writes", "relinquishes",
                                                          "leftovers_relinquished", "step_s_p99")},
        "commanded_after_agent_2_exit": commanded_after_agent_2,
        "leftovers_relinquished_before_first_write": leftovers_ok,
        "building_summary": {k: building.get(k) for k in ("agent_writes", "watchdog_trips",
                                                          "return_to_local_control_s", "steps", "late_steps",
                                                          "max_lag_s")},
        "load_after": _load(),
    }


def kill(watchdogs: list[float]) -> list[dict[str, Any]]:
    rows = []
    for watchdog_s in watchdogs:
        _say(f"kill: watchdog {watchdog_s:g} s (load {_load()})")
        row = asyncio.run(kill_case(watchdog_s))
        _say(json.dumps({k: row[k] for k in ("watchdog_s", "all_priority_13_clear_after_kill_s", "met",
                                             "leftovers_relinquished_before_first_write", "building_summary")}))
        rows.append(row)
    return rows


# -- step ----------------------------------------------------------------------------------------------
async def step_case(steps: int, slot_s: float) -> dict[str, Any]:
    from greendc.bms.points import load_point_map

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        children = Children(folder)
        try:
            days = max(1, -(-(steps + 20) // 96))
            points = await _serve(children, TEN_HALL, folder, 60.0, 900.0 / slot_s, "07-15", days)
            point_map = load_point_map(points)
            agent_out = folder / "agent"
            children.start("agent", _agent_args(points, agent_out, steps, slot_s))
            code = await children.wait_exit("agent", steps * slot_s * 3 + 120)
            if code is None:
                raise RuntimeError(f"the agent did not finish its {steps} steps:\n{children.output('agent')[-2000:]}")
            building = await _stop_building(children, folder)
            summary = json.loads((agent_out / "agent-summary.json").read_text())
        finally:
            children.stop_all()
    return {
        "site": TEN_HALL.name, "points": len(point_map.points),
        "bacnet_points": sum(1 for p in point_map.points if point_map.devices[p.device].protocol == "bacnet"),
        "modbus_points": sum(1 for p in point_map.points if point_map.devices[p.device].protocol == "modbus"),
        "writable_points": sum(1 for p in point_map.points if p.writable),
        "slot_s": slot_s, "controller": "trim-respond", "agent_exit_code": code,
        "agent_steps": summary["steps"], "agent_writes": summary["writes"],
        "agent_step_ms_p50": _ms(summary["step_s_p50"]), "agent_step_ms_p99": _ms(summary["step_s_p99"]),
        "agent_step_ms_max": _ms(summary["step_s_max"]),
        "link_guard_steps": summary["link_guard_steps"], "problems": summary["problems"][:5],
        "building_late_steps": building["late_steps"], "building_steps": building["steps"],
        "building_max_lag_s": building["max_lag_s"], "load_after": _load(),
    }


# -- pace ----------------------------------------------------------------------------------------------
async def pace_case(speed: float, steps: int) -> dict[str, Any]:
    from greendc.bms.store import PointStore
    from greendc.bms.template import point_map_template
    from greendc.site.loader import load_site
    from greendc.workflows.demo import demo_site_path
    from greendc.workflows.live_demo import free_loopback_ports
    from greendc.workflows.virtual_building import serve_building, with_run_period

    base, site_dir = load_site(demo_site_path())
    site = with_run_period(base, "07-15", max(1, -(-steps // 96)))
    bacnet_port, modbus_port = free_loopback_ports()
    point_map = point_map_template(site, "site.yaml", f"127.0.0.1:{bacnet_port}", f"127.0.0.1:{modbus_port}")
    store = PointStore(point_map)
    stop = threading.Event()
    published: list[float] = []

    def on_change() -> None:  # no agent: every change is the building's publish at the end of a step
        published.append(time.monotonic())
        if len(published) >= steps:
            stop.set()

    store.add_listener(on_change)
    run = await serve_building(site, site_dir, point_map, speed, stop=stop, store=store)
    span_s = published[-1] - published[0] if len(published) > 1 else float("nan")
    reached = (len(published) - 1) * 900.0 / span_s if len(published) > 1 else float("nan")
    return {
        "speed": speed, "slot_s": round(900.0 / speed, 6), "steps": run.pace.steps, "late_steps": run.pace.late_steps,
        "max_lag_s": round(run.pace.max_lag_s, 4),
        "reached_speed": round(reached, 0), "wall_s": round(span_s, 2), "load_after": _load(),
    }


def pace(speeds: list[float], slow_steps: int) -> dict[str, Any]:
    rows = []
    for speed in [*speeds, FLAT_OUT_SPEED]:
        steps = slow_steps if speed <= 60 else 40 if speed <= 900 else 96 if speed <= 3600 else 192
        _say(f"pace: speed {speed:g}, {steps} steps (load {_load()})")
        row = asyncio.run(pace_case(speed, steps))
        row["flat_out"] = speed == FLAT_OUT_SPEED
        _say(json.dumps(row))
        rows.append(row)
    kept = [row["speed"] for row in rows if not row["flat_out"] and row["late_steps"] == 0]
    return {"rows": rows, "highest_speed_without_late_steps": max(kept, default=None),
            "flat_out_speed": next(row["reached_speed"] for row in rows if row["flat_out"])}


# -- tables --------------------------------------------------------------------------------------------
def markdown(results: dict[str, Any]) -> str:
    lines: list[str] = []
    if "equivalence" in results:
        lines += ["| period | controller | facility kWh live | in-process | difference | >27 C live / in-process | "
                  "late building steps | agent step p50 / p99 ms |", "|---|---|---|---|---|---|---|---|"]
        for r in results["equivalence"]["rows"]:
            lines.append(f"| {r['start']} +{r['days']} d | {r['controller']} | {r['facility_kwh_live']:,.1f} | "
                         f"{r['facility_kwh_in_process']:,.1f} | {r['facility_difference_pct']:+.3f} % | "
                         f"{r['steps_above_27c_live']} / {r['steps_above_27c_in_process']} | "
                         f"{r['late_building_steps']} of {r['building_steps']} | "
                         f"{r['agent_step_ms_p50']} / {r['agent_step_ms_p99']} |")
        lines.append("")
    if "kill" in results:
        lines += ["| watchdog | commanded before kill | all priority 13 clear after kill | bound | leftovers "
                  "relinquished by agent 2 | watchdog trips | return to local control s |",
                  "|---|---|---|---|---|---|---|"]
        for r in results["kill"]["rows"]:
            b = r["building_summary"]
            lines.append(f"| {r['watchdog_s']:g} s | {len(r['commanded_before_kill'])} | "
                         f"{r['all_priority_13_clear_after_kill_s']} s | {r['bound_watchdog_plus_step_s']:g} s | "
                         f"{r['agent_2_summary']['leftovers_relinquished']} of {len(r['ledger_after_kill'])} | "
                         f"{b['watchdog_trips']} | {b['return_to_local_control_s']} |")
        lines.append("")
    if "step" in results:
        r = results["step"]
        lines += ["| site | points | agent steps | p50 ms | p99 ms | max ms | building late steps |",
                  "|---|---|---|---|---|---|---|",
                  f"| {r['site']} | {r['points']} ({r['bacnet_points']} BACnet, {r['modbus_points']} Modbus) | "
                  f"{r['agent_steps']} | {r['agent_step_ms_p50']} | {r['agent_step_ms_p99']} | "
                  f"{r['agent_step_ms_max']} | {r['building_late_steps']} of {r['building_steps']} |", ""]
    if "pace" in results:
        lines += ["| speed | slot s | steps | late | max lag s | reached speed |", "|---|---|---|---|---|---|"]
        for r in results["pace"]["rows"]:
            label = "flat out" if r["flat_out"] else f"{r['speed']:,.0f}"
            lines.append(f"| {label} | {r['slot_s']:g} | {r['steps']} | {r['late_steps']} | {r['max_lag_s']} | "
                         f"{r['reached_speed']:,.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bench", choices=("equivalence", "kill", "step", "pace", "all"))
    parser.add_argument("--json", type=Path, default=DEFAULT_OUT, metavar="OUT", help="merged into this file")
    parser.add_argument("--january", action="store_true", help="equivalence: also 2 days from 01-15")
    parser.add_argument("--slot-s", type=float, default=0.25, help="equivalence: wall s per 15-minute step")
    parser.add_argument("--watchdogs", default="5,600", help="kill: building watchdog timeouts, s")
    parser.add_argument("--steps", type=int, default=150, help="step: agent steps on the ten-hall site")
    parser.add_argument("--speeds", default=",".join(f"{s:g}" for s in PACE_SPEEDS), help="pace: speeds")
    parser.add_argument("--slow-steps", type=int, default=10, help="pace: steps at speed 60")
    parser.add_argument("--commit", default=None, help="what code runs, for the record (default: this checkout's "
                                                       "commit; say so when PYTHONPATH points at an export)")
    args = parser.parse_args(argv)
    import greendc

    results: dict[str, Any] = json.loads(args.json.read_text()) if args.json.exists() else {}
    todo = ("equivalence", "kill", "step", "pace") if args.bench == "all" else (args.bench,)
    for bench in todo:
        started = datetime.now(UTC)
        meta = {"when": started.isoformat(timespec="seconds"), "commit": args.commit or _commit(),
                "greendc_from": str(Path(greendc.__file__).resolve().parent), "load_before": _load()}
        if bench == "equivalence":
            part: dict[str, Any] = {"rows": equivalence(["july", *(["january"] if args.january else [])],
                                                        args.slot_s)}
        elif bench == "kill":
            part = {"rows": kill([float(w) for w in args.watchdogs.split(",")])}
        elif bench == "step":
            part = asyncio.run(step_case(args.steps, 1.0))
        else:
            part = pace([float(s) for s in args.speeds.split(",")], args.slow_steps)
        part = {**meta, "wall_s": round((datetime.now(UTC) - started).total_seconds(), 1), **part}
        results[bench] = part
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(markdown(results))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
