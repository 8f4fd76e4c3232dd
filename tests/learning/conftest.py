from __future__ import annotations

from pathlib import Path

import pytest

from greendc.experiments import SimulationJob, save_outcome, simulate_many
from greendc.site.schema import Site
from greendc.telemetry.schema import Telemetry, load_telemetry
from tests.conftest import example_site_data


@pytest.fixture(scope="session")
def exploration_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight July days of exploration telemetry of the example site (in-process, about 4 s)."""
    site = Site.model_validate(example_site_data(end_day=8))
    [outcome] = simulate_many([SimulationJob(site, None, "explore", None, {"random_state": 3})], isolated=False)
    out = tmp_path_factory.mktemp("explore") / "chicago"
    save_outcome(outcome, out)
    return out


@pytest.fixture(scope="session")
def exploration(exploration_dir: Path) -> Telemetry:
    return load_telemetry(exploration_dir)
