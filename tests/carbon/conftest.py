"""Fixtures for the carbon tests: inventories, a run summary and a benchmark written into tmp_path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from greendc.carbon import calculate, load_inventory


def write_inventory(folder: Path, data: dict[str, Any], name: str = "inventory.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def minimal(**site: Any) -> dict[str, Any]:
    """A one-site inventory for reporting year 2023; keyword arguments replace site fields."""
    base_site: dict[str, Any] = {
        "name": "DC1",
        "grid_region": "CN-East",
        "electricity": {"annual": {"value": 1000, "unit": "MWh"}},
    }
    base_site.update(site)
    return {"organization": {"name": "Test Org"}, "reporting_year": 2023, "sites": [base_site]}


def run_summary(months: int = 12, *, grid_region: str = "US-RFCW", weather: str = "golden") -> dict[str, Any]:
    """A run summary with 100,000 kWh IT and 130,000 kWh facility per month (PUE 1.3), 50 m3 water/month."""
    monthly = [
        {
            "month": m,
            "it_kwh": 100_000.0,
            "cooling_kwh": 25_000.0,
            "facility_kwh": 130_000.0,
            "fans_kwh": 5_000.0,
            "coils_kwh": 0.0,
            "chiller_kwh": 15_000.0,
            "tower_kwh": 2_000.0,
            "pumps_kwh": 3_000.0,
            "evaporative_kwh": 0.0,
            "other_kwh": 5_000.0,
            "pue": 1.3,
        }
        for m in range(1, months + 1)
    ]
    return {
        "site": "Sim DC",
        "grid_region": grid_region,
        "controller": "ai",
        "weather": weather,
        "it_kwh": 100_000.0 * months,
        "cooling_kwh": 25_000.0 * months,
        "facility_kwh": 130_000.0 * months,
        "pue": 1.3,
        "water_m3": 50.0 * months,
        "monthly": monthly,
    }


def bench_records() -> list[dict[str, Any]]:
    return [
        {
            "climate": "chicago",
            "controller": "baseline",
            "it_kwh": 1e6,
            "cooling_kwh": 3e5,
            "facility_kwh": 1_400_000.0,
            "pue": 1.4,
        },
        {
            "climate": "chicago",
            "controller": "ai",
            "it_kwh": 1e6,
            "cooling_kwh": 2e5,
            "facility_kwh": 1_280_000.0,
            "pue": 1.28,
        },
        {
            "climate": "tampa",
            "controller": "baseline",
            "it_kwh": 1e6,
            "cooling_kwh": 4e5,
            "facility_kwh": 1_500_000.0,
            "pue": 1.5,
        },
    ]


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps(run_summary()), encoding="utf-8")
    return folder


@pytest.fixture
def bench_file(tmp_path: Path) -> Path:
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench_records()), encoding="utf-8")
    return path


def compute(folder: Path, data: dict[str, Any]):
    return calculate(load_inventory(write_inventory(folder, data)))
