"""The sensor registry: every telemetry column, declared once.

For each sensor: its column name, unit, meaning and physical range; whether it is facility-wide or per IT
zone (per-zone columns carry the zone name and a slash in front: ``West Hall/inlet_temp_c``); where the twin
reads it (an EnergyPlus output variable and its key, and how EnergyPlus reports it at Timestep frequency) or
how it is derived from other sensors; and what the rest of greendc does with it: whether telemetry
validation requires or checks it, whether controllers observe it, whether it is a setpoint a controller
sets, and whether it counts toward the cooling electric power.

Everything else derives from this list: the runner's requests to EnergyPlus and the telemetry's column order,
the compiled recorder's reporting kinds, the fields of :class:`~greendc.telemetry.contract.Observation` and
:class:`~greendc.telemetry.contract.ZoneObservation` and the live observations that read them, telemetry
validation's columns and ranges, the facility model's columns and the ai's input guards. A new sensor is
added here, in one place. Code elsewhere names a sensor through :data:`FACILITY` and :data:`ZONE`
(``ZONE.inlet_temp_c.of(zone)``), never by spelling its column (``tests/test_architecture_sensors.py``).

The order of the list is the telemetry's column order (the runner lists the facility's recorded sensors, then
each zone's, then the chiller plant's; the derived columns follow).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple


class Scope(Enum):
    """Whether a sensor is one column for the facility or one per IT zone."""

    FACILITY = "facility"
    ZONE = "zone"


class Reporting(Enum):
    """How EnergyPlus reports an output variable at Timestep frequency ("Var Type" and "Var Report Type" of
    ``eplusout.rdd``; EnergyPlus Input Output Reference, ``Output:Variable``)."""

    ZONE = "zone"  # once per zone timestep, its value at the end of it
    HVAC_AVERAGE = "hvac average"  # the mean over the zone timestep's system timesteps, weighted by length
    HVAC_SUM = "hvac sum"  # the sum over the system timesteps


class Equipment(Enum):
    """What a sensor needs in the twin to exist."""

    ALWAYS = "always"
    DX_COIL = "dx coil"  # the zone's air handler cools with a DX coil
    DIRECT_EVAPORATIVE = "direct evaporative cooler"
    INDIRECT_EVAPORATIVE = "indirect evaporative cooler"
    CHILLER_PLANT = "chiller plant"  # the site has a chiller plant (a zone with a chilled-water coil)


class Derivation(Enum):
    """How a derived column is computed from recorded ones."""

    SUM_OF_SOURCES = "sum of sources"  # the sum of ``sources``, of the same zone
    SUM_OVER_ZONES = "sum over zones"  # a facility column: the sum of the zone column of the same name
    COOLING_POWER = "cooling power"  # the sum of every sensor with ``cooling_component``


class Validation(Enum):
    """What telemetry validation (``greendc.telemetry.schema``) does with a column."""

    REQUIRED = "required"  # must be present, range-checked
    IF_PRESENT = "if present"  # range-checked when present
    KEPT = "kept"  # kept as it is, not checked


@dataclass(frozen=True)
class Sensor:
    """One telemetry column (see the module docstring)."""

    column: str
    unit: str
    meaning: str
    physical_range: tuple[float, float]
    scope: Scope
    variable: str | None = None
    #: The EnergyPlus key: for a zone sensor a pattern over the zone's object names (``greendc.twin.builder.
    #: ZoneNames``), e.g. ``"{names.ite}"``.
    key: str = ""
    reporting: Reporting | None = None
    equipment: Equipment = Equipment.ALWAYS
    derivation: Derivation | None = None
    sources: tuple[str, ...] = ()
    validation: Validation = Validation.KEPT
    observed: bool = False
    setpoint: bool = False
    cooling_component: bool = False

    def of(self, zone: str) -> str:
        """The column of this zone sensor for ``zone``."""
        return f"{zone}/{self.column}"

    def key_for(self, names: Any) -> str:
        """The EnergyPlus key of this sensor, for a zone's object names (ignored by facility sensors)."""
        return self.key.format(names=names)

    @property
    def recorded(self) -> bool:
        """Whether the twin reads it from EnergyPlus (otherwise it is derived)."""
        return self.variable is not None


_W = (0.0, 1e9)
_F, _Z = Scope.FACILITY, Scope.ZONE
_AVG, _SUM = Reporting.HVAC_AVERAGE, Reporting.HVAC_SUM
_REQ, _CHK = Validation.REQUIRED, Validation.IF_PRESENT
_PLANT = Equipment.CHILLER_PLANT

SENSORS: tuple[Sensor, ...] = (
    # -- facility ----------------------------------------------------------------------------------------
    Sensor("outdoor_dry_bulb_c", "C", "outdoor air dry-bulb temperature", (-60.0, 60.0), _F,
           "Site Outdoor Air Drybulb Temperature", "Environment", Reporting.ZONE, validation=_REQ, observed=True),
    Sensor("outdoor_wet_bulb_c", "C", "outdoor air wet-bulb temperature", (-60.0, 45.0), _F,
           "Site Outdoor Air Wetbulb Temperature", "Environment", Reporting.ZONE, validation=_REQ, observed=True),
    Sensor("outdoor_relative_humidity_pct", "%", "outdoor relative humidity", (0.0, 100.5), _F,
           "Site Outdoor Air Relative Humidity", "Environment", Reporting.ZONE, validation=_REQ, observed=True),
    Sensor("outdoor_dew_point_c", "C", "outdoor air dew-point temperature", (-60.0, 45.0), _F,
           "Site Outdoor Air Dewpoint Temperature", "Environment", Reporting.ZONE, observed=True),
    Sensor("it_power_w", "W", "IT electric power at the IT equipment input", _W, _F,
           derivation=Derivation.SUM_OVER_ZONES, validation=_REQ, observed=True),
    Sensor("cooling_power_w", "W", "cooling electric power (fans, coils, chiller, tower, pumps...)", _W, _F,
           derivation=Derivation.COOLING_POWER, validation=_REQ, observed=True),
    Sensor("facility_power_w", "W", "total facility electric power", _W, _F,
           "Facility Total Electricity Demand Rate", "Whole Building", _AVG, validation=_REQ, observed=True),
    # -- per zone ----------------------------------------------------------------------------------------
    Sensor("it_power_w", "W", "IT electric power of the zone (servers' CPUs and fans)", _W, _Z,
           derivation=Derivation.SUM_OF_SOURCES, sources=("it_cpu_power_w", "it_fan_power_w"), validation=_REQ,
           observed=True),
    Sensor("it_cpu_power_w", "W", "servers' CPU electric power", _W, _Z,
           "ITE CPU Electricity Rate", "{names.ite}", Reporting.ZONE),
    Sensor("it_fan_power_w", "W", "servers' fan electric power", _W, _Z,
           "ITE Fan Electricity Rate", "{names.ite}", Reporting.ZONE),
    Sensor("ups_power_w", "W", "UPS losses", _W, _Z, "ITE UPS Electricity Rate", "{names.ite}", Reporting.ZONE),
    # The servers' utilisation, the ITE's CPU loading schedule (the builder's "IT Load Fraction", one schedule for
    # every zone): the IT signal cooling control does not change (measured IT power rises with the inlet
    # temperature through the servers' fans), so measurement and verification can regress on it. EnergyPlus
    # reports a schedule as "Schedule Value" keyed by its name (Input Output Reference, "Schedule Value"); kept
    # a fraction, as the schedule holds it, so that every recorded column is the value EnergyPlus reports.
    Sensor("it_load_fraction", "-", "servers' CPU utilisation (the IT load fraction)", (0.0, 1.05), _Z,
           "Schedule Value", "IT Load Fraction", Reporting.ZONE, validation=_CHK),
    Sensor("inlet_temp_c", "C", "hottest server inlet (cold-aisle) temperature of the zone", (0.0, 50.0), _Z,
           "ITE Air Inlet Dry-Bulb Temperature", "{names.ite}", Reporting.ZONE, validation=_REQ, observed=True),
    Sensor("inlet_dew_point_c", "C", "server inlet dew-point temperature", (-60.0, 45.0), _Z,
           "ITE Air Inlet Dewpoint Temperature", "{names.ite}", Reporting.ZONE, observed=True),
    Sensor("inlet_relative_humidity_pct", "%", "server inlet relative humidity", (0.0, 100.5), _Z,
           "ITE Air Inlet Relative Humidity", "{names.ite}", Reporting.ZONE, observed=True),
    Sensor("zone_air_temp_c", "C", "zone (return) air temperature", (0.0, 60.0), _Z,
           "Zone Air Temperature", "{names.zone}", _AVG, validation=_REQ, observed=True),
    Sensor("supply_air_temp_c", "C", "supply-air temperature of the zone's air handler", (0.0, 45.0), _Z,
           "System Node Temperature", "{names.supply_outlet_node}", _AVG, validation=_REQ, observed=True),
    Sensor("supply_air_setpoint_c", "C", "supply-air temperature setpoint in force", (0.0, 45.0), _Z,
           "System Node Setpoint Temperature", "{names.supply_outlet_node}", _AVG, validation=_REQ, observed=True,
           setpoint=True),
    Sensor("supply_air_flow_kg_s", "kg/s", "supply-air mass flow into the zone", (0.0, 1e6), _Z,
           "System Node Mass Flow Rate", "{names.zone_inlet_node}", _AVG),
    Sensor("zone_cooling_setpoint_c", "C", "zone cooling setpoint in force", (0.0, 45.0), _Z,
           "Schedule Value", "{names.cooling_setpoint_schedule}", Reporting.ZONE, validation=_REQ, observed=True,
           setpoint=True),
    Sensor("supply_fan_power_w", "W", "supply fan electric power", _W, _Z,
           "Fan Electricity Rate", "{names.fan}", _AVG, observed=True, cooling_component=True),
    Sensor("dx_coil_power_w", "W", "DX cooling coil electric power", _W, _Z,
           "Cooling Coil Electricity Rate", "{names.dx_coil}", _AVG, Equipment.DX_COIL, cooling_component=True),
    Sensor("direct_evaporative_power_w", "W", "direct evaporative cooler electric power", _W, _Z,
           "Evaporative Cooler Electricity Rate", "{names.dec}", _AVG, Equipment.DIRECT_EVAPORATIVE,
           cooling_component=True),
    Sensor("direct_evaporative_water_m3", "m3", "direct evaporative cooler water use in the interval", (0.0, 1e6),
           _Z, "Evaporative Cooler Water Volume", "{names.dec}", _SUM, Equipment.DIRECT_EVAPORATIVE),
    Sensor("indirect_evaporative_power_w", "W", "indirect evaporative cooler electric power", _W, _Z,
           "Evaporative Cooler Electricity Rate", "{names.iec}", _AVG, Equipment.INDIRECT_EVAPORATIVE,
           cooling_component=True),
    Sensor("indirect_evaporative_water_m3", "m3", "indirect evaporative cooler water use in the interval",
           (0.0, 1e6), _Z, "Evaporative Cooler Water Volume", "{names.iec}", _SUM, Equipment.INDIRECT_EVAPORATIVE),
    # -- chiller plant (facility) ------------------------------------------------------------------------
    Sensor("chiller_power_w", "W", "chiller electric power", _W, _F,
           "Chiller Electricity Rate", "Chiller", _AVG, _PLANT, cooling_component=True),
    Sensor("tower_fan_power_w", "W", "cooling tower fan electric power", _W, _F,
           "Cooling Tower Fan Electricity Rate", "Cooling Tower", _AVG, _PLANT, cooling_component=True),
    Sensor("tower_basin_heater_power_w", "W", "cooling tower basin heater electric power", _W, _F,
           "Cooling Tower Basin Heater Electricity Rate", "Cooling Tower", _AVG, _PLANT, cooling_component=True),
    Sensor("chilled_water_pump_power_w", "W", "chilled-water pump electric power", _W, _F,
           "Pump Electricity Rate", "Chilled Water Pump", _AVG, _PLANT, cooling_component=True),
    Sensor("condenser_pump_power_w", "W", "condenser-water pump electric power", _W, _F,
           "Pump Electricity Rate", "Condenser Pump", _AVG, _PLANT, cooling_component=True),
    Sensor("tower_water_m3", "m3", "cooling tower make-up water in the interval", (0.0, 1e6), _F,
           "Cooling Tower Make Up Water Volume", "Cooling Tower", _SUM, _PLANT),
    # The builder's chilled-water setpoint schedule (greendc.twin.builder.CHILLED_WATER_SETPOINT_SCHEDULE).
    Sensor("chilled_water_setpoint_c", "C", "chilled-water supply setpoint (plants only)", (0.0, 30.0), _F,
           "Schedule Value", "Chilled Water Setpoint", Reporting.ZONE, _PLANT, validation=_CHK, observed=True,
           setpoint=True),
)


def _by_column(sensors: tuple[Sensor, ...], scope: Scope) -> Any:
    """The sensors of a scope as a named tuple: iterable in registry order, and by column as attributes."""
    of_scope = [sensor for sensor in sensors if sensor.scope is scope]
    fields = NamedTuple(f"{scope.name.title()}Sensors", [(sensor.column, Sensor) for sensor in of_scope])
    return fields(*of_scope)


def check_registry(sensors: tuple[Sensor, ...]) -> None:
    """Refuse a registry the rest of greendc could not derive from (run on :data:`SENSORS` at import)."""
    by_scope = {scope: _by_column(sensors, scope) for scope in Scope}
    for of_scope in by_scope.values():
        for sensor in of_scope:
            if sensor.recorded == (sensor.derivation is not None) or sensor.recorded != (sensor.reporting is not None):
                raise ValueError(f"sensor {sensor.column}: give either an EnergyPlus variable and its reporting, "
                                 "or a derivation")
            missing = [source for source in sensor.sources if source not in of_scope._fields]
            if sensor.derivation is Derivation.SUM_OVER_ZONES and sensor.column not in by_scope[Scope.ZONE]._fields:
                missing.append(f"zone sensor {sensor.column}")
            if missing:
                raise ValueError(f"sensor {sensor.column}: unknown sources {missing}")
    reporting: dict[str, Reporting | None] = {}
    for sensor in sensors:
        if sensor.variable is not None and reporting.setdefault(sensor.variable, sensor.reporting) != sensor.reporting:
            raise ValueError(f"output variable {sensor.variable!r} is given two reportings")
    facility, zone = by_scope[Scope.FACILITY], by_scope[Scope.ZONE]
    for column in set(facility._fields) & set(zone._fields):
        # Validation looks a column's range up by its name without the zone.
        if getattr(facility, column).physical_range != getattr(zone, column).physical_range:
            raise ValueError(f"{column}: facility and zone ranges differ")


check_registry(SENSORS)

#: Facility sensors by column (``FACILITY.outdoor_dry_bulb_c``), in registry order when iterated.
FACILITY = _by_column(SENSORS, Scope.FACILITY)
#: Per-zone sensors by column (``ZONE.inlet_temp_c.of("West Hall")``), in registry order when iterated.
ZONE = _by_column(SENSORS, Scope.ZONE)

#: How EnergyPlus reports each output variable the twin records.
REPORTING: dict[str, Reporting] = {s.variable: s.reporting for s in SENSORS if s.variable and s.reporting}

#: Physically plausible range of every column, by its name without the zone; outside: a sensor fault or a
#: unit mistake.
PHYSICAL_RANGE: dict[str, tuple[float, float]] = {s.column: s.physical_range for s in SENSORS}

#: Column names (without the zone) whose sum is the cooling electric power.
COOLING_COMPONENTS: frozenset[str] = frozenset(s.column for s in SENSORS if s.cooling_component)


def column_kind(column: str) -> str:
    """A telemetry column's sensor name: the column without its zone (``West Hall/inlet_temp_c``: ``inlet_temp_c``)."""
    return column.rsplit("/", 1)[-1]


def cooling_power_columns(columns: list[str]) -> list[str]:
    """The columns, in their order, whose sum is the cooling electric power (HVAC and plant end uses)."""
    return [column for column in columns if column_kind(column) in COOLING_COMPONENTS]

