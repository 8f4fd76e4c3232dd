from __future__ import annotations

from pathlib import Path

import pytest

from greendc.carbon import kpis
from greendc.carbon.errors import InventoryError
from greendc.carbon.inventory import PVArray
from greendc.carbon.renewables import model_pv, renewable_share, resolve_weather, year_over_year

from .conftest import compute, minimal


@pytest.fixture(scope="module")
def golden_pv():
    epw = resolve_weather("golden", Path("."), file=None, field="w")
    return model_pv(PVArray(capacity_kw_dc=100, tilt_deg=35, azimuth_deg=180), epw)


def test_pvlib_model_gives_a_plausible_yield_for_golden_colorado(golden_pv) -> None:
    # NREL's PVWatts gives roughly 1,500-1,700 kWh/kWp for a south-facing fixed array near Denver.
    assert 1350 < golden_pv.specific_yield_kwh_per_kwp < 1850
    assert golden_pv.annual_mwh == pytest.approx(sum(golden_pv.monthly_mwh))
    assert len(golden_pv.monthly_mwh) == 12 and min(golden_pv.monthly_mwh) > 0


def test_pv_yield_follows_orientation() -> None:
    epw = resolve_weather("golden", Path("."), file=None, field="w")
    south = model_pv(PVArray(capacity_kw_dc=100, tilt_deg=35, azimuth_deg=180), epw).annual_mwh
    north = model_pv(PVArray(capacity_kw_dc=100, tilt_deg=35, azimuth_deg=0), epw).annual_mwh
    assert north < 0.8 * south


def test_pv_model_in_an_inventory_uses_the_run_weather_by_default(tmp_path: Path, run_dir: Path, golden_pv) -> None:
    data = minimal(
        grid_region=None,
        electricity={"from_run": "run"},
        factor_year=2020,
        onsite_generation=[{"name": "roof", "pv_model": {"capacity_kw_dc": 100, "tilt_deg": 35}}],
    )
    del data["sites"][0]["grid_region"]
    site = compute(tmp_path, data).sites[0]
    assert site.onsite[0].generated_mwh == pytest.approx(golden_pv.annual_mwh)
    assert site.value("grid_electricity_mwh") == pytest.approx(1560.0 - golden_pv.annual_mwh)
    assert site.value("renewable_capacity_mw") == pytest.approx(0.1)
    assert "USA_CO_Golden" in site.onsite[0].method


def test_unknown_weather_is_an_error(tmp_path: Path) -> None:
    data = minimal(
        onsite_generation=[{"name": "roof", "pv_model": {"capacity_kw_dc": 10, "tilt_deg": 20, "weather": "atlantis"}}]
    )
    with pytest.raises(InventoryError) as info:
        compute(tmp_path, data)
    assert info.value.field == "sites[0].onsite_generation[0].pv_model.weather"


def test_year_over_year_in_points_and_percent() -> None:
    y = year_over_year(0.124, 0.072)
    assert y.change * 100 == pytest.approx(5.2)
    assert y.change_percent == pytest.approx(72.2222, rel=1e-4)
    assert year_over_year(5.0, 0.0).change_percent is None


def test_kpis_by_hand() -> None:
    assert kpis.pue(1300.0, 1000.0) == pytest.approx(1.3)
    assert kpis.pue(1300.0, 0.0) is None
    assert kpis.cue_kgco2_per_kwh(500.0, 1000.0) == pytest.approx(0.5)
    assert kpis.wue_l_per_kwh(1800.0, 1000.0) == pytest.approx(1.8)
    assert kpis.wue_l_per_kwh(None, 1000.0) is None
    assert kpis.erf(130.0, 1300.0) == pytest.approx(0.1)
    assert renewable_share(0.0, 0.0) is None


def test_a_run_weather_named_by_its_shipped_file_uses_the_site_resolver(tmp_path: Path, golden_pv) -> None:
    """A real run's summary names its weather by the EPW file's name; it resolves like the short name."""
    import json

    from .conftest import run_summary

    summary = run_summary(weather="USA_CO_Golden-NREL.724666_TMY3.epw")
    (tmp_path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    data = minimal(
        grid_region="US-RFCW",
        electricity={"from_run": "summary.json"},
        factor_year=2020,
        onsite_generation=[{"name": "roof", "pv_model": {"capacity_kw_dc": 100, "tilt_deg": 35}}],
    )
    assert compute(tmp_path, data).sites[0].onsite[0].generated_mwh == pytest.approx(golden_pv.annual_mwh)


def test_a_weather_that_is_no_epw_file_is_refused_by_the_one_resolver(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not weather", encoding="utf-8")
    data = minimal(
        onsite_generation=[{"name": "roof", "pv_model": {"capacity_kw_dc": 10, "tilt_deg": 20, "weather": "notes.txt"}}]
    )
    with pytest.raises(InventoryError) as info:
        compute(tmp_path, data)
    assert info.value.field == "sites[0].onsite_generation[0].pv_model.weather"
    assert info.value.file.endswith("inventory.yaml")
    assert "'notes.txt'" in info.value.message and ".epw" in info.value.message


def test_a_malformed_epw_for_pv_is_one_error_from_the_site_check(tmp_path: Path) -> None:
    """Carbon's PV model reads weather through the site's EPW check, not straight into pvlib."""
    header_only = tmp_path / "header-only.epw"
    header_only.write_text("LOCATION,Somewhere,XX,XXX,TMY3,000000,40.0,-105.0,-7.0,1800.0\n", encoding="utf-8")
    with pytest.raises(InventoryError) as info:
        model_pv(PVArray(capacity_kw_dc=100.0, tilt_deg=30.0, azimuth_deg=180.0), header_only)
    assert info.value.field == "<epw>" and "not a usable EPW weather file" in info.value.message
    assert len(str(info.value)) < 1000 and "\n" not in str(info.value)
