"""The "Disclosures" list: every user-entered factor and every non-default choice, in words and units.

An assurer reads this list to see where the inventory departs from greendc's defaults: factors entered
by the user (GHG Protocol Scope 2 Guidance 2015, ch. 6.11: disclose the emission factors used and their
sources), factors of another year than the reporting year, a factor chosen instead of the default one, a
reporting period other than the calendar year, the grid average used as the last resort for the
market-based remainder, a PPA counted at the residual mix or assumed to retain its certificates, data
that cover part of the year, a simulated saving (not metered), and a verified saving measured outside the
reporting period or on a baseline model outside ASHRAE Guideline 14's limits. Each function returns the
sentences for one such case (none when it does not apply).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from greendc.carbon.factors import EmissionFactor, FactorTable
from greendc.carbon.inventory import FactorChoice
from greendc.carbon.scope2 import GHG_S2, REMAINDER_LABEL, Claim
from greendc.carbon.verified import period_days

if TYPE_CHECKING:
    from greendc.verification.record import Verification

KIND_LABEL: dict[str, str] = {
    "grid_average": "grid-average factor",
    "corporate_reporting": "corporate-reporting grid factor",
    "residual_mix": "residual-mix factor",
    "non_baseload": "non-baseload factor",
}


def factor_words(factor: EmissionFactor) -> str:
    """``the grid-average factor of CN-East for 2023 (0.5500 tCO2/MWh)``."""
    kind = KIND_LABEL.get(factor.kind, factor.kind.replace("_", " "))
    return f"the {kind} of {factor.region} for {factor.year} ({factor.value_tco2_per_mwh:.4f} tCO2/MWh)"


def user_factors(user: Iterable[EmissionFactor], shipped: FactorTable) -> list[str]:
    """Every factor of the inventory's ``factors`` list, and the shipped value it replaces, if any."""
    lines = []
    for factor in user:
        replaced = shipped.get(factor.region, factor.year, factor.kind)
        instead = f", replacing the shipped {replaced.value_tco2_per_mwh:.4f} tCO2/MWh" if replaced else ""
        lines.append(f"User-entered factor: {factor_words(factor)}{instead}; source: {factor.source}.")
    return lines


def period(start: date, end: date, reporting_year: int) -> list[str]:
    """A reporting period other than the calendar year."""
    if (start, end) == (date(reporting_year, 1, 1), date(reporting_year, 12, 31)):
        return []
    return [
        f"The reporting period is {start.isoformat()} to {end.isoformat()}, as entered, not calendar year "
        f"{reporting_year}."
    ]


def factor_choice(owner: str, use: str, factor: EmissionFactor, choice: FactorChoice | None) -> list[str]:
    """A factor the inventory chose (by kind, region or year) or entered (by value) instead of the default."""
    if choice is None:
        return []
    if choice.value_tco2_per_mwh is not None:
        return [
            f"{owner}: {use} entered in the inventory: {factor.value_tco2_per_mwh:.4f} tCO2/MWh; "
            f"source: {factor.source}."
        ]
    return [f"{owner}: {use} chosen explicitly: {factor_words(factor)}."]


def partial_months(site: str, months: Sequence[int]) -> list[str]:
    if len(months) >= 12:
        return []
    return [f"{site}: electricity covers months {months[0]}-{months[-1]} only; annual figures cover these months."]


def last_resort(site: str, market: str, year: int, grid_average: EmissionFactor, years: Sequence[int]) -> list[str]:
    """The grid average standing in for a residual mix that is not published (Scope 2 Guidance, Table 6.3)."""
    extra = f" (residual mixes exist for {', '.join(map(str, years))})" if years else ""
    return [
        f"{site}: no residual mix for {market} {year}{extra}; the market-based remainder uses "
        f"the grid average {grid_average.value_tco2_per_mwh:.4f} tCO2/MWh as the last resort "
        f"({GHG_S2}, Table 6.3), which may double count claimed renewables."
    ]


def ppa_certificates(site: str, claims: Iterable[Claim], remainder_basis: str) -> list[str]:
    """PPAs that convey no attributes (certificates sold or none) and PPAs whose status is not stated."""
    lines = []
    for claim in claims:
        if claim.kind != "ppa":
            continue
        if claim.certificates is None:
            lines.append(
                f"{site}: PPA {claim.id}: certificate status not stated; its {claim.energy_mwh:,.1f} MWh count at "
                f"{claim.rate_tco2_per_mwh:.4f} tCO2/MWh as if its certificates were retained for the site. State "
                "whether they are retained, sold or none."
            )
        elif not claim.conveys_attributes:
            status = "were sold" if claim.certificates == "sold" else "were never issued"
            lines.append(
                f"{site}: PPA {claim.id}: its certificates {status}, so its {claim.energy_mwh:,.1f} MWh count at the "
                f"{REMAINDER_LABEL[remainder_basis]} ({claim.rate_tco2_per_mwh:.4f} tCO2/MWh) and not as renewable "
                f"electricity ({GHG_S2}, ch. 7, Scope 2 Quality Criteria)."
            )
    return lines


def water_replaced(site: str, run_water_m3: float) -> list[str]:
    return [f"{site}: entered water use replaces the run's simulated {run_water_m3:,.1f} m3."]


def factor_years(used: Iterable[EmissionFactor], reporting_year: int) -> list[str]:
    """Every factor used whose year is not the reporting year (chosen with ``factor_year`` or a choice)."""
    return [
        f"T{factor_words(f)[1:]} is used for reporting year {reporting_year}, as chosen explicitly in the inventory."
        for f in used
        if f.year != reporting_year
    ]


def simulated_saving(name: str, improved: str, baseline: str, climate: str) -> list[str]:
    """A saving from a simulation: what it compares, and that nobody metered it."""
    return [
        f"{name}: simulated on greendc's EnergyPlus twin ({improved} against {baseline}, {climate} climate), not "
        "metered: an estimate of a year under the two controllers, not a reduction measured at the site."
    ]


def verified_saving(name: str, record: Verification, period: tuple[date, date]) -> list[str]:
    """A verified saving measured outside the reporting period, or on a model outside Guideline 14's limits."""
    lines = []
    start, end = period_days(record.reporting_period)
    if start < period[0] or end > period[1]:
        lines.append(
            f"{name}: the saving was metered from {start.isoformat()} to {end.isoformat()}, not within the "
            f"reporting period {period[0].isoformat()} to {period[1].isoformat()}; it is reported as measured, "
            "not prorated."
        )
    stats = record.statistics
    if not stats.passes:
        lines.append(
            f"{name}: the baseline model does not meet ASHRAE Guideline 14's limits ({stats.interval} CV(RMSE) "
            f"{stats.cv_rmse * 100:.1f} % against {stats.cv_rmse_limit * 100:g} %, NMBE {stats.nmbe * 100:+.2f} % "
            f"against ±{stats.nmbe_limit * 100:g} %)."
        )
    return lines
