"""The JSON contract of issue #4, checked on every example inventory through ``greendc carbon --json``.

The document holds ``organization`` and ``sites`` (a list); every site holds at least the ten headline
figures (null where the inputs do not allow them), and for every figure its inputs, factor and source.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greendc.cli.main import app

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "inventories").glob("*.yaml"))
HEADLINE = (
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
)
# Figures computed with a grid or saving factor must name it (value and source) in their record.
FACTOR_FIGURES = ("location_based_tco2", "market_based_tco2", "cue")


def test_there_are_example_inventories() -> None:
    assert {p.name for p in EXAMPLES} >= {"tencent-2023.yaml", "multi-site-2023.yaml"}


@pytest.fixture(scope="module", params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def document(request, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("json") / "figures.json"
    result = CliRunner().invoke(app, ["carbon", str(request.param), "--json", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def test_top_level_holds_organization_and_a_list_of_sites(document: dict) -> None:
    assert isinstance(document["organization"], dict)
    assert isinstance(document["sites"], list) and document["sites"]
    for key in HEADLINE:
        assert key in document["organization"], key


def test_every_site_holds_every_headline_figure_with_inputs_factor_and_source(document: dict) -> None:
    for site in document["sites"]:
        for key in HEADLINE:
            assert key in site, (site["name"], key)
            value = site[key]
            assert value is None or isinstance(value, int | float), (site["name"], key, value)
            record = site["figures"][key]
            assert {"value", "unit", "formula", "inputs", "factor", "source"} <= set(record), (site["name"], key)
            assert record["value"] == value
            assert isinstance(record["inputs"], dict)
            assert record["source"], (site["name"], key)
            if value is None:
                assert record["note"], (site["name"], key)  # says which input is missing
        for key in FACTOR_FIGURES:
            record = site["figures"][key]
            if record["value"] is not None:
                assert record["factor"]["value_tco2_per_mwh"] > 0, (site["name"], key)
                assert record["factor"]["source"], (site["name"], key)
        avoided = site["figures"]["avoided_tco2"]
        if avoided["value"]:
            named = [avoided["factor"]] if avoided["factor"] else avoided["factors"]
            assert all(f["source"] for f in named)


def test_every_figure_record_of_the_document_names_inputs_factor_and_source(document: dict) -> None:
    records = [("organization", k, r) for k, r in document["organization"]["figures"].items()]
    records += [(s["name"], k, r) for s in document["sites"] for k, r in s["figures"].items()]
    for x in document["avoided_emissions"]:
        records += [(x["name"], k, r) for k, r in x["figures"].items()]
    for owner, key, record in records:
        assert {"inputs", "factor", "source"} <= set(record), (owner, key)
        assert record["source"], (owner, key)


def test_nulls_where_the_inputs_do_not_allow(tmp_path: Path) -> None:
    tencent = next(p for p in EXAMPLES if p.name == "tencent-2023.yaml")
    out = tmp_path / "f.json"
    assert CliRunner().invoke(app, ["carbon", str(tencent), "--json", str(out)]).exit_code == 0
    site = json.loads(out.read_text(encoding="utf-8"))["sites"][0]
    # The published case holds neither IT energy nor water: no PUE, CUE or WUE, and the reason is given.
    assert site["pue"] is None and site["cue"] is None and site["wue"] is None
    assert "it_energy not given" in site["figures"]["pue"]["note"]
    assert site["figures"]["pue"]["source"].startswith("not available")
