"""The site file: one YAML document that describes a data center for the twin.

Every field carries its unit in its name. Unknown keys are rejected so that a typo never silently
falls back to a default.
"""

from __future__ import annotations

import calendar
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from greendc.site.grid_regions import GridRegion
from greendc.site.servers import ServerCurves


class _Strict(BaseModel):
    # NaN and infinity are refused in every float: NaN compares false with any bound, so a NaN setpoint bound
    # would silently switch clipping off, and neither means anything in a site description.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Zone(_Strict):
    """One IT hall (white space) served by its own air handler."""

    name: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9 _-]+$")]
    floor_area_m2: Annotated[float, Field(gt=1, le=100_000)]
    it_design_power_kw: Annotated[float | None, Field(gt=0, le=100_000)] = None
    it_design_power_density_w_per_m2: Annotated[float | None, Field(gt=0, le=20_000)] = None
    cooling_coil: Literal["dx", "chilled_water"] | None = Field(
        default=None, description="Overrides cooling.coil for this zone."
    )
    ceiling_height_m: Annotated[float, Field(ge=2.5, le=12)] = 3.0
    raised_floor_height_m: Annotated[float, Field(ge=0, le=2)] = Field(
        default=0.0,
        description="Depth of the underfloor supply-air plenum below the hall (0: no raised floor). "
        "Supply air crosses it and picks up heat from the ground and the hall above.",
    )
    economizer: Economizer | None = Field(
        default=None, description="Overrides cooling.economizer for this zone."
    )
    direct_evaporative: DirectEvaporative | None = Field(
        default=None, description="Overrides cooling.direct_evaporative for this zone."
    )
    indirect_evaporative: IndirectEvaporative | None = Field(
        default=None, description="Overrides cooling.indirect_evaporative for this zone."
    )

    @property
    def plenum_name(self) -> str | None:
        return f"{self.name} Plenum" if self.raised_floor_height_m > 0 else None

    @model_validator(mode="after")
    def _one_it_load(self) -> Zone:
        given = [self.it_design_power_kw is not None, self.it_design_power_density_w_per_m2 is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of it_design_power_kw or it_design_power_density_w_per_m2")
        return self

    @property
    def it_design_power_w(self) -> float:
        if self.it_design_power_kw is not None:
            return self.it_design_power_kw * 1000.0
        assert self.it_design_power_density_w_per_m2 is not None
        return self.it_design_power_density_w_per_m2 * self.floor_area_m2


class ConstantLoad(_Strict):
    kind: Literal["constant"]
    fraction: Annotated[float, Field(ge=0, le=1)]


class ScheduleLoad(_Strict):
    """Hourly IT utilisation, 24 values for weekdays and 24 for weekends (0-1)."""

    kind: Literal["schedule"]
    weekday_fractions: Annotated[list[Annotated[float, Field(ge=0, le=1)]], Field(min_length=24, max_length=24)]
    weekend_fractions: Annotated[list[Annotated[float, Field(ge=0, le=1)]], Field(min_length=24, max_length=24)]


class CsvLoad(_Strict):
    """An hourly (8760 rows) or per-timestep utilisation series (0-1) in one CSV column."""

    kind: Literal["csv"]
    path: Path
    column: str = "fraction"


ITLoad = Annotated[ConstantLoad | ScheduleLoad | CsvLoad, Field(discriminator="kind")]


class Economizer(_Strict):
    """Air-side economizer (outdoor-air mixing) with fixed dry-bulb and dew-point high limits."""

    enabled: bool = True
    max_dry_bulb_c: Annotated[float, Field(ge=5, le=35)] = 23.0
    max_dew_point_c: Annotated[float, Field(ge=-10, le=25)] = 13.5
    min_dry_bulb_c: Annotated[float, Field(ge=-40, le=15)] = -20.0


class DirectEvaporative(_Strict):
    enabled: bool = True
    effectiveness: Annotated[float, Field(gt=0, le=1)] = 0.7
    pump_power_w: Annotated[float, Field(ge=0, le=100_000)] = 30.0
    max_dry_bulb_c: Annotated[float, Field(ge=5, le=50)] = 20.0
    max_wet_bulb_c: Annotated[float, Field(ge=0, le=35)] = 18.0
    min_dry_bulb_c: Annotated[float, Field(ge=-10, le=40)] = 16.0


class IndirectEvaporative(_Strict):
    enabled: bool = True
    wet_bulb_effectiveness: Annotated[float, Field(gt=0, le=1.2)] = 0.7
    # Above 0.94 EnergyPlus's dry-mode model cannot be given a flow modifier it can solve (twin/builder.py).
    dry_bulb_effectiveness: Annotated[float, Field(gt=0, le=0.94)] = 0.72
    secondary_fan_specific_power_w_per_m3s: Annotated[float, Field(gt=0, le=2000)] = 200.0
    max_outdoor_wet_bulb_c: Annotated[float, Field(ge=0, le=35)] = 24.0


class SupplyFan(_Strict):
    pressure_rise_pa: Annotated[float, Field(gt=0, le=3000)] = 300.0
    total_efficiency: Annotated[float, Field(gt=0.1, le=1)] = 0.7
    motor_efficiency: Annotated[float, Field(gt=0.1, le=1)] = 0.9
    min_flow_fraction: Annotated[float, Field(ge=0, le=1)] = 0.25


class DXCoil(_Strict):
    rated_cop: Annotated[float, Field(gt=1, le=10)] = 3.0


class ChillerPlant(_Strict):
    """Water-cooled electric chiller, variable-speed cooling tower and two variable-speed pumps."""

    chiller_cop: Annotated[float, Field(gt=1, le=12)] = 5.0
    chilled_water_supply_c: Annotated[float, Field(ge=4, le=20)] = 7.0
    chilled_water_delta_t_c: Annotated[float, Field(gt=1, le=15)] = 4.0
    chilled_water_pump_head_pa: Annotated[float, Field(gt=0, le=600_000)] = 160_000.0
    condenser_pump_head_pa: Annotated[float, Field(gt=0, le=600_000)] = 140_000.0
    tower_blowdown_concentration_ratio: Annotated[float, Field(ge=2, le=10)] = 4.0
    chiller_capacity_kw: Annotated[float | None, Field(gt=0, le=100_000)] = Field(
        default=None, description="Installed chiller capacity (e.g. with redundancy); autosized when omitted"
    )
    condenser_water_approach_c: Annotated[float, Field(ge=0, le=15)] = Field(
        default=3.9, description="Condenser-water setpoint above the outdoor wet-bulb (tower approach)"
    )
    chiller_start_load_kw: Annotated[float, Field(ge=0, le=1_000)] = Field(
        default=1.0, description=(
            "Smallest chilled-water load the chiller starts for; below it the load goes unserved, as a plant's "
            "staging leaves a chiller off for a coil's residual. 0 starts it for any load, as EnergyPlus's "
            "own examples do (their chiller then runs, with its full condenser flow, for a few watts)")
    )


class Cooling(_Strict):
    coil: Literal["dx", "chilled_water"] = "chilled_water"
    economizer: Economizer = Economizer()
    direct_evaporative: DirectEvaporative = DirectEvaporative()
    indirect_evaporative: IndirectEvaporative = IndirectEvaporative()
    supply_fan: SupplyFan = SupplyFan()
    dx: DXCoil = DXCoil()
    chiller_plant: ChillerPlant = ChillerPlant()
    design_supply_air_c: Annotated[float, Field(ge=8, le=24)] = 13.0
    sizing_factor: Annotated[float, Field(ge=1, le=3)] = 1.25


class Bounds(NamedTuple):
    """A closed range of a setpoint, C.

    A named tuple rather than a model: the runner clips every controller's setpoints to it at every timestep,
    and the ai's compiled search reads the same record (``numpy.array`` of :class:`Setpoints`), so the
    bounds have one form from the site file to the search. pydantic still validates it field by field.
    """

    min: Annotated[float, Field(allow_inf_nan=False)]
    max: Annotated[float, Field(allow_inf_nan=False)]

    def clip(self, value: float) -> float:
        return min(max(value, self.min), self.max)


def _bounds_within(low_c: float, high_c: float) -> AfterValidator:
    """A check that bounds are ordered and lie within the physical range ``low_c``-``high_c``."""

    def check(bounds: Bounds) -> Bounds:
        if bounds.min > bounds.max:
            raise ValueError(f"min ({bounds.min}) must not exceed max ({bounds.max})")
        if bounds.min < low_c or bounds.max > high_c:
            raise ValueError(f"bounds must lie within {low_c}-{high_c} C")
        return bounds

    return AfterValidator(check)


class Setpoints(NamedTuple):
    """Safe bounds for every controllable setpoint; the runner clips every controller's setpoints to them.

    Fields in this order (``numpy.array(setpoints)`` is a (3, 2) array of min and max per row).
    """

    supply_air_c: Annotated[Bounds, _bounds_within(5.0, 35.0)] = Bounds(min=12.0, max=26.0)
    zone_cooling_c: Annotated[Bounds, _bounds_within(10.0, 40.0)] = Bounds(min=18.0, max=30.0)
    chilled_water_c: Annotated[Bounds, _bounds_within(3.0, 25.0)] = Bounds(min=5.0, max=15.0)


class Simulation(_Strict):
    begin_month: Annotated[int, Field(ge=1, le=12)] = 1
    begin_day: Annotated[int, Field(ge=1, le=31)] = 1
    end_month: Annotated[int, Field(ge=1, le=12)] = 12
    end_day: Annotated[int, Field(ge=1, le=31)] = 31
    timesteps_per_hour: Literal[1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60] = 4

    @model_validator(mode="after")
    def _ordered(self) -> Simulation:
        for label, month, day in (("begin", self.begin_month, self.begin_day), ("end", self.end_month, self.end_day)):
            if day > calendar.monthrange(2001, month)[1]:
                raise ValueError(f"{label}_day {day} does not exist in month {month}")
        if (self.end_month, self.end_day) < (self.begin_month, self.begin_day):
            raise ValueError("the run period must end on or after its start (within one year)")
        return self


class Site(_Strict):
    """A data center described for the twin (see examples/sites/)."""

    name: Annotated[str, Field(min_length=1, max_length=120)]
    weather: Annotated[str, Field(min_length=1)] = Field(
        description="chicago | dulles | tampa | golden | san-francisco, or a path to an EPW file"
    )
    design_weather: Annotated[str | None, Field(min_length=1)] = Field(
        default=None,
        description="Weather whose design conditions size the plant (default: the simulated weather's). A real "
        "plant keeps its size in every weather year: give the baseline's climate to simulate the same plant in "
        "another year or a heat wave",
    )
    grid_region: GridRegion = Field(
        description="Electricity grid region for the carbon part, e.g. US-RFCW or CN-North"
    )
    zones: Annotated[list[Zone], Field(min_length=1, max_length=20)]
    it_load: ITLoad = ConstantLoad(kind="constant", fraction=0.75)
    servers: ServerCurves = ServerCurves()
    ups_efficiency: Annotated[float, Field(ge=0.7, le=1.0)] = 0.95
    recirculation_fraction: Annotated[float, Field(ge=0, le=0.5)] = Field(
        default=0.1, description="Share of server intake air that is recirculated hot exhaust at design"
    )
    cooling: Cooling = Cooling()
    setpoints: Setpoints = Setpoints()
    simulation: Simulation = Simulation()

    @model_validator(mode="after")
    def _unique_zone_names(self) -> Site:
        names = [zone.name.lower() for zone in self.zones]
        names += [zone.plenum_name.lower() for zone in self.zones if zone.plenum_name]
        if len(set(names)) != len(names):
            raise ValueError("zone names must be unique (a raised floor adds a zone named '<zone> Plenum')")
        return self

    def coil_of(self, zone: Zone) -> str:
        return zone.cooling_coil or self.cooling.coil

    def economizer_of(self, zone: Zone) -> Economizer:
        return zone.economizer or self.cooling.economizer

    def direct_evaporative_of(self, zone: Zone) -> DirectEvaporative:
        return zone.direct_evaporative or self.cooling.direct_evaporative

    def indirect_evaporative_of(self, zone: Zone) -> IndirectEvaporative:
        return zone.indirect_evaporative or self.cooling.indirect_evaporative

    @property
    def has_chiller_plant(self) -> bool:
        return any(self.coil_of(zone) == "chilled_water" for zone in self.zones)

    @property
    def it_design_power_w(self) -> float:
        return sum(zone.it_design_power_w for zone in self.zones)
