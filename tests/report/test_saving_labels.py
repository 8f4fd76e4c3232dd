"""How the report labels savings: a simulated saving is never called verified (the demo's report among them), a
verified one shows its interval, its method and its adjusted baseline against the meter by month."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from greendc.carbon import calculate
from greendc.carbon.inventory import BenchSaving
from greendc.report import charts
from greendc.report.render import build_report, render_html
from greendc.report.tables import gri_302_4, gri_305_5
from greendc.workflows.run_inventory import inventory_from_run, load_source
from tests.carbon.conftest import compute, minimal, run_summary, write_inventory
from tests.carbon.verification_records import verification, write_record


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory) -> Path:
    """The demo's report: a run's year with its simulated saving against the legacy control, as
    ``greendc.workflows.demo.run_demo`` builds it (``inventory_from_run`` with the benchmark of the three runs)."""
    folder = tmp_path_factory.mktemp("demo")
    (folder / "ai").mkdir()
    (folder / "ai" / "summary.json").write_text(json.dumps(run_summary(weather="chicago")), encoding="utf-8")
    records = [
        {"climate": "chicago", "controller": name, "it_kwh": 1.2e6, "cooling_kwh": cooling, "facility_kwh": facility,
         "pue": facility / 1.2e6}
        for name, cooling, facility in (("default", 3.0e5, 1.60e6), ("trim-respond", 2.0e5, 1.57e6),
                                        ("ai", 1.5e5, 1.56e6))
    ]
    (folder / "bench.json").write_text(json.dumps(records), encoding="utf-8")
    saving = BenchSaving(path=str(folder / "bench.json"), climate="chicago", baseline_controller="default",
                         improved_controller="ai")
    return build_report(inventory_from_run(folder / "ai", bench=saving), folder / "report")


def test_the_demo_report_calls_its_saving_simulated_and_never_verified(demo_like: Path) -> None:
    html = (demo_like / "report.html").read_text(encoding="utf-8")
    text = _text(html)
    assert "erified" not in text and "erified" not in html  # neither "Verified" nor "verified", anywhere
    assert "simulated saving: ai vs default (EnergyPlus twin, chicago)" in text
    assert "simulated (EnergyPlus twin, ai vs default)" in text  # the kind column
    assert "Simulated avoided emissions (tCO2)" in text  # the headline card: no GRI 305-5 figure
    assert "not metered" in text
    for table in ("gri_302_4", "gri_305_5"):
        assert "erified" not in (demo_like / "tables" / f"{table}.csv").read_text(encoding="utf-8")
    # 1,600 - 1,560 MWh = 40 MWh on the twin, x eGRID 2020 RFCW 0.4468 = 17.872 t
    doc = json.loads((demo_like / "figures.json").read_text(encoding="utf-8"))
    [saving] = doc["avoided_emissions"]
    assert saving["kind"] == "simulated" and saving["avoided_tco2"] == pytest.approx(17.872)
    assert saving["simulated_by"]["baseline_controller"] == "default"


def test_the_savings_chart_title_does_not_say_verified(monkeypatch, tmp_path: Path, bench_file) -> None:
    import matplotlib.figure

    titles: list[str] = []
    original = matplotlib.figure.Figure.suptitle

    def record(self, text, *args, **kwargs):
        titles.append(text)
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "suptitle", record)
    data = minimal()
    data["savings"] = [{"name": "twin", "site": "DC1", "from_bench": {
        "path": "bench.json", "climate": "chicago", "baseline_controller": "baseline", "improved_controller": "ai"}}]
    assert charts.savings(compute(tmp_path, data))[:8] == b"\x89PNG\r\n\x1a\n"
    assert titles == ["Energy savings and avoided emissions (GRI 302-4, 305-5)"]


@pytest.fixture
def bench_file(tmp_path: Path) -> Path:
    from tests.carbon.conftest import bench_records

    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench_records()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def verified(tmp_path_factory):
    folder = tmp_path_factory.mktemp("verified")
    record = write_record(folder)
    return calculate(load_source(write_inventory(folder, minimal()), [record]))


def test_a_verified_saving_shows_its_interval_in_both_tables(verified) -> None:
    saved = gri_302_4(verified)
    row = dict(zip(saved.columns, saved.rows[0], strict=True))
    assert row["kind"] == "verified (metered)"
    assert row["uncertainty"] == "± 2.3 MWh at 90 % confidence"
    assert (row["MWh saved lower"], row["MWh saved upper"], row["confidence %"]) == pytest.approx((12.8, 17.4, 90.0))
    avoided = gri_305_5(verified)
    row = dict(zip(avoided.columns, avoided.rows[0], strict=True))
    assert row["uncertainty"] == "± 1.3 tCO2 at 90 % confidence"  # 2.3 MWh x 0.55 t/MWh
    assert row["tCO2 avoided upper"] == pytest.approx(17.4 * 0.55)
    total = dict(zip(avoided.columns, avoided.rows[-1], strict=True))
    assert total["initiative"] == "Total" and total["kind"] == "verified (metered)"


def test_the_html_shows_the_interval_the_method_and_the_monthly_chart(verified) -> None:
    html = render_html(verified)
    text = _text(html)
    assert "8.3 ± 1.3" in text  # the headline card, in tCO2
    assert "verified (metered): from 15.1 MWh saved, at 90 % confidence" in text
    assert "± 2.3 MWh at 90 % confidence" in text
    method = text[text.index("was measured"):]
    for words in (
        "Result : 15.1 MWh ± 2.3 MWh at 90 % confidence saved; 8.3 tCO2 ± 1.3 tCO2 at 90 % confidence avoided",
        "IPMVP option : Option C (whole facility)",
        "Measurement boundary : whole-facility electricity",
        "hourly CV(RMSE) 8.0 % (limit 20 %), NMBE +0.10 % (limit ±0.5 %), R² 0.930",
        "meets the limits",
        "Baseline period : 2022-01-01 to 2022-12-31 (8,760 h)",
        "Reporting period : 2023-01-01 to 2023-03-31 (2,160 h)",
        "Independent variables : outdoor dry-bulb temperature (C; column outdoor_dry_bulb_c): baseline -5.0 to 35.0 C",
        "Non-routine adjustments : excluded 2023-01-10 00:00 to 2023-01-11 00:00 (24 h): chiller maintenance",
        "Controllers : ai against trim-respond",
    ):
        assert words in method, words
    assert 'alt="Adjusted baseline against measured energy by month' in html
    assert html.count("data:image/png;base64,") == 3  # emissions, savings, the monthly chart


def test_the_monthly_chart_needs_a_verified_saving(verified) -> None:
    [saving] = verified.savings
    assert charts.verified_monthly(saving)[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValidationError, match="at least one month"):
        verification(monthly=[])


def test_a_cooling_saving_says_what_its_boundary_leaves_out(tmp_path: Path) -> None:
    record = write_record(tmp_path, verification(energy="cooling", ipmvp_option="B (retrofit isolation: cooling "
                                                                                "sub-meters)"))
    result = calculate(load_source(write_inventory(tmp_path, minimal()), [record]))
    assert result.savings[0].name == "ai control vs trim-respond (metered, IPMVP Option B)"
    text = _text(render_html(result))
    assert "Measurement boundary : cooling electricity; a change in IT power (such as server fans" in text


def test_mixed_kinds_have_no_grand_total_in_the_tables(tmp_path: Path) -> None:
    write_record(tmp_path)
    data = minimal()
    data["savings"] = [
        {"name": "metered", "site": "DC1", "from_verification": "verify.json"},
        {"name": "stated", "site": "DC1", "energy_saved": {"value": 10, "unit": "MWh"}, "verification": "audit"},
    ]
    result = compute(tmp_path, data)
    table = gri_305_5(result)
    totals = [row for row in table.rows if row[0] == "Total"]
    assert [row[1] for row in totals] == ["verified (metered)", "entered"]
    assert any("totalled separately and not added" in note for note in table.notes)
    text = _text(render_html(result))
    assert "8.3 ± 1.3" in text and "also 5.5 t entered, totalled apart" in text
