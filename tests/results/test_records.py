"""Run summaries and bench records: one writer, one reader, and a file that is not one is one error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greendc.errors import GreendcError
from greendc.results.records import (
    BenchRecord,
    MonthSummary,
    RecordFileError,
    RunSummary,
    read_bench_records,
    write_bench_records,
)

COUNTS = {"steps_above_27c": 0, "steps_above_32c": 0, "steps_below_18c": 3, "steps_humid": 1}


def _summary(**changes) -> RunSummary:
    month = MonthSummary(month=7, it_kwh=100.0, cooling_kwh=10.0, facility_kwh=115.0, fans_kwh=4.0,
                         chiller_kwh=6.0, ups_losses_kwh=5.0, pue=1.15, inlet_max_c=25.0, **COUNTS)
    fields = {**month.model_dump(exclude={"month"}), "steps": 96, "timestep_h": 0.25, "inlet_mean_c": 24.0,
              "inlet_min_c": 17.5, "inlet_p99_c": 25.0, "inlet_dew_point_max_c": 10.0,
              "inlet_dew_point_mean_c": 9.0, "monthly": [month], "site": "Site", "grid_region": "US-RFCW",
              "controller": "trim-respond", "weather": "chicago.epw", "wall_s": 1.0, "energyplus_warnings": 2,
              "energyplus_severe_errors": 0, "installed_it_power_kw": 98.2, "it_floor_area_m2": 491.0}
    return RunSummary(**{**fields, **changes})


def test_a_run_summary_reads_back_as_written(tmp_path: Path) -> None:
    summary = _summary()
    summary.write(tmp_path / "summary.json")
    assert RunSummary.read(tmp_path) == summary
    assert summary.end_uses_kwh()["chiller"] == 6.0 and summary.end_uses_kwh()["ups_losses"] == 5.0


def test_a_pue_without_it_energy_is_none_not_nan(tmp_path: Path) -> None:
    summary = _summary(pue=float("nan"))
    assert summary.pue is None
    summary.write(tmp_path / "summary.json")
    assert json.loads((tmp_path / "summary.json").read_text())["pue"] is None


@pytest.mark.parametrize(("change", "field"), [
    (lambda d: d.pop("grid_region"), "grid_region"),
    (lambda d: d["monthly"][0].update(month=13), "monthly[0].month"),
    (lambda d: d.update(it_kwh="a lot"), "it_kwh"),
    (lambda d: d.update(surprise=1), "surprise"),
])
def test_a_summary_that_is_not_one_names_the_field(tmp_path: Path, change, field: str) -> None:
    data = _summary().model_dump(mode="json")
    change(data)
    (tmp_path / "summary.json").write_text(json.dumps(data))
    with pytest.raises(RecordFileError) as info:
        RunSummary.read(tmp_path / "summary.json")
    assert info.value.field == field and isinstance(info.value, GreendcError)


def test_malformed_json_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text('{"site": ')
    with pytest.raises(RecordFileError, match="malformed JSON at line 1"):
        RunSummary.read(tmp_path)


def test_bench_records_round_trip_and_name_the_record_at_fault(tmp_path: Path) -> None:
    records = [BenchRecord.of_run("chicago", _summary()),
               BenchRecord(climate="tampa", controller="oracle", error="no safe point in month 7")]
    write_bench_records(tmp_path / "bench.json", records)
    assert read_bench_records(tmp_path / "bench.json") == records
    assert records[0].row()["steps_below_18c"] == 3 and "error" not in records[0].row()
    data = json.loads((tmp_path / "bench.json").read_text())
    data[1]["steps_humid"] = -1
    (tmp_path / "bench.json").write_text(json.dumps(data))
    with pytest.raises(RecordFileError) as info:
        read_bench_records(tmp_path / "bench.json")
    assert info.value.field == "[1].steps_humid"
