"""From a validated inventory to every reported figure, each with its inputs, factor and source.

The flow per site: electricity (entered or from a greendc run) -> on-site generation (metered or pvlib)
-> grid purchases -> the location-based factor and the market-based hierarchy (GHG Protocol Scope 2
Guidance) -> what each figure is reported from (:class:`~greendc.carbon.engine.Basis`); then verified
savings -> avoided emissions (GRI 305-5). The figures themselves come from one engine: the specs of
:mod:`greendc.carbon.specs` evaluated per site and for the organization by
:func:`greendc.carbon.engine.evaluate`; then year-over-year changes and the disclosures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from greendc.carbon import disclosures as disclose
from greendc.carbon import kpis
from greendc.carbon.avoided import avoided_tco2
from greendc.carbon.engine import Basis, evaluate
from greendc.carbon.errors import InventoryError
from greendc.carbon.factors import EmissionFactor, FactorTable, Region, shipped_table
from greendc.carbon.figures import Figure
from greendc.carbon.inventory import FactorChoice, Inventory, LoadedInventory, PreviousYear, Saving, Site
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

__all__ = ["GHG_S2", "InventoryResult", "OnsiteResult", "SavingResult", "SiteResult", "calculate"]


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
class SavingResult:
    name: str
    site: str | None
    saved_mwh: float
    factor: EmissionFactor
    avoided_tco2: float
    basis: str
    verification: str
    saved: Figure
    avoided: Figure


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


# --- verified savings and avoided emissions (GRI 302-4, 305-5) ---------------------------------------------


def _saved_mwh(loaded: LoadedInventory, saving: Saving, where: str) -> tuple[float, str, dict[str, Any], str]:
    """MWh saved, its basis in words, the inputs shown and the formula: entered, or from a benchmark."""
    if saving.energy_saved is not None:
        inputs: dict[str, Any] = {"energy_saved": _io(saving.energy_saved.value, saving.energy_saved.unit)}
        return saving.energy_saved.mwh, f"entered ({saving.energy_saved.unit})", inputs, "energy saved"
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
        f"greendc benchmark {cmp.path.name}: {bench.improved_controller} against "
        f"{bench.baseline_controller}, {bench.climate} climate"
    )
    inputs = {
        "baseline_facility_mwh": cmp.baseline_facility_mwh,
        "improved_facility_mwh": cmp.improved_facility_mwh,
        "bench_file": str(cmp.path),
    }
    return cmp.saved_mwh, basis, inputs, "baseline_facility_mwh - improved_facility_mwh"


def _savings(
    loaded: LoadedInventory, table: FactorTable, sites: list[SiteResult], disclosures: list[str]
) -> list[SavingResult]:
    inv = loaded.model
    by_name = {s.name.strip().lower(): s for s in sites}
    site_models = {s.name.strip().lower(): s for s in inv.sites}
    out: list[SavingResult] = []
    for index, saving in enumerate(inv.verified_savings):
        where = f"verified_savings[{index}]"
        site_result = by_name.get(saving.site.strip().lower()) if saving.site else None
        site_model = site_models.get(saving.site.strip().lower()) if saving.site else None
        saved, basis, saved_inputs, formula = _saved_mwh(loaded, saving, where)
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
        tco2 = avoided_tco2(saved, factor.value_tco2_per_mwh)
        saved_fig = Figure(saved, "MWh", formula, saved_inputs, source=basis, standard="GRI 302-4")
        avoided_fig = Figure(
            tco2,
            "tCO2",
            "saved_mwh x factor",
            {"saved_mwh": saved},
            factor=factor,
            source=factor.source,
            standard="GRI 305-5",
        )
        result = SavingResult(
            saving.name, saving.site, saved, factor, tco2, basis, saving.verification, saved_fig, avoided_fig
        )
        out.append(result)
        if site_result is not None:
            site_result.savings.append(result)
    return out


def _distinct(factors: list[EmissionFactor]) -> list[EmissionFactor]:
    """Factors once each, by region, year, kind and value, in the order first used."""
    return list({(f.region, f.year, f.kind, f.value_tco2_per_mwh): f for f in factors}.values())


def _avoided_basis(savings: list[SavingResult], none_note: str) -> Basis:
    """GRI 305-5 total of some savings, each with its MWh, factor and source (never netted from Scope 2)."""
    distinct = _distinct([x.factor for x in savings])
    return Basis(
        sum((x.avoided_tco2 for x in savings), 0.0),
        {
            x.name: {
                "saved_mwh": x.saved_mwh,
                "saved_basis": x.basis,
                "factor_tco2_per_mwh": x.factor.value_tco2_per_mwh,
                "tco2": x.avoided_tco2,
            }
            for x in savings
        },
        "; ".join(f.source for f in distinct),
        factor=distinct[0] if len(distinct) == 1 else None,
        factors=tuple(distinct) if len(distinct) > 1 else (),
        note="" if savings else none_note,
    )


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
    basis["avoided_tco2"] = _avoided_basis(savings, "no verified savings in the inventory")
    basis["energy_saved_mwh"] = Basis(sum((x.saved_mwh for x in savings), 0.0), {x.name: x.saved_mwh for x in savings})
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
        s.basis["avoided_tco2"] = _avoided_basis(s.savings, "no verified savings at this site")
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
