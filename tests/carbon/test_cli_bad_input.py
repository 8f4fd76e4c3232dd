"""Bad input through the real command line (``greendc carbon`` and ``greendc report``): one line naming the
file and the field, exit code 2, no traceback, and nothing written (no figures.json, no report folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from greendc.cli.main import app

from .conftest import minimal


def _instrument(**fields: Any) -> dict[str, Any]:
    inst = {
        "id": "GEC-1",
        "kind": "eac",
        "scheme": "GEC",
        "energy": {"value": 100, "unit": "MWh"},
        "generation_start": "2023-01-01",
        "generation_end": "2023-12-31",
        "market": "CN",
    }
    inst.update(fields)
    return inst


def _duplicate_sites() -> dict[str, Any]:
    data = minimal()
    data["sites"].append(dict(data["sites"][0], name="DC1"))
    return data


# (case id, inventory document or raw YAML text, field named in the message, words the message must hold)
CASES: list[tuple[str, Any, str, tuple[str, ...]]] = [
    (
        "negative-energy",
        minimal(electricity={"annual": {"value": -5, "unit": "MWh"}}),
        "sites[0].electricity.annual.value",
        ("greater than or equal to 0",),
    ),
    (
        "non-numeric-energy",
        minimal(electricity={"annual": {"value": "a lot", "unit": "MWh"}}),
        "sites[0].electricity.annual.value",
        ("valid number",),
    ),
    (
        "bare-number-without-unit",
        minimal(electricity={"annual": 1000}),
        "sites[0].electricity.annual",
        ("unit", "MWh"),
    ),
    (
        "unit-key-missing",
        minimal(electricity={"annual": {"value": 1000}}),
        "sites[0].electricity.annual.unit",
        ("Field required",),
    ),
    (
        "unit-not-kwh-or-mwh",
        minimal(electricity={"annual": {"value": 1000, "unit": "kW"}}),
        "sites[0].electricity.annual.unit",
        ("'kWh', 'MWh' or 'GWh'", "'kW'"),
    ),
    (
        "certificates-exceed-consumption",
        minimal(instruments=[_instrument(energy={"value": 1.5, "unit": "GWh"})]),
        "sites[0].instruments",
        ("1,500.000 MWh", "1,000.000 MWh"),
    ),
    (
        "certificate-outside-period",
        minimal(instruments=[_instrument(generation_start="2022-06-01", generation_end="2022-12-31")]),
        "sites[0].instruments[0].generation_start",
        ("outside the reporting period",),
    ),
    (
        "certificate-from-another-market",
        minimal(instruments=[_instrument(market="US")]),
        "sites[0].instruments[0].market",
        ("'US'", "'CN'"),
    ),
    ("unknown-region", minimal(grid_region="CN-Mars"), "sites[0].grid_region", ("unknown grid region 'CN-Mars'",)),
    (
        "missing-factor",
        minimal(grid_region="US-CAMX"),
        "sites[0].location_factor",
        ("'US-CAMX'", "2023", "2019, 2020"),
    ),
    ("duplicate-sites", _duplicate_sites(), "sites[1].name", ("duplicate site 'DC1'",)),
    ("unknown-key", minimal(electricity_mwh=5), "sites[0].electricity_mwh", ("unknown key",)),
    ("malformed-yaml", "organization:\n  name: [unclosed\nsites: 1\n", "<yaml>", ("malformed YAML", "line")),
    ("not-a-mapping", "- just\n- a list\n", "<root>", ("YAML mapping",)),
]


def _write(folder: Path, document: Any) -> Path:
    path = folder / "inventory.yaml"
    text = document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def _single_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


@pytest.mark.parametrize("command", ["carbon", "report"])
@pytest.mark.parametrize(("case", "document", "field", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_naming_file_and_field(
    tmp_path: Path, command: str, case: str, document: Any, field: str, words: tuple[str, ...]
) -> None:
    inventory = _write(tmp_path, document)
    target = tmp_path / ("figures.json" if command == "carbon" else "report")
    option = "--json" if command == "carbon" else "--out"
    result = CliRunner().invoke(app, [command, str(inventory), option, str(target)])
    assert result.exit_code == 2, result.output
    line = _single_error_line(result.output)
    assert line.startswith(f"error: {inventory}: {field}: "), line
    for word in words:
        assert word in line, (word, line)
    # No partial output: neither figures.json nor a report folder (nor a temporary folder) is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.yaml"]


@pytest.mark.parametrize("command", ["carbon", "report"])
def test_missing_inventory_file(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "nope.yaml"
    option = "--json" if command == "carbon" else "--out"
    result = CliRunner().invoke(app, [command, str(missing), option, str(tmp_path / "out")])
    assert result.exit_code == 2
    assert _single_error_line(result.output) == f"error: {missing}: <file>: inventory file not found"
    assert list(tmp_path.iterdir()) == []


def test_bad_input_leaves_an_existing_report_untouched(tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.html").write_text("last year's report", encoding="utf-8")
    inventory = _write(tmp_path, minimal(grid_region="CN-Mars"))
    result = CliRunner().invoke(app, ["report", str(inventory), "--out", str(out)])
    assert result.exit_code == 2
    assert [p.name for p in out.iterdir()] == ["report.html"]
    assert (out / "report.html").read_text(encoding="utf-8") == "last year's report"
