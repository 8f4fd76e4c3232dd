"""The published case: figures of Tencent's 2023 ESG report, from examples/inventories/tencent-2023.yaml.

What these tests assert: that greendc's arithmetic, applied to the MWh in that inventory, gives the
published figures quoted in issue #4:

- 5,000 MWh saved x the MEE factor 0.5703 t/MWh = 2,851.5 tCO2 avoided (both inputs are published);
- self-built renewable capacity 52.2 MW against 19.6 MW = +166.3 % (both inputs are published);
- procured renewable electricity 600 GWh against 334.1 GWh = +79.6 % (both inputs are published);
- a renewable share of 12.4 % (2023) and 7.2 % (2022), computed as renewable MWh / total MWh.

What they do NOT assert: that the total electricity (5,160,000 and 4,850,000 MWh) or the on-site
generation (40,000 and 15,000 MWh) are Tencent's. Those MWh are illustrative placeholders chosen so that
the published shares come out; no citable copy of the report's KPI table was found. The share tests
therefore check the share arithmetic and its rounding, not Tencent's data, and every figure that
depends on the placeholders (electricity, Scope 2 totals) is illustrative. The placeholders are labelled in
the YAML and disclosed in the report's methodology section and in figures.json; a test checks that.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from greendc.carbon import calculate, load_inventory
from greendc.carbon.export import to_json

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventories" / "tencent-2023.yaml"


@pytest.fixture(scope="module")
def result():
    return calculate(load_inventory(EXAMPLE))


def test_avoided_emissions_5000_mwh_times_mee_factor(result) -> None:
    # 5,000 MWh x 0.5703 t/MWh = 2,851.5 tCO2
    assert result.value("avoided_tco2") == pytest.approx(2851.5)
    saving = result.savings[0]
    assert saving.factor.value_tco2_per_mwh == 0.5703
    assert saving.factor.kind == "corporate_reporting"
    # The organization's own figure: entered, said to be its reported figure, and not called verified or metered.
    assert saving.kind == "entered" and saving.kind_words == "entered"
    assert "reported figure" in saving.verification and "2023 ESG report" in saving.verification
    assert saving.saved_interval is None
    assert result.value("avoided_tco2_entered") == pytest.approx(2851.5)
    assert result.value("avoided_tco2_verified") == 0.0


def test_avoided_emissions_are_not_netted_from_scope_2(result) -> None:
    """Method check only: the Scope 2 total rests on the illustrative total electricity, not Tencent's."""
    # Location-based = (5,160,000 - 40,000) MWh bought x 0.5703 = 2,919,936 t, with or without the saving.
    assert result.value("location_based_tco2") == pytest.approx(5_120_000 * 0.5703)


def test_renewable_share_2022_and_2023_from_mwh(result) -> None:
    """The share arithmetic and rounding on the inventory's MWh; the totals are illustrative placeholders."""
    share_2023 = result.value("renewable_share")
    yoy, unit = result.year_over_year["renewable_share"]
    assert unit == "fraction"
    assert round(share_2023 * 100, 1) == 12.4  # (600,000 + 40,000) / 5,160,000
    assert round(yoy.previous * 100, 1) == 7.2  # 349,100 / 4,850,000
    assert round(yoy.change * 100, 1) == 5.2  # percentage points
    assert round(yoy.change_percent, 1) == 72.3  # 12.403 / 7.198 - 1


def test_self_built_capacity_52_2_mw_against_19_6_mw(result) -> None:
    yoy, unit = result.year_over_year["renewable_capacity_mw"]
    assert unit == "MW"
    assert yoy.current == pytest.approx(52.2)
    assert yoy.previous == pytest.approx(19.6)
    assert round(yoy.change_percent, 1) == 166.3


def test_procured_renewables_600_gwh_against_334_1_gwh(result) -> None:
    yoy, _ = result.year_over_year["procured_renewable_mwh"]
    assert yoy.current == pytest.approx(600_000.0)
    assert yoy.previous == pytest.approx(334_100.0)
    assert round(yoy.change_percent, 1) == 79.6


def test_published_case_json_contract(result) -> None:
    doc = to_json(result)
    site = doc["sites"][0]
    for key in (
        "electricity_mwh",
        "renewable_mwh",
        "renewable_share",
        "location_based_tco2",
        "market_based_tco2",
        "avoided_tco2",
        "pue",
        "ref",
        "cue",
        "wue",
    ):
        assert key in site and key in doc["organization"]
    assert site["pue"] is None and site["wue"] is None  # no IT energy or water in the published case
    assert site["avoided_tco2"] == pytest.approx(2851.5)
    avoided = doc["avoided_emissions"][0]["figures"]["avoided_tco2"]
    assert avoided["inputs"] == {"saved_mwh": 5000.0}
    assert avoided["factor"]["value_tco2_per_mwh"] == 0.5703
    assert "Ministry of Ecology and Environment" in avoided["source"]
    assert any("2022" in d and "reporting year 2023" in d for d in doc["disclosures"])


def test_placeholders_are_disclosed_in_the_report_and_figures_json(result) -> None:
    """Every value not taken from the published report is named in the methodology and in figures.json."""
    from greendc.report.render import render_html

    html = render_html(result)
    methodology = html[html.index("<h2>Methodology</h2>") :]
    for text in (
        "ILLUSTRATIVE, not from the report: total electricity 5,160,000 MWh (2023) and 4,850,000 MWh (2022)",
        "chosen to reproduce the published renewable shares",
        "ILLUSTRATIVE, not from the report: on-site renewable generation 40,000 MWh (2023) and 15,000 MWh",
        "Scope 2 totals (location- and market-based)",
        "are illustrative",
    ):
        assert " ".join(text.split()) in " ".join(methodology.split()), text
    assert "read them under Methodology" in html[: html.index("<h2>Energy</h2>")]  # pointer under the headline
    notes = to_json(result)["notes"]
    assert any("5,160,000 MWh" in n and "ILLUSTRATIVE" in n for n in notes)
    assert any("40,000 MWh" in n and "ILLUSTRATIVE" in n for n in notes)


def test_placeholders_are_labelled_next_to_their_values_in_the_yaml() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for value in ("value: 5160000", "value: 4850000", "value: 40000"):
        line = next(line for line in lines if value in line and not line.lstrip().startswith("#"))
        assert "# ILLUSTRATIVE: not from the report" in line, line
    for value in ("value: 5000, unit: MWh", "value: 600, unit: GWh", "value: 334.1", "capacity_kw: 52200"):
        line = next(line for line in lines if value in line)
        assert "# FROM THE REPORT" in line, line
