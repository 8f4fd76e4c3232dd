"""The report's tables (GRI 302-1, 302-3, 302-4, 305-2, 305-4, 305-5, ISO/IEC 30134 KPIs, EU 2024/1364),
built once and written both as HTML and as CSV so that the two never disagree."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from greendc.carbon import eu
from greendc.carbon.calculate import KIND_WORDS, InventoryResult, SavingResult
from greendc.carbon.disclosures import KIND_LABEL
from greendc.carbon.figures import Figure, Interval
from greendc.carbon.inventory import SAVING_KINDS
from greendc.carbon.kpis import MWH_TO_GJ
from greendc.carbon.scope2 import HIERARCHY_LABEL, REMAINDER_LABEL
from greendc.carbon.verified import interval_words

Cell = str | float | int | None


@dataclass
class ReportTable:
    """A titled table: ``slug`` names its CSV file; the CSV always holds every column of every row.

    ``group_by`` names up to two columns that the HTML turns into heading rows (a site, then a part of a
    site's list) instead of repeating their value on every row. ``empty_text`` is the sentence the HTML
    shows instead of a table without rows; ``missing_text`` is what an absent value reads as. With
    ``split_by_group`` the HTML shows one table per value of the first ``group_by`` column (e.g. per site).
    ``csv_only`` names columns the HTML leaves out because another column says the same in words (an
    interval's bounds as numbers beside "15.1 MWh ± 2.3 MWh at 90 % confidence").
    """

    slug: str
    title: str
    standard: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    group_by: tuple[str, ...] = ()
    split_by_group: bool = False
    empty_text: str = "Nothing to report."
    missing_text: str = "n/a"
    csv_only: tuple[str, ...] = ()

    def write_csv(self, folder: Path) -> Path:
        path = folder / f"{self.slug}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.columns)
            for row in self.rows:
                writer.writerow(["" if c is None else c for c in row])
        return path


def fmt(value: Cell, column: str = "") -> str:
    """Human formatting for HTML: thousands separators, percentages for shares, 'n/a' for missing."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if "year" in column.lower() else f"{value:,}"
    if isinstance(value, float):
        if "%" in column or "pp" in column:
            return f"{value:,.1f}"
        if "t/MWh" in column or "tCO2/MWh" in column:
            return f"{value:.4f}"
        if value == 0:
            return "0"
        if abs(value) >= 100_000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:,.1f}"
        if abs(value) >= 1:
            return f"{value:,.2f}"
        return f"{value:.3f}"
    return str(value)


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100.0


def gri_302_1(result: InventoryResult) -> ReportTable:
    t = ReportTable(
        "gri_302_1",
        "Energy consumption within the organization",
        "GRI 302-1",
        ["site", "item", "MWh", "GJ"],
        group_by=("site",),
    )
    for s in [*result.sites, None]:
        fig = (lambda k, s=s: s.value(k)) if s is not None else result.value
        name = s.name if s is not None else "Organization total"
        if s is None and len(result.sites) == 1:
            continue
        items = [
            ("Grid electricity purchased", fig("grid_electricity_mwh")),
            ("— of which covered by renewable certificates / PPAs", fig("procured_renewable_mwh")),
            ("Self-generated renewable electricity consumed", fig("onsite_renewable_mwh")),
            ("Total electricity consumption", fig("electricity_mwh")),
            ("Renewable electricity (on-site + procured)", fig("renewable_mwh")),
        ]
        for label, mwh in items:
            t.rows.append([name, label, mwh, None if mwh is None else mwh * MWH_TO_GJ])
    t.notes.append("1 MWh = 3.6 GJ. Electricity is the only energy carrier in the inventory (no fuels).")
    return t


def gri_302_3(result: InventoryResult) -> ReportTable:
    t = ReportTable(
        "gri_302_3", "Energy intensity", "GRI 302-3", ["scope", "metric", "value", "unit"], group_by=("scope",)
    )
    for s in result.sites:
        t.rows.append([s.name, "Total energy per IT energy (PUE)", s.value("pue"), "MWh/MWh"])
        t.rows.append([s.name, "Energy per floor area", s.value("energy_intensity_kwh_per_m2"), "kWh/m2"])
    if "energy_intensity" in result.figures:
        denom = result.inventory.organization.intensity_denominator
        assert denom is not None
        t.rows.append(
            [
                "Organization",
                f"Energy per {denom.name}",
                result.value("energy_intensity"),
                result.figures["energy_intensity"].unit,
            ]
        )
    t.notes.append("Energy inside the organization only (electricity); intensity denominators as entered.")
    return t


NO_INTERVAL = {"entered": "not stated", "simulated": "not estimated (a simulation)"}
"""What the uncertainty column says of a saving without an interval, by kind."""

KIND_EVIDENCE = {
    "verified": "a verified saving was metered and has an interval",
    "entered": "an entered one is the organization's statement",
    "simulated": "a simulated one is a year of the EnergyPlus twin that no meter recorded",
}
"""Why kinds are not added, one clause per kind."""


def _uncertainty(kind: str, figure: Figure, unit: str) -> str:
    if figure.interval is None or figure.value is None:
        return NO_INTERVAL.get(kind, "not stated")
    return interval_words(figure.value, figure.interval, unit)


def _bounds(interval: Interval | None) -> list[Cell]:
    if interval is None:
        return [None, None, None]
    return [interval.lower, interval.upper, interval.confidence_pct]


def _kinds(savings: list[SavingResult]) -> list[str]:
    return [k for k in SAVING_KINDS if any(x.kind == k for x in savings)]


def _totals_note(t: ReportTable, kinds: list[str]) -> None:
    if len(kinds) > 1:
        clauses = ", ".join(KIND_EVIDENCE[k] for k in kinds)
        t.notes.append(f"Savings of different kinds are totalled separately and not added: {clauses}.")
    if "verified" in kinds:
        t.notes.append(
            "The interval of a total of verified savings adds the savings' half-widths in quadrature (independent "
            "measurements; intervals at different confidences brought to the highest first)."
        )


def gri_302_4(result: InventoryResult) -> ReportTable:
    t = ReportTable(
        "gri_302_4",
        "Reduction of energy consumption",
        "GRI 302-4",
        [
            *("initiative", "site", "kind", "MWh saved", "uncertainty", "GJ saved", "basis", "evidence"),
            *("MWh saved lower", "MWh saved upper", "confidence %"),
        ],
        empty_text=f"No energy saving is reported for {result.inventory.reporting_year}.",
        csv_only=("MWh saved lower", "MWh saved upper", "confidence %"),
    )
    for x in result.savings:
        t.rows.append(
            [
                *(x.name, x.site or "-", x.kind_words, x.saved_mwh, _uncertainty(x.kind, x.saved, "MWh")),
                *(x.saved_mwh * MWH_TO_GJ, x.basis, x.verification or "-", *_bounds(x.saved_interval)),
            ]
        )
    kinds = _kinds(result.savings)
    for kind in kinds:
        total = result.figures[f"energy_saved_mwh_{kind}"]
        value = total.value or 0.0
        t.rows.append(
            [
                *("Total", "", KIND_WORDS[kind], value, _uncertainty(kind, total, "MWh"), value * MWH_TO_GJ),
                *("sum of the savings of this kind", "", *_bounds(total.interval)),
            ]
        )
    _totals_note(t, kinds)
    return t


def gri_305_2(result: InventoryResult) -> ReportTable:
    t = ReportTable(
        "gri_305_2",
        "Energy indirect (Scope 2) GHG emissions",
        "GRI 305-2; GHG Protocol Scope 2 Guidance",
        [
            "site",
            "grid region",
            "grid electricity MWh",
            "location-based tCO2",
            "location factor t/MWh",
            "market-based tCO2",
            "market remainder basis",
        ],
    )
    for s in result.sites:
        t.rows.append(
            [
                s.name,
                s.region.code,
                s.value("grid_electricity_mwh"),
                s.value("location_based_tco2"),
                s.location_factor.value_tco2_per_mwh,
                s.value("market_based_tco2"),
                REMAINDER_LABEL[s.market.remaining_basis],
            ]
        )
    if len(result.sites) > 1:
        t.rows.append(
            [
                "Organization total",
                "",
                result.value("grid_electricity_mwh"),
                result.value("location_based_tco2"),
                None,
                result.value("market_based_tco2"),
                "",
            ]
        )
    t.notes.append("Gases: CO2 (the shipped grid factors are CO2 factors). Avoided emissions are not netted.")
    return t


def gri_305_4(result: InventoryResult) -> ReportTable:
    t = ReportTable(
        "gri_305_4",
        "GHG emissions intensity",
        "GRI 305-4; ISO/IEC 30134-8",
        ["scope", "metric", "location-based", "market-based", "unit"],
    )
    for s in result.sites:
        t.rows.append(
            [
                s.name,
                "Scope 2 per IT energy (CUE)",
                s.value("cue"),
                s.value("cue_market_based"),
                "kgCO2/kWh IT",
            ]
        )
    if len(result.sites) > 1:
        t.rows.append(
            [
                "Organization",
                "Scope 2 per IT energy (CUE)",
                result.value("cue"),
                result.value("cue_market_based"),
                "kgCO2/kWh IT",
            ]
        )
    if "location_based_intensity" in result.figures:
        denom = result.inventory.organization.intensity_denominator
        assert denom is not None
        t.rows.append(
            [
                "Organization",
                f"Scope 2 per {denom.name}",
                result.value("location_based_intensity"),
                result.value("market_based_intensity"),
                f"tCO2 per {denom.unit}",
            ]
        )
    return t


def gri_305_5(result: InventoryResult) -> ReportTable:
    t = ReportTable(
        "gri_305_5",
        "Reduction of GHG emissions (avoided, not netted)",
        "GRI 305-5",
        [
            *("initiative", "kind", "MWh saved", "factor t/MWh", "factor", "tCO2 avoided", "uncertainty"),
            *("tCO2 avoided lower", "tCO2 avoided upper", "confidence %"),
        ],
        empty_text=(
            f"No GHG emission reductions are reported for {result.inventory.reporting_year}: the inventory "
            "holds no energy savings."
        ),
        csv_only=("tCO2 avoided lower", "tCO2 avoided upper", "confidence %"),
    )
    for x in result.savings:
        t.rows.append(
            [
                *(x.name, x.kind_words, x.saved_mwh, x.factor.value_tco2_per_mwh),
                f"{KIND_LABEL.get(x.factor.kind, x.factor.kind)}, {x.factor.region} {x.factor.year}",
                *(x.avoided_tco2, _uncertainty(x.kind, x.avoided, "tCO2"), *_bounds(x.avoided_interval)),
            ]
        )
    kinds = _kinds(result.savings)
    for kind in kinds:
        avoided = result.figures[f"avoided_tco2_{kind}"]
        t.rows.append(
            [
                *("Total", KIND_WORDS[kind], result.value(f"energy_saved_mwh_{kind}"), None, ""),
                *(avoided.value, _uncertainty(kind, avoided, "tCO2"), *_bounds(avoided.interval)),
            ]
        )
    if result.savings:
        t.notes.append("Scope 2 (market-based and location-based) is reported gross; these reductions are separate.")
        if "verified" in kinds:
            t.notes.append("A verified saving's bounds are multiplied by the same factor as the saving.")
    _totals_note(t, kinds)
    return t


def kpi_table(result: InventoryResult) -> ReportTable:
    t = ReportTable(
        "kpis",
        "Data-center KPIs",
        "ISO/IEC 30134-2, -3, -6, -8, -9",
        ["site", "PUE", "REF %", "CUE kgCO2/kWh", "WUE L/kWh", "ERF %", "renewable share %"],
    )
    for s in result.sites:
        t.rows.append(
            [
                s.name,
                s.value("pue"),
                _pct(s.value("ref")),
                s.value("cue"),
                s.value("wue"),
                _pct(s.value("erf")),
                _pct(s.value("renewable_share")),
            ]
        )
    if len(result.sites) > 1:
        t.rows.append(
            [
                "Organization",
                result.value("pue"),
                _pct(result.value("ref")),
                result.value("cue"),
                result.value("wue"),
                None,
                _pct(result.value("renewable_share")),
            ]
        )
    t.notes.append("CUE uses location-based Scope 2; the market-based CUE is in the GRI 305-4 table.")
    return t


def eu_2024_1364(result: InventoryResult) -> ReportTable:
    """The data-centre list of Commission Delegated Regulation (EU) 2024/1364, one block per reporting site.

    Only data centres in the EU with at least 500 kW of installed IT power report (Directive (EU) 2023/1791,
    Art. 12; the Regulation's Art. 1); a note says why any other site is left out. Each block reads like the
    regulation's per-data-centre submission: the information and the key performance indicators of Annex I
    with the regulation's symbols, then the data centre sustainability indicators of Annex III computed from
    them. Items the inventory cannot fill say so.
    """
    t = ReportTable(
        "eu_2024_1364",
        "EU data-centre information and KPIs",
        f"Delegated Regulation (EU) 2024/1364, {eu.ANNEX_INFORMATION} and {eu.ANNEX_INDICATORS}",
        ["site", "part", "indicator", "symbol", "value", "unit"],
        group_by=("site", "part"),
        split_by_group=True,
        missing_text="not in inventory",
        empty_text=(
            "No data centre of the inventory reports under Delegated Regulation (EU) 2024/1364, which applies to "
            f"data centres in the EU with at least {eu.THRESHOLD_KW:,.0f} kW of installed IT power."
        ),
    )
    info = f"Information ({eu.ANNEX_INFORMATION})"
    kpi = f"Key performance indicators ({eu.ANNEX_INFORMATION})"
    indicators = f"Data centre sustainability indicators ({eu.ANNEX_INDICATORS})"
    left_out = []
    for s in result.sites:
        exemption = eu.reporting_exemption(s.country, s.value("installed_it_power_kw"))
        if exemption is not None:
            left_out.append(f"{s.name}: {exemption}")
            continue
        rows: list[tuple[str, str, str, float | None, str]] = [
            (info, "Installed information technology power demand", "P_DIT", s.value("installed_it_power_kw"), "kW"),
            (info, "Floor area (as entered)", "", s.value("floor_area_m2"), "m2"),
            (kpi, "Total energy consumption", "E_DC", _kwh(s.value("electricity_mwh")), "kWh"),
            (kpi, "Energy consumption of IT equipment", "E_IT", _kwh(s.value("it_energy_mwh")), "kWh"),
            (kpi, "Total water input", "W_IN", s.value("water_m3"), "m3"),
            (kpi, "Waste heat reused", "E_REUSE", _kwh(s.value("waste_heat_reused_mwh")), "kWh"),
            (kpi, "Total renewable energy consumption", "E_RES-TOT", _kwh(s.value("renewable_mwh")), "kWh"),
            (kpi, "of which from guarantees of origin / certificates", "E_RES-GOO", _kwh(_kind_mwh(s, "eac")), "kWh"),
            (kpi, "of which from power purchase agreements", "E_RES-PPA", _kwh(_kind_mwh(s, "ppa")), "kWh"),
            (kpi, "of which from on-site renewable sources", "E_RES-OS", _kwh(s.value("onsite_renewable_mwh")), "kWh"),
            (indicators, "Power usage effectiveness", "PUE", s.value("pue"), "-"),
            (indicators, "Water usage effectiveness", "WUE", s.value("wue"), "L/kWh"),
            (indicators, "Energy reuse factor", "ERF", s.value("erf"), "-"),
            (indicators, "Renewable energy factor", "REF", s.value("ref"), "-"),
        ]
        for part, label, symbol, value, unit in rows:
            t.rows.append([s.name, part, label, symbol, value, unit])
    if t.rows:
        t.notes.append(
            "Only the items the inventory provides are filled. The regulation's other items (ICT capacity, data "
            "traffic, temperature set points, potable water input, refrigerants, ...) are outside this inventory."
        )
    if left_out:
        t.notes.append("Not listed, as the regulation does not apply: " + "; ".join(left_out) + ".")
    return t


def _kwh(mwh: float | None) -> float | None:
    return None if mwh is None else mwh * 1000.0


def _kind_mwh(site, kind: str) -> float:
    return sum(c.energy_mwh for c in site.market.claims if c.kind == kind and c.renewable)


def instruments_table(result: InventoryResult) -> ReportTable:
    t = ReportTable(
        "instruments",
        "Contractual instruments (market-based hierarchy)",
        "GHG Protocol Scope 2 Guidance, Table 6.3",
        ["site", "id", "type", "scheme", "certificates", "MWh", "rate t/MWh", "tCO2", "vintage", "market"],
        group_by=("site",),
    )
    for s in result.sites:
        for c in s.market.claims:
            t.rows.append(
                [
                    s.name,
                    c.id,
                    HIERARCHY_LABEL[c.kind],
                    c.scheme or "-",
                    _certificates_words(c.kind, c.certificates, c.bundling),
                    c.energy_mwh,
                    c.rate_tco2_per_mwh,
                    c.tco2,
                    f"{c.generation_start}..{c.generation_end}",
                    c.market,
                ]
            )
        f = s.market.remaining_factor
        t.rows.append(
            [
                s.name,
                "(remainder)",
                REMAINDER_LABEL[s.market.remaining_basis],
                "-",
                "-",
                s.market.remaining_mwh,
                f.value_tco2_per_mwh,
                s.market.remaining_mwh * f.value_tco2_per_mwh,
                f"factor {f.year}",
                f.region,
            ]
        )
    t.notes.append(
        "A PPA's power is zero-emission only with its certificates retained; a PPA whose certificates were sold "
        "or never issued counts at the residual mix (GHG Protocol Scope 2 Guidance, Scope 2 Quality Criteria)."
    )
    return t


def _certificates_words(kind: str, certificates: str | None, bundling: str | None) -> str:
    """A PPA's certificate status and an instrument's bundling, in words."""
    status = {
        "retained": "retained",
        "sold": "sold (counted at the residual mix)",
        "none": "none issued (counted at the residual mix)",
        None: "not stated (counted as retained)" if kind == "ppa" else "-",
    }[certificates]
    return f"{status}, {bundling}" if bundling else status


def year_over_year_table(result: InventoryResult) -> ReportTable:
    prev = result.inventory.previous_year
    labels = {
        "electricity_mwh": "Electricity (MWh)",
        "renewable_mwh": "Renewable electricity (MWh)",
        "renewable_share": "Renewable share (%)",
        "procured_renewable_mwh": "Procured renewable electricity (MWh)",
        "renewable_capacity_mw": "Self-built renewable capacity (MW)",
        "location_based_tco2": "Scope 2 location-based (tCO2)",
        "market_based_tco2": "Scope 2 market-based (tCO2)",
        "it_energy_mwh": "IT energy (MWh)",
        "water_m3": "Water (m3)",
    }
    year = result.inventory.reporting_year
    if prev is None:
        empty = f"No figures for the year before {year} are in the inventory, so no year-over-year comparison is shown."
    else:
        empty = (
            f"The inventory's figures for {prev.year} have no counterpart among this year's figures, "
            "so no year-over-year comparison is shown."
        )
    t = ReportTable(
        "year_over_year",
        "Year over year",
        "GRI 302/305 comparatives",
        ["figure", f"{prev.year if prev else 'previous'}", f"{year}", "change", "change %"],
        empty_text=empty,
    )
    for key, (y, unit) in result.year_over_year.items():
        if unit == "fraction":
            t.rows.append(
                [
                    labels[key],
                    y.previous * 100,
                    y.current * 100,
                    f"{y.change * 100:+.1f} pp",
                    y.change_percent,
                ]
            )
        else:
            t.rows.append([labels[key], y.previous, y.current, f"{y.change:+,.1f}", y.change_percent])
    return t


def quality_checks_table(result: InventoryResult) -> ReportTable:
    t = ReportTable(
        "quality_checks",
        "Scope 2 quality criteria checked",
        "GHG Protocol Scope 2 Guidance, ch. 7",
        ["site", "criterion", "result", "detail"],
        group_by=("site",),
        empty_text="No contractual instruments are claimed, so no Scope 2 quality criteria apply.",
    )
    for s in result.sites:
        for c in s.market.checks:
            t.rows.append([s.name, c.criterion, "passed" if c.passed else "FAILED", c.detail])
    return t


def factors_table(result: InventoryResult) -> ReportTable:
    t = ReportTable(
        "factors",
        "Emission factors used",
        "Methodology",
        ["region", "year", "kind", "tCO2/MWh", "origin", "source"],
    )
    origin = {"shipped": "shipped with greendc", "user": "entered in the inventory"}
    for f in result.factors_used:
        kind = KIND_LABEL.get(f.kind, f.kind)
        t.rows.append([f.region, f.year, kind, f.value_tco2_per_mwh, origin.get(f.origin, f.origin), f.source])
    return t


def all_tables(result: InventoryResult) -> list[ReportTable]:
    return [
        gri_302_1(result),
        gri_302_3(result),
        gri_302_4(result),
        gri_305_2(result),
        gri_305_4(result),
        gri_305_5(result),
        kpi_table(result),
        eu_2024_1364(result),
        instruments_table(result),
        quality_checks_table(result),
        year_over_year_table(result),
        factors_table(result),
    ]
