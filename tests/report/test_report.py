"""The report: HTML and PDF rendered by WeasyPrint, figures.json, CSV tables, atomic output, the CLI."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from greendc.carbon.errors import InventoryError
from greendc.report import build_report
from greendc.report.render import render_html
from greendc.workflows.run_inventory import inventory_from_run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "inventories"


@pytest.fixture(scope="module")
def example_copy(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("examples")
    shutil.copytree(EXAMPLES, folder, dirs_exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def report_dir(example_copy: Path) -> Path:
    return build_report(example_copy / "multi-site-2023.yaml", example_copy / "out" / "report")


def test_report_files_are_written(report_dir: Path) -> None:
    names = {p.name for p in report_dir.iterdir()}
    assert {"report.html", "report.pdf", "figures.json", "tables"} <= names
    assert (report_dir / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert (report_dir / "report.pdf").stat().st_size > 50_000  # charts are embedded
    leftovers = [p.name for p in report_dir.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_pdf_has_the_expected_pages(report_dir: Path) -> None:
    import weasyprint

    html = (report_dir / "report.html").read_text(encoding="utf-8")
    document = weasyprint.HTML(string=html).render()
    assert 4 <= len(document.pages) <= 10


def test_html_holds_every_section_chart_and_table(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    for text in (
        "GRI 302-1",
        "GRI 302-3",
        "GRI 302-4",
        "GRI 305-2",
        "GRI 305-4",
        "GRI 305-5",
        "Delegated Regulation (EU) 2024/1364",
        "Emission factors used",
        "Methodology",
        "Monthly electricity by end use",
        "Scope 2 emissions by method",
    ):
        assert text in html, text
    # 2 monthly, 1 PUE, emissions, renewables, savings, the verified saving's adjusted baseline by month
    assert html.count("data:image/png;base64,") == 7
    assert "MEE, national electricity CO2 emission factor for 2023 excluding market-traded" in html


def test_csv_tables_match_figures_json(report_dir: Path) -> None:
    doc = json.loads((report_dir / "figures.json").read_text(encoding="utf-8"))
    with (report_dir / "tables" / "gri_305_2.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    shanghai = next(r for r in rows if r["site"] == "Shanghai DC")
    site = next(s for s in doc["sites"] if s["name"] == "Shanghai DC")
    # 10,100 MWh x 0.5500 = 5,555 t; (10,100 - 5,000) x 0.6096 = 3,108.96 t
    assert float(shanghai["location-based tCO2"]) == pytest.approx(5555.0) == site["location_based_tco2"]
    assert float(shanghai["market-based tCO2"]) == pytest.approx(3108.96) == site["market_based_tco2"]
    for name in (
        "gri_302_1",
        "gri_302_3",
        "gri_302_4",
        "gri_305_4",
        "gri_305_5",
        "kpis",
        "factors",
        "instruments",
        "year_over_year",
    ):
        assert (report_dir / "tables" / f"{name}.csv").stat().st_size > 40
    # Neither site is in the EU (Shanghai, Chicago): the EU 2024/1364 list has its header row only.
    eu = (report_dir / "tables" / "eu_2024_1364.csv").read_text(encoding="utf-8").strip()
    assert eu == "site,part,indicator,symbol,value,unit"


def test_figures_json_lets_an_auditor_recompute(report_dir: Path) -> None:
    doc = json.loads((report_dir / "figures.json").read_text(encoding="utf-8"))
    for site in doc["sites"]:
        fig = site["figures"]["location_based_tco2"]
        recomputed = fig["inputs"]["grid_electricity_mwh"] * fig["factor"]["value_tco2_per_mwh"]
        assert recomputed == pytest.approx(fig["value"])
        assert fig["factor"]["source"]
    chicago = next(s for s in doc["sites"] if s["name"] == "Chicago DC")
    assert chicago["onsite_generation"][0]["method"].startswith("pvlib")
    for saving in doc["avoided_emissions"]:
        assert saving["avoided_tco2"] == pytest.approx(saving["saved_mwh"] * saving["factor"]["value_tco2_per_mwh"])
    verified, simulated = doc["avoided_emissions"]
    # the benchmark sample: 10,848,000 - 10,488,000 kWh = 360 MWh; x eGRID2020 RFCW 0.4468 = 160.848 t
    assert simulated["kind"] == "simulated" and simulated["avoided_tco2"] == pytest.approx(160.848)
    # the verification sample: 313.1 MWh +- 48 MWh x CN-East 2023 0.5500 = 172.205 t +- 26.4 t
    assert verified["kind"] == "verified" and verified["avoided_tco2"] == pytest.approx(172.205)
    assert verified["interval"]["avoided_tco2_lower"] == pytest.approx(265.1 * 0.55)
    assert verified["interval"]["avoided_tco2_upper"] == pytest.approx(361.1 * 0.55)
    assert verified["verification_record"]["ipmvp_option"] == "C (whole facility)"
    # Kinds are totalled apart: the all-savings total is null with the reason, the per-kind totals are there.
    org = doc["organization"]
    assert org["avoided_tco2"] is None and "different kinds" in org["figures"]["avoided_tco2"]["note"]
    assert org["avoided_tco2_verified"] == pytest.approx(172.205)
    assert org["avoided_tco2_simulated"] == pytest.approx(160.848)


def _bad_inventory(folder: Path) -> Path:
    bad = folder / "bad.yaml"
    bad.write_text(
        "organization: {name: X}\nreporting_year: 2023\nsites:\n  - name: A\n    grid_region: CN\n"
        "    electricity: {annual: {value: 10, unit: MWh}}\n  - name: A\n    grid_region: CN\n"
        "    electricity: {annual: {value: 10, unit: MWh}}\n",
        encoding="utf-8",
    )
    return bad


def test_bad_input_leaves_the_previous_report_untouched(report_dir: Path, tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in sorted(report_dir.rglob("*")) if p.is_file()}
    with pytest.raises(InventoryError, match="duplicate site"):
        build_report(_bad_inventory(tmp_path), report_dir, overwrite=True)
    assert {p: p.read_bytes() for p in sorted(report_dir.rglob("*")) if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_a_folder_of_user_files_is_never_a_report_folder(tmp_path: Path) -> None:
    from greendc.errors import GreendcError

    out = tmp_path / "report"
    out.mkdir()
    (out / "keep.txt").write_text("a user's file", encoding="utf-8")
    with pytest.raises(GreendcError, match="did not write"):
        build_report(EXAMPLES / "tencent-2023.yaml", out, overwrite=True)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (out / "keep.txt").read_text(encoding="utf-8") == "a user's file"


def test_rendering_failure_leaves_no_partial_report(tmp_path: Path, monkeypatch) -> None:
    from greendc.report import render

    def broken(html: str, path: Path) -> None:
        raise render.ReportError("pdf engine failed")

    monkeypatch.setattr(render, "render_pdf", broken)
    with pytest.raises(render.ReportError):
        build_report(EXAMPLES / "tencent-2023.yaml", tmp_path / "r")
    assert list(tmp_path.iterdir()) == []


def test_report_from_a_run_summary_for_the_demo(tmp_path: Path) -> None:
    from tests.carbon.conftest import run_summary

    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(run_summary(months=2, grid_region="US-CAMX")), encoding="utf-8")
    loaded = inventory_from_run(run / "summary.json")
    assert loaded.model.reporting_year == 2020  # latest eGRID year shipped for CAMX
    html = render_html(__import__("greendc.carbon", fromlist=["calculate"]).calculate(loaded))
    assert "modelled, not metered" in html
    folder = build_report(inventory_from_run(run / "summary.json"), tmp_path / "demo-report")
    doc = json.loads((folder / "figures.json").read_text(encoding="utf-8"))
    # 2 x 130 MWh x 0.2329 = 60.554 t
    assert doc["organization"]["location_based_tco2"] == pytest.approx(60.554)
    assert (folder / "report.pdf").exists()


def _app() -> typer.Typer:
    from greendc.cli.main import app

    return app


def test_cli_carbon_prints_headlines_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    result = CliRunner().invoke(_app(), ["carbon", str(EXAMPLES / "tencent-2023.yaml"), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "2,851.5" in result.output and "12.4 %" in result.output
    assert "Scope 2, location-based" in result.output and "location_based_tco2" not in result.output  # words
    assert json.loads(out.read_text(encoding="utf-8"))["organization"]["avoided_tco2"] == pytest.approx(2851.5)


def test_cli_bad_input_is_one_line_exit_2_and_no_output(tmp_path: Path) -> None:
    bad = tmp_path / "inv.yaml"
    bad.write_text(
        "organization: {name: X}\nreporting_year: 2023\nsites:\n  - name: A\n    grid_region: CN-East\n"
        "    electricity: {annual: {value: 10}}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    for args in (
        ["carbon", str(bad), "--json", str(tmp_path / "f.json")],
        ["report", str(bad), "--out", str(tmp_path / "rep")],
    ):
        result = runner.invoke(_app(), args)
        assert result.exit_code == 2
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert lines == [f"error: {bad}: sites[0].electricity.annual.unit: Field required"]
        assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inv.yaml"]


def test_cli_report_writes_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    result = CliRunner().invoke(_app(), ["report", str(EXAMPLES / "tencent-2023.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"
    with (out / "tables" / "gri_305_5.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert float(rows[0]["tCO2 avoided"]) == pytest.approx(2851.5)
    assert float(rows[0]["factor t/MWh"]) == pytest.approx(0.5703)


def test_a_run_based_inventory_carries_installed_it_power_and_floor_area_from_the_site(tmp_path: Path) -> None:
    """Before: the report of a simulated run said "Installed IT power: not in inventory" although the site
    file gives it. The run folder holds the model the twin built from the site file; both figures come from it."""
    import yaml

    from greendc.site.schema import Site
    from greendc.twin.builder import build_twin
    from tests.carbon.conftest import run_summary

    data = yaml.safe_load((EXAMPLES.parent / "sites" / "two-hall-chicago.yaml").read_text(encoding="utf-8"))
    data["zones"][1]["raised_floor_height_m"] = 0.6  # an underfloor plenum is a zone, but no floor area of a hall
    site = Site.model_validate(data)
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.epJSON").write_text(json.dumps(build_twin(site).epjson), encoding="utf-8")
    (run / "summary.json").write_text(json.dumps(run_summary(grid_region=site.grid_region)), encoding="utf-8")
    loaded = inventory_from_run(run)
    result = __import__("greendc.carbon", fromlist=["calculate"]).calculate(loaded)
    dc = result.sites[0]
    # West Hall 232 m2 x 200 W/m2 + East Hall 259 m2 x 200 W/m2 = 98.2 kW on 491 m2.
    assert dc.value("installed_it_power_kw") == pytest.approx(site.it_design_power_w / 1000.0) == pytest.approx(98.2)
    assert dc.value("floor_area_m2") == pytest.approx(491.0)
    assert dc.value("energy_intensity_kwh_per_m2") == pytest.approx(1560.0 * 1000.0 / 491.0)
    assert any("Installed IT power (98.2 kW) and floor area (491.0 m2" in n for n in loaded.model.notes)
    from greendc.report.tables import gri_302_3

    row = next(r for r in gri_302_3(result).rows if r[1] == "Energy per floor area")
    assert row[2] == pytest.approx(1560.0 * 1000.0 / 491.0)  # in the report, not "n/a"
