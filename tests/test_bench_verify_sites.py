"""bench/verify_sites.py: site variants with a growing IT load for the M&V benchmarks."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from greendc.site.loader import load_site
from greendc.site.schema import CsvLoad
from greendc.twin.builder import read_load_profile
from tests.conftest import REPO

SITES = [REPO / "examples" / "sites" / "two-hall-chicago.yaml",
         REPO / "examples" / "sites" / "three-hall-chilled-water.yaml"]


def _module():
    # A script in bench/, not a package: imported by its path.
    spec = importlib.util.spec_from_file_location("verify_sites", REPO / "bench" / "verify_sites.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


verify_sites = _module()


@pytest.mark.parametrize("site_file", SITES, ids=lambda path: path.stem)
@pytest.mark.parametrize("growth", [0.0, 0.1, 0.2])
def test_the_years_grow_as_asked_within_the_load_bounds(tmp_path: Path, site_file: Path, growth: float) -> None:
    written = {role: verify_sites.write_variant(site_file, "tampa", growth, role, tmp_path)
               for role in verify_sites.ROLES}
    years = {}
    for role, variant in written.items():
        frame = pd.read_csv(variant.load_csv)
        assert list(frame.columns) == ["fraction"] and len(frame) == 8760
        values = frame["fraction"].to_numpy()
        assert values.min() >= 0.3 and values.max() <= 1.0
        years[role] = values
        # The variant loads with greendc's own loader, on the CSV next to it, in the climate asked for.
        site, site_dir = load_site(variant.site_file)
        assert site.weather == "tampa" and isinstance(site.it_load, CsvLoad)
        np.testing.assert_allclose(read_load_profile(site.it_load, site_dir).to_numpy(), values)
        assert site.zones == type(site).model_validate(yaml.safe_load(site_file.read_text())).zones
    ratio = years["reporting"].mean() / years["baseline"].mean()
    assert ratio == pytest.approx(1 + growth, rel=0.01)
    # The baseline's mean does not depend on the growth; the reporting year's peak stays at most full load.
    assert years["baseline"].mean() == pytest.approx(0.59, abs=0.01)
    # Most reporting hours lie inside the baseline's range: M&V does not extrapolate.
    inside, _ = verify_sites.range_coverage(years["baseline"], years["reporting"])
    assert inside > 0.6


def test_the_load_follows_the_sites_day_and_varies_from_day_to_day() -> None:
    it_load = yaml.safe_load(SITES[0].read_text())["it_load"]
    baseline = verify_sites.it_load_profile(it_load, 0.1, "baseline", seed=3)
    days = baseline.reshape(365, 24)
    shape = np.asarray(it_load["weekday_fractions"])
    # Each day is the site's shape times one factor; the factors differ within +-5 % (and the slow growth).
    factors = days / shape
    assert np.allclose(factors, factors[:, :1], rtol=0.002)
    relative = factors[:, 0] / np.convolve(factors[:, 0], np.ones(31) / 31, mode="same")
    assert 0.01 < relative[15:-15].std() < 0.05
    # Seeded: the same seed gives the same year, another seed another.
    assert np.array_equal(baseline, verify_sites.it_load_profile(it_load, 0.1, "baseline", seed=3))
    assert not np.array_equal(baseline, verify_sites.it_load_profile(it_load, 0.1, "baseline", seed=4))


def test_the_growth_is_continuous_at_the_boundary() -> None:
    # A flat day without day-to-day variation leaves only the trend: the years meet as two hours of one line.
    flat = {"kind": "schedule", "weekday_fractions": [0.6] * 24, "weekend_fractions": [0.6] * 24}
    baseline, reporting = (verify_sites.it_load_profile(flat, 0.2, role, daily_variation=0.0)
                           for role in verify_sites.ROLES)
    step = baseline[-1] - baseline[-2]
    assert step > 0
    assert reporting[0] - baseline[-1] == pytest.approx(step, rel=1e-6)


def test_a_run_period_and_an_epw_path_are_kept_in_the_variant(tmp_path: Path) -> None:
    epw = tmp_path / "weather" / "my.epw"
    site_copy = tmp_path / "sites" / "site.yaml"
    site_copy.parent.mkdir()
    site_copy.write_text(SITES[0].read_text())
    variant = verify_sites.write_variant(site_copy, "../weather/my.epw", 0.05, "baseline", tmp_path / "out",
                                         run_period=((7, 1), (7, 2)))
    data = yaml.safe_load(variant.site_file.read_text())
    assert Path(data["weather"]) == epw.resolve()
    assert data["simulation"] == {"timesteps_per_hour": 4, "begin_month": 7, "begin_day": 1, "end_month": 7,
                                  "end_day": 2}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"growth": 0.25}, "growth"), ({"growth": -0.1}, "growth"), ({"role": "after"}, "role"),
])
def test_out_of_range_arguments_are_refused(kwargs: dict, message: str) -> None:
    arguments = {"it_load": {"kind": "constant", "fraction": 0.7}, "growth": 0.1, "role": "baseline", **kwargs}
    with pytest.raises(ValueError, match=message):
        verify_sites.it_load_profile(**arguments)
    with pytest.raises(ValueError, match="schedule"):
        verify_sites.it_load_profile({"kind": "csv", "path": "x.csv"}, 0.1, "baseline")


def test_the_cli_writes_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = verify_sites.main(["--site", str(SITES[1]), "--climate", "golden", "--growth", "0.1", "--role",
                              "reporting", "--out", str(tmp_path)])
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    assert Path(printed[0]).is_file() and Path(printed[1]).is_file()
    assert "inside the baseline's range" in printed[2]
