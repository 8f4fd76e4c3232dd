"""The agent drives the virtual building through its point store exactly as the controller drives the twin
in-process: same energy, same inlets; it relinquishes on exit, and the building's watchdog takes back the
points of an agent that went silent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest

from greendc.agent.agent import Agent, AgentSettings
from greendc.agent.ledger import LEDGER_FILE, Ledger
from greendc.agent.storage import LiveStorage
from greendc.bms.store import PointStore
from greendc.bms.template import point_map_template
from greendc.control.registry import make_controller
from greendc.results.summary import summarize
from greendc.site.loader import load_site
from greendc.twin.builder import control_context
from greendc.workflows.simulation import simulate
from greendc.workflows.virtual_building import with_run_period

from .conftest import StoreClient, start_building

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sites"
#: Wall seconds per 15-minute step: fast, with room for the agent's step.
SLOT_S = 0.06


def _site(days: int = 1):
    site, site_dir = load_site(EXAMPLES / "two-hall-chicago.yaml")
    return with_run_period(site, "07-15", days), site_dir


async def _live_run(site, site_dir, controller_name: str, out_dir: Path, stop_agent_after: int | None = None,
                    watchdog_timeout_s: float = 60.0):
    point_map = point_map_template(site, "site.yaml", watchdog_timeout_s=watchdog_timeout_s)
    store = PointStore(point_map)
    client = StoreClient(store)
    building = await start_building(site, site_dir, point_map, SLOT_S, store, serve_protocols=False)
    agent = Agent(point_map, control_context(site), make_controller(controller_name),
                  AgentSettings(mode="closed-loop", interval_s=SLOT_S, max_steps=stop_agent_after),
                  client, LiveStorage(out_dir), Ledger(out_dir / LEDGER_FILE, point_map), log=lambda line: None)
    stop_agent = asyncio.Event()
    agent_task = asyncio.create_task(agent.run(stop_agent))
    run = await asyncio.wait_for(building.task, 120)
    stop_agent.set()
    summary = await asyncio.wait_for(agent_task, 30)
    return run, summary, store, client


@pytest.mark.parametrize("controller", ["trim-respond"])
def test_a_closed_loop_agent_gives_the_in_process_result(controller: str, tmp_path: Path) -> None:
    site, site_dir = _site()
    run, summary, store, _ = asyncio.run(_live_run(site, site_dir, controller, tmp_path / "agent"))
    live = summarize(run.result.telemetry, run.result.zone_names, run.result.timestep_h)
    in_process = simulate(site, site_dir, controller).summary
    assert run.pace.late_steps <= 2, run.pace
    assert summary.steps >= 95 and summary.writes > 0
    assert live.facility_kwh == pytest.approx(in_process.facility_kwh, rel=0.01)
    assert live.steps_above_27c == in_process.steps_above_27c
    # Every command was given back when the agent stopped, and the live telemetry is on disk for train.
    assert store.commanded_names([p.name for p in store.points]) == []
    telemetry = pd.read_parquet(tmp_path / "agent" / "telemetry.parquet")
    # At most one row per step of the building (the steps after it stopped repeat its last clock and are
    # dropped); on a loaded machine the agent may miss a step of 0.06 s, never more than a couple.
    assert run.pace.steps - 2 <= len(telemetry) <= run.pace.steps and telemetry["time"].is_unique
    assert "East Hall/inlet_temp_c" in telemetry


def test_the_watchdog_returns_the_building_to_its_own_control_when_the_agent_goes_silent(tmp_path: Path) -> None:
    site, site_dir = _site()
    # After 20 steps the agent loses the link: it can neither beat nor relinquish, as if it were killed.
    timeout_s = 4 * SLOT_S

    async def killed_agent_run():
        point_map = point_map_template(site, "site.yaml", watchdog_timeout_s=timeout_s)
        store = PointStore(point_map)
        client = StoreClient(store)
        building = await start_building(site, site_dir, point_map, SLOT_S, store, serve_protocols=False)
        agent = Agent(point_map, control_context(site), make_controller("trim-respond"),
                      AgentSettings(mode="closed-loop", interval_s=SLOT_S), client, LiveStorage(tmp_path / "a"),
                      Ledger(tmp_path / "a" / LEDGER_FILE, point_map), log=lambda line: None)
        task = asyncio.create_task(agent.run(asyncio.Event()))
        await asyncio.sleep(20 * SLOT_S)
        client.down = True  # the agent can no longer reach the building: neither heartbeat nor relinquish
        commanded_before = store.commanded_names([p.name for p in store.points])
        await asyncio.sleep(timeout_s + 3 * SLOT_S)
        commanded_after = store.commanded_names([p.name for p in store.points])
        task.cancel()
        run = await asyncio.wait_for(building.task, 120)
        return run, commanded_before, commanded_after

    run, before, after = asyncio.run(killed_agent_run())
    assert before and "heartbeat" in before
    assert after == []  # the agent's slot is empty everywhere: the building is on its own sequence
    assert run.watchdog.watchdog_trips == 1
    (returned_s,) = run.watchdog.return_to_local_s
    assert returned_s <= timeout_s + 2 * SLOT_S
