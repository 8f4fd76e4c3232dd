"""The sensor registry: one declaration per sensor, from which everything that lists sensors derives."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap

import pytest

from greendc.control.registry import make_controller
from greendc.site.schema import Site
from greendc.telemetry.contract import Action, Observation, ZoneObservation
from greendc.telemetry.schema import FACILITY_COLUMNS, PHYSICAL_RANGE, ZONE_COLUMNS, validate_telemetry
from greendc.telemetry.sensors import (
    FACILITY,
    SENSORS,
    ZONE,
    Derivation,
    Equipment,
    Reporting,
    Scope,
    Sensor,
    check_registry,
    cooling_power_columns,
)
from greendc.twin.builder import build_twin
from greendc.twin.runner import run_simulation
from tests.conftest import REPO


def test_every_sensor_says_what_it_is_and_where_the_twin_reads_it() -> None:
    for sensor in SENSORS:
        low, high = sensor.physical_range
        assert sensor.unit and sensor.meaning and low < high, sensor.column
        assert sensor.recorded != (sensor.derivation is not None), sensor.column
        # A pattern over the zone's object names; the IT load fraction reads the one schedule every zone's
        # servers share (tests/twin/test_it_load_fraction.py checks the builder gives them that one).
        if sensor.scope is Scope.ZONE and sensor.recorded and sensor is not ZONE.it_load_fraction:
            assert sensor.key.startswith("{names."), sensor.column
    assert len({(s.scope, s.column) for s in SENSORS}) == len(SENSORS)


def test_the_twins_telemetry_follows_the_registry(short_site: Site) -> None:
    twin = build_twin(short_site)
    frame = run_simulation(twin, make_controller("default")).telemetry
    zones = [zone.name for zone in short_site.zones]
    # Recorded sensors in registry order: the facility's, each zone's (those its equipment has), the plant's;
    # then the derived ones, each zone's and the facility's.
    has = {"West Hall": {Equipment.ALWAYS, Equipment.DX_COIL, Equipment.DIRECT_EVAPORATIVE,
                         Equipment.INDIRECT_EVAPORATIVE},
           "East Hall": {Equipment.ALWAYS, Equipment.DIRECT_EVAPORATIVE, Equipment.INDIRECT_EVAPORATIVE}}
    expected = ["time", *[s.column for s in FACILITY if s.recorded and s.equipment is Equipment.ALWAYS]]
    expected += [s.of(zone) for zone in zones for s in ZONE if s.recorded and s.equipment in has[zone]]
    expected += [s.column for s in FACILITY if s.recorded and s.equipment is Equipment.CHILLER_PLANT]
    expected += [s.of(zone) for s in ZONE if s.derivation for zone in zones]
    expected += [s.column for s in FACILITY if s.derivation]
    assert list(frame.columns) == expected
    # Derived columns are what the registry says they are.
    for zone in zones:
        it_w = frame[f"{zone}/it_cpu_power_w"] + frame[f"{zone}/it_fan_power_w"]
        assert (frame[ZONE.it_power_w.of(zone)] == it_w).all()
    assert frame["cooling_power_w"].equals(frame[cooling_power_columns(list(frame.columns))].sum(axis=1))
    assert "chiller_power_w" in cooling_power_columns(list(frame.columns))
    assert "tower_water_m3" not in cooling_power_columns(list(frame.columns))
    # Validation requires what the twin writes, and checks it against the registry's ranges.
    validated = validate_telemetry(frame)
    assert validated.zone_names == zones
    assert set(FACILITY_COLUMNS) <= set(frame.columns)
    assert all(f"{zone}/{column}" in frame for zone in zones for column in ZONE_COLUMNS)
    assert PHYSICAL_RANGE["inlet_dew_point_c"] == ZONE.inlet_dew_point_c.physical_range


def test_observations_and_actions_are_the_registrys_sensors_and_setpoints() -> None:
    assert set(ZoneObservation._fields) == {s.column for s in ZONE if s.observed}
    assert {s.column for s in FACILITY if s.observed} <= set(Observation._fields)
    assert set(Action._fields) == {s.column for s in SENSORS if s.setpoint}


@pytest.mark.parametrize(("broken", "message"), [
    (dataclasses.replace(ZONE.it_power_w, sources=("it_cpu_power_w", "no_such_power_w")), "unknown sources"),
    (dataclasses.replace(ZONE.inlet_temp_c, derivation=Derivation.SUM_OF_SOURCES), "either an EnergyPlus variable"),
    (dataclasses.replace(ZONE.inlet_temp_c, reporting=Reporting.HVAC_SUM), "two reportings"),
    (dataclasses.replace(FACILITY.it_power_w, physical_range=(0.0, 5.0)), "ranges differ"),
])
def test_a_registry_that_cannot_be_derived_from_is_refused(broken: Sensor, message: str) -> None:
    sensors = tuple(broken if (s.scope, s.column) == (broken.scope, broken.column) else s for s in SENSORS)
    if broken.reporting is Reporting.HVAC_SUM:  # a second sensor of the same variable, reported otherwise
        sensors = (*SENSORS, dataclasses.replace(broken, column="inlet_temp_copy_c"))
    with pytest.raises(ValueError, match=message):
        check_registry(sensors)


ADDED_SENSOR = '''
import importlib.util
import pathlib
import sys

import numpy as np
import yaml

# The registry with one more sensor, declared in one place only: each zone's supply-air humidity ratio.
spec = importlib.util.find_spec("greendc.telemetry.sensors")
source = pathlib.Path(spec.origin).read_text()
marker = "    # -- chiller plant (facility)"
assert source.count(marker) == 1
added = ('    Sensor("supply_air_humidity_ratio", "kg/kg", "supply-air humidity ratio", (0.0, 0.1), _Z, '
         '"System Node Humidity Ratio", "{names.supply_outlet_node}", _AVG, observed=True),\\n')
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
exec(compile(source.replace(marker, added + marker), spec.origin, "exec"), module.__dict__)

from greendc.site.schema import Site
from greendc.telemetry.contract import ZoneObservation, frozen
from greendc.telemetry.schema import PHYSICAL_RANGE
from greendc.twin.builder import build_twin
from greendc.twin.recorder import REPORTING, Reporting
from greendc.twin.runner import run_simulation

data = yaml.safe_load(open(sys.argv[1]))
data["simulation"] = {"begin_month": 7, "begin_day": 1, "end_month": 7, "end_day": 1}
seen = []

class Watch:
    name = "watch"
    def reset(self, context):
        from greendc.telemetry.contract import Action
        self.action = Action()
        return self.action
    def act(self, observation):
        seen.append((observation.zones["East Hall"].supply_air_humidity_ratio, frozen(observation)))
        return self.action

telemetry = run_simulation(build_twin(Site.model_validate(data)), Watch()).telemetry
column = "East Hall/supply_air_humidity_ratio"
columns = list(telemetry.columns)
assert columns.index(column) == columns.index("East Hall/indirect_evaporative_water_m3") + 1, columns
assert "supply_air_humidity_ratio" in ZoneObservation._fields
assert seen[-1][1].zones["East Hall"].supply_air_humidity_ratio == seen[-1][0]
assert PHYSICAL_RANGE["supply_air_humidity_ratio"] == (0.0, 0.1)
assert REPORTING["System Node Humidity Ratio"] is Reporting.HVAC_AVERAGE
live = np.array([value for value, _ in seen])
assert 0.001 < live.mean() < 0.03, live.mean()
# What controllers saw is the value at the end of each step, the telemetry the step's average: close.
np.testing.assert_allclose(live, telemetry[column].to_numpy(), rtol=0.05)
print("ok", len(live))
'''


def test_a_sensor_added_to_the_registry_reaches_telemetry_observations_and_validation(tmp_path) -> None:
    # In a fresh process, so the registry's import-time derivations run with the added sensor.
    script = tmp_path / "added_sensor.py"
    script.write_text(textwrap.dedent(ADDED_SENSOR))
    done = subprocess.run([sys.executable, str(script), str(REPO / "examples" / "sites" / "two-hall-chicago.yaml")],
                          capture_output=True, text=True, check=False, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["ok", str(24 * 4)]

