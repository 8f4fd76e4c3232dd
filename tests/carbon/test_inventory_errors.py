"""Bad input: one clear line naming the file and the field, never a silent default."""

from __future__ import annotations

from pathlib import Path

import pytest

from greendc.carbon import load_inventory
from greendc.carbon.errors import InventoryError

from .conftest import compute, minimal, write_inventory


def _error(tmp_path: Path, data) -> InventoryError:
    with pytest.raises(InventoryError) as info:
        compute(tmp_path, data)
    return info.value


def test_a_bare_number_without_unit_is_rejected(tmp_path: Path) -> None:
    err = _error(tmp_path, minimal(electricity={"annual": 1000}))
    assert err.field == "sites[0].electricity.annual"
    assert "unit" in err.message and "MWh" in err.message
    assert err.file.endswith("inventory.yaml")


def test_an_unknown_unit_is_rejected_with_the_allowed_ones(tmp_path: Path) -> None:
    err = _error(tmp_path, minimal(electricity={"annual": {"value": 1, "unit": "kwh"}}))
    assert err.field == "sites[0].electricity.annual.unit"
    assert "'kWh', 'MWh' or 'GWh'" in err.message and "'kwh'" in err.message


def test_negative_energy_is_rejected(tmp_path: Path) -> None:
    err = _error(tmp_path, minimal(electricity={"annual": {"value": -5, "unit": "MWh"}}))
    assert err.field == "sites[0].electricity.annual.value"
    assert "greater than or equal to 0" in err.message


def test_non_numeric_energy_is_rejected(tmp_path: Path) -> None:
    data = minimal(electricity={"monthly": {"unit": "MWh", "values": [1, "lots", 3]}})
    err = _error(tmp_path, data)
    assert err.field == "sites[0].electricity.monthly.values[1]"
    assert "valid number" in err.message


def test_unknown_region(tmp_path: Path) -> None:
    err = _error(tmp_path, minimal(grid_region="CN-Mars"))
    assert err.field == "sites[0].grid_region" and "unknown grid region 'CN-Mars'" in err.message


def test_missing_factor_for_the_reporting_year(tmp_path: Path) -> None:
    err = _error(tmp_path, minimal(grid_region="US-CAMX"))
    assert err.field == "sites[0].location_factor"
    assert "'US-CAMX'" in err.message and "2023" in err.message


def test_duplicate_sites(tmp_path: Path) -> None:
    data = minimal()
    data["sites"].append(dict(data["sites"][0], name="dc1 "))
    err = _error(tmp_path, data)
    assert err.field == "sites[1].name" and "duplicate site" in err.message


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    data = minimal(electrcity_mwh=5)
    err = _error(tmp_path, data)
    assert err.field == "sites[0].electrcity_mwh" and "unknown key" in err.message


def test_two_electricity_sources_are_ambiguous(tmp_path: Path) -> None:
    data = minimal(electricity={"annual": {"value": 1, "unit": "MWh"}, "from_run": "x"})
    err = _error(tmp_path, data)
    assert err.field == "sites[0].electricity" and "exactly one" in err.message


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("organization:\n  name: [unclosed\nsites: 1\n", encoding="utf-8")
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert info.value.field == "<yaml>" and "line" in info.value.message
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="file not found"):
        load_inventory(tmp_path / "nope.yaml")


def test_saving_pointing_at_an_unknown_site(tmp_path: Path) -> None:
    data = minimal()
    data["savings"] = [{"name": "s", "site": "Elsewhere", "energy_saved": {"value": 1, "unit": "MWh"},
                        "verification": "meter readings"}]
    err = _error(tmp_path, data)
    assert err.field == "savings[0].site"


def test_on_site_generation_above_consumption(tmp_path: Path) -> None:
    data = minimal(onsite_generation=[{"name": "PV", "metered": {"value": 2000, "unit": "MWh"}}])
    err = _error(tmp_path, data)
    assert err.field == "sites[0].onsite_generation" and "exceeds" in err.message


def test_renewable_instrument_with_an_emission_rate_is_contradictory(tmp_path: Path) -> None:
    inst = {
        "id": "X",
        "kind": "ppa",
        "energy": {"value": 1, "unit": "MWh"},
        "generation_start": "2023-01-01",
        "generation_end": "2023-12-31",
        "market": "CN",
        "factor_tco2_per_mwh": 0.3,
    }
    err = _error(tmp_path, minimal(instruments=[inst]))
    assert err.field == "sites[0].instruments[0]" and "renewable: false" in err.message


def test_one_line_message_format(tmp_path: Path) -> None:
    path = write_inventory(tmp_path, minimal(water=5000))
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert (
        str(info.value)
        == f"{path}: sites[0].water: state the unit explicitly, e.g. {{value: 5000, unit: m3}} (m3 or L)"
    )
