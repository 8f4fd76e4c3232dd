"""The twin records the servers' utilisation (``<zone>/it_load_fraction``): the IT load schedule it runs on.

Measurement and verification regresses cooling energy on an IT signal the control measure does not change;
measured IT power is not one (warmer inlets speed the servers' fans up), the utilisation is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import example_site_data

from greendc.control.registry import make_controller
from greendc.learning.facility_model import FacilityModel
from greendc.site.schema import Site
from greendc.telemetry.schema import OPTIONAL_ZONE_COLUMNS, Telemetry, TelemetryError, validate_telemetry
from greendc.telemetry.sensors import ZONE, Validation
from greendc.twin.builder import build_twin
from greendc.twin.runner import run_simulation

COLUMN = ZONE.it_load_fraction


def _hour_of_year(times: pd.Series) -> np.ndarray:
    """The hour of the year (0-8759) each timestep lies in: telemetry stamps a step with its end."""
    start = pd.Timestamp(times.iloc[0].year, 1, 1)
    return ((times - pd.Timedelta(minutes=1) - start) // pd.Timedelta(hours=1)).to_numpy()


def test_every_zones_servers_run_on_the_schedule_the_registry_reads(short_site: Site) -> None:
    # The registry keys the sensor by the schedule's name, not through the zone's names: check it is the one.
    model = build_twin(short_site).epjson
    schedules = {name for kind, objects in model.items() if kind.startswith("Schedule:") for name in objects}
    assert COLUMN.key in schedules
    loading = {ite["cpu_loading_schedule_name"] for ite in model["ElectricEquipment:ITE:AirCooled"].values()}
    assert loading == {COLUMN.key}


def test_a_short_run_records_the_sites_load_schedule_in_every_zone() -> None:
    site = Site.model_validate(example_site_data(end_day=2))
    schedule = site.it_load
    assert schedule.kind == "schedule" and schedule.weekday_fractions == schedule.weekend_fractions
    frame = run_simulation(build_twin(site), make_controller("trim-respond")).telemetry
    hour_of_day = _hour_of_year(frame["time"]) % 24
    expected = np.asarray(schedule.weekday_fractions)[hour_of_day]
    for zone in site.zones:
        np.testing.assert_allclose(frame[COLUMN.of(zone.name)].to_numpy(), expected, rtol=0, atol=1e-12)
    # Validation keeps it and checks its range, but does not require it of a user's own telemetry.
    assert COLUMN.column in OPTIONAL_ZONE_COLUMNS
    validated = validate_telemetry(frame).frame
    assert validated[COLUMN.of(site.zones[0].name)].notna().all()
    validate_telemetry(frame.drop(columns=[COLUMN.of(zone.name) for zone in site.zones]))


def test_a_csv_load_is_recorded_hour_by_hour(tmp_path: Path) -> None:
    # A different value in every hour of the year, so that an hour's offset could not pass.
    hours = np.arange(8760)
    fractions = 0.3 + 0.6 * ((hours * 37) % 101) / 100
    pd.DataFrame({"fraction": np.round(fractions, 5)}).to_csv(tmp_path / "load.csv", index=False)
    data = example_site_data(begin_month=3, begin_day=14, end_month=3, end_day=14)
    data["it_load"] = {"kind": "csv", "path": "load.csv", "column": "fraction"}
    site = Site.model_validate(data)
    frame = run_simulation(build_twin(site, site_dir=tmp_path), make_controller("default")).telemetry
    expected = np.round(fractions, 5)[_hour_of_year(frame["time"])]
    for zone in site.zones:
        np.testing.assert_allclose(frame[COLUMN.of(zone.name)].to_numpy(), expected, rtol=0, atol=1e-9)


def test_the_facility_model_does_not_learn_from_it(exploration: Telemetry, facility_model: FacilityModel) -> None:
    # Recorded, not observed: the ai's model and its input guards stay as they were, though its training
    # telemetry holds the column.
    assert not COLUMN.observed
    assert COLUMN.of(exploration.zone_names[0]) in exploration.frame
    assert not any(COLUMN.column in name for name in facility_model.feature_names_)


def test_utilisation_given_in_percent_is_refused_with_a_hint() -> None:
    # A BMS or DCIM reports utilisation in percent more often than not; the column holds a fraction.
    frame = pd.DataFrame({"time": pd.date_range("2001-07-01 00:15", periods=8, freq="15min"),
                          "outdoor_dry_bulb_c": 20.0, "outdoor_wet_bulb_c": 15.0, "outdoor_relative_humidity_pct": 50.0,
                          "it_power_w": 9e4, "cooling_power_w": 2e4, "facility_power_w": 1.2e5})
    for sensor in ZONE:
        if sensor.validation is Validation.REQUIRED:
            frame[sensor.of("Hall")] = 20.0 if sensor.column.endswith("_c") else 9e4
    frame[COLUMN.of("Hall")] = 0.62
    assert validate_telemetry(frame).frame[COLUMN.of("Hall")].eq(0.62).all()
    frame[COLUMN.of("Hall")] = 62.0
    with pytest.raises(TelemetryError, match=r"Hall/it_load_fraction.*look like percent"):
        validate_telemetry(frame)
