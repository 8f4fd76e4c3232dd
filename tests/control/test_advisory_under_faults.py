"""Advisory mode is passive under every fault kind: the site's own control runs as without greendc.

Each case runs the example site's twin for two July days under the ai in advisory mode, its sensors read
through one fault (``greendc.telemetry.faults``) from the first morning on, and compares the recorded telemetry
with the site's own control alone (``default``) to the bit; the ai's log must hold its recommendations only.
"""

from __future__ import annotations

import pandas as pd
import pytest

from greendc.control.ai import AIController
from greendc.control.baselines import DefaultController
from greendc.learning.facility_model import FacilityModel
from greendc.site.schema import Site
from greendc.telemetry.faults import FaultInjectingController, SensorFault
from greendc.twin.builder import build_twin
from greendc.twin.runner import run_simulation
from tests.conftest import example_site_data

WINDOW = {"start": "07-01 06:00", "hours": 30}
FAULTS = {
    "nan": [{"sensor": "West Hall/*", "kind": "nan"}],
    "none": [{"sensor": "West Hall/inlet_temp_c", "kind": "none"}],
    "stuck": [{"sensor": "East Hall/inlet_temp_c", "kind": "stuck"}],
    "offset": [{"sensor": "West Hall/inlet_temp_c", "kind": "offset", "value_k": 4.0}],
    "spike": [{"sensor": "West Hall/inlet_temp_c", "kind": "spike", "value_k": 15.0, "every_hours": 6,
               "for_hours": 1}],
    "stale": [{"sensor": "outdoor_dry_bulb_c", "kind": "stale", "every_hours": 3}],
}

#: A guard each fault must make fire (so that the case tests a controller that noticed it).
EXPECTED_GUARD = {"nan": "missing-input", "none": "missing-input", "spike": "implausible-sensor"}


@pytest.fixture(scope="module")
def twin_and_site_alone():
    twin = build_twin(Site.model_validate(example_site_data(end_day=2)))
    return twin, run_simulation(twin, DefaultController()).telemetry


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_advisory_mode_is_passive_under_every_fault_kind(facility_model: FacilityModel, twin_and_site_alone,
                                                         kind: str) -> None:
    twin, site_alone = twin_and_site_alone
    advisory = AIController(model=facility_model, mode="advisory")
    faults = [SensorFault.model_validate({**entry, **WINDOW}) for entry in FAULTS[kind]]
    result = run_simulation(twin, FaultInjectingController(advisory, faults))
    pd.testing.assert_frame_equal(result.telemetry, site_alone)
    assert {record.applied for record in advisory.decision_log} == {"site"}
    guards = {record.guard for record in advisory.decision_log}
    assert EXPECTED_GUARD.get(kind, "none") in guards  # the fault was seen, and still nothing was written
