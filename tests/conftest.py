"""Shared fixtures: short run periods keep the suite fast; full years live in bench/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from greendc.site.schema import Site

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_SITE = REPO / "examples" / "sites" / "two-hall-chicago.yaml"


def example_site_data(**simulation: Any) -> dict[str, Any]:
    data = yaml.safe_load(EXAMPLE_SITE.read_text())
    data["simulation"] = {"timesteps_per_hour": 4, "begin_month": 7, "begin_day": 1, "end_month": 7,
                          "end_day": 3, **simulation}
    return data


@pytest.fixture
def short_site() -> Site:
    """The example site for three July days in Chicago."""
    return Site.model_validate(example_site_data())


@pytest.fixture
def short_site_file(tmp_path: Path) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(example_site_data()))
    return path
