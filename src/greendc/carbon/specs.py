"""The figures greendc reports, one declarative spec each: unit, formula, inputs, standard, note when missing.

``SITE_FIGURES`` are evaluated for every site and ``organization_figures`` once for the inventory by the
one evaluator in :mod:`greendc.carbon.engine`; the KPIs computed from totals (renewable share, REF, PUE,
CUE, WUE) are the same specs at both levels. Each derived figure names the pure function that computes it.
"""

from __future__ import annotations

from greendc.carbon import kpis
from greendc.carbon.engine import FigureSpec, derived, reported
from greendc.carbon.inventory import SAVING_KINDS, IntensityDenominator
from greendc.carbon.renewables import renewable_energy_factor, renewable_mwh, renewable_share
from greendc.carbon.scope2 import GHG_S2, grid_electricity_mwh, location_based_tco2

NO_IT_ENERGY = "it_energy not given"

RENEWABLE_SHARE = derived(
    "renewable_share",
    "fraction",
    "renewable_mwh / electricity_mwh",
    renewable_share,
    "renewable_mwh",
    "electricity_mwh",
)
REF = derived(
    "ref",
    "fraction",
    "renewable energy / total data-center energy (electricity only)",
    renewable_energy_factor,
    "renewable_mwh",
    ("total_energy_mwh", "electricity_mwh"),
    standard="ISO/IEC 30134-3",
)
PUE = derived(
    "pue",
    "ratio",
    "electricity_mwh / it_energy_mwh",
    kpis.pue,
    "electricity_mwh",
    "it_energy_mwh",
    standard="ISO/IEC 30134-2",
    missing_note=NO_IT_ENERGY,
)
CUE = derived(
    "cue",
    "kgCO2/kWh",
    "location_based_tco2 / it_energy_mwh",
    kpis.cue_kgco2_per_kwh,
    "location_based_tco2",
    "it_energy_mwh",
    standard="ISO/IEC 30134-8",
    missing_note=NO_IT_ENERGY,
    factor="location",
)
CUE_MARKET_BASED = derived(
    "cue_market_based",
    "kgCO2/kWh",
    "market_based_tco2 / it_energy_mwh",
    kpis.cue_kgco2_per_kwh,
    "market_based_tco2",
    "it_energy_mwh",
    standard="ISO/IEC 30134-8 (market-based variant)",
    missing_note=NO_IT_ENERGY,
)
WUE = derived(
    "wue",
    "L/kWh",
    "water_m3 x 1000 / (it_energy_mwh x 1000)",
    kpis.wue_l_per_kwh,
    "water_m3",
    "it_energy_mwh",
    standard="ISO/IEC 30134-9",
    missing_note="water or IT energy not given",
)
"""The KPIs computed from a site's or the organization's totals by the same specs."""

SAVINGS_FIGURES: tuple[FigureSpec, ...] = (
    reported("energy_saved_mwh", "MWh", "sum of the savings, when all are of one kind", "GRI 302-4"),
    reported("avoided_tco2", "tCO2", "sum(saved_mwh x factor), when all savings are of one kind", "GRI 305-5"),
    *(
        spec
        for kind in SAVING_KINDS
        for spec in (
            reported(f"energy_saved_mwh_{kind}", "MWh", f"sum of the {kind} savings", "GRI 302-4"),
            reported(f"avoided_tco2_{kind}", "tCO2", f"sum(saved_mwh x factor) over the {kind} savings", "GRI 305-5"),
        )
    ),
)
"""The savings totals of a site or the organization: per kind, and over all savings when they are of one kind
(see ``greendc.carbon.calculate.savings_totals``)."""

SITE_FIGURES: tuple[FigureSpec, ...] = (
    reported("electricity_mwh", "MWh", "total electricity consumed by the site", "GRI 302-1"),
    reported("onsite_renewable_mwh", "MWh", "sum(on-site generation - exported)", "GRI 302-1; ISO/IEC 30134-3"),
    derived(
        "grid_electricity_mwh",
        "MWh",
        "electricity_mwh - onsite_renewable_mwh",
        grid_electricity_mwh,
        "electricity_mwh",
        "onsite_renewable_mwh",
        standard="GRI 302-1",
    ),
    derived(
        "location_based_tco2",
        "tCO2",
        "grid_electricity_mwh x location factor",
        location_based_tco2,
        "grid_electricity_mwh",
        standard=f"{GHG_S2} ch. 6; GRI 305-2",
        factor="location",
        applies_factor=True,
    ),
    reported(
        "market_based_tco2",
        "tCO2",
        "sum(instrument MWh x instrument rate) + (grid_electricity_mwh - instrument MWh) x remainder factor",
        f"{GHG_S2} ch. 6, Table 6.3; GRI 305-2",
    ),
    reported("procured_renewable_mwh", "MWh", "sum(renewable certificates and PPAs claimed)", "GRI 302-1"),
    derived(
        "renewable_mwh",
        "MWh",
        "onsite_renewable_mwh + procured_renewable_mwh",
        renewable_mwh,
        "onsite_renewable_mwh",
        "procured_renewable_mwh",
        standard="ISO/IEC 30134-3",
    ),
    RENEWABLE_SHARE,
    REF,
    reported("renewable_capacity_mw", "MW", "sum(on-site capacity_kw) / 1000"),
    reported("it_energy_mwh", "MWh", "IT equipment energy", missing_note=NO_IT_ENERGY),
    PUE,
    CUE,
    CUE_MARKET_BASED,
    reported("water_m3", "m3", "site water input", missing_note="water not given"),
    WUE,
    derived(
        "erf",
        "fraction",
        "waste_heat_reused_mwh / electricity_mwh",
        kpis.erf,
        "waste_heat_reused_mwh",
        "electricity_mwh",
        standard="ISO/IEC 30134-6",
        missing_note="waste_heat_reused not given",
    ),
    derived(
        "energy_intensity_kwh_per_m2",
        "kWh/m2",
        "electricity_mwh x 1000 / floor_area_m2",
        kpis.energy_intensity_kwh_per_m2,
        "electricity_mwh",
        "floor_area_m2",
        standard="GRI 302-3",
        missing_note="floor_area_m2 not given",
    ),
    reported("floor_area_m2", "m2", "entered", "GRI 302-3; EU 2024/1364", "floor_area_m2 not given"),
    reported("installed_it_power_kw", "kW", "entered", "EU 2024/1364", "installed_it_power_kw not given"),
    reported("waste_heat_reused_mwh", "MWh", "entered", "EU 2024/1364; ISO/IEC 30134-6", "waste_heat_reused not given"),
    *SAVINGS_FIGURES,
)

SUMMED_OVER_SITES: dict[str, str] = {
    "electricity_mwh": "GRI 302-1",
    "grid_electricity_mwh": "GRI 302-1",
    "onsite_renewable_mwh": "GRI 302-1",
    "procured_renewable_mwh": "GRI 302-1",
    "renewable_mwh": "ISO/IEC 30134-3",
    "location_based_tco2": "GRI 305-2",
    "market_based_tco2": "GRI 305-2",
    "it_energy_mwh": "",
    "water_m3": "",
}
"""Organization totals, each the sum of the sites' figure (in its unit), with the standard it reports."""

INTENSITY_DENOMINATOR = "intensity_denominator"
_SITE_UNITS = {spec.key: spec.unit for spec in SITE_FIGURES}


def organization_figures(denominator: IntensityDenominator | None) -> tuple[FigureSpec, ...]:
    """The organization's figures; with an intensity denominator (e.g. revenue) also GRI 302-3 / 305-4."""
    specs = [
        *(reported(key, _SITE_UNITS[key], f"sum over sites of {key}", std) for key, std in SUMMED_OVER_SITES.items()),
        reported("renewable_capacity_mw", "MW", "sum over sites of on-site renewable capacity"),
        derived("energy_gj", "GJ", "electricity_mwh x 3.6", kpis.energy_gj, "electricity_mwh", standard="GRI 302-1"),
        *SAVINGS_FIGURES,
        RENEWABLE_SHARE,
        REF,
        PUE,
        CUE,
        CUE_MARKET_BASED,
        WUE,
    ]
    if denominator is not None:
        specs.append(reported(INTENSITY_DENOMINATOR, denominator.unit, "entered"))
        for key, numerator, unit, standard in (
            ("energy_intensity", "electricity_mwh", "MWh", "GRI 302-3"),
            ("location_based_intensity", "location_based_tco2", "tCO2", "GRI 305-4"),
            ("market_based_intensity", "market_based_tco2", "tCO2", "GRI 305-4"),
        ):
            specs.append(
                derived(
                    key,
                    f"{unit} per {denominator.unit}",
                    f"{numerator} / {denominator.name}",
                    kpis.intensity,
                    numerator,
                    (denominator.name, INTENSITY_DENOMINATOR),
                    standard=standard,
                )
            )
    return tuple(specs)
