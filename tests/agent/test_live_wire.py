"""The agent as an operator runs it: a separate process on the wire to the virtual building.

An operator's write at priority 8 wins over the agent; after ``kill -9`` the building's watchdog takes the
agent's points back within its timeout plus one step; a restarted agent first gives back what the dead one
left commanded, and only then acts.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from greendc.agent.agent import Agent, AgentSettings
from greendc.agent.client import BmsClient
from greendc.agent.ledger import LEDGER_FILE, Ledger
from greendc.agent.storage import LiveStorage
from greendc.bms.bacnet import BacnetClient
from greendc.bms.store import PointStore
from greendc.bms.template import point_map_template, point_map_yaml
from greendc.control.registry import make_controller
from greendc.site.loader import load_site
from greendc.twin.builder import control_context
from greendc.workflows.live_demo import free_loopback_ports
from greendc.workflows.virtual_building import with_run_period

from .conftest import start_building

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sites"
SITE_FILE = EXAMPLES / "two-hall-chicago.yaml"
SETPOINTS = ("East Hall/supply_air_setpoint_c", "West Hall/supply_air_setpoint_c",
             "East Hall/zone_cooling_setpoint_c", "West Hall/zone_cooling_setpoint_c")


class JournalStore(PointStore):
    """A point store that keeps every write it accepts, in order: (name, value, priority)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.journal: list[tuple[str, float | None, int]] = []

    def write(self, name: str, value: float | None, priority: int) -> None:
        super().write(name, value, priority)
        self.journal.append((name, value, priority))


def _site(days: int = 3):
    site, site_dir = load_site(SITE_FILE)
    return with_run_period(site, "07-15", days), site_dir


def _point_map(site, watchdog_timeout_s: float):
    bacnet_port, modbus_port = free_loopback_ports()
    return point_map_template(site, str(SITE_FILE), f"127.0.0.1:{bacnet_port}", f"127.0.0.1:{modbus_port}",
                              watchdog_timeout_s=watchdog_timeout_s)


async def _until(condition, timeout_s: float, poll_s: float = 0.02) -> float:
    """Wait until ``condition()`` holds; the seconds it took (fails the test after ``timeout_s``)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            pytest.fail(f"condition not met within {timeout_s} s")
        await asyncio.sleep(poll_s)
    return time.monotonic() - started


def test_an_operator_at_priority_8_wins_over_the_agent(tmp_path: Path) -> None:
    site, site_dir = _site()
    point_map = _point_map(site, 60.0)
    slot_s = 0.2
    store = PointStore(point_map)
    name = "East Hall/supply_air_setpoint_c"

    async def scenario():
        stop_agent = asyncio.Event()
        building = await start_building(site, site_dir, point_map, slot_s, store)
        client = BmsClient(point_map)
        agent = Agent(point_map, control_context(site), make_controller("trim-respond"),
                      AgentSettings(mode="closed-loop", interval_s=slot_s), client, LiveStorage(tmp_path / "agent"),
                      Ledger(tmp_path / "agent" / LEDGER_FILE, point_map), log=lambda line: None)
        async with client:
            task = asyncio.create_task(agent.run(stop_agent))
            await _until(lambda: store.command(name) is not None, 30)
            point = point_map.point(name)
            async with BacnetClient(point_map.devices) as operator:
                await operator.write(point, 16.5, 8)
                await asyncio.sleep(6 * slot_s)
                slots = await operator.priority_array(point)
                served = (await operator.read([point]))[name]
                await operator.relinquish(point, 8)
            stop_agent.set()
            await asyncio.wait_for(task, 30)
        run = await building.stopped()
        return slots, served, run

    slots, served, run = asyncio.run(scenario())
    assert slots[7] == pytest.approx(16.5) and slots[12] is not None  # both wrote; 8 outranks 13
    assert served == pytest.approx(16.5)
    telemetry = run.result.telemetry
    assert (telemetry[name].round(2) == 16.5).sum() >= 3  # the building ran on the operator's setpoint
    assert store.commanded_names(SETPOINTS) == []  # and the agent gave everything back when it stopped


def _agent_process(points: Path, out: Path, slot_s: float, steps: int | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "greendc", "agent", str(points), "--controller", "trim-respond",
               "--mode", "closed-loop", "--interval", str(slot_s), "--out", str(out)]
    if steps is not None:
        command += ["--steps", str(steps)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "COLUMNS": "200"})


@pytest.mark.parametrize("watchdog_timeout_s", [1.0, 600.0])
def test_after_kill_9_the_building_takes_its_points_back_and_a_new_agent_cleans_up_first(
        tmp_path: Path, watchdog_timeout_s: float) -> None:
    site, site_dir = _site()
    point_map = _point_map(site, watchdog_timeout_s)
    points_file = tmp_path / "points.yaml"
    points_file.write_text(point_map_yaml(point_map))
    slot_s = 0.25
    store = JournalStore(point_map)
    out = tmp_path / "agent"

    async def scenario():
        building = await start_building(site, site_dir, point_map, slot_s, store)
        first = _agent_process(points_file, out, slot_s)
        second = None
        try:
            await _until(lambda: len(store.commanded_names(SETPOINTS)) == len(SETPOINTS), 60)
            await asyncio.sleep(4 * slot_s)
            first.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.wait, 10)
            killed_at = len(store.journal)
            back_s = None
            if watchdog_timeout_s < 10:
                back_s = await _until(lambda: not store.commanded_names(SETPOINTS), watchdog_timeout_s + 5)
            leftovers = store.commanded_names(SETPOINTS)
            second = _agent_process(points_file, out, slot_s, steps=3)
            # In a thread: the building's servers share this event loop and must keep answering.
            output, _ = await asyncio.to_thread(second.communicate, timeout=90)
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.kill()
        run = await building.stopped()
        return back_s, leftovers, store.journal[killed_at:], output, run

    back_s, leftovers, journal, output, run = asyncio.run(scenario())
    assert "relinquishing" in output and "a previous agent left commanded" in output, output
    restart = [entry for entry in journal if entry[0] != "heartbeat"]
    first_command = next(i for i, (_, value, _) in enumerate(restart) if value is not None)
    given_back = {name for name, value, priority in restart[:first_command] if value is None and priority == 13}
    if watchdog_timeout_s < 10:
        # Back on its own sequence within the watchdog plus one step (and the polling of this test).
        assert back_s <= watchdog_timeout_s + slot_s + 0.1, back_s
        assert run.watchdog.watchdog_trips >= 1
        assert leftovers == []
    else:
        assert sorted(leftovers) == sorted(SETPOINTS)  # the dead agent's commands outlived it...
    assert given_back >= set(SETPOINTS)  # ...until the new agent gave each back before its first command
    assert store.commanded_names(SETPOINTS) == []  # and its own, when it stopped after three steps


def test_live_data_of_an_advisory_ai_feeds_explain_and_train(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from greendc.cli.main import app
    from greendc.learning.features import check_training_columns
    from greendc.telemetry.schema import load_telemetry
    from greendc.workflows.demo import demo_model_path

    site, site_dir = _site()
    point_map = _point_map(site, 60.0)
    points_file = tmp_path / "points.yaml"
    points_file.write_text(point_map_yaml(point_map))
    slot_s = 0.2
    store = JournalStore(point_map)
    out = tmp_path / "live"

    async def scenario():
        building = await start_building(site, site_dir, point_map, slot_s, store)
        command = [sys.executable, "-m", "greendc", "agent", str(points_file), "--controller", "ai", "--model",
                   str(demo_model_path()), "--mode", "advisory", "--interval", str(slot_s), "--steps", "24",
                   "--out", str(out)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            output, _ = await asyncio.to_thread(process.communicate, timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
        await building.stopped()
        return process.returncode, output

    code, output = asyncio.run(scenario())
    assert code == 0, output
    assert [entry for entry in store.journal if entry[0] != "heartbeat"] == []  # advisory writes nothing
    explained = CliRunner().invoke(app, ["explain", str(out)])
    assert explained.exit_code == 0, explained.output
    decisions = pd.read_parquet(out / "decisions.parquet")
    assert 6 <= len(decisions) <= 24  # hourly, and at once when the air side changes regime
    assert f"{len(decisions)} decisions (advisory" in explained.output
    telemetry = load_telemetry(out)
    assert len(telemetry.frame) == 24
    check_training_columns(telemetry, [zone.name for zone in site.zones], site.has_chiller_plant)
