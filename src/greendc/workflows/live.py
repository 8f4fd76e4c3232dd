"""Live operation: the agent on a point map, and the virtual building it can be pointed at.

``run_agent`` is what ``greendc agent`` does: read the point map and its site, check the controller (the ai's
model against the site, as for a simulation), and run :class:`greendc.agent.agent.Agent` until it is stopped
(SIGINT, SIGTERM) or has done its steps, in an output folder that a restarted agent continues. On an A/B
schedule (``greendc.control.ab_schedule``) its blocks are counted from 1 January, so that a restarted agent
keeps the schedule it started with.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from greendc.agent.agent import MODES, Agent, AgentSettings, AgentSummary, Mode
from greendc.agent.client import BmsClient
from greendc.agent.ledger import LEDGER_FILE, Ledger
from greendc.agent.service_link import KILL_SWITCH_FILE, ServiceConnection, ServiceLink
from greendc.agent.storage import DECISIONS_FILE, PARTS_FOLDER, TELEMETRY_FILE, LiveStorage
from greendc.bms.points import PointMap, check_points_against_site, load_point_map, site_path_of
from greendc.control.ab_schedule import ABDesign, switching_controller
from greendc.control.registry import make_controller
from greendc.errors import UsageError
from greendc.results.records import RunSummary
from greendc.results.store import OutputFolderError, output_lock, write_json_atomic
from greendc.results.summary import summarize
from greendc.site.loader import load_site
from greendc.site.schema import Site
from greendc.telemetry.contract import Controller
from greendc.twin.builder import control_context
from greendc.workflows.simulation import ab_schedule_record, controller_options, model_site_warnings

SUMMARY_FILE = "agent-summary.json"
#: The live period's summary in the form of a simulated run's, which ``greendc explain`` reads.
RUN_SUMMARY_FILE = "summary.json"
#: What an agent's folder may hold: anything else is a user's, and the folder is refused.
_AGENT_ENTRIES = {TELEMETRY_FILE, DECISIONS_FILE, PARTS_FOLDER, LEDGER_FILE, SUMMARY_FILE, RUN_SUMMARY_FILE,
                  KILL_SWITCH_FILE}


@dataclass(frozen=True)
class AgentJob:
    points: Path
    controller: str
    mode: Mode
    interval_s: float
    out_dir: Path
    model: Path | None = None
    objective: str = "facility"
    max_steps: int | None = None
    accept_model_mismatch: bool = False
    #: Take turns with a baseline controller on a randomized schedule (closed loop only).
    ab: ABDesign | None = None
    #: Report to the greendc service and obey its kill switch and approvals (``--service``).
    service: ServiceConnection | None = None


def load_live_site(points: Path) -> tuple[PointMap, Site, Path]:
    """The point map, its site and the site's folder, checked against each other."""
    point_map = load_point_map(points)
    site, site_dir = load_site(site_path_of(point_map, points))
    check_points_against_site(point_map, site, points)
    return point_map, site, site_dir


def check_agent_folder(out_dir: Path) -> None:
    """Refuse an output folder that holds files an agent did not write."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputFolderError(f"{out_dir}: is a file, not a folder for the agent's output")
    if out_dir.is_dir():
        foreign = sorted(entry.name for entry in out_dir.iterdir() if entry.name not in _AGENT_ENTRIES)
        if foreign:
            raise OutputFolderError(f"{out_dir}: holds {', '.join(foreign[:3])}, which an agent did not write; "
                                    "choose an empty folder or an agent's for --out")


@dataclass(frozen=True)
class PreparedAgent:
    agent: Agent
    point_map: PointMap
    site: Site
    options: dict[str, object]


def prepare_agent(job: AgentJob, log: Callable[[str], None]) -> PreparedAgent:
    """Everything checked before anything is read from or written to the BMS."""
    if job.mode not in MODES:
        raise UsageError(f"--mode must be one of {', '.join(MODES)}, not {job.mode!r}")
    if not 0.05 <= job.interval_s <= 3600:
        raise UsageError(f"--interval must be 0.05-3600 s, not {job.interval_s:g}")
    if job.ab is not None and job.mode != "closed-loop":
        raise UsageError("--schedule: A/B switching needs --mode closed-loop (read-only and advisory leave the "
                         "building's own control in charge in both arms)")
    point_map, site, _ = load_live_site(job.points)
    context = control_context(site)
    names = [job.controller] if job.ab is None else [job.controller, job.ab.baseline]
    # The service's kill switch is the ai's own: a file in the agent's folder that the link creates and removes.
    kill_switch = None if job.service is None else job.out_dir / KILL_SWITCH_FILE
    options_by_name = controller_options(names, context.zone_names, job.model, job.objective,
                                         advisory=job.mode == "advisory", kill_switch=kill_switch,
                                         accept_model_mismatch=job.accept_model_mismatch)
    options = options_by_name[job.controller]
    if job.model is not None and "ai" in names:
        for line in model_site_warnings(site, job.model, job.accept_model_mismatch):
            log(f"warning: {line}")
    if job.mode == "closed-loop" and not any(p.writable for p in point_map.points):
        raise UsageError(f"{job.points}: closed-loop needs setpoints in the point map, and it has none")
    check_agent_folder(job.out_dir)
    job.out_dir.mkdir(parents=True, exist_ok=True)
    schedule = None
    if job.ab is None:
        controller: Controller = make_controller(job.controller, **options)
    else:
        switching = switching_controller(job.controller, options,
                                         replace(job.ab, baseline_options=options_by_name[job.ab.baseline]))
        controller, schedule = switching, switching.schedule
    agent = Agent(point_map, context, controller,
                  AgentSettings(mode=job.mode, interval_s=job.interval_s, max_steps=job.max_steps),
                  BmsClient(point_map), LiveStorage(job.out_dir, schedule, context.timestep_h),
                  Ledger(job.out_dir / LEDGER_FILE, point_map), log=log,
                  link=None if job.service is None else ServiceLink(job.service, job.out_dir / KILL_SWITCH_FILE, log))
    if job.service is not None and "ai" not in names:
        log(f"the service's kill switch hands control to the baseline rule; {job.controller} is a rule already")
    return PreparedAgent(agent, point_map, site, options)


def run_agent(job: AgentJob, log: Callable[[str], None] = print,
              stop: threading.Event | None = None) -> AgentSummary:
    """Run the agent until SIGINT/SIGTERM, ``stop`` or its steps; write ``agent-summary.json``."""
    prepared = prepare_agent(job, log)
    with output_lock(job.out_dir.resolve()):
        summary = asyncio.run(_run_until_stopped(prepared.agent, stop))
        write_json_atomic(job.out_dir / SUMMARY_FILE, summary_record(summary, job))
        write_live_run_summary(job, prepared)
    return summary


def write_live_run_summary(job: AgentJob, prepared: PreparedAgent) -> None:
    """``summary.json`` of the live telemetry so far, as a simulated run's (what ``greendc explain`` reads)."""
    telemetry_path = job.out_dir / TELEMETRY_FILE
    if not telemetry_path.is_file():
        return
    telemetry = pd.read_parquet(telemetry_path)
    if telemetry.empty:
        return
    site = prepared.site
    timestep_h = prepared.agent.context.timestep_h
    period = summarize(telemetry, [zone.name for zone in site.zones], timestep_h)
    ab_record = None
    if job.ab is not None:
        ab_record = ab_schedule_record(job.ab, job.controller, job.ab.schedule(), telemetry, timestep_h)
    RunSummary(**period.model_dump(), site=site.name, grid_region=site.grid_region, controller=job.controller,
               controller_options={key: str(value) for key, value in prepared.options.items()},
               weather="live (the building's own)", wall_s=0.0, energyplus_warnings=0, energyplus_severe_errors=0,
               installed_it_power_kw=site.it_design_power_w / 1000.0,
               it_floor_area_m2=sum(zone.floor_area_m2 for zone in site.zones),
               ab_schedule=ab_record).write(job.out_dir / RUN_SUMMARY_FILE)


async def _run_until_stopped(agent: Agent, stop: threading.Event | None) -> AgentSummary:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    installed = []
    for sign in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sign, stopping.set)
            installed.append(sign)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread: the caller stops it
            pass
    watcher = None
    if stop is not None:
        watcher = asyncio.create_task(_watch(stop, stopping))
    try:
        async with agent.client:
            if agent.link is None:
                return await agent.run(stopping)
            async with agent.link:
                return await agent.run(stopping)
    finally:
        if watcher is not None:
            watcher.cancel()
        for sign in installed:
            loop.remove_signal_handler(sign)


async def _watch(stop: threading.Event, stopping: asyncio.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(0.05)
    stopping.set()


def summary_record(summary: AgentSummary, job: AgentJob) -> dict[str, object]:
    return {
        "controller": job.controller, "mode": job.mode, "interval_s": job.interval_s,
        "steps": summary.steps, "writes": summary.writes, "relinquishes": summary.relinquishes,
        "leftovers_relinquished": summary.leftovers_relinquished,
        "link_guard_steps": dict(summary.guard_steps),
        "step_s_p50": summary.step_s_quantile(0.5),
        "step_s_p99": summary.step_s_quantile(0.99),
        "step_s_max": summary.step_s_quantile(1.0),
        "problems": summary.problems[:50],
    }
