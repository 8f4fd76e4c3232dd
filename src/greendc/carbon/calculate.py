"""From a validated inventory to every reported figure, each with its inputs, factor and source.

The flow per site: electricity (entered or from a greendc run) -> on-site generation (metered or pvlib)
-> grid purchases -> Scope 2 location-based and market-based -> renewables -> KPIs; then verified
savings -> avoided emissions; then organization totals and year-over-year changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from greendc.carbon import kpis
from greendc.carbon.avoided import avoided_tco2
from greendc.carbon.errors import InventoryError
from greendc.carbon.factors import EmissionFactor, FactorTable, Region, shipped_table
from greendc.carbon.figures import Figure, missing
from greendc.carbon.inventory import FactorChoice, Inventory, LoadedInventory, Site
from greendc.carbon.renewables import (
    PVResult,
    YearOverYear,
    model_pv,
    renewable_energy_factor,
    renewable_share,
    resolve_weather,
    year_over_year,
)
from greendc.carbon.runs import RunSummary, read_bench_comparison, read_run_summary
from greendc.carbon.scope2 import (
    HIERARCHY_LABEL,
    MarketBasedResult,
    check_instruments,
    location_based_tco2,
    market_based,
)

GHG_S2 = "GHG Protocol Scope 2 Guidance (2015)"


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
    savings: list[SavingResult] = field(default_factory=list)
    figures: dict[str, Figure] = field(default_factory=dict)

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


def _io(value: float | None, unit: str, source: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"value": value, "unit": unit}
    if source:
        out["source"] = source
    return out


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


def _electricity(loaded: LoadedInventory, site: Site, where: str):
    """Electricity of a site: (annual MWh, months, monthly MWh, end uses, monthly PUE, run, source text)."""
    elec = site.electricity
    if elec.annual is not None:
        return (
            elec.annual.mwh,
            list(range(1, 13)),
            None,
            None,
            None,
            None,
            f"entered annual ({elec.annual.unit})",
        )
    if elec.monthly is not None:
        values = elec.monthly.mwh
        months = list(range(elec.monthly.first_month, elec.monthly.first_month + len(values)))
        return sum(values), months, values, None, None, None, f"entered monthly ({elec.monthly.unit})"
    assert elec.from_run is not None
    run = read_run_summary(loaded.resolve(elec.from_run))
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
    return run.facility_mwh, months, monthly, end_uses, pues, run, source


def _site(loaded: LoadedInventory, table: FactorTable, index: int, site: Site, disclosures: list[str]) -> SiteResult:
    inv = loaded.model
    file = loaded.label
    where = f"sites[{index}]"
    electricity_mwh, months, monthly, end_uses, monthly_pue, run, source = _electricity(loaded, site, where)

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
    region = table.region(region_code, file=file, field=f"{where}.grid_region")
    if len(months) < 12:
        disclosures.append(
            f"{site.name}: electricity covers months {months[0]}-{months[-1]} only; annual figures cover these months."
        )

    # On-site generation: what is consumed behind the meter displaces grid purchases.
    onsite: list[OnsiteResult] = []
    for g_index, gen in enumerate(site.onsite_generation):
        g_where = f"{where}.onsite_generation[{g_index}]"
        pv_result = None
        if gen.metered is not None:
            generated = gen.metered.mwh
            method = f"metered ({gen.metered.unit})"
            capacity = gen.capacity_kw
        else:
            assert gen.pv_model is not None
            weather = gen.pv_model.weather or (run.weather if run is not None and run.weather else None)
            if weather is None:
                raise InventoryError(file, f"{g_where}.pv_model.weather", "missing (no run weather to fall back on)")
            epw = resolve_weather(weather, loaded.base_dir, file=file, field=f"{g_where}.pv_model.weather")
            pv_result = model_pv(gen.pv_model, epw, file=file, field=f"{g_where}.pv_model")
            generated = sum(pv_result.monthly_mwh[m - 1] for m in months)
            method = (
                f"pvlib PVWatts model, {gen.pv_model.capacity_kw_dc:g} kWdc, "
                f"tilt {gen.pv_model.tilt_deg:g} deg, "
                f"azimuth {gen.pv_model.azimuth_deg:g} deg, losses {gen.pv_model.losses_percent:g} %, "
                f"weather {epw.name}"
            )
            capacity = gen.capacity_kw or gen.pv_model.capacity_kw_dc
        exported = gen.exported.mwh if gen.exported is not None else 0.0
        if exported > generated + 1e-9:
            raise InventoryError(
                file,
                f"{g_where}.exported",
                f"exported {exported:,.3f} MWh exceeds generation {generated:,.3f} MWh",
            )
        onsite.append(OnsiteResult(gen.name, gen.technology, capacity, generated, exported, method, pv_result))
    onsite_mwh = sum(o.self_consumed_mwh for o in onsite)
    if onsite_mwh > electricity_mwh + 1e-9:
        raise InventoryError(
            file,
            f"{where}.onsite_generation",
            f"on-site generation consumed ({onsite_mwh:,.3f} MWh) exceeds the site's electricity "
            f"({electricity_mwh:,.3f} MWh); record the surplus as exported",
        )
    grid_mwh = electricity_mwh - onsite_mwh

    # Location-based: the most specific grid factor of the site's own region and the factor year.
    year = _factor_year(inv, site)
    loc_factor = _choose_factor(
        table,
        site.location_factor,
        default_kind="grid_average",
        region=region.code,
        year=year,
        file=file,
        field_name=f"{where}.location_factor",
    )
    if site.location_factor is not None:
        disclosures.append(
            f"{site.name}: location-based factor chosen explicitly: {loc_factor.kind} {loc_factor.region} "
            f"{loc_factor.year} = {loc_factor.value_tco2_per_mwh:.4f} tCO2/MWh."
        )
    loc_tco2 = location_based_tco2(grid_mwh, loc_factor.value_tco2_per_mwh)

    # Market-based: instruments, then the residual mix of the region or its market, else the grid average.
    checks = check_instruments(
        list(site.instruments),
        grid_electricity_mwh=grid_mwh,
        period=inv.period,
        market=region.market,
        file=file,
        field=f"{where}.instruments",
    )
    if site.residual_factor is not None:
        residual = _choose_factor(
            table,
            site.residual_factor,
            default_kind="residual_mix",
            region=region.market,
            year=year,
            file=file,
            field_name=f"{where}.residual_factor",
        )
        basis = "residual_mix" if residual.kind == "residual_mix" else "user"
    else:
        residual = table.get(region.code, year, "residual_mix") or table.get(region.market, year, "residual_mix")
        basis = "residual_mix"
        if residual is None:
            residual, basis = loc_factor, "grid_average_last_resort"
            others = table.years(region.market, "residual_mix")
            extra = f" (residual mixes exist for {', '.join(map(str, others))})" if others else ""
            disclosures.append(
                f"{site.name}: no residual mix for {region.market} {year}{extra}; "
                "the market-based remainder uses "
                f"the grid average {loc_factor.value_tco2_per_mwh:.4f} tCO2/MWh as the last resort "
                f"({GHG_S2}, Table 6.3), which may double count claimed renewables."
            )
    mkt = market_based(
        list(site.instruments),
        grid_electricity_mwh=grid_mwh,
        remaining_factor=residual,
        remaining_basis=basis,  # type: ignore[arg-type]
        checks=checks,
    )

    it_mwh = run.it_mwh if run is not None else (site.it_energy.mwh if site.it_energy is not None else None)
    water_m3 = site.water.m3 if site.water is not None else (run.water_m3 if run is not None else None)
    water_source = "entered" if site.water is not None else ("greendc run" if water_m3 is not None else "")
    if site.water is not None and run is not None and run.water_m3 is not None:
        disclosures.append(f"{site.name}: entered water use replaces the run's simulated {run.water_m3:,.1f} m3.")
    it_source = "greendc run" if run is not None else ("entered" if it_mwh is not None else "")

    result = SiteResult(
        name=site.name,
        region=region,
        electricity_source=source,
        run=run,
        months=months,
        monthly_electricity_mwh=monthly,
        monthly_end_uses_mwh=end_uses,
        monthly_pue=monthly_pue,
        onsite=onsite,
        location_factor=loc_factor,
        market=mkt,
    )
    f = result.figures
    f["electricity_mwh"] = Figure(
        electricity_mwh,
        "MWh",
        "total electricity consumed by the site",
        {"electricity": _io(electricity_mwh, "MWh")},
        source=source,
        standard="GRI 302-1",
    )
    f["onsite_renewable_mwh"] = Figure(
        onsite_mwh,
        "MWh",
        "sum(on-site generation - exported)",
        {
            o.name: {"generated_mwh": o.generated_mwh, "exported_mwh": o.exported_mwh, "method": o.method}
            for o in onsite
        },
        standard="GRI 302-1; ISO/IEC 30134-3",
    )
    f["grid_electricity_mwh"] = Figure(
        grid_mwh,
        "MWh",
        "electricity_mwh - onsite_renewable_mwh",
        {"electricity_mwh": electricity_mwh, "onsite_renewable_mwh": onsite_mwh},
        standard="GRI 302-1",
    )
    f["location_based_tco2"] = Figure(
        loc_tco2,
        "tCO2",
        "grid_electricity_mwh x location factor",
        {"grid_electricity_mwh": grid_mwh},
        factor=loc_factor,
        source=loc_factor.source,
        standard=f"{GHG_S2} ch. 6; GRI 305-2",
    )
    claims = [
        {
            "id": c.id,
            "kind": c.kind,
            "scheme": c.scheme,
            "energy_mwh": c.energy_mwh,
            "rate_tco2_per_mwh": c.rate_tco2_per_mwh,
            "tco2": c.tco2,
            "renewable": c.renewable,
            "hierarchy": HIERARCHY_LABEL[c.kind],
        }
        for c in mkt.claims
    ]
    f["market_based_tco2"] = Figure(
        mkt.tco2,
        "tCO2",
        "sum(instrument MWh x instrument rate) + (grid_electricity_mwh - instrument MWh) x remainder factor",
        {
            "grid_electricity_mwh": grid_mwh,
            "instruments": claims,
            "remaining_mwh": mkt.remaining_mwh,
            "remainder_basis": mkt.remaining_basis,
        },
        factor=residual,
        source=residual.source,
        standard=f"{GHG_S2} ch. 6, Table 6.3; GRI 305-2",
    )
    procured = mkt.renewable_mwh
    renewable = onsite_mwh + procured
    f["procured_renewable_mwh"] = Figure(
        procured,
        "MWh",
        "sum(renewable certificates and PPAs claimed)",
        {"instruments": [c for c in claims if c["renewable"]]},
        standard="GRI 302-1",
    )
    f["renewable_mwh"] = Figure(
        renewable,
        "MWh",
        "onsite_renewable_mwh + procured_renewable_mwh",
        {"onsite_renewable_mwh": onsite_mwh, "procured_renewable_mwh": procured},
        standard="ISO/IEC 30134-3",
    )
    f["renewable_share"] = Figure(
        renewable_share(renewable, electricity_mwh),
        "fraction",
        "renewable_mwh / electricity_mwh",
        {"renewable_mwh": renewable, "electricity_mwh": electricity_mwh},
    )
    f["ref"] = Figure(
        renewable_energy_factor(renewable, electricity_mwh),
        "fraction",
        "renewable energy / total data-center energy (electricity only)",
        {"renewable_mwh": renewable, "total_energy_mwh": electricity_mwh},
        standard="ISO/IEC 30134-3",
    )
    capacity_kw = [o.capacity_kw for o in onsite]
    f["renewable_capacity_mw"] = (
        Figure(
            sum(c for c in capacity_kw if c) / 1000.0,
            "MW",
            "sum(on-site capacity_kw) / 1000",
            {o.name: o.capacity_kw for o in onsite},
        )
        if onsite and all(c is not None for c in capacity_kw)
        else missing(
            "MW",
            "sum(on-site capacity_kw) / 1000",
            "no on-site generation" if not onsite else "capacity_kw not given for every on-site generator",
        )
    )
    if it_mwh is not None:
        f["it_energy_mwh"] = Figure(
            it_mwh, "MWh", "IT equipment energy", {"it_energy": _io(it_mwh, "MWh")}, source=it_source
        )
        f["pue"] = Figure(
            kpis.pue(electricity_mwh, it_mwh),
            "ratio",
            "electricity_mwh / it_energy_mwh",
            {"electricity_mwh": electricity_mwh, "it_energy_mwh": it_mwh},
            standard="ISO/IEC 30134-2",
        )
        f["cue"] = Figure(
            kpis.cue_kgco2_per_kwh(loc_tco2, it_mwh),
            "kgCO2/kWh",
            "location_based_tco2 / it_energy_mwh",
            {"location_based_tco2": loc_tco2, "it_energy_mwh": it_mwh},
            factor=loc_factor,
            source=loc_factor.source,
            standard="ISO/IEC 30134-8",
        )
        f["cue_market_based"] = Figure(
            kpis.cue_kgco2_per_kwh(mkt.tco2, it_mwh),
            "kgCO2/kWh",
            "market_based_tco2 / it_energy_mwh",
            {"market_based_tco2": mkt.tco2, "it_energy_mwh": it_mwh},
            standard="ISO/IEC 30134-8 (market-based variant)",
        )
    else:
        note = "it_energy not given"
        f["it_energy_mwh"] = missing("MWh", "IT equipment energy", note)
        f["pue"] = missing("ratio", "electricity_mwh / it_energy_mwh", note, "ISO/IEC 30134-2")
        f["cue"] = missing("kgCO2/kWh", "location_based_tco2 / it_energy_mwh", note, "ISO/IEC 30134-8")
        f["cue_market_based"] = missing("kgCO2/kWh", "market_based_tco2 / it_energy_mwh", note, "ISO/IEC 30134-8")
    f["water_m3"] = (
        Figure(water_m3, "m3", "site water input", {"water": _io(water_m3, "m3")}, source=water_source)
        if water_m3 is not None
        else missing("m3", "site water input", "water not given")
    )
    wue = kpis.wue_l_per_kwh(water_m3, it_mwh)
    f["wue"] = (
        Figure(
            wue,
            "L/kWh",
            "water_m3 x 1000 / (it_energy_mwh x 1000)",
            {"water_m3": water_m3, "it_energy_mwh": it_mwh},
            standard="ISO/IEC 30134-9",
        )
        if wue is not None
        else missing("L/kWh", "water_m3 / it_energy_mwh", "water or IT energy not given", "ISO/IEC 30134-9")
    )
    reused = site.waste_heat_reused.mwh if site.waste_heat_reused is not None else None
    erf_value = kpis.erf(reused, electricity_mwh)
    f["erf"] = (
        Figure(
            erf_value,
            "fraction",
            "waste_heat_reused_mwh / electricity_mwh",
            {"waste_heat_reused_mwh": reused, "electricity_mwh": electricity_mwh},
            standard="ISO/IEC 30134-6",
        )
        if erf_value is not None
        else missing(
            "fraction",
            "waste_heat_reused_mwh / electricity_mwh",
            "waste_heat_reused not given",
            "ISO/IEC 30134-6",
        )
    )
    area_intensity = kpis.intensity(electricity_mwh * 1000.0, site.floor_area_m2)
    f["energy_intensity_kwh_per_m2"] = (
        Figure(
            area_intensity,
            "kWh/m2",
            "electricity_mwh x 1000 / floor_area_m2",
            {"electricity_mwh": electricity_mwh, "floor_area_m2": site.floor_area_m2},
            standard="GRI 302-3",
        )
        if area_intensity is not None
        else missing("kWh/m2", "electricity_mwh x 1000 / floor_area_m2", "floor_area_m2 not given", "GRI 302-3")
    )
    f["floor_area_m2"] = (
        Figure(
            site.floor_area_m2,
            "m2",
            "entered",
            {"floor_area_m2": site.floor_area_m2},
            source="inventory",
            standard="GRI 302-3; EU 2024/1364",
        )
        if site.floor_area_m2 is not None
        else missing("m2", "entered", "floor_area_m2 not given")
    )
    f["installed_it_power_kw"] = (
        Figure(
            site.installed_it_power_kw,
            "kW",
            "entered",
            {"installed_it_power_kw": site.installed_it_power_kw},
            source="inventory",
            standard="EU 2024/1364",
        )
        if site.installed_it_power_kw is not None
        else missing("kW", "entered", "installed_it_power_kw not given")
    )
    f["waste_heat_reused_mwh"] = (
        Figure(
            reused,
            "MWh",
            "entered",
            {"waste_heat_reused": _io(site.waste_heat_reused.value, site.waste_heat_reused.unit)},
            source="inventory",
            standard="EU 2024/1364; ISO/IEC 30134-6",
        )
        if reused is not None
        else missing("MWh", "entered", "waste_heat_reused not given")
    )
    return result


def _savings(loaded: LoadedInventory, table: FactorTable, sites: list[SiteResult]) -> list[SavingResult]:
    inv = loaded.model
    file = loaded.label
    by_name = {s.name.strip().lower(): s for s in sites}
    site_models = {s.name.strip().lower(): s for s in inv.sites}
    out: list[SavingResult] = []
    for index, saving in enumerate(inv.verified_savings):
        where = f"verified_savings[{index}]"
        site_result = by_name.get(saving.site.strip().lower()) if saving.site else None
        site_model = site_models.get(saving.site.strip().lower()) if saving.site else None
        if saving.energy_saved is not None:
            saved = saving.energy_saved.mwh
            basis = f"entered ({saving.energy_saved.unit})"
            saved_inputs: dict[str, Any] = {"energy_saved": _io(saving.energy_saved.value, saving.energy_saved.unit)}
        else:
            bench = saving.from_bench
            assert bench is not None
            cmp = read_bench_comparison(
                loaded.resolve(bench.path),
                bench.climate,
                bench.baseline_controller,
                bench.improved_controller,
                field=f"{where}.from_bench",
            )
            saved = cmp.saved_mwh
            if saved <= 0:
                raise InventoryError(
                    file,
                    f"{where}.from_bench",
                    f"{bench.improved_controller!r} used {-saved:,.3f} MWh more than "
                    f"{bench.baseline_controller!r} "
                    f"in {bench.climate!r}: not a saving",
                )
            basis = (
                f"greendc benchmark {cmp.path.name}: {bench.improved_controller} against "
                f"{bench.baseline_controller}, {bench.climate} climate"
            )
            saved_inputs = {
                "baseline_facility_mwh": cmp.baseline_facility_mwh,
                "improved_facility_mwh": cmp.improved_facility_mwh,
                "bench_file": str(cmp.path),
            }
        factor = _choose_factor(
            table,
            saving.factor,
            default_kind="grid_average",
            region=site_result.region.code if site_result else None,
            year=_factor_year(inv, site_model),
            file=file,
            field_name=f"{where}.factor",
        )
        tco2 = avoided_tco2(saved, factor.value_tco2_per_mwh)
        saved_fig = Figure(
            saved,
            "MWh",
            "energy saved" if saving.energy_saved else "baseline_facility_mwh - improved_facility_mwh",
            saved_inputs,
            source=basis,
            standard="GRI 302-4",
        )
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


def _avoided_figure(savings: list[SavingResult], formula: str, none_note: str) -> Figure:
    """GRI 305-5 total of some savings, each with its MWh, factor and source (never netted from Scope 2)."""
    factors: dict[tuple[str, int, str, float], EmissionFactor] = {}
    for x in savings:
        factors[(x.factor.region, x.factor.year, x.factor.kind, x.factor.value_tco2_per_mwh)] = x.factor
    distinct = list(factors.values())
    return Figure(
        sum((x.avoided_tco2 for x in savings), 0.0),
        "tCO2",
        formula,
        {
            x.name: {
                "saved_mwh": x.saved_mwh,
                "saved_basis": x.basis,
                "factor_tco2_per_mwh": x.factor.value_tco2_per_mwh,
                "tco2": x.avoided_tco2,
            }
            for x in savings
        },
        factor=distinct[0] if len(distinct) == 1 else None,
        factors=tuple(distinct) if len(distinct) > 1 else (),
        source="; ".join(f.source for f in distinct),
        standard="GRI 305-5",
        note="" if savings else none_note,
    )


def _sum_figure(sites: list[SiteResult], key: str, unit: str, standard: str = "") -> Figure:
    values = [s.value(key) for s in sites]
    if any(v is None for v in values):
        lacking = [s.name for s in sites if s.value(key) is None]
        return missing(unit, f"sum over sites of {key}", f"not available for: {', '.join(lacking)}", standard)
    return Figure(
        sum(v for v in values if v is not None),
        unit,
        f"sum over sites of {key}",
        {s.name: s.value(key) for s in sites},
        standard=standard,
    )


def _ratio_figure(num: Figure, den: Figure, unit: str, formula: str, standard: str, scale: float = 1.0) -> Figure:
    if num.value is None or den.value is None or den.value <= 0:
        return missing(unit, formula, "inputs not available for every site", standard)
    return Figure(
        num.value / den.value * scale,
        unit,
        formula,
        {"numerator": num.value, "denominator": den.value},
        standard=standard,
    )


def calculate(loaded: LoadedInventory, table: FactorTable | None = None) -> InventoryResult:
    """Every figure of the inventory; raises ``InventoryError`` on the first bad input."""
    inv = loaded.model
    base = table or shipped_table()
    user = [
        EmissionFactor(f.region, f.year, f.kind, f.value_tco2_per_mwh, f.source, origin="user") for f in inv.factors
    ]
    table = base.with_user_factors(user)
    disclosures: list[str] = []
    for f in user:
        if base.get(f.region, f.year, f.kind) is not None:
            disclosures.append(
                f"User factor overrides the shipped {f.kind} {f.region} {f.year}: "
                f"{f.value_tco2_per_mwh:.4f} tCO2/MWh "
                f"({f.source})."
            )
    sites = [_site(loaded, table, i, s, disclosures) for i, s in enumerate(inv.sites)]
    savings = _savings(loaded, table, sites)
    for s in sites:
        s.figures["avoided_tco2"] = _avoided_figure(
            s.savings, "sum(saved_mwh x factor) over the site's verified savings", "no verified savings at this site"
        )

    f: dict[str, Figure] = {}
    for key, unit, std in [
        ("electricity_mwh", "MWh", "GRI 302-1"),
        ("grid_electricity_mwh", "MWh", "GRI 302-1"),
        ("onsite_renewable_mwh", "MWh", "GRI 302-1"),
        ("procured_renewable_mwh", "MWh", "GRI 302-1"),
        ("renewable_mwh", "MWh", "ISO/IEC 30134-3"),
        ("location_based_tco2", "tCO2", "GRI 305-2"),
        ("market_based_tco2", "tCO2", "GRI 305-2"),
        ("it_energy_mwh", "MWh", ""),
        ("water_m3", "m3", ""),
    ]:
        f[key] = _sum_figure(sites, key, unit, std)
    capacities = [s.value("renewable_capacity_mw") for s in sites if s.onsite]
    f["renewable_capacity_mw"] = (
        Figure(
            sum(c for c in capacities if c is not None),
            "MW",
            "sum over sites of on-site renewable capacity",
            {s.name: s.value("renewable_capacity_mw") for s in sites if s.onsite},
        )
        if capacities and all(c is not None for c in capacities)
        else missing("MW", "sum over sites of on-site renewable capacity", "capacity not given for every generator")
    )
    f["energy_gj"] = Figure(
        f["electricity_mwh"].value * kpis.MWH_TO_GJ,
        "GJ",
        "electricity_mwh x 3.6",
        {"electricity_mwh": f["electricity_mwh"].value},
        standard="GRI 302-1",
    )
    f["avoided_tco2"] = _avoided_figure(savings, "sum(saved_mwh x factor)", "no verified savings in the inventory")
    f["energy_saved_mwh"] = Figure(
        sum((x.saved_mwh for x in savings), 0.0),
        "MWh",
        "sum of verified savings",
        {x.name: x.saved_mwh for x in savings},
        standard="GRI 302-4",
    )
    elec, ren = f["electricity_mwh"].value, f["renewable_mwh"].value
    f["renewable_share"] = Figure(
        renewable_share(ren, elec),
        "fraction",
        "renewable_mwh / electricity_mwh",
        {"renewable_mwh": ren, "electricity_mwh": elec},
    )
    f["ref"] = Figure(
        renewable_energy_factor(ren, elec),
        "fraction",
        "renewable energy / total energy",
        {"renewable_mwh": ren, "total_energy_mwh": elec},
        standard="ISO/IEC 30134-3",
    )
    f["pue"] = _ratio_figure(
        f["electricity_mwh"],
        f["it_energy_mwh"],
        "ratio",
        "electricity_mwh / it_energy_mwh",
        "ISO/IEC 30134-2",
    )
    f["cue"] = _ratio_figure(
        f["location_based_tco2"],
        f["it_energy_mwh"],
        "kgCO2/kWh",
        "location_based_tco2 / it_energy_mwh",
        "ISO/IEC 30134-8",
    )
    f["cue_market_based"] = _ratio_figure(
        f["market_based_tco2"],
        f["it_energy_mwh"],
        "kgCO2/kWh",
        "market_based_tco2 / it_energy_mwh",
        "ISO/IEC 30134-8",
    )
    f["wue"] = _ratio_figure(f["water_m3"], f["it_energy_mwh"], "L/kWh", "water_m3 / it_energy_mwh", "ISO/IEC 30134-9")
    denom = inv.organization.intensity_denominator
    if denom is not None:
        d = Figure(denom.value, denom.unit, "entered", {}, source="inventory")
        f["energy_intensity"] = _ratio_figure(
            f["electricity_mwh"], d, f"MWh per {denom.unit}", f"electricity_mwh / {denom.name}", "GRI 302-3"
        )
        f["location_based_intensity"] = _ratio_figure(
            f["location_based_tco2"],
            d,
            f"tCO2 per {denom.unit}",
            f"location_based_tco2 / {denom.name}",
            "GRI 305-4",
        )
        f["market_based_intensity"] = _ratio_figure(
            f["market_based_tco2"],
            d,
            f"tCO2 per {denom.unit}",
            f"market_based_tco2 / {denom.name}",
            "GRI 305-4",
        )

    yoy: dict[str, tuple[YearOverYear, str]] = {}
    prev = inv.previous_year
    if prev is not None:
        pairs: list[tuple[str, float | None, float | None, str]] = [
            ("electricity_mwh", elec, prev.electricity.mwh if prev.electricity else None, "MWh"),
            (
                "renewable_mwh",
                ren,
                prev.renewable_electricity.mwh if prev.renewable_electricity else None,
                "MWh",
            ),
            (
                "procured_renewable_mwh",
                f["procured_renewable_mwh"].value,
                prev.procured_renewable_electricity.mwh if prev.procured_renewable_electricity else None,
                "MWh",
            ),
            ("renewable_capacity_mw", f["renewable_capacity_mw"].value, prev.renewable_capacity_mw, "MW"),
            ("location_based_tco2", f["location_based_tco2"].value, prev.location_based_tco2, "tCO2"),
            ("market_based_tco2", f["market_based_tco2"].value, prev.market_based_tco2, "tCO2"),
            (
                "it_energy_mwh",
                f["it_energy_mwh"].value,
                prev.it_energy.mwh if prev.it_energy else None,
                "MWh",
            ),
            ("water_m3", f["water_m3"].value, prev.water.m3 if prev.water else None, "m3"),
        ]
        if prev.electricity and prev.renewable_electricity:
            prev_share = renewable_share(prev.renewable_electricity.mwh, prev.electricity.mwh)
            pairs.insert(2, ("renewable_share", f["renewable_share"].value, prev_share, "fraction"))
        for key, cur, old, unit in pairs:
            if cur is not None and old is not None:
                yoy[key] = (year_over_year(cur, old), unit)

    used: dict[tuple[str, int, str, float], EmissionFactor] = {}
    for s in sites:
        for fac in (s.location_factor, s.market.remaining_factor):
            used[(fac.region, fac.year, fac.kind, fac.value_tco2_per_mwh)] = fac
    for x in savings:
        used[(x.factor.region, x.factor.year, x.factor.kind, x.factor.value_tco2_per_mwh)] = x.factor
    for fac in used.values():
        if fac.year != inv.reporting_year:
            disclosures.append(
                f"The {fac.kind} factor {fac.region} of {fac.year} "
                f"({fac.value_tco2_per_mwh:.4f} tCO2/MWh) is used "
                f"for reporting year {inv.reporting_year}, as chosen explicitly in the inventory."
            )
    return InventoryResult(
        inventory=inv,
        label=loaded.label,
        sites=sites,
        savings=savings,
        figures=f,
        year_over_year=yoy,
        factors_used=sorted(used.values(), key=lambda x: (x.region, x.kind, x.year)),
        disclosures=disclosures,
    )
