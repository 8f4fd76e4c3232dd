"""Electricity from a greendc run, savings from a greendc benchmark, KPIs and avoided emissions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greendc.carbon.errors import InventoryError

from .conftest import compute, minimal, run_summary


def _bench_saving(data: dict, climate: str, baseline: str, improved: str, name: str = "x") -> dict:
    """The inventory ``data`` with one verified saving taken from the benchmark file ``bench.json``."""
    data["savings"] = [{"name": name, "site": "DC1", "from_bench": {
        "path": "bench.json", "climate": climate, "baseline_controller": baseline, "improved_controller": improved}}]
    return data


def test_site_from_a_run_gets_electricity_it_water_and_kpis(tmp_path: Path, run_dir: Path) -> None:
    # 12 x 130 MWh = 1,560 MWh facility; IT 1,200 MWh; water 600 m3.
    # US-RFCW 2020: location = 1,560 x 0.4468 = 697.008 t; CUE = 697.008 / 1,200 = 0.58084 kg/kWh;
    # PUE = 1.3; WUE = 600,000 L / 1,200,000 kWh = 0.5 L/kWh.
    data = minimal(grid_region=None, electricity={"from_run": "run"}, factor_year=2020)
    del data["sites"][0]["grid_region"]
    site = compute(tmp_path, data).sites[0]
    assert site.region.code == "US-RFCW"
    assert site.value("electricity_mwh") == pytest.approx(1560.0)
    assert site.value("location_based_tco2") == pytest.approx(697.008)
    assert site.value("pue") == pytest.approx(1.3)
    assert site.value("cue") == pytest.approx(0.58084)
    assert site.value("wue") == pytest.approx(0.5)
    assert site.monthly_end_uses_mwh["chiller"] == [15.0] * 12
    assert site.monthly_pue == [1.3] * 12


def test_run_region_must_agree_with_the_inventory(tmp_path: Path, run_dir: Path) -> None:
    with pytest.raises(InventoryError, match="differs from the run's grid_region 'US-RFCW'"):
        compute(tmp_path, minimal(grid_region="CN-East", electricity={"from_run": "run/summary.json"}))


def test_short_run_is_disclosed(tmp_path: Path) -> None:
    (tmp_path / "short.json").write_text(json.dumps(run_summary(months=3)), encoding="utf-8")
    data = minimal(grid_region="US-RFCW", electricity={"from_run": "short.json"}, factor_year=2020)
    result = compute(tmp_path, data)
    assert result.sites[0].value("electricity_mwh") == pytest.approx(390.0)
    assert any("months 1-3 only" in d for d in result.disclosures)


def test_broken_run_summary_names_the_json_field(tmp_path: Path) -> None:
    summary = run_summary()
    summary["monthly"][4]["facility_kwh"] = "n/a"
    (tmp_path / "s.json").write_text(json.dumps(summary), encoding="utf-8")
    with pytest.raises(InventoryError) as info:
        compute(tmp_path, minimal(grid_region=None, electricity={"from_run": "s.json"}))
    assert info.value.file.endswith("s.json") and info.value.field == "monthly[4].facility_kwh"


def test_avoided_emissions_worked_example_from_a_benchmark(tmp_path: Path, bench_file: Path) -> None:
    # baseline 1,400,000 kWh - ai 1,280,000 kWh = 120 MWh saved; x CN-North 2023 0.6361 = 76.332 t.
    data = _bench_saving(minimal(grid_region="CN-North"), "chicago", "baseline", "ai", name="AI cooling")
    result = compute(tmp_path, data)
    saving = result.savings[0]
    assert saving.saved_mwh == pytest.approx(120.0)
    assert saving.avoided_tco2 == pytest.approx(76.332)
    assert result.sites[0].value("avoided_tco2") == pytest.approx(76.332)
    # Never netted: location-based stays 1,000 x 0.6361.
    assert result.sites[0].value("location_based_tco2") == pytest.approx(636.1)
    assert saving.saved.inputs["baseline_facility_mwh"] == pytest.approx(1400.0)


def test_avoided_emissions_with_an_entered_non_baseload_factor(tmp_path: Path) -> None:
    # 250 MWh x 0.7 t/MWh (user non-baseload factor) = 175 t.
    data = minimal()
    data["factors"] = [
        {
            "region": "CN-East",
            "year": 2023,
            "kind": "non_baseload",
            "value_tco2_per_mwh": 0.7,
            "source": "utility marginal study",
        }
    ]
    data["savings"] = [
        {
            "name": "chiller retrofit",
            "site": "DC1",
            "energy_saved": {"value": 250, "unit": "MWh"},
            "factor": {"kind": "non_baseload"},
            "verification": "measured by the facilities team",
        }
    ]
    result = compute(tmp_path, data)
    assert result.value("avoided_tco2") == pytest.approx(175.0)
    assert result.savings[0].factor.origin == "user"


def test_benchmark_without_a_saving_is_an_error(tmp_path: Path, bench_file: Path) -> None:
    data = _bench_saving(minimal(), "chicago", "ai", "baseline")
    with pytest.raises(InventoryError, match="not a saving"):
        compute(tmp_path, data)


def test_benchmark_record_missing(tmp_path: Path, bench_file: Path) -> None:
    data = _bench_saving(minimal(), "tampa", "baseline", "ai")
    with pytest.raises(InventoryError) as info:
        compute(tmp_path, data)
    assert info.value.field == "savings[0].from_bench.improved_controller"


def test_the_oracle_cannot_be_a_verified_saving(tmp_path: Path, bench_file: Path) -> None:
    data = _bench_saving(minimal(), "chicago", "baseline", "oracle")
    with pytest.raises(InventoryError, match="hindsight reference") as info:
        compute(tmp_path, data)
    assert info.value.field == "savings[0].from_bench.improved_controller"


def test_organization_totals_and_year_over_year(tmp_path: Path) -> None:
    # Two sites: 1,000 MWh in East China (0.5500) and 500 MWh in South China (0.4042) in 2023.
    # Location total = 550 + 202.1 = 752.1 t. Last year 800 t -> -47.9 t, -5.9875 %.
    data = minimal()
    data["sites"].append(
        {"name": "DC2", "grid_region": "CN-South", "electricity": {"annual": {"value": 500, "unit": "MWh"}}}
    )
    data["previous_year"] = {
        "year": 2022,
        "location_based_tco2": 800,
        "electricity": {"value": 1400, "unit": "MWh"},
        "renewable_electricity": {"value": 70, "unit": "MWh"},
    }
    result = compute(tmp_path, data)
    assert result.value("location_based_tco2") == pytest.approx(752.1)
    yoy, _ = result.year_over_year["location_based_tco2"]
    assert yoy.change == pytest.approx(-47.9)
    assert yoy.change_percent == pytest.approx(-5.9875)
    share, _ = result.year_over_year["renewable_share"]
    assert share.previous == pytest.approx(0.05) and share.current == 0.0
    assert result.value("pue") is None  # no IT energy entered
