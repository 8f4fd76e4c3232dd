"""The inventory file: one reporting year of an organization's sites, electricity, instruments and water.

Every energy quantity states its unit (``{value: 120, unit: MWh}``); a bare number is rejected because
kWh and MWh differ by a factor of 1000 and a silent guess would misstate the inventory by that much.
Unknown keys are rejected so that a typo never falls back to a default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from greendc.carbon.countries import country_code, market_code
from greendc.carbon.errors import InventoryError
from greendc.carbon.factors import FactorKind
from greendc.errors import QUOTE_LIMIT_CHARS, plain_text, quoted
from greendc.files import InputFileError, load_yaml_mapping

EnergyUnit = Literal["kWh", "MWh", "GWh"]
MWH_PER_UNIT: dict[str, float] = {"kWh": 1e-3, "MWh": 1.0, "GWh": 1e3}
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
FactorValue = Annotated[float, Field(ge=0, le=2.0, allow_inf_nan=False)]
Year = Annotated[int, Field(ge=1990, le=2100)]
Name = Annotated[str, Field(min_length=1, max_length=120)]

_UNIT_HINT = "state the unit explicitly, e.g. {value: 120, unit: MWh} (kWh, MWh or GWh)"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Energy(_Strict):
    """An amount of electricity with its unit; ``mwh`` converts it."""

    value: NonNegative
    unit: EnergyUnit

    @model_validator(mode="before")
    @classmethod
    def _unit_required(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(_UNIT_HINT)
        return data

    @property
    def mwh(self) -> float:
        return self.value * MWH_PER_UNIT[self.unit]


class Water(_Strict):
    """Site water input (withdrawal) for WUE, in cubic metres or litres."""

    value: NonNegative
    unit: Literal["m3", "L"]

    @model_validator(mode="before")
    @classmethod
    def _unit_required(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("state the unit explicitly, e.g. {value: 5000, unit: m3} (m3 or L)")
        return data

    @property
    def m3(self) -> float:
        return self.value if self.unit == "m3" else self.value / 1000.0


class MonthlyEnergy(_Strict):
    """Consumption per calendar month, starting at ``first_month``."""

    unit: EnergyUnit
    values: Annotated[list[NonNegative], Field(min_length=1, max_length=12)]
    first_month: Annotated[int, Field(ge=1, le=12)] = 1

    @model_validator(mode="after")
    def _within_year(self) -> MonthlyEnergy:
        if self.first_month + len(self.values) - 1 > 12:
            raise ValueError("monthly values run past December; give at most 13 - first_month values")
        return self

    @property
    def mwh(self) -> list[float]:
        return [v * MWH_PER_UNIT[self.unit] for v in self.values]


class Electricity(_Strict):
    """Total electricity consumed by the site: exactly one of annual, monthly or a greendc run."""

    annual: Energy | None = None
    monthly: MonthlyEnergy | None = None
    from_run: Annotated[str, Field(min_length=1)] | None = Field(
        default=None,
        description="Path to a greendc run's summary.json (or its folder), relative to the inventory",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Electricity:
        if sum(x is not None for x in (self.annual, self.monthly, self.from_run)) != 1:
            raise ValueError("give exactly one of annual, monthly or from_run")
        return self


class PVArray(_Strict):
    """A fixed-tilt PV array modelled with pvlib's PVWatts functions from an EPW weather file."""

    capacity_kw_dc: Annotated[float, Field(gt=0, le=1_000_000)]
    tilt_deg: Annotated[float, Field(ge=0, le=90)]
    azimuth_deg: Annotated[float, Field(ge=0, lt=360)] = 180.0
    losses_percent: Annotated[float, Field(ge=0, lt=100)] = 14.0
    temperature_coefficient_per_c: Annotated[float, Field(ge=-0.01, le=0)] = -0.0037
    inverter_efficiency: Annotated[float, Field(gt=0.5, le=1)] = 0.96
    dc_ac_ratio: Annotated[float, Field(ge=0.8, le=2)] = 1.2
    weather: Annotated[str, Field(min_length=1)] | None = Field(
        default=None,
        description="chicago | dulles | tampa | golden | san-francisco or an EPW path; default: the run's weather",
    )


class OnsiteGeneration(_Strict):
    """Renewable electricity generated on site: metered, or modelled from a PV array."""

    name: Name
    technology: Literal["pv", "wind", "other_renewable"] = "pv"
    capacity_kw: Annotated[float, Field(gt=0, le=10_000_000)] | None = None
    metered: Energy | None = None
    pv_model: PVArray | None = None
    exported: Energy | None = None

    @model_validator(mode="after")
    def _one_source(self) -> OnsiteGeneration:
        if (self.metered is None) == (self.pv_model is None):
            raise ValueError("give exactly one of metered or pv_model")
        if self.pv_model is not None and self.technology != "pv":
            raise ValueError("pv_model needs technology: pv")
        return self


class Instrument(_Strict):
    """A contractual instrument for the market-based method (GHG Protocol Scope 2 Guidance, Table 6.3).

    ``eac``: an energy attribute certificate (REC, GO, I-REC, China GEC); ``ppa``: a direct contract or
    PPA; ``supplier_specific``: a supplier's delivered emission rate. ``market`` is a country code or name
    (``CN`` or ``China``) or, for a market greendc does not know as a country, its name as written.

    A PPA conveys the generation's attributes only through its certificates (Scope 2 Quality Criteria 1
    and 2, ch. 7): ``certificates: retained`` (kept and cancelled for the buyer) makes its MWh zero-emission;
    ``sold`` or ``none`` leaves them at the residual mix. ``bundling`` says whether the certificates came with
    the power (``bundled``) or apart from it (``unbundled``).
    """

    id: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["eac", "ppa", "supplier_specific"]
    scheme: Literal["REC", "GO", "I-REC", "GEC", "other"] | None = None
    energy: Energy
    generation_start: date
    generation_end: date
    market: Annotated[str, Field(min_length=1)]
    renewable: bool | None = None
    factor_tco2_per_mwh: FactorValue | None = None
    certificates: Literal["retained", "sold", "none"] | None = None
    bundling: Literal["bundled", "unbundled"] | None = None
    description: str = ""

    @field_validator("market")
    @classmethod
    def _market_as_code(cls, market: str) -> str:
        return market_code(market)

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        if self.kind == "eac" and self.scheme is None:
            raise ValueError("an eac needs its scheme (REC, GO, I-REC, GEC or other)")
        if self.kind == "supplier_specific" and self.factor_tco2_per_mwh is None:
            raise ValueError("a supplier_specific instrument needs factor_tco2_per_mwh")
        if self.generation_end < self.generation_start:
            raise ValueError("generation_end is before generation_start")
        if self.certificates is not None and self.kind != "ppa":
            raise ValueError("certificates is the certificate status of a ppa (an eac is itself the certificate)")
        if self.bundling is not None and self.kind == "supplier_specific":
            raise ValueError("bundling applies to certificates: an eac or a ppa")
        if self.renewable and not self.conveys_attributes:
            raise ValueError(f"a ppa whose certificates are {self.certificates} conveys no renewable claim; "
                             "remove renewable: true")
        if self.is_renewable and self.emission_rate_tco2_per_mwh > 0:
            raise ValueError("a renewable instrument conveys a zero emission rate; set renewable: false")
        return self

    @property
    def conveys_attributes(self) -> bool:
        """False for a PPA whose certificates were sold or never issued: its MWh count at the residual mix."""
        return not (self.kind == "ppa" and self.certificates in ("sold", "none"))

    @property
    def is_renewable(self) -> bool:
        if not self.conveys_attributes:
            return False
        if self.renewable is not None:
            return self.renewable
        return self.kind in ("eac", "ppa")

    @property
    def emission_rate_tco2_per_mwh(self) -> float:
        if self.factor_tco2_per_mwh is not None:
            return self.factor_tco2_per_mwh
        return 0.0


class FactorChoice(_Strict):
    """Which factor to use: a shipped/user one by kind, region and year, or a value with its source."""

    kind: FactorKind | None = None
    region: Annotated[str, Field(min_length=1)] | None = None
    year: Year | None = None
    value_tco2_per_mwh: FactorValue | None = None
    source: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _value_has_source(self) -> FactorChoice:
        if self.value_tco2_per_mwh is not None and self.source is None:
            raise ValueError("a factor given as value_tco2_per_mwh needs its source")
        return self


class UserFactor(_Strict):
    """A factor that overrides (or adds to) the shipped ones for the same region, year and kind."""

    region: Annotated[str, Field(min_length=1)]
    year: Year
    kind: FactorKind
    value_tco2_per_mwh: FactorValue
    source: Annotated[str, Field(min_length=1)]


class Site(_Strict):
    """One data center (or an aggregate of sites reported together)."""

    name: Name
    grid_region: Annotated[str, Field(min_length=1)] | None = None
    country: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="ISO 3166-1 code or English name; default: the grid region's country"
    )
    electricity: Electricity
    it_energy: Energy | None = None
    onsite_generation: list[OnsiteGeneration] = []
    instruments: list[Instrument] = []
    water: Water | None = None
    floor_area_m2: Annotated[float, Field(gt=0, le=10_000_000)] | None = None
    installed_it_power_kw: Annotated[float, Field(gt=0, le=10_000_000)] | None = None
    waste_heat_reused: Energy | None = None
    factor_year: Year | None = None
    location_factor: FactorChoice | None = None
    residual_factor: FactorChoice | None = None

    @field_validator("country")
    @classmethod
    def _country_as_code(cls, country: str | None) -> str | None:
        return None if country is None else country_code(country)


class BenchSaving(_Strict):
    """A saving simulated by a greendc benchmark: baseline minus improved facility energy of the EnergyPlus twin
    in one climate."""

    path: Annotated[str, Field(min_length=1)]
    climate: Annotated[str, Field(min_length=1)]
    baseline_controller: Annotated[str, Field(min_length=1)]
    improved_controller: Annotated[str, Field(min_length=1)]

    @field_validator("baseline_controller", "improved_controller")
    @classmethod
    def _ran(cls, name: str) -> str:
        # The bench's oracles (oracle, oracle-hourly, oracle-hourly-humid) are the best setpoints chosen after
        # the year: yardsticks, not controls that ran, so a saving measured against or by one is no saving.
        if name.strip().lower().startswith("oracle"):
            raise ValueError(f"{name} is a hindsight reference, not a controller that ran; compare two "
                             "controllers, e.g. default and ai")
        return name


SavingKind = Literal["verified", "simulated", "entered"]
"""Where a saving's MWh come from: metered and verified (a greendc verification record), simulated (a greendc
benchmark of the EnergyPlus twin) or entered (stated by the organization)."""
SAVING_KINDS: tuple[SavingKind, ...] = ("verified", "entered", "simulated")
"""The kinds in the order tables and totals show them: the strongest evidence first."""

SAVING_SOURCES = (
    "energy_saved (entered: a saving the organization states, with verification saying who verified it), "
    "from_bench (simulated: a greendc benchmark of the EnergyPlus twin) or from_verification (verified: a "
    "greendc verify record of metered energy)"
)


class Saving(_Strict):
    """An energy saving (GRI 302-4) of one kind, and the factor that turns it into avoided emissions (305-5).

    The kind follows from the source, so that a saving can never be called what it is not: ``from_verification``
    (a ``greendc verify --json`` record, path relative to the inventory) is *verified*, ``from_bench`` is
    *simulated*, ``energy_saved`` is *entered* and needs ``verification`` saying who stated or verified it.
    """

    name: Name
    site: Name | None = None
    energy_saved: Energy | None = None
    from_bench: BenchSaving | None = None
    from_verification: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="Path to a greendc verification record (greendc verify --json), relative to the "
                                  "inventory"
    )
    factor: FactorChoice | None = None
    verification: str = ""

    @model_validator(mode="after")
    def _one_source(self) -> Saving:
        if sum(x is not None for x in (self.energy_saved, self.from_bench, self.from_verification)) != 1:
            raise ValueError(f"give exactly one of {SAVING_SOURCES}")
        if self.energy_saved is not None and not self.verification.strip():
            # A number with no word on who measured it is a claim nobody can check.
            raise ValueError("an entered saving needs verification: who stated or verified it, e.g. "
                             "'as reported in the 2023 ESG report, assured by ...'")
        return self

    @property
    def kind(self) -> SavingKind:
        if self.from_verification is not None:
            return "verified"
        return "simulated" if self.from_bench is not None else "entered"


class PreviousYear(_Strict):
    """Last year's disclosed figures, for year-over-year changes."""

    year: Year
    electricity: Energy | None = None
    renewable_electricity: Energy | None = None
    procured_renewable_electricity: Energy | None = None
    renewable_capacity_mw: NonNegative | None = None
    location_based_tco2: NonNegative | None = None
    market_based_tco2: NonNegative | None = None
    it_energy: Energy | None = None
    water: Water | None = None


class IntensityDenominator(_Strict):
    """The organization-specific metric for GRI 302-3 and 305-4 intensities (e.g. revenue)."""

    name: Name
    value: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    unit: Annotated[str, Field(min_length=1)]


class Organization(_Strict):
    name: Name
    intensity_denominator: IntensityDenominator | None = None


class Inventory(_Strict):
    """A reporting year's inventory (see examples/inventories/)."""

    schema_version: Literal[1] = 1
    organization: Organization
    reporting_year: Year
    period_start: date | None = None
    period_end: date | None = None
    factor_year: Year | None = Field(
        default=None, description="Use factors of this year instead of the reporting year (disclosed)"
    )
    factors: list[UserFactor] = []
    sites: Annotated[list[Site], Field(min_length=1)]
    savings: list[Saving] = []
    previous_year: PreviousYear | None = None
    notes: list[Annotated[str, Field(min_length=1)]] = Field(
        default=[], description="Statements printed in the report's methodology section"
    )

    @property
    def period(self) -> tuple[date, date]:
        """The reporting period, the calendar year unless stated."""
        return (
            self.period_start or date(self.reporting_year, 1, 1),
            self.period_end or date(self.reporting_year, 12, 31),
        )


@dataclass(frozen=True)
class LoadedInventory:
    """An inventory with the file it came from; relative paths resolve against ``base_dir``."""

    model: Inventory
    path: Path | None
    base_dir: Path

    @property
    def label(self) -> str:
        return str(self.path) if self.path is not None else "<inventory>"

    def resolve(self, relative: str) -> Path:
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else self.base_dir / candidate


def field_path(loc: tuple[Any, ...]) -> str:
    """``('sites', 0, 'electricity', 'annual')`` -> ``sites[0].electricity.annual``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<root>"


def _first_error(error: ValidationError) -> tuple[str, str]:
    """The field and message of the first problem, each quoting at most about 200 characters of the input
    (a key, or a value that pydantic's message repeats, may be kilobytes long)."""
    errors = error.errors(include_url=False)
    first = errors[0]
    message = plain_text(str(first["msg"]).removeprefix("Value error, "))
    if first["type"] in ("literal_error", "enum") and "input" in first:
        message += f" (got {quoted(first['input'])})"
    if first["type"] == "extra_forbidden":
        message = "unknown key (check the spelling; see examples/inventories/)"
    if first["type"] == "finite_number":
        message = "must be a finite number, not NaN or infinity"
    if len(errors) > 1:
        message += f" [+{len(errors) - 1} more error(s)]"
    field = field_path(tuple(first["loc"]))
    if len(field) > QUOTE_LIMIT_CHARS or not field.isprintable():
        field = quoted(field)
    return field, message


def parse_inventory(data: Any, *, file: str | Path | None = None) -> Inventory:
    """Validate a parsed YAML document, turning pydantic errors into one-line ``InventoryError``s."""
    if not isinstance(data, dict):
        raise InventoryError(file, "<root>", "the inventory must be a YAML mapping (see examples/inventories/)")
    if "verified_savings" in data:
        # The old name called every saving verified, simulated ones included; say what replaced it rather
        # than "unknown key".
        raise InventoryError(
            file, "verified_savings", f"renamed to savings, where each saving gives exactly one of {SAVING_SOURCES}"
        )
    try:
        inventory = Inventory.model_validate(data)
    except ValidationError as error:
        field, message = _first_error(error)
        raise InventoryError(file, field, message) from None
    check_inventory(inventory, file=file)
    return inventory


def check_inventory(inventory: Inventory, *, file: str | Path | None = None) -> None:
    """Cross-field checks: unique sites and instrument ids, savings pointing at real sites, the period."""
    start, end = inventory.period
    if end < start:
        raise InventoryError(file, "period_end", "the reporting period ends before it starts")
    seen_sites: dict[str, int] = {}
    for index, site in enumerate(inventory.sites):
        key = site.name.strip().lower()
        if key in seen_sites:
            raise InventoryError(
                file, f"sites[{index}].name", f"duplicate site {site.name!r} (also sites[{seen_sites[key]}])"
            )
        seen_sites[key] = index
    # The same certificate or contract claimed at two sites would count its attributes twice
    # (Scope 2 Quality Criterion 3: unique claims).
    seen_ids: dict[str, str] = {}
    for s_index, site in enumerate(inventory.sites):
        for i_index, instrument in enumerate(site.instruments):
            where = f"sites[{s_index}].instruments[{i_index}].id"
            key = instrument.id.strip().lower()
            if key in seen_ids:
                raise InventoryError(
                    file, where, f"instrument {instrument.id!r} is claimed twice (also at {seen_ids[key]})"
                )
            seen_ids[key] = where
    # Savings are listed and totalled by name: two of one name would read as one.
    seen_savings: dict[str, int] = {}
    for index, saving in enumerate(inventory.savings):
        if saving.site is not None and saving.site.strip().lower() not in seen_sites:
            raise InventoryError(file, f"savings[{index}].site", f"no site named {saving.site!r} in sites")
        key = saving.name.strip().lower()
        if key in seen_savings:
            raise InventoryError(
                file, f"savings[{index}].name", f"duplicate saving {saving.name!r} (also savings[{seen_savings[key]}])"
            )
        seen_savings[key] = index


def load_inventory(path: str | Path) -> LoadedInventory:
    """Read and validate an inventory YAML file."""
    path = Path(path)
    try:
        data = load_yaml_mapping(path, what="inventory file")
    except InputFileError as error:
        raise InventoryError(error.file, error.field, error.message) from None
    model = parse_inventory(data, file=path)
    return LoadedInventory(model=model, path=path, base_dir=path.resolve().parent)
