from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from greendc.results.explain import ExplainError, explain_run
from greendc.results.records import MonthSummary, RunSummary
from greendc.telemetry.contract import Action
from greendc.telemetry.decisions import DecisionRecord, Prediction, read_decisions, write_decisions


def _summary() -> RunSummary:
    counts = {"steps_above_27c": 0, "steps_above_32c": 0, "steps_below_18c": 0, "steps_humid": 0}
    month = MonthSummary(month=7, it_kwh=100.0, cooling_kwh=10.0, facility_kwh=115.0, inlet_max_c=25.0, **counts)
    return RunSummary(**month.model_dump(exclude={"month"}), steps=16, timestep_h=0.25, inlet_mean_c=24.0,
                      inlet_min_c=23.0, inlet_p99_c=25.0, inlet_dew_point_max_c=10.0, inlet_dew_point_mean_c=9.0,
                      monthly=[month], site="Site", grid_region="US-RFCW", controller="ai",
                      controller_options={"objective": "facility"}, weather="chicago.epw", wall_s=1.0,
                      energyplus_warnings=0, energyplus_severe_errors=0)


def _run(tmp_path: Path, records: list[DecisionRecord]) -> Path:
    _summary().write(tmp_path / "summary.json")
    write_decisions(tmp_path / "decisions.parquet", records)
    return tmp_path


def _record(time: str, guard: str, saving_w: float | None) -> DecisionRecord:
    prediction = None if saving_w is None else Prediction(
        cooling_power_w=5000.0, it_power_w=90000.0, objective_w=95000.0, baseline_objective_w=95000.0 + saving_w,
        inlet_temp_c={"West Hall": 24.0}, inlet_temp_std_c={"West Hall": 0.3})
    return DecisionRecord(time=pd.Timestamp(time).to_pydatetime(), guard=guard, detail="", mode="closed-loop",
                          applied="ai" if guard == "none" else "baseline", outdoor_dry_bulb_c=20.0,
                          it_power_w=90000.0, hottest_inlet_c=25.0, chosen=Action({"West Hall": 20.0}),
                          baseline=Action({"West Hall": 18.0}), prediction=prediction, decision_ms=3.0)


def test_predicted_saving_counts_each_decision_for_as_long_as_it_held(tmp_path: Path) -> None:
    run = _run(tmp_path, [
        _record("2001-07-01 01:00", "none", 1000.0),           # held 1 h: 1 kWh
        _record("2001-07-01 02:00", "none", 2000.0),           # held 30 min, then a guard took over: 1 kWh
        _record("2001-07-01 02:30", "inlet-over-limit", None),  # the rule or recovery in charge: no saving
        _record("2001-07-01 03:00", "none", 400.0),            # the last record: one 15-minute step, 0.1 kWh
    ])
    explanation = explain_run(run)
    assert explanation["predicted_saving_kwh"] == pytest.approx(2.1)
    assert explanation["guards"] == {"none": 3, "inlet-over-limit": 1}
    assert explanation["humid_air_floor_decisions"] == 0


def test_decisions_shaped_by_the_humidity_limit_are_counted(tmp_path: Path) -> None:
    records = [_record("2001-07-01 01:00", "none", 100.0), _record("2001-07-01 02:00", "none", 100.0)]
    records[1] = replace(records[1], humid_air_floor_c=22.4)
    assert explain_run(_run(tmp_path, records))["humid_air_floor_decisions"] == 1


def test_a_run_without_decisions_is_explained_as_such(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("{}")
    with pytest.raises(ExplainError, match="only ai runs log decisions"):
        explain_run(tmp_path)


def test_the_decision_log_reads_back_as_written(tmp_path: Path) -> None:
    records = [_record("2001-07-01 01:00", "none", 1000.0), _record("2001-07-01 02:00", "kill-switch", None)]
    records[0] = replace(records[0], humid_air_floor_c=21.5,
                         chosen=Action({"West Hall": 20.0}, {"West Hall": 28.0}, 9.0))
    write_decisions(tmp_path / "decisions.parquet", records)
    assert read_decisions(tmp_path / "decisions.parquet") == records
