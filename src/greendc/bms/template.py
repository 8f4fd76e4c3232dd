"""A complete point map for a site, as a starting point for the operator's own (``greendc points template``).

The layout is that of a typical data center: each chilled-water hall's air handler (CRAH) and the plant on one
BACnet/IP controller, each DX hall's CRAC on a Modbus TCP server with its own unit id, and the facility's
power meters on Modbus. Every observed sensor and every setpoint of the site is mapped, with its Brick class
and, for setpoints, the site's safe bounds; the served twin (``greendc bms serve``) uses the same layout, so
the template is also the map of the virtual building.
"""

from __future__ import annotations

from typing import Any

import yaml

from greendc.bms.points import BRICK_CLASSES, CLOCK, DEFAULT_PRIORITY, HEARTBEAT, PointMap
from greendc.site.schema import Bounds, Site
from greendc.telemetry.sensors import FACILITY, ZONE

#: Where the virtual building listens unless told otherwise.
DEFAULT_BACNET_ADDRESS = "127.0.0.1:47808"
DEFAULT_MODBUS_ADDRESS = "127.0.0.1:5020"
BACNET_DEVICE = "bms"
METER_DEVICE = "power-meter"
BACNET_DEVICE_INSTANCE = 599
#: Registry unit -> the unit the template maps it in (power meters report kW).
_TEMPLATE_UNITS = {"C": "degC", "W": "kW", "%": "percent"}
_FACILITY_READ = [s.column for s in FACILITY if s.observed and not s.setpoint]
_ZONE_READ = [s.column for s in ZONE if s.observed and not s.setpoint]
_ZONE_SETPOINTS = [s.column for s in ZONE if s.setpoint]
_UNIT_OF = {s.column: s.unit for s in (*FACILITY, *ZONE)}
#: BACnet instances: facility sensors from 1, each zone's block of 100 from 100 (sensors) and +50 (setpoints).
_ZONE_BLOCK = 100
_SETPOINT_OFFSET = 50


def point_map_template(site: Site, site_file: str, bacnet_address: str = DEFAULT_BACNET_ADDRESS,
                       modbus_address: str = DEFAULT_MODBUS_ADDRESS, watchdog_timeout_s: float = 60.0) -> PointMap:
    """The point map of ``site`` (named ``site_file`` in the map) on the template's devices."""
    devices: dict[str, Any] = {
        BACNET_DEVICE: {"protocol": "bacnet", "address": bacnet_address, "device_instance": BACNET_DEVICE_INSTANCE},
        METER_DEVICE: {"protocol": "modbus", "address": modbus_address, "unit_id": 1},
    }
    points: list[dict[str, Any]] = []
    for instance, column in enumerate(_FACILITY_READ, start=1):
        if _UNIT_OF[column] == "W":
            points.append(_modbus(column, METER_DEVICE, register=2 * (instance - 1), kind="input"))
        else:
            points.append(_bacnet(column, "analog-input", instance))
    if site.has_chiller_plant:
        points.append(_bacnet(FACILITY.chilled_water_setpoint_c.column, "analog-value", _SETPOINT_OFFSET,
                              bounds=site.setpoints.chilled_water_c))
    bounds = {ZONE.supply_air_setpoint_c.column: site.setpoints.supply_air_c,
              ZONE.zone_cooling_setpoint_c.column: site.setpoints.zone_cooling_c}
    for index, zone in enumerate(site.zones, start=1):
        if site.coil_of(zone) == "dx":
            device = f"crac-{index}"
            devices[device] = {"protocol": "modbus", "address": modbus_address, "unit_id": 1 + index}
            points += _crac_points(zone.name, device, bounds)
        else:
            base = _ZONE_BLOCK * index
            points += [_bacnet(f"{zone.name}/{column}", "analog-input", base + k)
                       for k, column in enumerate(_ZONE_READ)]
            points += [_bacnet(f"{zone.name}/{column}", "analog-value", base + _SETPOINT_OFFSET + k,
                               bounds=bounds[column]) for k, column in enumerate(_ZONE_SETPOINTS)]
    points.append(_bacnet(HEARTBEAT, "analog-value", 900, writable=True))
    points.append(_bacnet(CLOCK, "analog-input", 901))
    return PointMap.model_validate({"site": site_file, "watchdog_timeout_s": watchdog_timeout_s, "devices": devices,
                                    "points": points})


def _crac_points(zone: str, device: str, bounds: dict[str, Bounds]) -> list[dict[str, Any]]:
    """A CRAC's registers: its sensors as input registers, its setpoints as holding registers with an
    enable coil each."""
    points = [_modbus(f"{zone}/{column}", device, register=2 * k, kind="input") for k, column in enumerate(_ZONE_READ)]
    points += [_modbus(f"{zone}/{column}", device, register=2 * k, kind="holding", enable_coil=k, bounds=bounds[column])
               for k, column in enumerate(_ZONE_SETPOINTS)]
    return points


def _bacnet(name: str, object_type: str, instance: int, bounds: Bounds | None = None,
            writable: bool = False) -> dict[str, Any]:
    point: dict[str, Any] = {"name": name, "device": BACNET_DEVICE, "object_type": object_type, "instance": instance,
                             "unit": _unit(name), "brick_class": BRICK_CLASSES[name.rsplit("/", 1)[-1]]}
    if bounds is not None or writable:
        point["priority"] = DEFAULT_PRIORITY
    if bounds is not None:
        point["min"], point["max"] = bounds.min, bounds.max
    return point


def _modbus(name: str, device: str, register: int, kind: str, enable_coil: int | None = None,
            bounds: Bounds | None = None) -> dict[str, Any]:
    point: dict[str, Any] = {"name": name, "device": device, "register_address": register, "register_kind": kind,
                             "data_type": "float32", "unit": _unit(name),
                             "brick_class": BRICK_CLASSES[name.rsplit("/", 1)[-1]]}
    if enable_coil is not None:
        point["enable_coil"] = enable_coil
    if bounds is not None:
        point["min"], point["max"] = bounds.min, bounds.max
    return point


def _unit(name: str) -> str:
    column = name.rsplit("/", 1)[-1]
    if column == HEARTBEAT:
        return "count"
    if column == CLOCK:
        return "min"
    return _TEMPLATE_UNITS[_UNIT_OF[column]]


def point_map_yaml(point_map: PointMap) -> str:
    """The map as YAML, one point per line, with a header that says what to change."""
    data = point_map.model_dump(exclude_defaults=True)
    data["watchdog_timeout_s"] = point_map.watchdog_timeout_s
    header = ("# greendc point map: where each sensor and setpoint of the site lives on the BMS.\n"
              "# Written by `greendc points template`; change the addresses, object instances and registers to your\n"
              "# BMS's. Writable points carry the agent's priority (9-15) and the bounds it writes within.\n"
              "# BACnet/IP and Modbus TCP have no authentication: keep them on a segregated network.\n")
    body = yaml.safe_dump({k: data[k] for k in ("site", "watchdog_timeout_s", "devices")}, sort_keys=False)
    lines = ["points:"] + [f"  - {yaml.safe_dump(p, default_flow_style=True, sort_keys=False, width=10_000).strip()}"
                           for p in data["points"]]
    return header + body + "\n".join(lines) + "\n"

