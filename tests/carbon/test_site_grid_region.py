"""A site file's grid region is checked when the site is loaded, not at report time after a year's run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from greendc.carbon.factors import shipped_table
from greendc.site.grid_regions import known_grid_regions
from greendc.site.loader import SiteFileError, load_site

EXAMPLE_SITE = Path(__file__).resolve().parents[2] / "examples" / "sites" / "two-hall-chicago.yaml"


def _site_file(tmp_path: Path, grid_region: str) -> Path:
    data = yaml.safe_load(EXAMPLE_SITE.read_text(encoding="utf-8"))
    data["grid_region"] = grid_region
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_an_unknown_grid_region_is_refused_when_the_site_is_loaded_naming_the_known_ones(tmp_path: Path) -> None:
    path = _site_file(tmp_path, "US-RFCX")
    with pytest.raises(SiteFileError) as info:
        load_site(path)
    message = str(info.value)
    assert message.startswith(f"{path}: grid_region: unknown grid region")
    assert "US-RFCX" in message and "US-RFCW" in message and "CN-East" in message
    assert "\n" not in message


def test_a_known_grid_region_loads_in_its_listed_spelling(tmp_path: Path) -> None:
    site, _ = load_site(_site_file(tmp_path, "cn-east"))
    assert site.grid_region == "CN-East"


def test_the_site_knows_exactly_the_regions_the_carbon_part_has_factors_for() -> None:
    table = shipped_table()
    for code in known_grid_regions():
        assert table.region(code).code == code
        assert table.years(code, "grid_average"), code  # a site in it gets a location-based figure
    assert len(known_grid_regions()) == 15


def test_the_site_package_does_not_import_the_carbon_part() -> None:
    code = "import sys, greendc.site.loader; print(sorted(m for m in sys.modules if m.startswith('greendc.carbon')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
