"""How the report's tables read: empty sections as a sentence, the EU 2024/1364 list per data centre,
site names as group headings rather than repeated on every row."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from greendc.report.render import _table_html, render_html
from greendc.report.tables import eu_2024_1364, gri_302_1, gri_302_4, gri_305_5, year_over_year_table
from tests.carbon.conftest import compute, minimal


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    """One site, annual electricity only: no savings, no previous year, no instruments, no renewables."""
    return compute(tmp_path_factory.mktemp("bare"), minimal())


@pytest.fixture(scope="module")
def two_sites(tmp_path_factory):
    data = minimal(it_energy={"value": 800, "unit": "MWh"}, installed_it_power_kw=150, water={"value": 2, "unit": "m3"})
    data["sites"].append(
        {
            "name": "DC2",
            "grid_region": "CN-South",
            "electricity": {"annual": {"value": 500, "unit": "MWh"}},
            "instruments": [
                {
                    "id": "GEC-7",
                    "kind": "eac",
                    "scheme": "GEC",
                    "energy": {"value": 200, "unit": "MWh"},
                    "generation_start": "2023-01-01",
                    "generation_end": "2023-12-31",
                    "market": "CN",
                }
            ],
        }
    )
    return compute(tmp_path_factory.mktemp("two"), data)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize(
    ("build", "sentence"),
    [
        (gri_302_4, "No energy saving is reported for 2023."),
        (gri_305_5, "No GHG emission reductions are reported for 2023: the inventory holds no energy savings."),
        (year_over_year_table, "No figures for the year before 2023 are in the inventory"),
    ],
)
def test_an_empty_section_reads_as_a_sentence_not_an_empty_table(bare, build, sentence: str) -> None:
    table = build(bare)
    assert table.rows == []
    html = _table_html(table)
    assert "<table" not in html and "<th" not in html
    assert sentence in _text(html)
    assert table.standard in _text(html)  # still says which disclosure it is


def test_empty_tables_still_write_a_csv_header(bare, tmp_path: Path) -> None:
    path = gri_302_4(bare).write_csv(tmp_path)
    assert path.read_text(encoding="utf-8").strip() == (
        "initiative,site,kind,MWh saved,uncertainty,GJ saved,basis,evidence,"
        "MWh saved lower,MWh saved upper,confidence %"
    )


def test_the_bare_report_has_no_empty_table_and_no_chart_of_nothing(bare) -> None:
    html = render_html(bare)
    text = _text(html)
    assert "No renewable electricity is reported for 2023" in text
    assert 'alt="Renewable share year over year"' not in html
    assert "Scope 2 quality criteria checked" not in html  # no instruments, nothing to check
    # Every <table> in the document has at least one body row.
    for body in re.findall(r"<tbody>(.*?)</tbody>", html, flags=re.S):
        assert "<tr" in body


def _eu_factor(region: str, value: float) -> dict:
    return {"region": region, "year": 2023, "kind": "grid_average", "value_tco2_per_mwh": value,
            "source": f"national grid factor of {region} (test value)"}


@pytest.fixture(scope="module")
def eu_sites(tmp_path_factory):
    """Two EU data centres above 500 kW (Germany, France), one in the EU below it, one in China above it."""
    data = minimal(
        grid_region="DE",
        country="Germany",
        it_energy={"value": 800, "unit": "MWh"},
        installed_it_power_kw=600,
        water={"value": 2, "unit": "m3"},
    )
    data["factors"] = [_eu_factor("DE", 0.38), _eu_factor("FR", 0.05)]
    go = {"id": "GO-7", "kind": "eac", "scheme": "GO", "energy": {"value": 200, "unit": "MWh"},
          "generation_start": "2023-01-01", "generation_end": "2023-12-31", "market": "France"}
    data["sites"] += [
        {"name": "DC2", "grid_region": "FR", "installed_it_power_kw": 900, "instruments": [go],
         "electricity": {"annual": {"value": 500, "unit": "MWh"}}},
        {"name": "Small DE", "grid_region": "DE", "installed_it_power_kw": 450,
         "electricity": {"annual": {"value": 300, "unit": "MWh"}}},
        {"name": "Shanghai", "grid_region": "CN-East", "installed_it_power_kw": 2000,
         "electricity": {"annual": {"value": 9000, "unit": "MWh"}}},
    ]
    return compute(tmp_path_factory.mktemp("eu"), data)


def test_eu_kpis_are_one_list_per_reporting_data_centre(eu_sites) -> None:
    table = eu_2024_1364(eu_sites)
    html = _table_html(table)
    # One table per EU site of at least 500 kW, its name in the caption only, never repeated on the rows.
    assert html.count("<table") == 2
    for name in ("DC1", "DC2"):
        assert _text(html).count(name) == 1
        assert f"EU data-centre information and KPIs: {name}" in _text(html)
    # The regulation's structure: Annex I's information and KPIs, then Annex III's indicators computed from them.
    for heading in (
        "Information (Annex I)",
        "Key performance indicators (Annex I)",
        "Data centre sustainability indicators (Annex III)",
    ):
        assert _text(html).count(heading) == 2
    assert "Annex II" not in _text(html).replace("Annex III", "")
    text = _text(html.split("</table>")[0])  # DC1
    assert "Installed information technology power demand P_DIT 600.0 kW" in text
    assert "Total energy consumption E_DC 1,000,000 kWh" in text  # 1,000 MWh
    assert "Energy consumption of IT equipment E_IT 800,000 kWh" in text
    assert "Power usage effectiveness PUE 1.25" in text
    assert "Waste heat reused E_REUSE not in inventory kWh" in text
    dc2 = _text(html.split("</table>")[1])
    assert "of which from guarantees of origin / certificates E_RES-GOO 200,000 kWh" in dc2
    assert "Renewable energy factor REF 0.400" in dc2  # 200 / 500


def test_eu_list_leaves_out_sites_outside_the_eu_or_below_500_kw_and_says_why(eu_sites) -> None:
    table = eu_2024_1364(eu_sites)
    assert {row[0] for row in table.rows} == {"DC1", "DC2"}
    notes = " ".join(table.notes)
    assert "Small DE: its installed IT power (450 kW) is below the 500 kW threshold" in notes
    assert "Shanghai: it is not in the EU (China)" in notes


def test_a_chinese_site_gets_no_eu_table(tmp_path: Path) -> None:
    """A 2 MW site in China: the regulation does not apply, whatever its size (the table was printed before)."""
    result = compute(tmp_path, minimal(installed_it_power_kw=2000))
    table = eu_2024_1364(result)
    assert table.rows == []
    html = _table_html(table)
    assert "<table" not in html
    assert "No data centre of the inventory reports under Delegated Regulation (EU) 2024/1364" in _text(html)
    assert "DC1: it is not in the EU (China)" in _text(html)


@pytest.mark.parametrize(
    ("country", "power_kw", "words"),
    [
        ("DE", 500.0, None),  # at the threshold: reports
        ("DE", 499.9, "below the 500 kW threshold"),
        ("DE", None, "cannot be checked"),
        ("CN", 50_000.0, "not in the EU (China)"),
        (None, 600.0, "country is not in the inventory"),
    ],
)
def test_eu_reporting_applies_in_the_eu_from_500_kw(country, power_kw, words) -> None:
    from greendc.carbon.eu import reporting_exemption

    exemption = reporting_exemption(country, power_kw)
    assert exemption is None if words is None else words in exemption


def test_eu_csv_keeps_one_row_per_site_and_indicator(eu_sites, tmp_path: Path) -> None:
    path = eu_2024_1364(eu_sites).write_csv(tmp_path)
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["site", "part", "indicator", "symbol", "value", "unit"]
    assert len(rows) == 2 * 14
    e_dc = {r["site"]: r["value"] for r in rows if r["symbol"] == "E_DC"}
    assert e_dc == {"DC1": "1000000.0", "DC2": "500000.0"}
    assert next(r for r in rows if r["site"] == "DC2" and r["symbol"] == "PUE")["value"] == ""  # no IT energy


def test_site_names_become_group_headings(two_sites) -> None:
    html = _table_html(gri_302_1(two_sites))
    assert html.count('<tr class="group level0">') == 3  # DC1, DC2, Organization total
    assert _text(html).count("DC1") == 1
