"""The live commands as a user runs them: points template, bms serve and agent, bad input as one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from greendc.bms.points import load_point_map
from greendc.cli.main import app
from greendc.workflows.live_demo import free_loopback_ports

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sites"
SITE = EXAMPLES / "two-hall-chicago.yaml"
runner = CliRunner()


def _template(tmp_path: Path, *options: str) -> Path:
    out = tmp_path / "points.yaml"
    result = runner.invoke(app, ["points", "template", str(SITE), "--out", str(out), *options])
    assert result.exit_code == 0, result.output
    return out


def test_points_template_writes_a_map_that_names_its_site_relative_to_itself(tmp_path: Path) -> None:
    out = _template(tmp_path, "--bacnet", "127.0.0.1:47999", "--modbus", "127.0.0.1:5999", "--watchdog-s", "30")
    point_map = load_point_map(out)
    assert (out.parent / point_map.site).resolve() == SITE.resolve()
    assert point_map.watchdog_timeout_s == 30 and point_map.devices["bms"].port == 47999


@pytest.mark.parametrize(("arguments", "words"), [
    (["--controller", "trim-respond", "--mode", "everything"], "--mode must be one of"),
    (["--controller", "magic"], "unknown controller 'magic'"),
    (["--controller", "ai", "--mode", "advisory"], "needs a facility model"),
    (["--controller", "trim-respond", "--interval", "0"], "--interval must be"),
])
def test_agent_bad_arguments_are_one_line_and_exit_2(tmp_path: Path, arguments: list[str], words: str) -> None:
    points = _template(tmp_path)
    result = runner.invoke(app, ["agent", str(points), *arguments, "--out", str(tmp_path / "live")])
    assert result.exit_code == 2, result.output
    assert words in result.output and len(result.output.strip().splitlines()) <= 2, result.output


def test_agent_refuses_a_folder_holding_a_users_files(tmp_path: Path) -> None:
    points = _template(tmp_path)
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["agent", str(points), "--controller", "trim-respond", "--out", str(tmp_path / "live")])
    assert result.exit_code == 2 and "which an agent did not write" in result.output


def test_an_agent_with_no_bms_to_talk_to_says_so_and_ends_cleanly(tmp_path: Path) -> None:
    bacnet_port, modbus_port = free_loopback_ports()  # nothing listens on them
    points = _template(tmp_path, "--bacnet", f"127.0.0.1:{bacnet_port}", "--modbus", f"127.0.0.1:{modbus_port}")
    text = points.read_text().replace("device_instance: 599", "device_instance: 599\n    timeout_s: 0.3")
    points.write_text(text.replace("unit_id: 1\n", "unit_id: 1\n    timeout_s: 0.3\n", 1))
    result = runner.invoke(app, ["agent", str(points), "--controller", "trim-respond", "--mode", "closed-loop",
                                 "--interval", "0.1", "--steps", "2", "--out", str(tmp_path / "live")])
    assert result.exit_code == 0, result.output
    assert "waiting for the building's clock" in result.output and "device-unreachable" in result.output


def test_bms_serve_keeps_its_telemetry_when_stopped_with_sigterm(tmp_path: Path) -> None:
    bacnet_port, modbus_port = free_loopback_ports()
    out = tmp_path / "building"
    process = subprocess.Popen([sys.executable, "-m", "greendc", "bms", "serve", str(SITE), "--bacnet",
                                f"127.0.0.1:{bacnet_port}", "--modbus", f"127.0.0.1:{modbus_port}", "--speed", "9000",
                                "--start", "07-15", "--days", "3", "--out", str(out), "--json",
                                str(tmp_path / "summary.json")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "COLUMNS": "200"})
    try:
        deadline = time.monotonic() + 60
        while "listening" not in (line := process.stdout.readline()):  # type: ignore[union-attr]
            assert line and time.monotonic() < deadline, "the building did not start"
        time.sleep(3.0)  # about 270 steps of 0.1 s: a day and a half of three
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    telemetry = pd.read_parquet(out / "telemetry.parquet")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert 0 < len(telemetry) < 3 * 96 and summary["steps"] == len(telemetry)
    assert summary["agent_writes"] == 0 and summary["watchdog_trips"] == 0


def test_demo_live_drives_the_virtual_building_over_the_wire_and_matches_the_co_simulation(tmp_path: Path) -> None:
    out = tmp_path / "demo-live"
    result = runner.invoke(app, ["demo", "--live", "--days", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    comparisons = json.loads((out / "comparison.json").read_text())
    assert [c["controller"] for c in comparisons] == ["trim-respond", "ai"]
    for comparison in comparisons:
        assert abs(comparison["facility_difference_pct"]) < 1.0, comparison
        assert comparison["live"]["steps_above_27c"] == comparison["in_process"]["steps_above_27c"]
        assert comparison["live"]["agent_writes"] > 0
    assert "live (BACnet/IP, Modbus TCP)" in result.output
    assert (out / "ai" / "agent" / "telemetry.parquet").is_file()
