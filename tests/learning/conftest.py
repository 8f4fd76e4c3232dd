"""A small facility model and its file, for the tests that damage model files."""

from __future__ import annotations

from pathlib import Path

import pytest

from greendc.learning.facility_model import FacilityModel
from greendc.site.schema import Site
from greendc.telemetry.schema import Telemetry


@pytest.fixture(scope="session")
def small_model(exploration: Telemetry, exploration_site: Site) -> FacilityModel:
    """Three trees of four leaves per target: the same file layout as a real model, read in a millisecond or
    two, so that hundreds of damaged copies are tried in seconds."""
    return FacilityModel(n_estimators=3, num_leaves=4, random_state=0, n_jobs=1).fit(exploration, exploration_site)


@pytest.fixture(scope="session")
def small_model_bytes(small_model: FacilityModel, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = small_model.save(tmp_path_factory.mktemp("small-model") / "small.gdm")
    return Path(path).read_bytes()
