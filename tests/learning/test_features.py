"""The facility model's columns come from the sensor registry, and each row pairs state, action and outcome."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from greendc.learning.features import action_columns, feature_names, target_names, training_table
from greendc.telemetry.schema import FACILITY_COLUMNS, OPTIONAL_COLUMNS, ZONE_COLUMNS, Telemetry, validate_telemetry
from greendc.telemetry.sensors import FACILITY, ZONE

ZONES = ["A", "B"]


def _telemetry(steps: int = 6, plant: bool = True) -> Telemetry:
    """One episode of telemetry with every column validation requires, each value telling its step (and zone)."""
    frame = pd.DataFrame({"time": pd.date_range("2001-07-01 00:15", periods=steps, freq="15min")})
    step = np.arange(steps, dtype=float)
    for column in FACILITY_COLUMNS:
        frame[column] = 20.0 + step
    for offset, zone in enumerate(ZONES):
        for column in ZONE_COLUMNS:
            frame[f"{zone}/{column}"] = 20.0 + step + 0.5 * offset
    if plant:
        for column in OPTIONAL_COLUMNS:
            frame[column] = 7.0 + step
    telemetry = validate_telemetry(frame)
    return dataclasses.replace(telemetry, frame=telemetry.frame.assign(episode=0))  # as load_telemetry numbers files


def test_the_actions_are_the_registrys_setpoints_and_the_targets_its_outcomes() -> None:
    setpoints = [s.of("A") for s in ZONE if s.setpoint] + [s.of("B") for s in ZONE if s.setpoint]
    assert action_columns(ZONES, True) == [*setpoints, FACILITY.chilled_water_setpoint_c.column]
    assert action_columns(ZONES, False) == setpoints
    assert target_names(ZONES) == [FACILITY.cooling_power_w.column, FACILITY.it_power_w.column,
                                   ZONE.inlet_temp_c.of("A"), ZONE.inlet_temp_c.of("B")]
    names = feature_names(ZONES, True)
    assert names[:4] == [f"state:{s.column}" for s in (FACILITY.outdoor_dry_bulb_c, FACILITY.outdoor_wet_bulb_c,
                                                       FACILITY.outdoor_relative_humidity_pct, FACILITY.it_power_w)]
    assert names[-len(action_columns(ZONES, True)):] == action_columns(ZONES, True)


def test_each_row_pairs_the_previous_state_with_the_action_and_its_outcome() -> None:
    table = training_table(_telemetry(), has_chiller_plant=True)
    # Rows need a step before and after: steps 1-4 of 0-5.
    assert len(table.features) == 4
    first = table.features.iloc[0]
    assert first["state:outdoor_dry_bulb_c"] == 20.0  # step 0
    assert first["state:B/it_power_w"] == 20.5
    assert first["A/supply_air_setpoint_c"] == 21.0 and first["chilled_water_setpoint_c"] == 8.0  # step 1
    outcome = table.targets.iloc[0]
    assert outcome["cooling_power_w"] == 21.0  # during the action's own step
    assert outcome["it_power_w"] == 22.0 and outcome["B/inlet_temp_c"] == 22.5  # the step after
    assert list(table.features.columns) == feature_names(ZONES, True)
    assert list(table.targets.columns) == target_names(ZONES)


def test_a_plant_site_needs_its_chilled_water_setpoint() -> None:
    with pytest.raises(ValueError, match="missing column 'chilled_water_setpoint_c'"):
        training_table(_telemetry(plant=False), has_chiller_plant=True)
