from __future__ import annotations

import json
import pickle
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tests.conftest import example_site_data
from typer.testing import CliRunner

from greendc.cli.main import app
from greendc.twin.runner import EnergyPlusError
from greendc.twin.schema_check import ModelValidationError
from greendc.workflows.bench import BENCH_KEYS

runner = CliRunner()


def _bad_site(tmp_path: Path, change) -> Path:
    data = example_site_data()
    change(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: (p / "x.yaml").write_text("name: [oops\n") and p / "x.yaml", "malformed YAML"),
        (lambda p: _bad_site(p, lambda d: d.update(colour="red")), "colour: unknown key"),
        (lambda p: _bad_site(p, lambda d: d["zones"][0].update(floor_area_m2=0)), "zones.0.floor_area_m2"),
        (lambda p: _bad_site(p, lambda d: d.update(weather="missing.epw")), "weather file not found"),
        (lambda p: _bad_site(p, lambda d: d.update(it_load={"kind": "csv", "path": "none.csv"})), "it_load.path"),
        (lambda p: p / "absent.yaml", "site file not found"),
    ],
)
def test_simulate_bad_input_is_one_line_and_nonzero(tmp_path: Path, make, expected: str) -> None:
    site = make(tmp_path)
    result = runner.invoke(app, ["simulate", str(site), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output
    assert "error:" in result.output
    assert not (tmp_path / "out").exists()


def test_unknown_controller_and_climate(short_site_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", str(short_site_file), "--controller", "magic"])
    assert result.exit_code == 2 and "--controller: unknown controller 'magic'" in result.output
    result = runner.invoke(app, ["bench", "--site", str(short_site_file), "--climates", "mars",
                                 "--json", str(tmp_path / "b.json")])
    assert result.exit_code == 2 and "--climates: unknown mars" in result.output
    assert not (tmp_path / "b.json").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--debug", "simulate", str(tmp_path / "absent.yaml")])
    assert result.exit_code != 0
    assert result.exception is not None


def test_simulate_writes_complete_results(short_site_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = runner.invoke(app, ["simulate", str(short_site_file), "--controller", "rbc", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    telemetry = pd.read_parquet(out / "telemetry.parquet")
    assert summary["controller"] == "rbc"
    assert summary["steps"] == len(telemetry) == 3 * 96
    assert summary["facility_kwh"] > summary["it_kwh"] > 0
    assert "PUE" in result.output


def test_bench_writes_one_record_per_run(short_site_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = runner.invoke(app, ["bench", "--site", str(short_site_file), "--controllers", "default,trim-respond",
                                 "--climates", "tampa", "--json", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text())
    assert [(r["climate"], r["controller"]) for r in records] == [("tampa", "default"), ("tampa", "trim-respond")]
    for record in records:
        assert set(BENCH_KEYS) <= set(record)
        assert record["pue"] == pytest.approx(record["facility_kwh"] / record["it_kwh"])


def test_bench_oracle_is_one_record_per_climate(tmp_path: Path) -> None:
    data = example_site_data()
    # Bounds that leave two points of the oracle's grid (18 + 5 and 20 + 3 C, chilled water 7 C): a short test.
    data["setpoints"] = {"supply_air_c": {"min": 18, "max": 20}, "zone_cooling_c": {"min": 18, "max": 23},
                         "chilled_water_c": {"min": 7, "max": 10}}
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(data))
    out = tmp_path / "bench.json"
    result = runner.invoke(app, ["bench", "--site", str(site), "--controllers", "oracle", "--climates", "chicago",
                                 "--objective", "cooling", "--json", str(out)])
    assert result.exit_code == 0, result.output
    [record] = json.loads(out.read_text())
    assert set(BENCH_KEYS) <= set(record)
    assert (record["climate"], record["controller"], record["objective"]) == ("chicago", "oracle", "cooling")
    assert record["swept_runs"] == 2 and record["steps_above_27c"] == 0
    assert [m["setpoints"]["supply_air_c"] + m["setpoints"]["zone_rise_c"] for m in record["monthly"]] == [23.0]
    assert len([line for line in result.output.splitlines() if "chicago" in line]) == 1  # not a row per run
    result = runner.invoke(app, ["bench", "--site", str(site), "--controllers", "oracle", "--objective", "water",
                                 "--json", str(out)])
    assert result.exit_code == 2 and "--objective: must be facility or cooling" in result.output


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ModelValidationError(["ElectricEquipment:ITE:AirCooled 'Hall ITE': unknown field 'x'"]), "schema-invalid"),
        (EnergyPlusError("EnergyPlus failed (exit 1): **  Fatal  ** GetInternalHeatGains"), "Fatal"),
    ],
)
def test_model_and_engine_errors_are_one_line(short_site_file: Path, tmp_path: Path, monkeypatch, error,
                                              expected: str) -> None:
    def failing(*args, **kwargs):
        # Errors raised in the worker process reach the CLI pickled; make sure they survive that.
        raise pickle.loads(pickle.dumps(error))

    monkeypatch.setattr("greendc.workflows.simulation.simulate_many", failing)
    result = runner.invoke(app, ["simulate", str(short_site_file), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert expected in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_ai_needs_a_model_for_its_zones(short_site_file: Path, tmp_path: Path, facility_model) -> None:
    result = runner.invoke(app, ["simulate", str(short_site_file), "--controller", "ai"])
    assert result.exit_code == 2 and "--model: the ai controller needs a facility model" in result.output
    data = yaml.safe_load(short_site_file.read_text())
    data["zones"][0]["name"] = "Other Hall"
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(data))
    model = facility_model.save(tmp_path / "model.gdm")
    result = runner.invoke(app, ["simulate", str(other), "--controller", "ai", "--model", str(model)])
    assert result.exit_code == 2 and "trained for zones" in result.output


def test_train_and_explain_error_paths(short_site_file: Path, tmp_path: Path, exploration_dir: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["train", str(tmp_path / "empty"), "--out", str(tmp_path / "m.gdm")])
    assert result.exit_code == 2 and "no .parquet or .csv" in result.output
    small = tmp_path / "small.parquet"
    pd.read_parquet(exploration_dir / "telemetry.parquet").iloc[:100].to_parquet(small)
    result = runner.invoke(app, ["train", str(small), "--site", str(short_site_file), "--out", str(tmp_path / "m.gdm")])
    assert result.exit_code == 2 and "needs at least 500" in result.output
    assert not (tmp_path / "m.gdm").exists()
    result = runner.invoke(app, ["explain", str(exploration_dir)])
    assert result.exit_code == 2 and "only ai runs log decisions" in result.output


def test_train_then_explain_an_ai_run(short_site_file: Path, tmp_path: Path, exploration_dir: Path) -> None:
    model = tmp_path / "model.gdm"
    result = runner.invoke(app, ["train", str(exploration_dir), "--out", str(model)])
    assert result.exit_code == 0, result.output
    assert "CV(RMSE)" in result.output and model.is_file()
    out = tmp_path / "ai"
    result = runner.invoke(app, ["simulate", str(short_site_file), "--controller", "ai", "--model", str(model),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "decisions.parquet").is_file()
    result = runner.invoke(app, ["explain", str(out)])
    assert result.exit_code == 0, result.output
    assert "Who was in charge" in result.output and "What drives cooling_power_w" in result.output


def test_bench_without_an_oracle_keeps_the_rest_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import greendc.workflows.bench
    from greendc.results.records import BenchRecord

    figures = [key for key in BENCH_KEYS if key not in ("climate", "controller")]
    kept = {"climate": "tampa", "controller": "default", **{k: 1 if k.startswith("steps") else 1.0 for k in figures}}
    missing = {"climate": "tampa", "controller": "oracle", "error": "oracle in tampa: month 7: no safe setpoints"}
    monkeypatch.setattr(greendc.workflows.bench, "run_bench",
                        lambda *args, **kwargs: [BenchRecord(**kept), BenchRecord(**missing)])
    out = tmp_path / "bench.json"
    result = runner.invoke(app, ["bench", "--controllers", "default,oracle", "--climates", "tampa", "--json", str(out)])
    assert result.exit_code == 1
    assert json.loads(out.read_text()) == [kept, missing]
    assert "no oracle in tampa" in result.output and "month 7: no safe setpoints" in result.output
