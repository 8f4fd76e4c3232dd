"""Synthetic metered years in the telemetry schema, whose true saving is known by construction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ZONES = ("Hall A", "Hall B")


def synthetic_year(start: str, *, saving: float = 0.0, warmer_k: float = 0.0, growth: float = 0.0,
                   seed: int = 0, hours: int = 8760, arm: np.ndarray | None = None) -> pd.DataFrame:
    """A data center's hourly telemetry: IT load from a utilisation that grows through the period, cooling
    that rises with outdoor temperature above an economizer change point and with IT load, noise.

    ``saving`` is the fraction of cooling energy the measure removes (in every hour, or where ``arm`` is 1).
    """
    rng = np.random.default_rng(seed)
    time = pd.date_range(start, periods=hours, freq="1h")
    day = np.arange(hours) / 24.0
    dry_bulb = 10 + 12 * np.sin(2 * np.pi * (day - 110) / 365) + 5 * np.sin(2 * np.pi * day) + warmer_k
    dry_bulb = dry_bulb + rng.normal(0, 2, hours)
    wet_bulb = dry_bulb - 3 - 2 * rng.random(hours)
    utilisation = np.clip(0.6 * (1 + growth * np.arange(hours) / hours) + 0.1 * np.sin(2 * np.pi * day)
                          + rng.normal(0, 0.03, hours), 0.3, 1.0)
    it_w = 80_000 * (0.4 + 0.6 * utilisation)
    cooling_w = (0.08 * it_w + 400 * np.maximum(dry_bulb - 15, 0) * it_w / 80_000
                 + 150 * np.maximum(wet_bulb - 12, 0) + rng.normal(0, 300, hours))
    removed = saving * cooling_w if arm is None else saving * cooling_w * arm
    cooling_w = cooling_w - removed
    frame = pd.DataFrame({
        "time": time,
        "outdoor_dry_bulb_c": dry_bulb,
        "outdoor_wet_bulb_c": wet_bulb,
        "outdoor_relative_humidity_pct": np.full(hours, 60.0),
        "outdoor_dew_point_c": wet_bulb - 1.5,
        "it_power_w": it_w,
        "cooling_power_w": cooling_w,
        "facility_power_w": it_w + cooling_w + 2_000,
    })
    for zone in ZONES:
        frame[f"{zone}/it_power_w"] = it_w / 2
        frame[f"{zone}/it_load_fraction"] = utilisation
        for column, value in (("inlet_temp_c", 22.0), ("zone_air_temp_c", 30.0), ("supply_air_temp_c", 20.0),
                              ("supply_air_setpoint_c", 20.0), ("zone_cooling_setpoint_c", 24.0)):
            frame[f"{zone}/{column}"] = value
    if arm is not None:
        frame["ab_arm"] = np.where(arm == 1, "candidate", "baseline")
    return frame


def write(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path)
    return path


@pytest.fixture(scope="session")
def two_years(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A baseline year (2023) and a reporting year (2024) that saves 20 % of cooling energy, IT grown 10 %."""
    folder = tmp_path_factory.mktemp("metered")
    baseline = write(synthetic_year("2023-01-01 01:00", seed=1, growth=0.1), folder / "baseline.parquet")
    reporting = write(synthetic_year("2024-01-01 01:00", seed=2, saving=0.2, growth=0.1), folder / "reporting.parquet")
    return baseline, reporting
