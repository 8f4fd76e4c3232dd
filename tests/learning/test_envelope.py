"""The model records what it learned from, and a site it was not trained for is refused or warned about."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from greendc.errors import UsageError
from greendc.learning.envelope import (
    ModelMismatchError,
    TrainingEnvelope,
    ValueRange,
    check_model_for_site,
    compare_with_site,
)
from greendc.learning.facility_model import FacilityModel, holdout_mask
from greendc.learning.features import feature_names, training_table
from greendc.site.fingerprint import site_fingerprint
from greendc.site.schema import Site
from greendc.telemetry.schema import Telemetry
from greendc.twin.builder import control_context
from tests.conftest import example_site_data

ZONES = ["West Hall", "East Hall"]


def _site(change: Any = None) -> Site:
    data = copy.deepcopy(example_site_data(end_day=8))
    if change is not None:
        change(data)
    return Site.model_validate(data)


@pytest.fixture(scope="module")
def envelope(facility_model: FacilityModel) -> TrainingEnvelope:
    return facility_model.envelope_


def test_the_envelope_records_the_site_and_the_range_of_every_feature(facility_model: FacilityModel,
                                                                      exploration: Telemetry,
                                                                      exploration_site: Site) -> None:
    envelope = facility_model.envelope_
    assert envelope.site_name == exploration_site.name
    assert envelope.site_fingerprint == site_fingerprint(exploration_site)
    assert envelope.zone_names == ZONES
    # 232 m2 and 259 m2 at 200 W/m2
    assert envelope.zone_it_design_power_w == pytest.approx({"West Hall": 46_400.0, "East Hall": 51_800.0})
    assert envelope.setpoint_bounds["supply_air_c"] == ValueRange(min=12.0, max=26.0)
    assert envelope.setpoint_bounds["chilled_water_c"] == ValueRange(min=5.0, max=15.0)
    assert list(envelope.feature_ranges) == feature_names(ZONES, True)
    # The ranges are those of the rows the trees were fitted on, not of the held-out ones.
    table = training_table(exploration, True)
    fitted = table.features[~holdout_mask(table.episode, facility_model.holdout_fraction)]
    dry_bulb = envelope.feature_ranges["state:outdoor_dry_bulb_c"]
    assert (dry_bulb.min, dry_bulb.max) == (fitted["state:outdoor_dry_bulb_c"].min(),
                                            fitted["state:outdoor_dry_bulb_c"].max())
    supply = envelope.feature_ranges["West Hall/supply_air_setpoint_c"]
    assert 12.0 <= supply.min < supply.max <= 26.0
    load = envelope.zone_it_load_fraction["East Hall"]
    assert load.max == pytest.approx(fitted["state:East Hall/it_power_w"].max() / 51_800.0)
    assert 0.3 < load.min < load.max < 1.2
    assert envelope.training_period == facility_model.training_period_


def test_the_envelope_round_trips_through_the_model_file(facility_model: FacilityModel, tmp_path: Path) -> None:
    loaded = FacilityModel.load(facility_model.save(tmp_path / "model.gdm"))
    assert loaded.envelope_ == facility_model.envelope_
    assert loaded.calibration_ == facility_model.calibration_
    np.testing.assert_array_equal(loaded.inlet_std_calibration(), facility_model.inlet_std_calibration())
    assert loaded.cooling_power_std_w() == facility_model.cooling_power_std_w()


def test_a_value_range_contains_finite_values_only() -> None:
    span = ValueRange(min=12.0, max=26.0)
    assert span.contains(12.0) and span.contains(26.0) and not span.contains(26.01)
    assert span.contains(26.4, tolerance=0.5) and not span.contains(11.4, tolerance=0.5)
    assert not span.contains(math.nan) and not span.contains(None)  # type: ignore[arg-type]
    for bad in ({"min": 2.0, "max": 1.0}, {"min": 0.0, "max": math.inf}, {"min": math.nan, "max": 1.0},
                {"min": "1", "max": 2.0}, {"min": 0.0, "max": 1.0, "unit": "C"}):
        with pytest.raises(ValidationError):
            ValueRange(**bad)
    with pytest.raises(ValidationError):
        span.min = 0.0  # type: ignore[misc]  # frozen


def test_the_training_site_itself_passes_without_a_word(envelope: TrainingEnvelope) -> None:
    check = compare_with_site(envelope, control_context(_site()))
    assert check.refusals == [] and check.warnings == []
    assert check_model_for_site(envelope, control_context(_site())) == []


def test_other_zone_names_are_refused(envelope: TrainingEnvelope) -> None:
    check = compare_with_site(envelope, control_context(_site(lambda d: d["zones"][1].update(name="Hall B"))))
    assert check.refusals == ["trained for zones ['West Hall', 'East Hall'], the site has ['West Hall', 'Hall B']"]


def test_design_power_25_percent_above_is_refused_and_10_percent_warned(envelope: TrainingEnvelope) -> None:
    more = compare_with_site(envelope, control_context(
        _site(lambda d: d["zones"][0].update(it_design_power_density_w_per_m2=250))))
    assert more.refusals == ["West Hall's IT design power is 58 kW, 25 % above the 46 kW trained on"]
    assert more.warnings[-1].startswith("the site's plant")  # the zones are part of the fingerprint
    some = compare_with_site(envelope, control_context(
        _site(lambda d: d["zones"][1].update(it_design_power_density_w_per_m2=180))))
    assert some.refusals == []
    assert some.warnings[0] == "East Hall's IT design power is 47 kW, 10 % below the 52 kW trained on"


def test_widened_setpoint_bounds_are_warned_about_by_name(envelope: TrainingEnvelope) -> None:
    check = compare_with_site(envelope, control_context(
        _site(lambda d: d["setpoints"].update(supply_air_c={"min": 12, "max": 28}))))
    assert check.refusals == []
    assert check.warnings == ["supply-air setpoint bounds 12-28 C at the site, 12-26 C in training (wider: the "
                              "model has not seen setpoints beyond the trained ones)"]


def test_another_recirculation_changes_the_fingerprint(envelope: TrainingEnvelope) -> None:
    site = _site(lambda d: d.update(recirculation_fraction=0.2))
    check = compare_with_site(envelope, control_context(site))
    assert check.refusals == []
    assert check.warnings == [f"the site's plant (zones, servers, UPS, recirculation, cooling) differs from the "
                              f"training site 'Two-hall example data center''s (fingerprint {site_fingerprint(site)}, "
                              f"trained on {envelope.site_fingerprint})"]


def test_refusals_are_one_line_unless_the_mismatch_is_accepted(envelope: TrainingEnvelope) -> None:
    def change(data: dict[str, Any]) -> None:
        data["zones"][0].update(it_design_power_density_w_per_m2=300)
        data["zones"][1].update(it_design_power_density_w_per_m2=100)
        data["setpoints"].update(zone_cooling_c={"min": 20, "max": 30})

    context = control_context(_site(change))
    with pytest.raises(ModelMismatchError) as caught:
        check_model_for_site(envelope, context)
    message = str(caught.value)
    assert isinstance(caught.value, UsageError) and "\n" not in message
    assert message == ("the facility model does not fit this site: West Hall's IT design power is 70 kW, 50 % "
                       "above the 46 kW trained on; East Hall's IT design power is 26 kW, 50 % below the 52 kW "
                       "trained on (give --accept-model-mismatch to use it anyway)")
    warnings = check_model_for_site(envelope, context, accept_mismatch=True)
    assert warnings[:2] == compare_with_site(envelope, context).refusals
    assert any(line.startswith("zone-cooling setpoint bounds 20-30 C at the site, 18-30 C in training (narrower")
               for line in warnings)
    assert all("\n" not in line and len(line) < 200 for line in warnings)


def test_unknown_site_facts_are_not_compared(envelope: TrainingEnvelope) -> None:
    from dataclasses import replace

    context = replace(control_context(_site(lambda d: d["zones"][0].update(it_design_power_density_w_per_m2=400))),
                      zone_it_design_power_w={}, site_fingerprint="")
    assert compare_with_site(envelope, context).refusals == []
