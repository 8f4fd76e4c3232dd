"""An agent on an A/B schedule: the candidate and the building's own control take turns at midnight, and the
live telemetry and summary say which one was in control, as a simulated run's do."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pandas as pd

from greendc.bms.store import PointStore
from greendc.bms.template import point_map_template, point_map_yaml
from greendc.control.ab_schedule import ABDesign, ABSchedule
from greendc.site.loader import load_site
from greendc.telemetry.schema import ARM_COLUMN, BASELINE, CANDIDATE
from greendc.workflows.live import AgentJob, prepare_agent, write_live_run_summary
from greendc.workflows.virtual_building import with_run_period

from .conftest import StoreClient, start_building

SITE_FILE = Path(__file__).resolve().parents[2] / "examples" / "sites" / "two-hall-chicago.yaml"
#: Wall seconds per 15-minute step: fast, with room for the agent's step.
SLOT_S = 0.06


def test_an_agent_on_an_ab_schedule_records_the_arm_in_control(tmp_path: Path) -> None:
    site, site_dir = load_site(SITE_FILE)
    site = with_run_period(site, "07-15", 2)
    points = tmp_path / "points.yaml"
    points.write_text(point_map_yaml(point_map_template(site, str(SITE_FILE))))
    # Seed 3 puts the candidate in charge on 15 July and the building's own control on the 16th.
    schedule = ABSchedule(seed=3, block_days=1)
    assert (schedule.arm_at(pd.Timestamp(2001, 7, 15)), schedule.arm_at(pd.Timestamp(2001, 7, 16))) == (
        CANDIDATE, BASELINE)
    job = AgentJob(points=points, controller="trim-respond", mode="closed-loop", interval_s=SLOT_S,
                   out_dir=tmp_path / "agent", ab=ABDesign(seed=3, block_days=1))
    prepared = prepare_agent(job, log=lambda line: None)
    store = PointStore(prepared.point_map)
    prepared.agent.client = StoreClient(store)  # in-process: the same agent, without the wire

    async def run() -> None:
        building = await start_building(site, site_dir, prepared.point_map, SLOT_S, store, serve_protocols=False)
        stop = asyncio.Event()
        agent_task = asyncio.create_task(prepared.agent.run(stop))
        await asyncio.wait_for(building.task, 120)
        stop.set()
        await asyncio.wait_for(agent_task, 30)

    asyncio.run(run())
    telemetry = pd.read_parquet(job.out_dir / "telemetry.parquet")
    assert len(telemetry) > 150
    arms = telemetry[ARM_COLUMN]
    assert arms.tolist() == schedule.arms_of_rows(telemetry["time"], 0.25).tolist()
    assert set(arms) == {CANDIDATE, BASELINE}
    # Readings well inside each block show its arm's setpoints: trim-respond moves the zone cooling setpoint
    # with its supply air, the building's own control holds 23 C.
    time = telemetry["time"]
    inside = (time > pd.Timestamp("2001-07-15 01:00")) & ((time < pd.Timestamp("2001-07-15 23:45"))
                                                         | (time > pd.Timestamp("2001-07-16 01:00")))
    cooling_c = telemetry["West Hall/zone_cooling_setpoint_c"][inside]
    assert (cooling_c[arms[inside] == CANDIDATE] > 25.0).all()
    assert (cooling_c[arms[inside] == BASELINE] == 23.0).all()
    write_live_run_summary(job, prepared)
    record = json.loads((job.out_dir / "summary.json").read_text())["ab_schedule"]
    assert record == {"seed": 3, "block_days": 1, "candidate_controller": "trim-respond",
                      "baseline_controller": "default", "first_block_day": "01-01", "candidate_blocks": 1,
                      "baseline_blocks": 1}
