from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from greendc.cli.main import app
from greendc.results.explain import ExplainError, explain_run
from greendc.results.records import MonthSummary, RunSummary
from greendc.telemetry.contract import Action
from greendc.telemetry.decisions import DecisionRecord, Prediction, read_decisions, write_decisions


def _summary(**steps: int) -> RunSummary:
    counts = {"steps_above_27c": 0, "steps_above_32c": 0, "steps_below_18c": 0, "steps_humid": 0, **steps}
    month = MonthSummary(month=7, it_kwh=100.0, cooling_kwh=10.0, facility_kwh=115.0, inlet_max_c=25.0, **counts)
    return RunSummary(**month.model_dump(exclude={"month"}), steps=16, timestep_h=0.25, inlet_mean_c=24.0,
                      inlet_min_c=23.0, inlet_p99_c=25.0, inlet_dew_point_max_c=10.0, inlet_dew_point_mean_c=9.0,
                      monthly=[month], site="Site", grid_region="US-RFCW", controller="ai",
                      controller_options={"objective": "facility"}, weather="chicago.epw", wall_s=1.0,
                      energyplus_warnings=0, energyplus_severe_errors=0)


def _run(tmp_path: Path, records: list[DecisionRecord], **steps: int) -> Path:
    _summary(**steps).write(tmp_path / "summary.json")
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


def test_time_under_each_guard_is_counted_in_hours(tmp_path: Path) -> None:
    run = _run(tmp_path, [
        _record("2001-07-01 01:00", "none", 1000.0),            # the optimizer for 1 h
        _record("2001-07-01 02:00", "none", 2000.0),            # and 30 min more
        _record("2001-07-01 02:30", "inlet-over-limit", None),  # the guard for 30 min
        _record("2001-07-01 03:00", "kill-switch", None),       # the last record: one 15-minute step
    ])
    explanation = explain_run(run)
    assert explanation["guard_hours"] == pytest.approx({"none": 1.5, "inlet-over-limit": 0.5, "kill-switch": 0.25})
    assert explanation["flags"] == []


def test_a_run_with_inlets_out_of_range_is_flagged(tmp_path: Path) -> None:
    run = _run(tmp_path, [_record("2001-07-01 01:00", "none", 1000.0)], steps_above_27c=8, steps_below_18c=2)
    assert explain_run(run)["flags"] == [
        "8 steps (2.0 h) with a server inlet above 27 C, the recommended maximum",
        "2 steps (0.5 h) with a server inlet below 18 C, the recommended minimum"]


def test_explain_flags_overheating_before_the_saving_and_calls_the_saving_an_estimate(tmp_path: Path) -> None:
    records = [_record("2001-07-01 01:00", "none", 1000.0), _record("2001-07-01 02:00", "inlet-over-limit", None)]
    result = CliRunner().invoke(app, ["explain", str(_run(tmp_path, records, steps_above_27c=4))])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "optimizer (no guard fired) │ 1 │ 1.00" in output and "inlet-over-limit │ 1 │ 0.25" in output
    flag = output.index("Inlets out of range: 4 steps (1.0 h) with a server inlet above 27 C")
    saving = output.index("Predicted saving against the baseline rule: 1 kWh, the model's estimate, not a measurement")
    assert flag < saving


def test_explain_of_a_run_within_range_has_no_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["explain", str(_run(tmp_path, [_record("2001-07-01 01:00", "none", 400.0)]))])
    assert result.exit_code == 0, result.output
    assert "Inlets out of range" not in result.output and "the model's estimate" in result.output


def test_a_run_whose_model_file_cannot_be_read_is_still_explained(tmp_path: Path) -> None:
    model = tmp_path / "old.gdm"
    model.write_bytes(b"not a zip")
    summary = _summary().model_copy(update={"controller_options": {"objective": "facility", "model": str(model)}})
    summary.write(tmp_path / "summary.json")
    write_decisions(tmp_path / "decisions.parquet", [_record("2001-07-01 01:00", "none", 1000.0)])
    explanation = explain_run(tmp_path)
    assert explanation["predicted_saving_kwh"] == pytest.approx(0.25) and "features" not in explanation
    assert explanation["model_note"].startswith(f"what drives the model is not shown: {model}: corrupt")


def test_an_ab_run_counts_the_optimizer_only_until_the_baseline_block_begins(tmp_path: Path) -> None:
    run = _run(tmp_path, [_record("2001-07-01 01:00", "none", 1000.0), _record("2001-07-04 01:00", "none", 1000.0)])
    time = pd.date_range("2001-07-01 00:15", "2001-07-06 00:00", freq="15min")
    arm = ["candidate" if (t - pd.Timedelta(minutes=15)).day in (1, 4) else "baseline" for t in time]
    pd.DataFrame({"time": time, "ab_arm": arm}).to_parquet(run / "telemetry.parquet")
    explanation = explain_run(run)
    # The first decision held from 01:00 to the baseline's midnight (23 h), not the 72 h to the next record.
    assert explanation["guard_hours"]["none"] == pytest.approx(23.0 + 23.0)
    assert explanation["predicted_saving_kwh"] == pytest.approx(46.0)
