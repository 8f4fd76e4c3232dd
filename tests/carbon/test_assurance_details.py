"""What an assurer would flag in a carbon inventory (issue 15): disclosures, PPA certificates, markets.

Each test is a worked example with the arithmetic done by hand. East China, 2023: grid average
0.5500 t/MWh; residual-mix proxy of the CN market 0.6096 t/MWh.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from greendc.carbon.errors import InventoryError
from greendc.report.render import render_html
from greendc.report.tables import instruments_table

from .conftest import compute, minimal


def _ppa(mwh: float, **extra) -> dict:
    data = {
        "id": "PPA-1",
        "kind": "ppa",
        "energy": {"value": mwh, "unit": "MWh"},
        "generation_start": "2023-01-01",
        "generation_end": "2023-12-31",
        "market": "CN",
    }
    data.update(extra)
    return data


def _gec(mwh: float) -> dict:
    return {**_ppa(mwh), "id": "GEC-1", "kind": "eac", "scheme": "GEC"}


def _ten_gwh(*instruments: dict) -> dict:
    return minimal(electricity={"annual": {"value": 10_000, "unit": "MWh"}}, instruments=list(instruments))


def _disclosures_in_report(result) -> str:
    html = render_html(result)
    return " ".join(html[html.index("<h3>Disclosures</h3>") :].split())


# --- disclosures: every user-entered factor and every non-default choice ---------------------------------


def test_a_user_entered_residual_mix_factor_is_disclosed(tmp_path: Path) -> None:
    """Before: the factor was used (1,000 MWh x 0.7 = 700 t) and the Disclosures list stayed empty."""
    result = compute(tmp_path, minimal(residual_factor={"value_tco2_per_mwh": 0.7, "source": "supplier residual mix"}))
    assert result.sites[0].value("market_based_tco2") == pytest.approx(700.0)
    expected = (
        "DC1: market-based remainder factor entered in the inventory: 0.7000 tCO2/MWh; source: supplier residual mix."
    )
    assert expected in result.disclosures
    assert expected in _disclosures_in_report(result)


def test_a_residual_mix_chosen_by_year_is_disclosed(tmp_path: Path) -> None:
    # 1,000 MWh x the CN 2022 residual-mix proxy 0.5856 = 585.6 t.
    result = compute(tmp_path, minimal(residual_factor={"year": 2022}))
    assert result.sites[0].value("market_based_tco2") == pytest.approx(585.6)
    assert any("market-based remainder factor chosen explicitly: the residual-mix factor of CN for 2022" in d
               for d in result.disclosures)


def test_every_user_factor_is_disclosed_whether_or_not_it_replaces_a_shipped_one(tmp_path: Path) -> None:
    data = minimal()
    data["factors"] = [
        {"region": "CN-East", "year": 2023, "kind": "non_baseload", "value_tco2_per_mwh": 0.7, "source": "study A"},
        {"region": "CN", "year": 2023, "kind": "residual_mix", "value_tco2_per_mwh": 0.65, "source": "study B"},
    ]
    result = compute(tmp_path, data)
    assert (
        "User-entered factor: the non-baseload factor of CN-East for 2023 (0.7000 tCO2/MWh); source: study A."
        in result.disclosures
    )
    assert (
        "User-entered factor: the residual-mix factor of CN for 2023 (0.6500 tCO2/MWh), replacing the shipped "
        "0.6096 tCO2/MWh; source: study B." in result.disclosures
    )
    assert result.sites[0].value("market_based_tco2") == pytest.approx(650.0)  # 1,000 MWh x 0.65


def test_a_saving_factor_choice_and_a_non_calendar_period_are_disclosed(tmp_path: Path) -> None:
    data = minimal(factor_year=2023)
    data["period_start"], data["period_end"] = "2023-04-01", "2023-12-31"
    data["savings"] = [
        {"name": "free cooling", "site": "DC1", "energy_saved": {"value": 100, "unit": "MWh"},
         "factor": {"kind": "corporate_reporting", "region": "CN", "year": 2022}, "verification": "site audit"}
    ]
    result = compute(tmp_path, data)
    assert result.value("avoided_tco2") == pytest.approx(57.03)  # 100 MWh x 0.5703
    assert (
        "free cooling: avoided-emissions factor chosen explicitly: the corporate-reporting grid factor of CN for "
        "2022 (0.5703 tCO2/MWh)." in result.disclosures
    )
    assert "The reporting period is 2023-04-01 to 2023-12-31, as entered, not calendar year 2023." in result.disclosures


def test_disclosures_use_words_not_code_names(tmp_path: Path) -> None:
    data = minimal(location_factor={"kind": "corporate_reporting", "region": "CN", "year": 2022},
                   residual_factor={"value_tco2_per_mwh": 0.7, "source": "s"})
    text = " ".join(compute(tmp_path, data).disclosures)
    for code in ("corporate_reporting", "grid_average", "residual_mix", "_last_resort", "location_factor"):
        assert code not in text


def test_a_default_inventory_has_no_disclosures(tmp_path: Path) -> None:
    assert compute(tmp_path, minimal()).disclosures == []


# --- PPAs: certificate status and bundling ----------------------------------------------------------------


def test_a_ppa_whose_certificates_were_sold_counts_at_the_residual_mix(tmp_path: Path) -> None:
    """Before: 3,000 MWh of a PPA counted at zero whatever became of its certificates."""
    # 2,000 MWh of GECs at 0; the PPA's 3,000 MWh and the other 5,000 MWh at 0.6096: 8,000 x 0.6096 = 4,876.8 t.
    site = compute(tmp_path, _ten_gwh(_gec(2000), _ppa(3000, certificates="sold", bundling="unbundled"))).sites[0]
    assert site.value("market_based_tco2") == pytest.approx(4876.8)
    assert site.value("procured_renewable_mwh") == pytest.approx(2000.0)
    assert site.value("renewable_share") == pytest.approx(0.2)
    ppa = next(c for c in site.market.claims if c.kind == "ppa")
    assert ppa.rate_tco2_per_mwh == pytest.approx(0.6096) and not ppa.renewable


def test_only_retained_certificates_make_ppa_power_zero_emission(tmp_path: Path) -> None:
    # Retained: 5,000 MWh at 0.6096 = 3,048 t; none issued: like sold, 8,000 x 0.6096 = 4,876.8 t.
    retained = compute(tmp_path, _ten_gwh(_gec(2000), _ppa(3000, certificates="retained", bundling="bundled")))
    none = compute(tmp_path, _ten_gwh(_gec(2000), _ppa(3000, certificates="none")))
    assert retained.sites[0].value("market_based_tco2") == pytest.approx(3048.0)
    assert retained.sites[0].value("procured_renewable_mwh") == pytest.approx(5000.0)
    assert none.sites[0].value("market_based_tco2") == pytest.approx(4876.8)
    assert any("PPA PPA-1: its certificates were never issued" in d for d in none.disclosures)
    assert not any("PPA" in d for d in retained.disclosures)


def test_a_ppa_without_certificate_status_counts_as_retained_and_is_disclosed(tmp_path: Path) -> None:
    result = compute(tmp_path, _ten_gwh(_ppa(3000)))
    assert result.sites[0].value("market_based_tco2") == pytest.approx(7000 * 0.6096)
    assert any("PPA PPA-1: certificate status not stated" in d for d in result.disclosures)


def test_the_instruments_table_shows_certificate_status_and_bundling(tmp_path: Path) -> None:
    result = compute(tmp_path, _ten_gwh(_gec(2000), _ppa(3000, certificates="sold", bundling="unbundled")))
    table = instruments_table(result)
    row = next(r for r in table.rows if r[1] == "PPA-1")
    assert row[table.columns.index("type")] == "direct contract / PPA"
    assert row[table.columns.index("certificates")] == "sold (counted at the residual mix), unbundled"
    assert row[table.columns.index("tCO2")] == pytest.approx(3000 * 0.6096)
    figure = result.sites[0].figures["market_based_tco2"].inputs["instruments"]
    assert next(c for c in figure if c["id"] == "PPA-1")["certificates"] == "sold"


@pytest.mark.parametrize(
    ("instrument", "words"),
    [
        (_gec(10) | {"certificates": "retained"}, "certificate status of a ppa"),
        (_ppa(10, certificates="sold", renewable=True), "conveys no renewable claim"),
        (_ppa(10, certificates="lost"), "'retained', 'sold' or 'none'"),
        (_ppa(10, bundling="stapled"), "'bundled' or 'unbundled'"),
    ],
)
def test_inconsistent_certificate_fields_are_errors(tmp_path: Path, instrument: dict, words: str) -> None:
    with pytest.raises(InventoryError) as info:
        compute(tmp_path, minimal(instruments=[instrument]))
    assert info.value.field.startswith("sites[0].instruments[0]")
    assert words in info.value.message


# --- markets and countries by name or ISO code ------------------------------------------------------------


@pytest.mark.parametrize("market", ["China", "CN", "cn", "People's Republic of China"])
def test_a_market_is_a_country_name_or_its_code(tmp_path: Path, market: str) -> None:
    """Before: ``market: China`` was refused as another market than CN."""
    site = compute(tmp_path, _ten_gwh(_gec(2000) | {"market": market})).sites[0]
    assert site.value("market_based_tco2") == pytest.approx(8000 * 0.6096)
    assert site.market.claims[0].market == "CN"


def test_a_certificate_of_another_country_is_still_refused(tmp_path: Path) -> None:
    with pytest.raises(InventoryError) as info:
        compute(tmp_path, _ten_gwh(_gec(10) | {"market": "Germany"}))
    assert info.value.field == "sites[0].instruments[0].market"
    assert "from market 'DE' but the site consumes in 'CN'" in info.value.message


def test_a_site_country_is_a_name_or_code_and_must_match_its_grid_region(tmp_path: Path) -> None:
    assert compute(tmp_path, minimal(country="china")).sites[0].country == "CN"
    assert compute(tmp_path, minimal()).sites[0].country == "CN"  # the grid region's
    with pytest.raises(InventoryError) as info:
        compute(tmp_path, minimal(country="Atlantis"))
    assert info.value.field == "sites[0].country" and "unknown country 'Atlantis'" in info.value.message
    with pytest.raises(InventoryError) as info:
        compute(tmp_path, minimal(country="DE"))
    assert info.value.field == "sites[0].country" and "not the country of grid region 'CN-East'" in info.value.message
