"""A two-site fleet of short runs (two July days) for the fleet tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SITES = ("two-hall-chicago", "three-hall-chilled-water")


def write_short_site(folder: Path, name: str, days: int = 2) -> Path:
    """An example site cut to ``days`` July days, written into ``folder``."""
    data = yaml.safe_load((REPO / "examples" / "sites" / f"{name}.yaml").read_text())
    data["simulation"] = {"timesteps_per_hour": 4, "begin_month": 7, "begin_day": 1, "end_month": 7,
                          "end_day": days}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def write_fleet(folder: Path, **fields: Any) -> Path:
    """A fleet file of the two short example sites (default and trim-respond in Chicago), with ``fields`` over it."""
    for name in SITES:
        write_short_site(folder, name)
    data: dict[str, Any] = {"name": "test fleet", "controllers": ["default", "trim-respond"], "climates": ["chicago"],
                            "sites": [{"path": f"{name}.yaml"} for name in SITES], **fields}
    path = folder / "fleet.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def fleet_file(tmp_path: Path) -> Path:
    return write_fleet(tmp_path)


def require_ray() -> Any:
    """Ray, or a skip on a machine without it; never a skip in CI (``CI`` set), where the test extra installs it."""
    import os

    if os.environ.get("CI"):
        import ray

        return ray
    return pytest.importorskip("ray")
