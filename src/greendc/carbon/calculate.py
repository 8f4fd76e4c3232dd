"""From a validated inventory to every reported figure, each with its inputs, factor and source.

The flow per site: electricity (entered or from a greendc run) -> on-site generation (metered or pvlib)
-> grid purchases -> the location-based factor and the market-based hierarchy (GHG Protocol Scope 2
Guidance) -> what each figure is reported from (:class:`~greendc.carbon.engine.Basis`); then savings
(verified, entered or simulated) -> avoided emissions (GRI 305-5), totalled per kind. The figures themselves
come from one engine: the specs of :mod:`greendc.carbon.specs` evaluated per site and for the organization
by :func:`greendc.carbon.engine.evaluate`; then year-over-year changes and the disclosures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greendc.carbon import disclosures as disclose
from greendc.carbon import kpis
from greendc.carbon.avoided import avoided_tco2
from greendc.carbon.engine import Basis, evaluate
from greendc.carbon.errors import InventoryError
from greendc.carbon.factors import EmissionFactor, FactorTable, Region, shipped_table
from greendc.carbon.figures import Figure, Interval
from greendc.carbon.inventory import (
    SAVING_KINDS,
    FactorChoice,
    Inventory,
    LoadedInventory,
    PreviousYear,
    Saving,
    SavingKind,
    Site,
)
from greendc.carbon.renewables import PVResult, YearOverYear, model_pv, renewable_share, resolve_weather, year_over_year
from greendc.carbon.runs import RunSummary, read_bench_comparison, read_run_summary
from greendc.carbon.scope2 import (
    GHG_S2,
    MarketBasedResult,
    RemainderBasis,
    check_instruments,
    grid_electricity_mwh,
    market_based,
)
from greendc.carbon.specs import INTENSITY_DENOMINATOR, SITE_FIGURES, SUMMED_OVER_SITES, organization_figures
from greendc.carbon.verified import (
    ENERGY_WORDS,
    mwh_interval,
    option_words,
    period_days,
    period_words,
    read_claimable_verification,
    sum_interval,
)
from greendc.verification.record import Verification

__all__ = ["GHG_S2", "KIND_WORDS", "InventoryResult", "OnsiteResult", "SavingResult", "SiteResult", "calculate"]

KIND_WORDS: dict[str, str] = {
    "verified": "verified (metered)",
    "entered": "entered",
    "simulated": "simulated (EnergyPlus twin)",
}
"""Each kind of saving in words, as tables and totals name it."""


@dataclass(frozen=True)
class OnsiteResult:
    name: str
    technology: str
    capacity_kw: float | None
    generated_mwh: float
    exported_mwh: float
    method: str
    pv: PVResult | None = None

    @property
    def self_consumed_mwh(self) -> float:
        return self.generated_mwh - self.exported_mwh


@dataclass(frozen=True)
class SimulatedBy:
    """What a simulated saving compares: two controllers on the EnergyPlus twin in one climate."""

    baseline_controller: str
    improved_controller: str
    climate: str


@dataclass(frozen=True)
class SavingResult:
    """One saving and the emissions it avoided, of one ``kind``: ``verified`` (metered; ``record`` is its
    verification record and both figures carry its interval), ``simulated`` (``simulated_by`` names the two
    controllers) or ``entered`` (``verification`` says who stated it)."""

    name: str
    site: str | None
    kind: SavingKind
    saved_mwh: float
    factor: EmissionFactor
    avoided_tco2: float
    basis: str
    verification: str
    saved: Figure
    avoided: Figure
    record: Verification | None = None
    record_path: Path | None = None
    simulated_by: SimulatedBy | None = None

    @property
    def saved_interval(self) -> Interval | None:
        return self.saved.interval

    @property
    def avoided_interval(self) -> Interval | None:
        return self.avoided.interval

    @property
    def kind_words(self) -> str:
        """``verified (metered)``, ``simulated (EnergyPlus twin, ai vs trim-respond)`` or ``entered``."""
        if self.simulated_by is not None:
            by = self.simulated_by
            return f"simulated (EnergyPlus twin, {by.improved_controller} vs {by.baseline_controller})"
        return KIND_WORDS[self.kind]


@dataclass(frozen=True)
class ElectricityData:
    """A site's electricity: the period's MWh, the months covered, and what a run adds (monthly detail)."""

    mwh: float
    months: list[int]
    monthly_mwh: list[float] | None
    end_uses_mwh: dict[str, list[float]] | None
    monthly_pue: list[float | None] | None
    run: RunSummary | None
    source: str


@dataclass
class SiteResult:
    name: str
    region: Region
    electricity_source: str
    run: RunSummary | None
    months: list[int]
    monthly_electricity_mwh: list[float] | None
    monthly_end_uses_mwh: dict[str, list[float]] | None
    monthly_pue: list[float | None] | None
    onsite: list[OnsiteResult]
    location_factor: EmissionFactor
    market: MarketBasedResult
    country: str | None = None
    savings: list[SavingResult] = field(default_factory=list)
    figures: dict[str, Figure] = field(default_factory=dict)
    basis: dict[str, Basis] = field(default_factory=dict, repr=False)

    def value(self, key: str) -> float | None:
        return self.figures[key].value


@dataclass
class InventoryResult:
    inventory: Inventory
    label: str
    sites: list[SiteResult]
    savings: list[SavingResult]
    figures: dict[str, Figure]
    year_over_year: dict[str, tuple[YearOverYear, str]]
    factors_used: list[EmissionFactor]
    disclosures: list[str]

    def value(self, key: str) -> float | None:
        return self.figures[key].value


def _io(value: float | None, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit}


def _factor_year(inv: Inventory, site: Site | None) -> int:
    if site is not None and site.factor_year is not None:
        return site.factor_year
    return inv.factor_year if inv.factor_year is not None else inv.reporting_year


def _choose_factor(
    table: FactorTable,
    choice: FactorChoice | None,
    *,
    default_kind: str,
    region: str | None,
    year: int,
    file: str,
    field_name: str,
) -> EmissionFactor:
    """The factor a choice names; a value with its source becomes a user factor."""
    kind = (choice.kind if choice and choice.kind else None) or default_kind
    region = (choice.region if choice and choice.region else None) or region
    year = (choice.year if choice and choice.year else None) or year
    if choice is not None and choice.value_tco2_per_mwh is not None:
        return EmissionFactor(
            region=region or "user",
            year=year,
            kind=kind,
            value_tco2_per_mwh=choice.value_tco2_per_mwh,
            source=choice.source or "",
            origin="user",
        )
    if region is None:
        raise InventoryError(file, f"{field_name}.region", "name the factor's region (the saving has no site)")
    table.region(region, file=file, field=f"{field_name}.region")
    return table.lookup(region, year, kind, file=file, field=field_name)


# --- a site's electricity, region and on-site generation -----------------------------------------------------


def _electricity(loaded: LoadedInventory, site: Site) -> ElectricityData:
    """Electricity of a site: entered annual or monthly, or a greendc run's."""
    elec = site.electricity
    if elec.annual is not None:
        return ElectricityData(
            elec.annual.mwh, list(range(1, 13)), None, None, None, None, f"entered annual ({elec.annual.unit})"
        )
    if elec.monthly is not None:
        values = elec.monthly.mwh
        months = list(range(elec.monthly.first_month, elec.monthly.first_month + len(values)))
        return ElectricityData(sum(values), months, values, None, None, None, f"entered monthly ({elec.monthly.unit})")
    assert elec.from_run is not None
    return _run_electricity(read_run_summary(loaded.resolve(elec.from_run)))


def _run_electricity(run: RunSummary) -> ElectricityData:
    """A run's facility energy, by month and end use, with the monthly PUE (ISO/IEC 30134-2)."""
    months = [m.month for m in run.monthly] or list(range(1, 13))
    monthly = [m.facility_mwh for m in run.monthly] if run.monthly else None
    end_uses = None
    if run.monthly:
        keys = [k for k in run.monthly[0].end_uses_mwh if any(m.end_uses_mwh[k] > 1e-6 for m in run.monthly)]
        end_uses = {k: [m.end_uses_mwh[k] for m in run.monthly] for k in keys}
        end_uses["IT"] = [m.it_mwh for m in run.monthly]
        # Whatever the listed uses leave of the facility total is shown, so the stack adds up to the meter.
        rest = [m.facility_mwh - m.it_mwh - sum(m.end_uses_mwh[k] for k in keys) for m in run.monthly]
        if any(r > 0.005 * m.facility_mwh for r, m in zip(rest, run.monthly, strict=True)):
            end_uses["unattributed"] = [max(r, 0.0) for r in rest]
    pues = [m.pue if m.pue is not None else kpis.pue(m.facility_mwh, m.it_mwh) for m in run.monthly] or None
    source = f"greendc run {run.path} (controller {run.controller or '?'}, weather {run.weather or '?'})"
    return ElectricityData(run.facility_mwh, months, monthly, end_uses, pues, run, source)


def _site_region(table: FactorTable, site: Site, run: RunSummary | None, file: str, where: str) -> Region:
    """The site's grid region: entered, or the run's (and then both must agree)."""
    region_code = site.grid_region
    if run is not None:
        if region_code is not None and region_code.strip().lower() != run.grid_region.strip().lower():
            raise InventoryError(
                file,
                f"{where}.grid_region",
                f"{region_code!r} differs from the run's grid_region {run.grid_region!r} ({run.path})",
            )
        region_code = region_code or run.grid_region
        if site.it_energy is not None:
            raise InventoryError(file, f"{where}.it_energy", "the IT energy comes from the run; remove it here")
    if region_code is None:
        raise InventoryError(file, f"{where}.grid_region", "missing (needed to choose the grid emission factor)")
    return table.region(region_code, file=file, field=f"{where}.grid_region")


def _site_country(site: Site, region: Region, file: str, where: str) -> str | None:
    """The site's country (ISO code): entered, or its grid region's; the two must agree."""
    if site.country is not None and region.country is not None and site.country != region.country:
        raise InventoryError(
            file,
            f"{where}.country",
            f"{site.country!r} is not the country of grid region {region.code!r} ({region.country})",
        )
    return site.country or region.country


def _onsite_generation(loaded: LoadedInventory, site: Site, elec: ElectricityData, where: str) -> list[OnsiteResult]:
    """On-site generation, metered or modelled with pvlib; what is consumed displaces grid purchases."""
    file = loaded.label
    onsite: list[OnsiteResult] = []
    for g_index, gen in enumerate(site.onsite_generation):
        g_where = f"{where}.onsite_generation[{g_index}]"
        pv_result = None
        if gen.metered is not None:
            generated, method, capacity = gen.metered.mwh, f"metered ({gen.metered.unit})", gen.capacity_kw
        else:
            array = gen.pv_model
            assert array is not None
            weather = array.weather or (elec.run.weather if elec.run is not None and elec.run.weather else None)
            if weather is None:
                raise InventoryError(file, f"{g_where}.pv_model.weather", "missing (no run weather to fall back on)")
            epw = resolve_weather(weather, loaded.base_dir, file=file, field=f"{g_where}.pv_model.weather")
            pv_result = model_pv(array, epw, file=file, field=f"{g_where}.pv_model")
            generated = sum(pv_result.monthly_mwh[m - 1] for m in elec.months)
            method = (
                f"pvlib PVWatts model, {array.capacity_kw_dc:g} kWdc, tilt {array.tilt_deg:g} deg, "
                f"azimuth {array.azimuth_deg:g} deg, losses {array.losses_percent:g} %, weather {epw.name}"
            )
            capacity = gen.capacity_kw or array.capacity_kw_dc
        exported = gen.exported.mwh if gen.exported is not None else 0.0
        if exported > generated + 1e-9:
            raise InventoryError(
                file, f"{g_where}.exported", f"exported {exported:,.3f} MWh exceeds generation {generated:,.3f} MWh"
            )
        onsite.append(OnsiteResult(gen.name, gen.technology, capacity, generated, exported, method, pv_result))
    consumed = sum(o.self_consumed_mwh for o in onsite)
    if consumed > elec.mwh + 1e-9:
        raise InventoryError(
            file,
            f"{where}.onsite_generation",
            f"on-site generation consumed ({consumed:,.3f} MWh) exceeds the site's electricity "
            f"({elec.mwh:,.3f} MWh); record the surplus as exported",
        )
    return onsite


# --- Scope 2: the location-based factor and the market-based hierarchy -------------------------------------


_SITE_FACTORS: dict[str, tuple[str, str]] = {
    "location_factor": ("grid_average", "location-based factor"),
    "residual_factor": ("residual_mix", "market-based remainder factor"),
}
"""A site's factor choices: the kind used unless the choice names another, and the choice in words."""


def _site_factor(
    table: FactorTable, site: Site, choice_field: str, region: str, year: int, file: str, where: str
) -> tuple[EmissionFactor, list[str]]:
    """A site's location-based or remainder factor: the default kind for its region and factor year, or what
    the inventory chose or entered instead, with the disclosure that calls for."""
    default_kind, use = _SITE_FACTORS[choice_field]
    choice: FactorChoice | None = getattr(site, choice_field)
    factor = _choose_factor(
        table,
        choice,
        default_kind=default_kind,
        region=region,
        year=year,
        file=file,
        field_name=f"{where}.{choice_field}",
    )
    return factor, disclose.factor_choice(site.name, use, factor, choice)


def _remainder_factor(
    table: FactorTable, site: Site, region: Region, year: int, grid_average: EmissionFactor, where: str, file: str
) -> tuple[EmissionFactor, RemainderBasis, list[str]]:
    """What the electricity no instrument covers counts at (Table 6.3), and the disclosures it calls for."""
    if site.residual_factor is not None:
        residual, told = _site_factor(table, site, "residual_factor", region.market, year, file, where)
        return residual, ("residual_mix" if residual.kind == "residual_mix" else "user"), told
    residual = table.get(region.code, year, "residual_mix") or table.get(region.market, year, "residual_mix")
    if residual is not None:
        return residual, "residual_mix", []
    years = table.years(region.market, "residual_mix")
    return (
        grid_average,
        "grid_average_last_resort",
        disclose.last_resort(site.name, region.market, year, grid_average, years),
    )


def _site(loaded: LoadedInventory, table: FactorTable, index: int, site: Site, disclosures: list[str]) -> SiteResult:
    """One site's electricity, region, generation and Scope 2 inputs; its figures follow once savings are in."""
    inv, file, where = loaded.model, loaded.label, f"sites[{index}]"
    elec = _electricity(loaded, site)
    region = _site_region(table, site, elec.run, file, where)
    disclosures += disclose.partial_months(site.name, elec.months)
    onsite = _onsite_generation(loaded, site, elec, where)
    grid_mwh = grid_electricity_mwh(elec.mwh, sum(o.self_consumed_mwh for o in onsite))
    year = _factor_year(inv, site)
    location, told = _site_factor(table, site, "location_factor", region.code, year, file, where)
    disclosures += told
    instruments = list(site.instruments)
    checks = check_instruments(
        instruments,
        grid_electricity_mwh=grid_mwh,
        period=inv.period,
        market=region.market,
        file=file,
        field=f"{where}.instruments",
    )
    remainder, basis, told = _remainder_factor(table, site, region, year, location, where, file)
    disclosures += told
    market = market_based(
        instruments, grid_electricity_mwh=grid_mwh, remaining_factor=remainder, remaining_basis=basis, checks=checks
    )
    disclosures += disclose.ppa_certificates(site.name, market.claims, basis)
    result = SiteResult(
        site.name, region, elec.source, elec.run, elec.months, elec.monthly_mwh, elec.end_uses_mwh, elec.monthly_pue,
        onsite, location, market, country=_site_country(site, region, file, where),
    )  # fmt: skip
    result.basis = _site_basis(site, elec, onsite, market, grid_mwh, disclosures)
    return result


# --- what each site figure is reported from ----------------------------------------------------------------


def _entered(value: float | None, inputs: dict[str, Any], source: str) -> Basis:
    return Basis(value, inputs, source) if value is not None else Basis(None)


def _capacity_basis(onsite: list[OnsiteResult]) -> Basis:
    capacity_kw = [o.capacity_kw for o in onsite]
    if onsite and all(c is not None for c in capacity_kw):
        return Basis(sum(c for c in capacity_kw if c) / 1000.0, {o.name: o.capacity_kw for o in onsite})
    note = "no on-site generation" if not onsite else "capacity_kw not given for every on-site generator"
    return Basis(None, note=note)


def _site_basis(
    site: Site,
    elec: ElectricityData,
    onsite: list[OnsiteResult],
    market: MarketBasedResult,
    grid_mwh: float,
    disclosures: list[str],
) -> dict[str, Basis]:
    """Every reported (not derived) figure of a site, with its evidence; derived ones follow from specs."""
    run = elec.run
    it_mwh = run.it_mwh if run is not None else (site.it_energy.mwh if site.it_energy is not None else None)
    water_m3 = site.water.m3 if site.water is not None else (run.water_m3 if run is not None else None)
    if site.water is not None and run is not None and run.water_m3 is not None:
        disclosures += disclose.water_replaced(site.name, run.water_m3)
    claims = [c.as_dict() for c in market.claims]
    reused = site.waste_heat_reused
    return {
        "electricity_mwh": Basis(elec.mwh, {"electricity": _io(elec.mwh, "MWh")}, elec.source),
        "onsite_renewable_mwh": Basis(
            sum(o.self_consumed_mwh for o in onsite),
            {
                o.name: {"generated_mwh": o.generated_mwh, "exported_mwh": o.exported_mwh, "method": o.method}
                for o in onsite
            },
        ),
        "market_based_tco2": Basis(
            market.tco2,
            {
                "grid_electricity_mwh": grid_mwh,
                "instruments": claims,
                "remaining_mwh": market.remaining_mwh,
                "remainder_basis": market.remaining_basis,
            },
            market.remaining_factor.source,
            factor=market.remaining_factor,
        ),
        "procured_renewable_mwh": Basis(market.renewable_mwh, {"instruments": [c for c in claims if c["renewable"]]}),
        "renewable_capacity_mw": _capacity_basis(onsite),
        "it_energy_mwh": _entered(
            it_mwh, {"it_energy": _io(it_mwh, "MWh")}, "greendc run" if run is not None else "entered"
        ),
        "water_m3": _entered(
            water_m3, {"water": _io(water_m3, "m3")}, "entered" if site.water is not None else "greendc run"
        ),
        "floor_area_m2": _entered(site.floor_area_m2, {"floor_area_m2": site.floor_area_m2}, "inventory"),
        "installed_it_power_kw": _entered(
            site.installed_it_power_kw, {"installed_it_power_kw": site.installed_it_power_kw}, "inventory"
        ),
        "waste_heat_reused_mwh": _entered(
            reused.mwh if reused is not None else None,
            {"waste_heat_reused": _io(reused.value, reused.unit)} if reused is not None else {},
            "inventory",
        ),
    }


# --- savings and avoided emissions (GRI 302-4, 305-5) ------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    """What a saving's source gives: MWh saved, its basis in words, the inputs shown, the formula, and what
    its kind adds (a verified saving's interval and record, a simulated one's controllers)."""

    saved_mwh: float
    basis: str
    inputs: dict[str, Any]
    formula: str
    interval: Interval | None = None
    record: Verification | None = None
    record_path: Path | None = None
    simulated_by: SimulatedBy | None = None


def _entered_saving(saving: Saving) -> _Found:
    assert saving.energy_saved is not None
    energy = saving.energy_saved
    return _Found(energy.mwh, f"entered ({energy.unit})", {"energy_saved": _io(energy.value, energy.unit)},
                  "energy saved")


def _simulated_saving(loaded: LoadedInventory, saving: Saving, where: str) -> _Found:
    """Baseline minus improved facility energy of a greendc benchmark of the EnergyPlus twin."""
    bench = saving.from_bench
    assert bench is not None
    cmp = read_bench_comparison(
        loaded.resolve(bench.path),
        bench.climate,
        bench.baseline_controller,
        bench.improved_controller,
        field=f"{where}.from_bench",
    )
    if cmp.saved_mwh <= 0:
        raise InventoryError(
            loaded.label,
            f"{where}.from_bench",
            f"{bench.improved_controller!r} used {-cmp.saved_mwh:,.3f} MWh more than {bench.baseline_controller!r} "
            f"in {bench.climate!r}: not a saving",
        )
    basis = (
        f"simulated: greendc benchmark {cmp.path.name} of the EnergyPlus twin, {bench.improved_controller} against "
        f"{bench.baseline_controller}, {bench.climate} climate"
    )
    inputs = {
        "baseline_facility_mwh": cmp.baseline_facility_mwh,
        "improved_facility_mwh": cmp.improved_facility_mwh,
        "bench_file": str(cmp.path),
    }
    by = SimulatedBy(bench.baseline_controller, bench.improved_controller, bench.climate)
    return _Found(cmp.saved_mwh, basis, inputs, "baseline_facility_mwh - improved_facility_mwh", simulated_by=by)


def _verified_saving(loaded: LoadedInventory, saving: Saving) -> _Found:
    """The avoided energy of a greendc verification record (metered), with its interval."""
    assert saving.from_verification is not None
    path = loaded.resolve(saving.from_verification)
    record = read_claimable_verification(path)
    first, last = period_days(record.reporting_period)
    basis = (
        f"metered: greendc verification record {path.name}, {ENERGY_WORDS[record.energy]}, {option_words(record)}, "
        f"reporting period {first.isoformat()} to {last.isoformat()}"
    )
    interval = mwh_interval(record)
    inputs = {
        "adjusted_baseline_mwh": record.adjusted_baseline_kwh / 1000.0,
        "measured_mwh": record.measured_kwh / 1000.0,
        "avoided_mwh": record.avoided_mwh,
        "avoided_mwh_lower": interval.lower,
        "avoided_mwh_upper": interval.upper,
        "confidence_percent": record.confidence,
        "verification_file": str(path),
    }
    formula = "avoided energy of the verification record (adjusted baseline - measured)"
    return _Found(record.avoided_mwh, basis, inputs, formula, interval=interval, record=record, record_path=path)


def _found(loaded: LoadedInventory, saving: Saving, where: str) -> _Found:
    if saving.kind == "verified":
        return _verified_saving(loaded, saving)
    if saving.kind == "simulated":
        return _simulated_saving(loaded, saving, where)
    return _entered_saving(saving)


def _check_claimed_once(
    loaded: LoadedInventory, claimed: dict[int, tuple[SavingResult, str]], result: SavingResult, where: str
) -> None:
    """A verification record, or a site's metered energy over one period, may back one saving only: two
    savings from the same meter hours would count the same energy twice (and not be independent)."""
    record, path = result.record, result.record_path
    assert record is not None and path is not None
    for other, other_where in claimed.values():
        assert other.record is not None and other.record_path is not None
        if other.record_path.resolve() == path.resolve():
            raise InventoryError(
                loaded.label, f"{where}.from_verification", f"{path} is already claimed by {other_where}"
            )
        same_site = (other.site or "").strip().lower() == (result.site or "").strip().lower()
        a, b = record.reporting_period, other.record.reporting_period
        # Interval-end times: a period starting at the stamp where another ends shares that interval with it.
        if same_site and a.start <= b.end and b.start <= a.end:
            raise InventoryError(
                loaded.label,
                f"{where}.from_verification",
                f"its reporting period ({period_words(a)}) overlaps that of {other_where} ({period_words(b)}) at "
                "the same site: the same metered energy would be counted twice",
            )


def _savings(
    loaded: LoadedInventory, table: FactorTable, sites: list[SiteResult], disclosures: list[str]
) -> list[SavingResult]:
    inv = loaded.model
    by_name = {s.name.strip().lower(): s for s in sites}
    site_models = {s.name.strip().lower(): s for s in inv.sites}
    out: list[SavingResult] = []
    claimed: dict[int, tuple[SavingResult, str]] = {}
    for index, saving in enumerate(inv.savings):
        where = f"savings[{index}]"
        site_result = by_name.get(saving.site.strip().lower()) if saving.site else None
        site_model = site_models.get(saving.site.strip().lower()) if saving.site else None
        found = _found(loaded, saving, where)
        factor = _choose_factor(
            table,
            saving.factor,
            default_kind="grid_average",
            region=site_result.region.code if site_result else None,
            year=_factor_year(inv, site_model),
            file=loaded.label,
            field_name=f"{where}.factor",
        )
        disclosures += disclose.factor_choice(saving.name, "avoided-emissions factor", factor, saving.factor)
        tco2 = avoided_tco2(found.saved_mwh, factor.value_tco2_per_mwh)
        saved_fig = Figure(
            found.saved_mwh, "MWh", found.formula, found.inputs, source=found.basis, standard="GRI 302-4",
            interval=found.interval,
        )  # fmt: skip
        avoided_inputs: dict[str, Any] = {"saved_mwh": found.saved_mwh}
        if found.interval is not None:
            avoided_inputs |= {"saved_mwh_lower": found.interval.lower, "saved_mwh_upper": found.interval.upper}
        avoided_fig = Figure(
            tco2,
            "tCO2",
            "saved_mwh x factor" + (" (the bounds likewise)" if found.interval is not None else ""),
            avoided_inputs,
            factor=factor,
            source=factor.source,
            standard="GRI 305-5",
            interval=found.interval.scaled(factor.value_tco2_per_mwh) if found.interval is not None else None,
        )
        result = SavingResult(
            saving.name, saving.site, saving.kind, found.saved_mwh, factor, tco2, found.basis, saving.verification,
            saved_fig, avoided_fig, found.record, found.record_path, found.simulated_by,
        )  # fmt: skip
        if result.record is not None:
            _check_claimed_once(loaded, claimed, result, where)
            claimed[index] = (result, where)
            disclosures += disclose.verified_saving(saving.name, result.record, inv.period)
        if result.simulated_by is not None:
            by = result.simulated_by
            disclosures += disclose.simulated_saving(saving.name, by.improved_controller, by.baseline_controller,
                                                     by.climate)
        out.append(result)
        if site_result is not None:
            site_result.savings.append(result)
    return out


def _distinct(factors: list[EmissionFactor]) -> list[EmissionFactor]:
    """Factors once each, by region, year, kind and value, in the order first used."""
    return list({(f.region, f.year, f.kind, f.value_tco2_per_mwh): f for f in factors}.values())


def _kind_total(savings: list[SavingResult], kind: SavingKind, what: str) -> Basis:
    """One kind's total of MWh saved (``what="saved"``) or tCO2 avoided (``"avoided"``); a verified total
    carries the interval of a sum of independent savings (half-widths in quadrature)."""
    mine = [x for x in savings if x.kind == kind]
    figures = [x.saved if what == "saved" else x.avoided for x in mine]
    total = sum((f.value or 0.0 for f in figures), 0.0)
    intervals = [f.interval for f in figures if f.interval is not None]
    note = "" if mine else f"no {KIND_WORDS[kind]} savings"
    if what == "saved":
        return Basis(total, {x.name: x.saved_mwh for x in mine}, note=note, interval=sum_interval(total, intervals))
    distinct = _distinct([x.factor for x in mine])
    return Basis(
        total,
        {
            x.name: {
                "saved_mwh": x.saved_mwh,
                "saved_basis": x.basis,
                "factor_tco2_per_mwh": x.factor.value_tco2_per_mwh,
                "tco2": x.avoided_tco2,
            }
            for x in mine
        },
        "; ".join(f.source for f in distinct),
        factor=distinct[0] if len(distinct) == 1 else None,
        factors=tuple(distinct) if len(distinct) > 1 else (),
        note=note,
        interval=sum_interval(total, intervals),
    )


def savings_totals(savings: list[SavingResult], where: str) -> dict[str, Basis]:
    """The totals of some savings (a site's or the organization's): per kind, and over all of them.

    Savings are totalled per kind (``energy_saved_mwh_verified``, ``avoided_tco2_simulated``, ...) because
    the kinds are different evidence: a verified saving was metered and has an interval, an entered one is the
    organization's statement without one, a simulated one is the EnergyPlus twin's year and no reduction
    anyone measured. ``energy_saved_mwh`` and ``avoided_tco2`` are the total of all savings only when they are
    all of one kind, and then say which; over mixed kinds they are null with a note, rather than a sum that
    would read as verified when part of it is not. The uncertainty of a sum of independent verified savings
    adds in quadrature (:func:`greendc.carbon.verified.sum_interval`); two verified savings from the same
    record, or from overlapping periods at one site, are refused, so the ones summed are independent.
    """
    out: dict[str, Basis] = {}
    for kind in SAVING_KINDS:
        out[f"energy_saved_mwh_{kind}"] = _kind_total(savings, kind, "saved")
        out[f"avoided_tco2_{kind}"] = _kind_total(savings, kind, "avoided")
    kinds = [k for k in SAVING_KINDS if any(x.kind == k for x in savings)]
    for key in ("energy_saved_mwh", "avoided_tco2"):
        if not kinds:
            out[key] = Basis(0.0, note=f"no savings {where}")
        elif len(kinds) == 1:
            found = out[f"{key}_{kinds[0]}"]
            out[key] = Basis(
                found.value, found.inputs, found.source, found.factor, found.factors,
                note=f"{KIND_WORDS[kinds[0]]} savings only", interval=found.interval,
            )  # fmt: skip
        else:
            out[key] = Basis(
                None,
                note=(
                    f"not added: the savings {where} are of different kinds ("
                    + ", ".join(KIND_WORDS[k] for k in kinds)
                    + "), which are totalled per kind"
                ),
            )
    return out


# --- the organization ------------------------------------------------------------------------------------


def _site_sum(sites: list[SiteResult], key: str) -> Basis:
    values = [s.value(key) for s in sites]
    if any(v is None for v in values):
        return Basis(None, note=f"not available for: {', '.join(s.name for s in sites if s.value(key) is None)}")
    return Basis(sum(v for v in values if v is not None), {s.name: s.value(key) for s in sites})


def _organization_basis(inv: Inventory, sites: list[SiteResult], savings: list[SavingResult]) -> dict[str, Basis]:
    """Every reported figure of the organization: sums over sites, savings, the intensity denominator."""
    basis = {key: _site_sum(sites, key) for key in SUMMED_OVER_SITES}
    capacities = [s.value("renewable_capacity_mw") for s in sites if s.onsite]
    basis["renewable_capacity_mw"] = (
        Basis(
            sum(c for c in capacities if c is not None),
            {s.name: s.value("renewable_capacity_mw") for s in sites if s.onsite},
        )
        if capacities and all(c is not None for c in capacities)
        else Basis(None, note="capacity not given for every generator")
    )
    basis |= savings_totals(savings, "in the inventory")
    denominator = inv.organization.intensity_denominator
    if denominator is not None:
        basis[INTENSITY_DENOMINATOR] = Basis(denominator.value, {denominator.name: denominator.value}, "inventory")
    return basis


def _year_over_year(prev: PreviousYear | None, figures: dict[str, Figure]) -> dict[str, tuple[YearOverYear, str]]:
    """This year's figures against last year's disclosed ones, where both exist."""
    if prev is None:
        return {}

    def mwh(energy) -> float | None:
        return energy.mwh if energy is not None else None

    pairs: list[tuple[str, float | None, str]] = [
        ("electricity_mwh", mwh(prev.electricity), "MWh"),
        ("renewable_mwh", mwh(prev.renewable_electricity), "MWh"),
        ("procured_renewable_mwh", mwh(prev.procured_renewable_electricity), "MWh"),
        ("renewable_capacity_mw", prev.renewable_capacity_mw, "MW"),
        ("location_based_tco2", prev.location_based_tco2, "tCO2"),
        ("market_based_tco2", prev.market_based_tco2, "tCO2"),
        ("it_energy_mwh", mwh(prev.it_energy), "MWh"),
        ("water_m3", prev.water.m3 if prev.water else None, "m3"),
    ]
    if prev.electricity and prev.renewable_electricity:
        share = renewable_share(prev.renewable_electricity.mwh, prev.electricity.mwh)
        pairs.insert(2, ("renewable_share", share, "fraction"))
    out: dict[str, tuple[YearOverYear, str]] = {}
    for key, old, unit in pairs:
        current = figures[key].value
        if current is not None and old is not None:
            out[key] = (year_over_year(current, old), unit)
    return out


def calculate(loaded: LoadedInventory, table: FactorTable | None = None) -> InventoryResult:
    """Every figure of the inventory; raises ``InventoryError`` on the first bad input."""
    inv = loaded.model
    base = table or shipped_table()
    user = [
        EmissionFactor(f.region, f.year, f.kind, f.value_tco2_per_mwh, f.source, origin="user") for f in inv.factors
    ]
    table = base.with_user_factors(user)
    disclosures = disclose.user_factors(user, base) + disclose.period(*inv.period, inv.reporting_year)
    sites = [_site(loaded, table, i, s, disclosures) for i, s in enumerate(inv.sites)]
    savings = _savings(loaded, table, sites, disclosures)
    for s in sites:
        s.basis |= savings_totals(s.savings, "at this site")
        s.figures = evaluate(SITE_FIGURES, s.basis, {"location": s.location_factor})
    figures = evaluate(
        organization_figures(inv.organization.intensity_denominator), _organization_basis(inv, sites, savings)
    )
    used = _distinct(
        [f for s in sites for f in (s.location_factor, s.market.remaining_factor)] + [x.factor for x in savings]
    )
    disclosures += disclose.factor_years(used, inv.reporting_year)
    return InventoryResult(
        inventory=inv,
        label=loaded.label,
        sites=sites,
        savings=savings,
        figures=figures,
        year_over_year=_year_over_year(inv.previous_year, figures),
        factors_used=sorted(used, key=lambda x: (x.region, x.kind, x.year)),
        disclosures=disclosures,
    )
