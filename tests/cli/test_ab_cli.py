"""``--schedule ab[:SEED]`` as a user runs it: a short twin run that switches at midnight and says so in its
telemetry and summary, and bad values as one line with exit code 2 (simulate and agent alike)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from greendc.cli.main import app
from greendc.control.ab_schedule import ABSchedule, calendar_day
from greendc.telemetry.schema import ARM_COLUMN, BASELINE, CANDIDATE

runner = CliRunner()
SITE = Path(__file__).resolve().parents[2] / "examples" / "sites" / "two-hall-chicago.yaml"


def test_a_short_ab_run_switches_at_midnight_and_records_its_schedule(short_site_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "ab"
    result = runner.invoke(app, ["simulate", str(short_site_file), "--controller", "trim-respond", "--schedule", "ab:3",
                                 "--ab-block-days", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "A/B switching (seed 3, 1-day blocks)" in result.output
    telemetry = pd.read_parquet(out / "telemetry.parquet")
    arms = telemetry[ARM_COLUMN]
    schedule = ABSchedule(seed=3, block_days=1, origin_day=calendar_day(7, 1))
    days = [pd.Timestamp(2001, 7, day) for day in (1, 2, 3)]
    assert [schedule.arm_at(day) for day in days] == [BASELINE, CANDIDATE, BASELINE]  # seed 3: two switches
    # Every row is under the arm of the day its step starts in: the 00:00 row still ends the day before.
    starts = telemetry["time"] - pd.Timedelta(minutes=15)
    assert arms.tolist() == [schedule.arm_at(start) for start in starts]
    switched = telemetry["time"][arms.ne(arms.shift())].iloc[1:]
    assert switched.tolist() == [pd.Timestamp("2001-07-02 00:15"), pd.Timestamp("2001-07-03 00:15")]
    # The arm column is what was in control: trim-respond moves the zone cooling setpoints with its supply air,
    # the site's own control (default) holds them at its design 23 C.
    cooling_c = telemetry["West Hall/zone_cooling_setpoint_c"]
    assert (cooling_c[arms == BASELINE] == 23.0).all() and (cooling_c[arms == CANDIDATE] > 25.0).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["controller"] == "trim-respond"
    assert summary["ab_schedule"] == {"seed": 3, "block_days": 1, "candidate_controller": "trim-respond",
                                      "baseline_controller": "default", "first_block_day": "07-01",
                                      "candidate_blocks": 1, "baseline_blocks": 2}


BAD_SCHEDULES = ["abc", "ab:", "ab:x", "ab:-3", "random"]


@pytest.mark.parametrize("value", BAD_SCHEDULES)
def test_a_bad_schedule_is_one_line_and_exit_2(short_site_file: Path, tmp_path: Path, value: str) -> None:
    result = runner.invoke(app, ["simulate", str(short_site_file), "--controller", "trim-respond", "--schedule", value,
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [f"error: --schedule: must be ab or ab:SEED (SEED a whole number, "
                                                  f"0 or more), not {value!r}"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("arguments", "words"), [
    (["--schedule", "ab", "--advisory"], "--advisory leaves the site's own control in charge"),
    (["--schedule", "ab", "--ab-baseline", "magic"], "--ab-baseline: unknown controller 'magic'"),
    (["--schedule", "ab", "--ab-block-days", "0"], "--ab-block-days: must be 1-365"),
    (["--ab-baseline", "rbc"], "need --schedule ab"),
])
def test_ab_options_that_do_not_fit_are_one_line_and_exit_2(short_site_file: Path, tmp_path: Path,
                                                             arguments: list[str], words: str) -> None:
    result = runner.invoke(app, ["simulate", str(short_site_file), "--controller", "trim-respond", *arguments,
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert words in result.output and len(result.output.strip().splitlines()) == 1, result.output


@pytest.mark.parametrize(("arguments", "words"), [
    (["--schedule", "ab:one"], "--schedule: must be ab or ab:SEED"),
    (["--schedule", "ab", "--mode", "advisory"], "--schedule: A/B switching needs --mode closed-loop"),
])
def test_the_agent_refuses_a_bad_schedule_in_one_line(tmp_path: Path, arguments: list[str], words: str) -> None:
    points = tmp_path / "points.yaml"
    assert runner.invoke(app, ["points", "template", str(SITE), "--out", str(points)]).exit_code == 0
    result = runner.invoke(app, ["agent", str(points), "--controller", "trim-respond", *arguments,
                                 "--out", str(tmp_path / "live")])
    assert result.exit_code == 2, result.output
    assert words in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "live").exists()
