"""Shared fixtures: short run periods keep the suite fast; full years live in bench/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from greendc.learning.facility_model import FacilityModel
from greendc.site.schema import Site
from greendc.telemetry.schema import Telemetry, load_telemetry
from greendc.workflows.explore import write_site_file
from greendc.workflows.simulation import SimulationJob, save_outcome, simulate_many

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "sites"
EXAMPLE_SITE = EXAMPLES / "two-hall-chicago.yaml"


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


@pytest.fixture(scope="session")
def exploration_site() -> Site:
    """The example site as the exploration telemetry was recorded (eight July days in Chicago)."""
    return Site.model_validate(example_site_data(end_day=8))


@pytest.fixture(scope="session")
def exploration_dir(tmp_path_factory: pytest.TempPathFactory, exploration_site: Site) -> Path:
    """Eight July days of exploration telemetry of the example site (in-process, about 4 s)."""
    site = exploration_site
    [outcome] = simulate_many([SimulationJob(site, None, "explore", None, {"random_state": 3})], isolated=False)
    out = tmp_path_factory.mktemp("explore") / "chicago"
    save_outcome(outcome, out)
    write_site_file(site, out)  # as greendc explore does, so that greendc train finds the site
    return out


@pytest.fixture(scope="session")
def exploration(exploration_dir: Path) -> Telemetry:
    return load_telemetry(exploration_dir)


@pytest.fixture(scope="session")
def facility_model(exploration: Telemetry, exploration_site: Site) -> FacilityModel:
    """The facility model fitted on the exploration telemetry (about 4 s)."""
    return FacilityModel(random_state=0).fit(exploration, exploration_site)
