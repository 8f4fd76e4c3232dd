"""The point map: where each sensor and setpoint of a site lives on its building management system.

A point map is a YAML file an operator writes for their BMS (``greendc points template SITE`` writes a
complete one for a site as a starting point)::

    site: my-site.yaml                  # relative to this file
    watchdog_timeout_s: 60              # the building drops the agent's commands after this long unheard
    devices:
      ahu-controller: {protocol: bacnet, address: "127.0.0.1:47808", device_instance: 599}
      power-meter: {protocol: modbus, address: "127.0.0.1:5020", unit_id: 1}
    points:
      - {name: West Hall/inlet_temp_c, device: ahu-controller, object_type: analog-input, instance: 1,
         unit: degC, brick_class: Air_Temperature_Sensor}
      - {name: West Hall/supply_air_setpoint_c, device: ahu-controller, object_type: analog-value,
         instance: 101, unit: degC, priority: 13, min: 12, max: 26}
      - {name: it_power_w, device: power-meter, register_address: 0, register_kind: input, data_type: float32,
         unit: kW, scale: 1}
      - {name: heartbeat, device: ahu-controller, object_type: analog-value, instance: 900, unit: count}

A point's ``name`` is a telemetry column of the sensor registry (``greendc.telemetry.sensors``): an observed
sensor (``outdoor_dry_bulb_c``, ``West Hall/inlet_temp_c``) or a setpoint (``West Hall/supply_air_setpoint_c``),
or one of two service points: ``heartbeat``, which the agent writes every control step so that the building
can tell it is alive (ASHRAE 135 has no heartbeat of its own; VOLTTRON's BACnet proxy uses the same
pattern), and ``clock``, the building's time (minutes since 1 January 00:00), which lets the agent act once per
control step of a building whose clock is not the wall clock, such as the twin served faster than real time.

Writable points (setpoints and the heartbeat) carry the write priority (BACnet, ASHRAE 135 clause 19.2: 1-16,
1 highest; 1-8 belong to life safety and the operator and 16 is the BMS's own default slot, so the agent may
use 9-15, 13 by default) and, for setpoints, the bounds the agent stays within. Modbus (Modbus Application
Protocol v1.1b3) has no priorities and no "null": a writable Modbus point names an ``enable_coil`` that
switches the remote command on (1) and gives control back to the device (0), as CRAC controllers' "remote
setpoint enable" does. Registers hold ``data_type`` values in ``byte_order`` and, for 32-bit types,
``word_order``; the value in the point's ``unit`` is the register's integer times ``scale``.

Everything here is data; :mod:`greendc.bms.bacnet` and :mod:`greendc.bms.modbus` speak the protocols.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from greendc.files import InputFileError, load_yaml_mapping
from greendc.site.schema import Site
from greendc.telemetry.sensors import FACILITY, ZONE, Sensor
from greendc.validation import bracketed, first_problem

#: The service points, beside the registry's columns.
HEARTBEAT = "heartbeat"
CLOCK = "clock"
#: The agent's default write priority (ASHRAE 135: 13 is free in most BMS conventions).
DEFAULT_PRIORITY = 13
#: Priorities the agent may not use: life safety and the operator (1-8) and the BMS's own default (16).
RESERVED_PRIORITIES = frozenset([*range(1, 9), 16])
#: The largest BACnet object instance (22 bits, 4194303 meaning "no instance").
MAX_BACNET_INSTANCE = 4_194_302

Protocol = Literal["bacnet", "modbus"]
ObjectType = Literal["analog-input", "analog-value", "analog-output"]
DataType = Literal["int16", "uint16", "int32", "uint32", "float32"]
Order = Literal["big", "little"]

#: Units a point may be in, for each unit of the registry, and the factor and offset to the registry's unit:
#: registry value = point value * factor + offset.
UNITS: dict[str, dict[str, tuple[float, float]]] = {
    "C": {"degC": (1.0, 0.0), "degF": (5.0 / 9.0, -32.0 * 5.0 / 9.0)},
    "W": {"W": (1.0, 0.0), "kW": (1000.0, 0.0)},
    "%": {"percent": (1.0, 0.0)},
}
SERVICE_UNITS = {HEARTBEAT: "count", CLOCK: "min"}

#: The Brick class (Brick Schema 1.2) each registry column is, for the template.
BRICK_CLASSES = {
    FACILITY.outdoor_dry_bulb_c.column: "Outside_Air_Temperature_Sensor",
    FACILITY.outdoor_wet_bulb_c.column: "Outside_Air_Wet_Bulb_Temperature_Sensor",
    FACILITY.outdoor_relative_humidity_pct.column: "Outside_Air_Humidity_Sensor",
    FACILITY.outdoor_dew_point_c.column: "Outside_Air_Dewpoint_Sensor",
    FACILITY.it_power_w.column: "Electrical_Power_Sensor",
    FACILITY.cooling_power_w.column: "Electrical_Power_Sensor",
    FACILITY.facility_power_w.column: "Electrical_Power_Sensor",
    ZONE.supply_fan_power_w.column: "Electrical_Power_Sensor",
    FACILITY.chilled_water_setpoint_c.column: "Supply_Chilled_Water_Temperature_Setpoint",
    ZONE.inlet_temp_c.column: "Air_Temperature_Sensor",
    ZONE.inlet_dew_point_c.column: "Dewpoint_Sensor",
    ZONE.inlet_relative_humidity_pct.column: "Relative_Humidity_Sensor",
    ZONE.zone_air_temp_c.column: "Zone_Air_Temperature_Sensor",
    ZONE.supply_air_temp_c.column: "Supply_Air_Temperature_Sensor",
    ZONE.supply_air_setpoint_c.column: "Supply_Air_Temperature_Setpoint",
    ZONE.zone_cooling_setpoint_c.column: "Zone_Air_Cooling_Temperature_Setpoint",
    HEARTBEAT: "Status",
    CLOCK: "Time_Setpoint",
}

_ZONE_SENSORS = {sensor.column: sensor for sensor in ZONE if sensor.observed or sensor.setpoint}
_FACILITY_SENSORS = {sensor.column: sensor for sensor in FACILITY if sensor.observed or sensor.setpoint}
_ADDRESS = re.compile(r"(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})")
_BRICK = re.compile(r"[A-Z][A-Za-z0-9]*(_[A-Za-z0-9]+)*")


class PointMapError(InputFileError):
    """A point map that cannot be used: ``file: points[3].register_address: message``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Device(_Strict):
    """A BACnet/IP device or a Modbus TCP server."""

    protocol: Protocol
    #: ``host:port`` (BACnet/IP: UDP, 47808 by default; Modbus TCP: 502).
    address: str = Field(max_length=300)
    #: BACnet: the device object's instance.
    device_instance: Annotated[int, Field(ge=0, le=MAX_BACNET_INSTANCE)] | None = None
    #: Modbus: the unit (slave) id.
    unit_id: Annotated[int, Field(ge=0, le=247)] | None = None
    #: How long one request may take before the device counts as unreachable, s.
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0

    @field_validator("address")
    @classmethod
    def _host_and_port(cls, address: str) -> str:
        match = _ADDRESS.fullmatch(address)
        if match is None or not 0 < int(match["port"]) < 65536:
            raise ValueError("must be host:port, e.g. 127.0.0.1:47808, with a port 1-65535")
        return address

    @model_validator(mode="after")
    def _fields_of_its_protocol(self) -> Device:
        if self.protocol == "bacnet" and self.unit_id is not None:
            raise ValueError("unit_id is a Modbus field; a BACnet device has device_instance")
        if self.protocol == "modbus" and self.device_instance is not None:
            raise ValueError("device_instance is a BACnet field; a Modbus device has unit_id")
        return self

    @property
    def host(self) -> str:
        return self.address.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])


class Point(_Strict):
    """One sensor, setpoint or service point on one device (see the module docstring)."""

    name: str = Field(min_length=1, max_length=300)
    device: str = Field(min_length=1, max_length=100)
    unit: str = Field(min_length=1, max_length=20)
    brick_class: str | None = Field(default=None, max_length=100)
    # BACnet
    object_type: ObjectType | None = None
    instance: Annotated[int, Field(ge=0, le=MAX_BACNET_INSTANCE)] | None = None
    # Modbus
    register_address: Annotated[int, Field(ge=0, le=65535)] | None = None
    register_kind: Literal["holding", "input"] | None = None
    data_type: DataType = "float32"
    scale: Annotated[float, Field(gt=0)] = 1.0
    byte_order: Order = "big"
    word_order: Order = "big"
    enable_coil: Annotated[int, Field(ge=0, le=65535)] | None = None
    # Writable points
    priority: Annotated[int, Field(ge=1, le=16)] | None = None
    min: float | None = None
    max: float | None = None

    @field_validator("name")
    @classmethod
    def _known_name(cls, name: str) -> str:
        zone, column = split_name(name)
        if zone is None:
            if column in (HEARTBEAT, CLOCK) or column in _FACILITY_SENSORS:
                return name
            if column in _ZONE_SENSORS:
                raise ValueError(f"{column} is a zone sensor: write 'Zone Name/{column}'")
            raise ValueError(f"not a sensor or setpoint greendc observes or sets; choose from "
                             f"{', '.join(sorted(_FACILITY_SENSORS))}, {HEARTBEAT}, {CLOCK}, or "
                             f"'Zone Name/<one of {', '.join(sorted(_ZONE_SENSORS))}>'")
        if not zone.strip():
            raise ValueError("the zone name before the '/' is empty")
        if column not in _ZONE_SENSORS:
            raise ValueError(f"not a zone sensor or setpoint greendc observes or sets; choose from "
                             f"{', '.join(sorted(_ZONE_SENSORS))}")
        return name

    @field_validator("brick_class")
    @classmethod
    def _brick_name(cls, brick_class: str | None) -> str | None:
        if brick_class is not None and _BRICK.fullmatch(brick_class) is None:
            raise ValueError("must be a Brick class name such as Supply_Air_Temperature_Sensor")
        return brick_class

    @field_validator("priority")
    @classmethod
    def _agent_priority(cls, priority: int | None) -> int | None:
        if priority in RESERVED_PRIORITIES:
            raise ValueError("priorities 1-8 belong to life safety and the operator and 16 to the BMS's own "
                             "control; use 9-15 (13 is the default)")
        return priority

    @model_validator(mode="after")
    def _consistent(self) -> Point:
        _check_unit(self)
        _check_writable(self)
        return self

    @property
    def zone(self) -> str | None:
        return split_name(self.name)[0]

    @property
    def column(self) -> str:
        return split_name(self.name)[1]

    @property
    def sensor(self) -> Sensor | None:
        """The registry's sensor of this point (None for the service points)."""
        zone, column = split_name(self.name)
        return (_ZONE_SENSORS if zone is not None else _FACILITY_SENSORS).get(column)

    @property
    def writable(self) -> bool:
        """Whether the agent writes this point: a setpoint or the heartbeat."""
        return self.column == HEARTBEAT or (self.sensor is not None and self.sensor.setpoint)

    @property
    def write_priority(self) -> int:
        return self.priority if self.priority is not None else DEFAULT_PRIORITY

    def to_registry_unit(self, value: float) -> float:
        """A value read in the point's unit, in the registry's unit (C, W, %)."""
        factor, offset = _conversion(self)
        return value * factor + offset

    def from_registry_unit(self, value: float) -> float:
        """A value in the registry's unit, in the point's unit (what is written)."""
        factor, offset = _conversion(self)
        return (value - offset) / factor


def split_name(name: str) -> tuple[str | None, str]:
    """``(zone, column)`` of a point's name: ``(None, column)`` for a facility or service point."""
    if "/" not in name:
        return None, name
    zone, column = name.rsplit("/", 1)
    return zone, column


def _conversion(point: Point) -> tuple[float, float]:
    sensor = point.sensor
    return (1.0, 0.0) if sensor is None else UNITS[sensor.unit][point.unit]


def _check_unit(point: Point) -> None:
    sensor = point.sensor
    allowed = [SERVICE_UNITS[point.column]] if sensor is None else list(UNITS.get(sensor.unit, {}))
    if point.unit not in allowed:
        raise ValueError(f"unit {point.unit!r} is not one {point.name} can be in; use {' or '.join(allowed)}")


def _check_writable(point: Point) -> None:
    is_setpoint = point.sensor is not None and point.sensor.setpoint
    if not point.writable:
        for field in ("priority", "min", "max", "enable_coil"):
            if getattr(point, field) is not None:
                raise ValueError(f"{field} is for a point the agent writes (a setpoint or the heartbeat); "
                                 f"{point.name} is only read")
        return
    if is_setpoint and (point.min is None or point.max is None):
        raise ValueError(f"a setpoint needs min and max: the bounds the agent writes {point.name} within")
    if point.min is not None and point.max is not None and point.min > point.max:
        raise ValueError(f"min ({point.min:g}) is above max ({point.max:g})")
    if point.register_kind == "input":
        raise ValueError("a written Modbus point is a holding register (input registers are read-only)")


class PointMap(_Strict):
    """A point map file (see the module docstring)."""

    #: The site file, relative to the point map.
    site: str = Field(min_length=1, max_length=1000)
    #: The building drops the agent's commands when its heartbeat is older than this, s.
    watchdog_timeout_s: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    devices: dict[str, Device] = Field(min_length=1, max_length=1000)
    points: list[Point] = Field(min_length=1, max_length=100_000)

    @model_validator(mode="after")
    def _points_on_their_devices(self) -> PointMap:
        seen_names: set[str] = set()
        seen_addresses: set[tuple[object, ...]] = set()
        for index, point in enumerate(self.points):
            where = f"points[{index}]"
            device = self.devices.get(point.device)
            if device is None:
                raise ValueError(f"{where}.device: no device {point.device!r}; the map's devices are "
                                 f"{', '.join(self.devices)}")
            _check_protocol_fields(where, point, device)
            if point.name in seen_names:
                raise ValueError(f"{where}.name: {point.name} is mapped twice")
            seen_names.add(point.name)
            for address in _addresses(point, device):
                if address in seen_addresses:
                    raise ValueError(f"{where}: another point already uses this address on device {point.device}")
                seen_addresses.add(address)
        if HEARTBEAT not in seen_names and any(p.writable for p in self.points):
            raise ValueError(f"points: a map with setpoints needs a {HEARTBEAT} point, so that the building can "
                             "drop the commands of an agent that stopped")
        return self

    def point(self, name: str) -> Point | None:
        return next((point for point in self.points if point.name == name), None)


def _check_protocol_fields(where: str, point: Point, device: Device) -> None:
    bacnet_fields = {"object_type": point.object_type, "instance": point.instance}
    modbus_fields = {"register_address": point.register_address, "register_kind": point.register_kind,
                     "enable_coil": point.enable_coil}
    mine, theirs = (bacnet_fields, modbus_fields) if device.protocol == "bacnet" else (modbus_fields, bacnet_fields)
    for field, value in theirs.items():
        if value is not None:
            raise ValueError(f"{where}.{field}: device {point.device} speaks {device.protocol}, which has no {field}")
    required = ["object_type", "instance"] if device.protocol == "bacnet" else ["register_address"]
    if device.protocol == "modbus" and point.writable and point.column != HEARTBEAT:
        required.append("enable_coil")
    for field in required:
        if mine[field] is None:
            raise ValueError(f"{where}.{field}: required for a {device.protocol} point")
    if device.protocol == "bacnet" and point.writable and point.object_type == "analog-input":
        raise ValueError(f"{where}.object_type: an analog-input cannot be written; a setpoint is an analog-value "
                         "or analog-output")


def _addresses(point: Point, device: Device) -> list[tuple[object, ...]]:
    """The protocol addresses a point occupies, to refuse two points on one."""
    if device.protocol == "bacnet":
        return [(point.device, point.object_type, point.instance)]
    kind = point.register_kind or ("holding" if point.writable else "input")
    words = 2 if point.data_type.endswith("32") else 1
    addresses: list[tuple[object, ...]] = [(point.device, kind, point.register_address + word)  # type: ignore[operator]
                                           for word in range(words)]
    if point.enable_coil is not None:
        addresses.append((point.device, "coil", point.enable_coil))
    return addresses


def load_point_map(path: Path | str) -> PointMap:
    """Read and check a point map; every problem is one :class:`PointMapError` naming the entry and field."""
    try:
        raw = load_yaml_mapping(path, what="point map")
    except InputFileError as error:
        raise PointMapError(error.file, error.field, error.message) from None
    try:
        return PointMap.model_validate(raw)
    except ValidationError as error:
        location, message = first_problem(error, PointMap, "unknown key (not part of the point map schema)")
        field = bracketed(location)
        if message.startswith("points[") or message.startswith("points:"):  # a check across points
            field, _, message = message.partition(": ")
            field = field.split(" ", 1)[0]
        raise PointMapError(path, field, message) from None


def site_path_of(point_map: PointMap, map_path: Path | str) -> Path:
    """The site file a point map names, resolved against the map's folder."""
    site = Path(point_map.site).expanduser()
    return site if site.is_absolute() else Path(map_path).resolve().parent / site


def check_points_against_site(point_map: PointMap, site: Site, map_path: Path | str) -> None:
    """Refuse points of zones the site does not have, and a chilled-water point without a chiller plant."""
    zones = [zone.name for zone in site.zones]
    for index, point in enumerate(point_map.points):
        if point.zone is not None and point.zone not in zones:
            raise PointMapError(map_path, f"points[{index}].name",
                                f"the site has no zone {point.zone!r}; its zones are {', '.join(zones)}")
