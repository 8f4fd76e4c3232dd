"""The point map: a template for every example site that loads back, Brick classes that exist, and every
bad entry refused with one line naming the field."""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

import pytest

from greendc.bms.points import BRICK_CLASSES, HEARTBEAT, PointMapError, load_point_map, site_path_of
from greendc.bms.template import point_map_template, point_map_yaml
from greendc.site.loader import load_site
from greendc.telemetry.sensors import FACILITY, ZONE

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "sites"


@pytest.mark.parametrize("site_file", ["two-hall-chicago.yaml", "three-hall-chilled-water.yaml"])
def test_the_template_maps_every_observed_sensor_and_setpoint_and_loads_back(site_file: str, tmp_path: Path) -> None:
    site, _ = load_site(EXAMPLES / site_file)
    path = tmp_path / "points.yaml"
    path.write_text(point_map_yaml(point_map_template(site, str(EXAMPLES / site_file))))
    point_map = load_point_map(path)
    names = {point.name for point in point_map.points}
    expected = {s.column for s in FACILITY if s.observed and (s.column != "chilled_water_setpoint_c"
                                                              or site.has_chiller_plant)}
    expected |= {f"{zone.name}/{s.column}" for zone in site.zones for s in ZONE if s.observed}
    assert expected | {HEARTBEAT, "clock"} == names
    assert site_path_of(point_map, path) == EXAMPLES / site_file
    for point in point_map.points:
        if point.sensor is not None and point.sensor.setpoint:
            assert point.write_priority == 13 and point.min is not None and point.max is not None


def test_a_dx_hall_is_a_crac_on_modbus_and_a_chilled_water_hall_a_crah_on_bacnet() -> None:
    site, _ = load_site(EXAMPLES / "two-hall-chicago.yaml")
    point_map = point_map_template(site, "site.yaml")
    protocols = {p.name: point_map.devices[p.device].protocol for p in point_map.points}
    assert protocols["West Hall/supply_air_setpoint_c"] == "modbus"  # West Hall cools with DX
    assert protocols["East Hall/supply_air_setpoint_c"] == "bacnet"
    assert protocols["facility_power_w"] == "modbus"


def test_every_brick_class_the_template_uses_is_one_of_brick() -> None:
    ontology = importlib.resources.files("brickschema") / "ontologies" / "1.2" / "Brick.ttl"
    classes = set(re.findall(r"^brick:(\w+) a owl:Class", ontology.read_text(encoding="utf-8"), re.MULTILINE))
    assert set(BRICK_CLASSES.values()) <= classes, set(BRICK_CLASSES.values()) - classes


def test_units_convert_to_the_registry_units(tmp_path: Path) -> None:
    site, _ = load_site(EXAMPLES / "two-hall-chicago.yaml")
    point_map = point_map_template(site, "site.yaml")
    power = point_map.point("facility_power_w")
    assert power is not None and power.unit == "kW"
    assert power.to_registry_unit(98.5) == pytest.approx(98_500.0)
    assert power.from_registry_unit(98_500.0) == pytest.approx(98.5)


_GOOD = """site: site.yaml
devices:
  bms: {protocol: bacnet, address: "127.0.0.1:47808", device_instance: 5}
  meter: {protocol: modbus, address: "127.0.0.1:5020", unit_id: 1}
points:
  - {name: West Hall/inlet_temp_c, device: bms, object_type: analog-input, instance: 1, unit: degC}
  - {name: West Hall/supply_air_setpoint_c, device: bms, object_type: analog-value, instance: 2, unit: degC,
     min: 12, max: 26}
  - {name: heartbeat, device: bms, object_type: analog-value, instance: 3, unit: count}
  - {name: it_power_w, device: meter, register_address: 0, unit: kW}
"""


def test_a_hand_written_map_loads(tmp_path: Path) -> None:
    path = tmp_path / "points.yaml"
    path.write_text(_GOOD)
    point_map = load_point_map(path)
    assert [p.write_priority for p in point_map.points if p.writable] == [13, 13]


@pytest.mark.parametrize(("change", "field", "words"), [
    (("min: 12, max: 26}", "min: 12, max: 26, priority: 8}"), "points[1].priority", "1-8 belong to life safety"),
    (("min: 12, max: 26}", "min: 12, max: 26, priority: 16}"), "points[1].priority", "16 to the BMS"),
    (("min: 12, max: 26}", "min: 12, max: 26, priority: 17}"), "points[1].priority", "less than or equal to 16"),
    (("min: 12, max: 26}", "max: 26}"), "points[1]", "needs min and max"),
    (("min: 12, max: 26}", "min: 30, max: 26}"), "points[1]", "above max"),
    (("instance: 1, unit: degC}", "instance: 1, unit: kW}"), "points[0]", "use degC or degF"),
    (("instance: 1, unit: degC}", "instance: 1, unit: degC, min: 3}"), "points[0]", "only read"),
    (("name: West Hall/inlet_temp_c", "name: West Hall/inlet_temperature"), "points[0].name", "not a zone sensor"),
    (("name: West Hall/inlet_temp_c", "name: inlet_temp_c"), "points[0].name", "write 'Zone Name/inlet_temp_c'"),
    (("device: meter, register_address: 0", "device: nowhere, register_address: 0"), "points[3].device",
     "no device 'nowhere'"),
    (("register_address: 0, unit: kW", "instance: 0, unit: kW"), "points[3].instance", "speaks modbus"),
    (("register_address: 0, unit: kW", "unit: kW"), "points[3].register_address", "required for a modbus point"),
    (("instance: 2, unit: degC", "instance: 3, unit: degC"), "points[2]", "already uses this address"),
    (("object_type: analog-value, instance: 2", "object_type: analog-input, instance: 2"),
     "points[1].object_type", "cannot be written"),
    (("  - {name: heartbeat, device: bms, object_type: analog-value, instance: 3, unit: count}\n", ""), "points",
     "needs a heartbeat point"),
    (('address: "127.0.0.1:47808"', 'address: "127.0.0.1"'), "devices.bms.address", "host:port"),
    (("device_instance: 5}", "device_instance: 5, unit_id: 3}"), "devices.bms", "unit_id is a Modbus field"),
    (("site: site.yaml", "site: site.yaml\ncolour: blue"), "colour", "unknown key"),
    (("instance: 1, unit: degC}", "instance: 1, unit: degC, scale: -1}"), "points[0].scale", "greater than 0"),
])
def test_a_bad_map_is_refused_naming_the_field(tmp_path: Path, change: tuple[str, str], field: str, words: str) -> None:
    assert change[0] in _GOOD
    path = tmp_path / "points.yaml"
    path.write_text(_GOOD.replace(change[0], change[1], 1))
    with pytest.raises(PointMapError) as caught:
        load_point_map(path)
    assert caught.value.field == field, str(caught.value)
    assert words in caught.value.message, str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_zone_the_site_lacks_is_refused(tmp_path: Path) -> None:
    from greendc.bms.points import check_points_against_site

    path = tmp_path / "points.yaml"
    path.write_text(_GOOD.replace("West Hall/inlet_temp_c", "North Hall/inlet_temp_c"))
    site, _ = load_site(EXAMPLES / "two-hall-chicago.yaml")
    with pytest.raises(PointMapError, match="no zone 'North Hall'"):
        check_points_against_site(load_point_map(path), site, path)
