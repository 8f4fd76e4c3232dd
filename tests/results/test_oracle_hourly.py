"""The hourly-hindsight oracle on hand-made per-hour tables, and the per-hour table of hand-made telemetry."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from greendc.results.oracle import (
    HOURLY_ORACLE_GRID,
    OracleError,
    choose_runs,
    hourly_oracle_from_sweep,
    hourly_table,
    sweep_setpoints,
)
from greendc.results.records import BenchRecord, read_bench_records, write_bench_records
from greendc.results.summary import summarize
from greendc.site.schema import Setpoints
from greendc.workflows.bench import BENCH_KEYS, ORACLE_HOURLY, ORACLE_HOURLY_HUMID, hourly_oracle_record

HOURS = pd.date_range("2026-07-01", periods=3, freq="h")


def _run(supply_c: float, facility_kwh: list[float], hot: list[int] | None = None, cold: list[int] | None = None,
         humid: list[int] | None = None) -> dict:
    """One swept run over :data:`HOURS`: 100 kWh of IT an hour, the rest cooling; violating steps per hour."""
    zeros = [0] * len(HOURS)
    hot, cold, humid = hot or zeros, cold or zeros, humid or zeros
    table = pd.DataFrame({
        "hour": HOURS, "it_kwh": 100.0, "cooling_kwh": [f - 100.0 for f in facility_kwh],
        "facility_kwh": facility_kwh, "water_m3": 0.5,
        "inlet_max_c": [27.5 if h else min(supply_c + 1.0, 27.0) for h in hot],
        "steps_above_27c": hot, "steps_above_32c": 0, "steps_below_18c": cold, "steps_humid": humid,
        # Hand-made tables have no step both hot (or cold) and humid: the union is the sum.
        "steps_outside_18_27c": np.add(hot, cold), "steps_outside_envelope": np.add(np.add(hot, cold), humid),
    })
    return {"setpoints": {"supply_air_c": supply_c, "zone_rise_c": 9.0, "chilled_water_c": 7.0}, "hourly": table}


def test_a_run_unsafe_in_an_hour_is_not_chosen_for_that_hour() -> None:
    cool = _run(18.0, [130.0, 131.0, 132.0])
    warm = _run(25.0, [120.0, 121.0, 122.0], hot=[0, 2, 0])  # cheaper, but above 27 C in the second hour
    oracle = hourly_oracle_from_sweep([cool, warm])
    assert oracle["facility_kwh"] == pytest.approx(120.0 + 131.0 + 122.0)
    assert oracle["cooling_kwh"] == pytest.approx(20.0 + 31.0 + 22.0)
    assert oracle["it_kwh"] == pytest.approx(300.0)
    assert oracle["pue"] == pytest.approx(373.0 / 300.0)
    assert oracle["steps_above_27c"] == 0 and oracle["inlet_max_c"] == 26.0  # warm's 26 C in hours 1 and 3
    assert oracle["water_m3"] == pytest.approx(1.5)
    assert oracle["setpoint_hours"] == {"chilled_water_c": {"7": 3}, "supply_air_c": {"18": 1, "25": 2},
                                        "zone_rise_c": {"9": 3}}
    assert (oracle["hours"], oracle["hours_without_safe_run"], oracle["swept_runs"]) == (3, 0, 2)
    assert (oracle["limits"], oracle["objective"]) == ("temperature", "facility")
    # Too cool counts as well: 18 C air below 18 C at an inlet in the first hour leaves warm's there.
    oracle = hourly_oracle_from_sweep([_run(18.0, [110.0, 111.0, 112.0], cold=[1, 0, 0]), warm])
    assert oracle["setpoint_hours"]["supply_air_c"] == {"18": 2, "25": 1}
    assert oracle["facility_kwh"] == pytest.approx(120.0 + 111.0 + 112.0)


def test_the_humid_row_differs_when_the_cheapest_safe_run_is_humid() -> None:
    dry = _run(24.0, [125.0, 125.0, 125.0])
    humid = _run(18.0, [120.0, 120.0, 120.0], humid=[0, 4, 3])  # cheapest and within 18-27 C, but humid
    temperature = hourly_oracle_from_sweep([dry, humid], limits="temperature")
    envelope = hourly_oracle_from_sweep([dry, humid], limits="temperature+humidity")
    assert temperature["facility_kwh"] == pytest.approx(360.0) and temperature["steps_humid"] == 7
    assert envelope["facility_kwh"] == pytest.approx(120.0 + 125.0 + 125.0) and envelope["steps_humid"] == 0
    assert envelope["setpoint_hours"]["supply_air_c"] == {"18": 1, "24": 2}
    assert temperature["hours_without_safe_run"] == envelope["hours_without_safe_run"] == 0


def test_hours_without_a_safe_run_take_the_fewest_violations_then_the_lowest_objective() -> None:
    runs = [_run(16.0, [100.5, 130.0, 130.0], cold=[4, 0, 0]),
            _run(20.0, [112.0, 125.0, 125.0], cold=[1, 0, 0]),
            _run(26.0, [111.0, 120.0, 120.0], hot=[1, 0, 1])]  # as few violations as 20 C in hour 1, cheaper
    oracle = hourly_oracle_from_sweep(runs)
    # Hour 1: no safe run, 26 C (1 step, 111 kWh) over 20 C (1 step, 112) and 16 C (4 steps, cheapest).
    # Hour 2: 26 C is safe and cheapest. Hour 3: only 16 C and 20 C are safe, 20 C is cheaper.
    assert oracle["facility_kwh"] == pytest.approx(111.0 + 120.0 + 125.0)
    assert oracle["hours_without_safe_run"] == 1
    assert oracle["steps_above_27c"] == 1 and oracle["steps_below_18c"] == 0
    assert oracle["setpoint_hours"]["supply_air_c"] == {"20": 1, "26": 2}
    assert oracle["inlet_max_c"] == 27.5


def test_choose_runs_is_the_one_rule_and_ties_go_to_the_first_run() -> None:
    objective = np.array([[5.0, 5.0, 4.0], [3.0, 2.0, 1.0]])
    violations = np.array([[0, 0, 1], [2, 1, 1]])
    best, safe = choose_runs(objective, violations)
    assert best.tolist() == [0, 2] and safe.tolist() == [True, False]


def test_the_hourly_oracle_refuses_what_it_cannot_combine() -> None:
    run = _run(20.0, [110.0, 110.0, 110.0])
    with pytest.raises(ValueError, match="limits"):
        hourly_oracle_from_sweep([run], limits="humidity")
    with pytest.raises(ValueError, match="objective"):
        hourly_oracle_from_sweep([run], objective="water")
    with pytest.raises(OracleError, match="no runs"):
        hourly_oracle_from_sweep([])
    shifted = {**run, "hourly": run["hourly"].assign(hour=HOURS + pd.Timedelta(hours=1))}
    with pytest.raises(OracleError, match="same hours"):
        hourly_oracle_from_sweep([run, shifted])


def test_the_hourly_grid_within_the_example_sites_bounds() -> None:
    """11 x 2 x 2 = 44 points; above 30 C zone setpoints are applied as 30 C, which makes 25 + 9 the run of
    25 + 5 and 26 + 9 that of 26 + 5 (26 + 4 applied): 40 runs."""
    assert len(HOURLY_ORACLE_GRID.supply_air_c) * 2 * 2 == 44
    points = sweep_setpoints(Setpoints(), HOURLY_ORACLE_GRID)
    assert len(points) == 40
    assert {"supply_air_c": 23.0, "zone_rise_c": 7.0, "chilled_water_c": 11.0} in points


def test_a_hourly_oracle_record_validates_and_round_trips(tmp_path: Path) -> None:
    dry, humid = _run(24.0, [125.0] * 3), _run(18.0, [120.0] * 3, humid=[0, 4, 3])
    sweep = [(SimpleNamespace(controller_options=run["setpoints"]),
              SimpleNamespace(hourly=run["hourly"], summary=SimpleNamespace(wall_s=10.0, energyplus_severe_errors=0)))
             for run in (dry, humid)]
    records = [hourly_oracle_record("chicago", sweep, "facility", limits)
               for limits in ("temperature", "temperature+humidity")]
    assert [r.controller for r in records] == [ORACLE_HOURLY, ORACLE_HOURLY_HUMID]
    for record in records:
        assert isinstance(record, BenchRecord) and set(BENCH_KEYS) <= set(record.row())
        assert record.wall_s == 20.0 and record.swept_runs == 2 and record.hours == 3
    assert records[1].limits == "temperature+humidity" and records[1].steps_humid == 0
    assert read_bench_records(write_bench_records(tmp_path / "bench.json", records)) == records
    sweep[1][1].hourly = None
    with pytest.raises(OracleError, match="per-hour table"):
        hourly_oracle_record("chicago", sweep)


def _telemetry() -> pd.DataFrame:
    """Two hours of 15-minute steps in two zones, stamped at each step's end as the twin's telemetry."""
    steps = 8
    time = pd.date_range("2026-07-01 00:15", periods=steps, freq="15min")
    west_inlet = [20.0, 27.5, 20.0, 20.0, 17.5, 20.0, 20.0, 33.0]
    east_inlet = [20.0, 20.0, 20.0, 20.0, 20.0, 20.0, 17.9, 20.0]
    west_rh = [40.0, 65.0, 40.0, 61.0, 40.0, 40.0, 40.0, 40.0]  # step 2 is hot and humid: one unsafe step
    east_dew = [10.0, 10.0, 10.0, 10.0, 10.0, 15.5, 10.0, 10.0]
    return pd.DataFrame({
        "time": time, "it_power_w": 40_000.0, "cooling_power_w": np.arange(steps) * 1000.0,
        "facility_power_w": 50_000.0 + np.arange(steps) * 1000.0,
        "West/inlet_temp_c": west_inlet, "East/inlet_temp_c": east_inlet,
        "West/inlet_dew_point_c": 10.0, "East/inlet_dew_point_c": east_dew,
        "West/inlet_relative_humidity_pct": west_rh, "East/inlet_relative_humidity_pct": 40.0,
        "West/ups_power_w": 1000.0, "East/ups_power_w": 1000.0, "West/it_fan_power_w": 500.0,
        "East/it_fan_power_w": 500.0, "tower_makeup_water_m3": 0.25, "evaporative_water_m3": 0.05,
    })


def test_hourly_table_counts_steps_as_the_summary_does() -> None:
    telemetry = _telemetry()
    table = hourly_table(telemetry, ["West", "East"], 0.25)
    assert table["hour"].tolist() == [pd.Timestamp("2026-07-01 00:00"), pd.Timestamp("2026-07-01 01:00")]
    assert table["it_kwh"].tolist() == pytest.approx([40.0, 40.0])  # 40 kW for an hour
    assert table["cooling_kwh"].tolist() == pytest.approx([(0 + 1 + 2 + 3) * 0.25, (4 + 5 + 6 + 7) * 0.25])
    assert table["facility_kwh"].tolist() == pytest.approx([50.0 + 1.5, 50.0 + 5.5])
    assert table["water_m3"].tolist() == pytest.approx([1.2, 1.2])
    assert table["inlet_max_c"].tolist() == [27.5, 33.0]
    assert table["steps_above_27c"].tolist() == [1, 1] and table["steps_above_32c"].tolist() == [0, 1]
    assert table["steps_below_18c"].tolist() == [0, 2]
    assert table["steps_humid"].tolist() == [2, 1]
    assert table["steps_outside_18_27c"].tolist() == [1, 3]
    assert table["steps_outside_envelope"].tolist() == [2, 4]  # step 2 is hot and humid: counted once
    # The table's hours add up to the run's summary.
    summary = summarize(telemetry, ["West", "East"], 0.25)
    for name in ("it_kwh", "cooling_kwh", "facility_kwh", "water_m3"):
        assert table[name].sum() == pytest.approx(getattr(summary, name))
    for name in ("steps_above_27c", "steps_above_32c", "steps_below_18c", "steps_humid"):
        assert table[name].sum() == getattr(summary, name)
