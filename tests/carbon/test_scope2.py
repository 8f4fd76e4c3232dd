"""Worked examples of both Scope 2 methods, with the arithmetic done by hand in each test."""

from __future__ import annotations

from pathlib import Path

import pytest

from greendc.carbon.errors import InventoryError
from greendc.carbon.scope2 import location_based_tco2

from .conftest import compute, minimal


def _instrument(id_: str, kind: str, mwh: float, **extra) -> dict:
    data = {
        "id": id_,
        "kind": kind,
        "energy": {"value": mwh, "unit": "MWh"},
        "generation_start": "2023-01-01",
        "generation_end": "2023-12-31",
        "market": "CN",
    }
    if kind == "eac":
        data["scheme"] = "GEC"
    data.update(extra)
    return data


def test_location_based_worked_example_us_rfcw(tmp_path: Path) -> None:
    # 2,500 MWh in RFC West with the eGRID2020 rate 0.4468 t/MWh: 2,500 x 0.4468 = 1,117.0 t.
    data = minimal(grid_region="US-RFCW", electricity={"annual": {"value": 2.5, "unit": "GWh"}}, factor_year=2020)
    result = compute(tmp_path, data)
    site = result.sites[0]
    assert site.value("location_based_tco2") == pytest.approx(1117.0)
    assert site.figures["location_based_tco2"].factor.source.startswith("US EPA eGRID2020")
    # No instruments and no US residual mix shipped: the market-based figure falls back to the grid
    # average, and the report must say so.
    assert site.value("market_based_tco2") == pytest.approx(1117.0)
    assert site.market.remaining_basis == "grid_average_last_resort"
    assert any("last resort" in d for d in result.disclosures)
    assert any("2020" in d and "reporting year 2023" in d for d in result.disclosures)


def test_location_based_uses_the_regional_grid_not_the_national_one(tmp_path: Path) -> None:
    # kWh are converted: 800,000 kWh = 800 MWh; CN-Southwest 2023 = 0.2472 -> 197.76 t.
    data = minimal(grid_region="CN-Southwest", electricity={"annual": {"value": 800_000, "unit": "kWh"}})
    assert compute(tmp_path, data).sites[0].value("location_based_tco2") == pytest.approx(197.76)


def test_market_based_worked_example_with_certificates_and_a_ppa(tmp_path: Path) -> None:
    # 10,000 MWh in East China, 2023. 2,000 MWh of GECs and a 3,000 MWh PPA at 0 t/MWh; the other
    # 5,000 MWh take the residual-mix proxy 0.6096: market-based = 5,000 x 0.6096 = 3,048.0 t.
    # Location-based = 10,000 x 0.5500 = 5,500.0 t. Renewable share = 5,000 / 10,000 = 50 %.
    data = minimal(
        electricity={"annual": {"value": 10_000, "unit": "MWh"}},
        instruments=[_instrument("PPA-1", "ppa", 3000), _instrument("GEC-1", "eac", 2000)],
    )
    site = compute(tmp_path, data).sites[0]
    assert site.value("market_based_tco2") == pytest.approx(3048.0)
    assert site.value("location_based_tco2") == pytest.approx(5500.0)
    assert site.value("renewable_share") == pytest.approx(0.5)
    assert site.value("procured_renewable_mwh") == pytest.approx(5000.0)
    # Hierarchy order: certificates before contracts, whatever the order in the file.
    assert [c.kind for c in site.market.claims] == ["eac", "ppa"]
    assert site.market.remaining_mwh == pytest.approx(5000.0)
    assert site.market.remaining_factor.kind == "residual_mix"
    assert {c.criterion for c in site.market.checks} >= {
        "vintage within the reporting period",
        "no instrument claimed twice",
    }


def test_market_based_with_a_supplier_specific_rate(tmp_path: Path) -> None:
    # 1,000 MWh: 400 MWh at the supplier's 0.30 t/MWh = 120 t; 600 MWh residual x 0.6096 = 365.76 t.
    data = minimal(
        instruments=[_instrument("SUP-1", "supplier_specific", 400, factor_tco2_per_mwh=0.30)],
    )
    site = compute(tmp_path, data).sites[0]
    assert site.value("market_based_tco2") == pytest.approx(120.0 + 365.76)
    assert site.value("renewable_mwh") == 0.0


def test_on_site_generation_reduces_grid_purchases_for_both_methods(tmp_path: Path) -> None:
    # 1,000 MWh consumed, 100 MWh from rooftop PV (10 exported): 910 MWh bought x 0.5500 = 500.5 t.
    data = minimal(
        onsite_generation=[
            {
                "name": "PV",
                "capacity_kw": 80,
                "metered": {"value": 100, "unit": "MWh"},
                "exported": {"value": 10, "unit": "MWh"},
            }
        ]
    )
    site = compute(tmp_path, data).sites[0]
    assert site.value("grid_electricity_mwh") == pytest.approx(910.0)
    assert site.value("location_based_tco2") == pytest.approx(500.5)
    assert site.value("renewable_share") == pytest.approx(0.09)
    assert site.value("renewable_capacity_mw") == pytest.approx(0.08)


def test_explicit_residual_factor_by_value_is_used_and_traced(tmp_path: Path) -> None:
    data = minimal(residual_factor={"value_tco2_per_mwh": 0.7, "source": "supplier residual mix 2023"})
    site = compute(tmp_path, data).sites[0]
    assert site.value("market_based_tco2") == pytest.approx(700.0)
    assert site.figures["market_based_tco2"].factor.source == "supplier residual mix 2023"


@pytest.mark.parametrize(
    ("instruments", "field", "words"),
    [
        (
            [_instrument("A", "eac", 600), _instrument("B", "ppa", 500)],
            "sites[0].instruments",
            "cover 1,100.000 MWh",
        ),
        (
            [_instrument("A", "eac", 10, generation_start="2022-06-01")],
            "sites[0].instruments[0].generation_start",
            "outside the reporting period",
        ),
        ([_instrument("A", "eac", 10, market="US")], "sites[0].instruments[0].market", "market 'US'"),
        (
            [_instrument("A", "eac", 10), _instrument("a", "ppa", 10)],
            "sites[0].instruments[1].id",
            "claimed twice",
        ),
    ],
)
def test_quality_criteria_failures_are_errors(tmp_path: Path, instruments, field: str, words: str) -> None:
    with pytest.raises(InventoryError) as info:
        compute(tmp_path, minimal(instruments=instruments))
    assert info.value.field == field
    assert words in info.value.message


def test_the_same_certificate_at_two_sites_is_claimed_twice(tmp_path: Path) -> None:
    data = minimal(instruments=[_instrument("GEC-9", "eac", 10)])
    second = dict(data["sites"][0], name="DC2", instruments=[_instrument("GEC-9", "eac", 10)])
    data["sites"].append(second)
    with pytest.raises(InventoryError, match=r"sites\[1\]\.instruments\[0\]\.id: instrument 'GEC-9' is claimed twice"):
        compute(tmp_path, data)


def test_location_based_function() -> None:
    assert location_based_tco2(1234.5, 0.5306) == pytest.approx(655.02570)
