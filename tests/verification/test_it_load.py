"""The IT-load signal the measure does not move: IT power normalised to a 20 C inlet by the server curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from greendc.site.loader import load_site
from greendc.site.servers import it_power_fraction
from greendc.verification.meter_data import MeterDataError, normalized_it_power_kw

SITE = Path(__file__).resolve().parents[2] / "examples" / "sites" / "two-hall-chicago.yaml"


def test_warmer_inlets_raise_metered_power_but_not_the_normalised_power() -> None:
    site, _ = load_site(SITE)
    curves = site.servers.model()
    load = np.array([0.5, 0.5, 0.5, 0.9, 0.9, 0.9])
    inlet = np.array([18.0, 27.0, 32.0, 18.0, 27.0, 32.0])
    frame = pd.DataFrame({f"{zone.name}/{column}": values for zone in site.zones for column, values in (
        ("it_power_w", it_power_fraction(curves, load, inlet) * zone.it_design_power_w), ("inlet_temp_c", inlet))})
    assert frame[f"{site.zones[0].name}/it_power_w"].iloc[2] > frame[f"{site.zones[0].name}/it_power_w"].iloc[0]
    normalised = normalized_it_power_kw(frame, [z.name for z in site.zones], site, "test")
    design_kw = sum(zone.it_design_power_w for zone in site.zones) / 1000
    expected = it_power_fraction(curves, load, np.full(6, 20.0)) * design_kw
    assert normalised.to_numpy() == pytest.approx(expected, rel=1e-6)
    assert normalised.iloc[0] == pytest.approx(normalised.iloc[2], rel=1e-6)


def test_a_hall_missing_from_the_site_file_is_named() -> None:
    site, _ = load_site(SITE)
    frame = pd.DataFrame({"Hall X/it_power_w": [1000.0], "Hall X/inlet_temp_c": [22.0]})
    with pytest.raises(MeterDataError, match="Hall X"):
        normalized_it_power_kw(frame, ["Hall X"], site, "test")
