"""The live demo (``greendc demo --live``): the example site served as a virtual building over BACnet/IP and
Modbus TCP on loopback, driven by the agent, next to the in-process co-simulation of the same controller.

For each controller the building runs two simulated days at high speed (a 15-minute step in a fraction of a
second of wall time) and the agent, in closed loop, reads every point, decides and writes its setpoints at
priority 13 through the real protocol stacks; then the same days are simulated in-process. The two should
agree: the same controller on the same plant, only the wire in between.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greendc.agent.agent import Agent, AgentSettings, AgentSummary
from greendc.agent.client import BmsClient
from greendc.agent.ledger import LEDGER_FILE, Ledger
from greendc.agent.storage import LiveStorage
from greendc.bms.template import point_map_template
from greendc.control.registry import make_controller
from greendc.results.records import PeriodSummary
from greendc.results.store import claim_output_folder, write_json_atomic
from greendc.results.summary import summarize
from greendc.site.loader import load_site
from greendc.site.schema import Site
from greendc.twin.builder import control_context
from greendc.workflows.demo import demo_model_path, demo_site_path
from greendc.workflows.simulation import controller_options, simulate
from greendc.workflows.virtual_building import BuildingRun, building_summary, serve_building, with_run_period

LIVE_CONTROLLERS = ("trim-respond", "ai")
#: Wall seconds per 15-minute step: 3,600 times real time, room for the agent's step over loopback.
DEMO_SLOT_S = 0.25
DEMO_DAYS = 2  # the CLI default too
DEMO_START = "07-15"


@dataclass
class LiveComparison:
    controller: str
    live: PeriodSummary
    in_process: PeriodSummary
    building: BuildingRun
    agent: AgentSummary

    @property
    def facility_difference(self) -> float:
        """Live minus in-process facility electricity, as a fraction of the in-process."""
        return (self.live.facility_kwh - self.in_process.facility_kwh) / self.in_process.facility_kwh


def free_loopback_ports() -> tuple[int, int]:
    """A free UDP port (BACnet/IP) and a free TCP port (Modbus) on 127.0.0.1, as the OS hands them out."""
    ports = []
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    return ports[0], ports[1]


async def live_run(site: Site, site_dir: Path, controller: str, options: dict[str, Any], slot_s: float,
                   agent_dir: Path, log: Callable[[str], None]) -> tuple[BuildingRun, AgentSummary]:
    """One closed-loop run of ``controller`` against the site served on fresh loopback ports."""
    bacnet_port, modbus_port = free_loopback_ports()
    point_map = point_map_template(site, "site.yaml", f"127.0.0.1:{bacnet_port}", f"127.0.0.1:{modbus_port}",
                                   watchdog_timeout_s=max(10 * slot_s, 2.0))
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    stop_agent = asyncio.Event()
    client = BmsClient(point_map)
    agent = Agent(point_map, control_context(site), make_controller(controller, **options),
                  AgentSettings(mode="closed-loop", interval_s=slot_s), client, LiveStorage(agent_dir),
                  Ledger(agent_dir / LEDGER_FILE, point_map), log=log)
    agent_task: asyncio.Task[AgentSummary] | None = None

    async def agent_done() -> None:
        stop_agent.set()
        if agent_task is not None:
            await asyncio.wait_for(asyncio.shield(agent_task), 60)

    building = asyncio.create_task(serve_building(
        site, site_dir, point_map, 900.0 / slot_s, on_ready=lambda: loop.call_soon_threadsafe(ready.set),
        before_close=agent_done))
    try:
        await asyncio.wait_for(asyncio.shield(ready.wait()), 120)
        async with client:
            agent_task = asyncio.create_task(agent.run(stop_agent))
            run = await building
    finally:
        stop_agent.set()
    return run, await agent_task  # type: ignore[misc]


def run_live_demo(out_dir: Path, overwrite: bool = False, controllers: tuple[str, ...] = LIVE_CONTROLLERS,
                  days: int = DEMO_DAYS, slot_s: float = DEMO_SLOT_S, start: str = DEMO_START,
                  on_controller: Callable[[str], None] | None = None,
                  log: Callable[[str], None] = lambda line: None) -> list[LiveComparison]:
    """The live demo into ``out_dir``: per controller the building's and the agent's telemetry, and
    ``comparison.json`` with the live and in-process figures."""
    site, site_dir = load_site(demo_site_path())
    site = with_run_period(site, start, days)
    zone_names = [zone.name for zone in site.zones]
    with claim_output_folder(out_dir, "demo", overwrite) as folder, tempfile.TemporaryDirectory() as scratch:
        comparisons = []
        for controller in controllers:
            if on_controller is not None:
                on_controller(controller)
            options = controller_options([controller], zone_names, demo_model_path())[controller]
            run, agent = asyncio.run(live_run(site, site_dir, controller, options, slot_s,
                                              Path(scratch) / controller, log))
            live = summarize(run.result.telemetry, run.result.zone_names, run.result.timestep_h)
            in_process = simulate(site, site_dir, controller, controller_options=options).summary
            comparisons.append(LiveComparison(controller, live, in_process, run, agent))

        def fill(staging: Path) -> None:
            for comparison in comparisons:
                folder_of = staging / comparison.controller
                shutil.copytree(Path(scratch) / comparison.controller, folder_of / "agent")
                (folder_of / "building").mkdir()
                comparison.building.result.telemetry.to_parquet(folder_of / "building" / "telemetry.parquet",
                                                                index=False)
            write_json_atomic(staging / "comparison.json", [comparison_record(c, site) for c in comparisons])

        folder.write(fill)
    return comparisons


def comparison_record(comparison: LiveComparison, site: Site) -> dict[str, Any]:
    return {
        "controller": comparison.controller,
        "live": building_summary(comparison.building, site),
        "in_process": comparison.in_process.model_dump(mode="json"),
        "facility_difference_pct": 100 * comparison.facility_difference,
        "agent_steps": comparison.agent.steps,
        "agent_step_s_p99": comparison.agent.step_s_quantile(0.99),
        "link_guard_steps": dict(comparison.agent.guard_steps),
    }
