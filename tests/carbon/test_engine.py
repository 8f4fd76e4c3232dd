"""The one engine: a declarative spec per figure, evaluated per site and per organization."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from greendc.carbon import kpis
from greendc.carbon.engine import Basis, derived, evaluate, reported
from greendc.carbon.export import to_json
from greendc.carbon.factors import EmissionFactor
from greendc.carbon.scope2 import location_based_tco2
from greendc.carbon.specs import SITE_FIGURES, organization_figures

from .conftest import compute, minimal

CARBON = Path(__file__).resolve().parents[2] / "src" / "greendc" / "carbon"
FACTOR = EmissionFactor("CN-East", 2023, "grid_average", 0.55, "test source")
SPECS = (
    reported("electricity_mwh", "MWh", "entered", "GRI 302-1", "electricity not given"),
    reported("it_energy_mwh", "MWh", "entered", missing_note="it_energy not given"),
    derived("pue", "ratio", "electricity_mwh / it_energy_mwh", kpis.pue, "electricity_mwh", "it_energy_mwh",
            standard="ISO/IEC 30134-2", missing_note="it_energy not given"),
    derived("tco2", "tCO2", "electricity_mwh x factor", location_based_tco2, "electricity_mwh", factor="grid",
            applies_factor=True),
    derived("cue", "kgCO2/kWh", "tco2 / it", kpis.cue_kgco2_per_kwh, "tco2", ("it", "it_energy_mwh"), factor="grid"),
)


def test_a_derived_figure_is_its_function_of_its_inputs_with_the_factor_it_carries() -> None:
    figures = evaluate(SPECS, {"electricity_mwh": Basis(1300.0, source="meter"), "it_energy_mwh": Basis(1000.0)},
                       {"grid": FACTOR})
    assert list(figures) == ["electricity_mwh", "it_energy_mwh", "pue", "tco2", "cue"]
    assert figures["pue"].value == 1.3 and figures["pue"].inputs == {"electricity_mwh": 1300.0, "it_energy_mwh": 1000.0}
    assert figures["pue"].standard == "ISO/IEC 30134-2"
    assert figures["tco2"].value == pytest.approx(715.0) and figures["tco2"].factor is FACTOR
    assert figures["tco2"].source == "test source"
    assert figures["cue"].inputs == {"tco2": pytest.approx(715.0), "it": 1000.0}  # shown under its label
    assert figures["electricity_mwh"].source == "meter"


def test_a_missing_input_makes_a_null_figure_with_the_reason_never_a_number() -> None:
    figures = evaluate(SPECS, {"electricity_mwh": Basis(1300.0), "it_energy_mwh": Basis(None)}, {"grid": FACTOR})
    for key in ("it_energy_mwh", "pue", "cue"):
        assert figures[key].value is None, key
    assert figures["it_energy_mwh"].note == figures["pue"].note == "it_energy not given"
    assert figures["cue"].note == "it_energy_mwh: it_energy not given"  # no note of its own: its inputs'
    assert figures["pue"].formula == "electricity_mwh / it_energy_mwh"  # the same record as when present
    assert figures["pue"].standard == "ISO/IEC 30134-2"
    assert figures["tco2"].value == pytest.approx(715.0)


def test_the_note_of_an_organization_kpi_names_the_sites_that_lack_an_input(tmp_path: Path) -> None:
    data = minimal(it_energy={"value": 800, "unit": "MWh"})
    dc2 = {"name": "DC2", "grid_region": "CN-South", "electricity": {"annual": {"value": 5, "unit": "MWh"}}}
    data["sites"].append(dc2)
    result = compute(tmp_path, data)
    assert result.sites[0].value("pue") == 1.25 and result.value("pue") is None
    assert result.figures["pue"].note == "it_energy not given (it_energy_mwh: not available for: DC2)"


def test_site_and_organization_kpis_are_the_same_specs() -> None:
    site = {spec.key: spec for spec in SITE_FIGURES}
    organization = {spec.key: spec for spec in organization_figures(None)}
    for key in ("renewable_share", "ref", "pue", "cue", "cue_market_based", "wue"):
        assert site[key] is organization[key]


def test_every_spec_has_a_unit_and_a_formula_and_every_figure_reaches_figures_json(tmp_path: Path) -> None:
    for spec in (*SITE_FIGURES, *organization_figures(None)):
        assert spec.unit and spec.formula, spec.key
    doc = to_json(compute(tmp_path, minimal()))
    assert set(doc["sites"][0]["figures"]) == {spec.key for spec in SITE_FIGURES}
    assert set(doc["organization"]["figures"]) == {spec.key for spec in organization_figures(None)}


def test_no_function_of_the_carbon_engine_is_longer_than_80_lines() -> None:
    long = []
    for path in sorted(CARBON.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno >= 80:
                long.append(f"{path.name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)")
    assert long == []
