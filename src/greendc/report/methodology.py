"""The report's words on savings: what each kind of saving rests on, and how each verified saving was measured
(method, IPMVP option, ASHRAE Guideline 14 statistics against their limits, periods, independent variables,
non-routine adjustments), so that a reader can judge a GRI 305-5 figure without opening the record."""

from __future__ import annotations

from greendc.carbon.calculate import KIND_WORDS, InventoryResult, SavingResult
from greendc.carbon.verified import ENERGY_WORDS, period_words, plus_minus

KIND_MEANING = {
    "verified": (
        "measured on the site's meters and verified with greendc verify (IPMVP; ASHRAE Guideline 14-2014): "
        "the adjusted baseline minus the measured energy, with its uncertainty interval; the emission factor "
        "multiplies the saving and its bounds alike."
    ),
    "entered": "stated by the organization; the evidence column says who stated or verified it.",
    "simulated": (
        "simulated on greendc's EnergyPlus twin: the same weather and IT load under two controllers, named in "
        "the kind column. No meter recorded it; it estimates what the control would save, it is not a reduction "
        "measured at the site."
    ),
}

UNCERTAINTY_PARTS = {
    "guideline14": "ASHRAE Guideline 14 (Annex B) model uncertainty, with autocorrelation",
    "model_form": "model form (leave-one-season-out cross-validation)",
    "regression_newey_west": "regression standard error (Newey-West)",
}
"""A record's uncertainty components in words; an unknown one is shown by its name."""

ADJUSTMENT_WORDS = {"exclude": "excluded", "adjust-baseline": "baseline adjusted"}


def kinds_in_words(result: InventoryResult) -> list[dict[str, str]]:
    """For each kind of saving in the inventory: its name in words and what it rests on."""
    present = [k for k in KIND_WORDS if any(x.kind == k for x in result.savings)]
    return [{"kind": KIND_WORDS[k][0].upper() + KIND_WORDS[k][1:], "meaning": KIND_MEANING[k]} for k in present]


def _range(low: float | None, high: float | None, unit: str) -> str:
    if low is None or high is None:
        return "not recorded"
    return f"{low:,.1f} to {high:,.1f} {unit}"


def verified_saving_method(x: SavingResult) -> list[tuple[str, str]]:
    """How one verified saving was measured, as (heading, text) pairs in words and units."""
    record = x.record
    assert record is not None and x.saved_interval is not None and x.avoided_interval is not None
    stats = record.statistics
    saved = plus_minus(x.saved_mwh, x.saved_interval, "MWh")
    avoided = plus_minus(x.avoided_tco2, x.avoided_interval, "tCO2")
    items: list[tuple[str, str]] = [
        ("Result", f"{saved} saved; {avoided} avoided at {x.factor.value_tco2_per_mwh:.4f} tCO2/MWh"),
        ("Method", record.method),
        ("IPMVP option", f"Option {record.ipmvp_option}"),
    ]
    boundary = f"{ENERGY_WORDS[record.energy]}"
    if record.energy == "cooling":
        boundary += (
            "; a change in IT power (such as server fans at warmer inlet air) is outside this boundary and not "
            "in the saving"
        )
    items.append(("Measurement boundary", boundary))
    verdict = "meets" if stats.passes else "does NOT meet"
    items.append(
        (
            "ASHRAE Guideline 14 statistics",
            f"{stats.interval} CV(RMSE) {stats.cv_rmse * 100:.1f} % (limit {stats.cv_rmse_limit * 100:g} %), NMBE "
            f"{stats.nmbe * 100:+.2f} % (limit ±{stats.nmbe_limit * 100:g} %), R² {stats.r2:.3f}; "
            f"{stats.observations:,} observations, {stats.parameters} parameters, lag-1 autocorrelation "
            f"{stats.lag1_autocorrelation:.2f} ({stats.effective_observations:,.0f} effective observations): "
            f"{verdict} the limits",
        )
    )
    if record.baseline_period == record.reporting_period:
        within = f"the reporting period itself (randomized switching within it): {period_words(record.baseline_period)}"
        items.append(("Baseline period", within))
    else:
        items.append(("Baseline period", period_words(record.baseline_period)))
    items.append(("Reporting period", period_words(record.reporting_period)))
    variables = [
        f"{v.name} ({v.unit}; {v.source}): baseline {_range(v.baseline_min, v.baseline_max, v.unit)}, reporting "
        f"{_range(v.reporting_min, v.reporting_max, v.unit)}"
        for v in record.independent_variables
    ]
    items.append(("Independent variables", "; ".join(variables) or "none"))
    items.append(("IT load signal", record.it_load_signal))
    adjustments = [
        f"{ADJUSTMENT_WORDS.get(a.kind, a.kind)} {a.start:%Y-%m-%d %H:%M} to {a.end:%Y-%m-%d %H:%M} "
        f"({a.hours:,.0f} h{f', {a.energy_kwh / 1000:,.1f} MWh' if a.energy_kwh else ''}): {a.reason}"
        for a in record.adjustments
    ]
    items.append(("Non-routine adjustments", "; ".join(adjustments) or "none"))
    if record.uncertainty_components_kwh:
        parts = [
            f"{UNCERTAINTY_PARTS.get(k, k)} {v / 1000:,.1f} MWh" for k, v in record.uncertainty_components_kwh.items()
        ]
        items.append(("Uncertainty", f"at {record.confidence:g} % confidence, combined from: " + "; ".join(parts)))
    if record.hours_without_data:
        items.append(("Hours without data", f"{record.hours_without_data:,.0f} h"))
    if record.candidate_controller and record.baseline_controller:
        items.append(("Controllers", f"{record.candidate_controller} against {record.baseline_controller}"))
    items.append(("Metered data", f"baseline: {record.baseline_source}; reporting: {record.reporting_source}"))
    items.append(("Conclusion of the record", record.conclusion))
    items += [("Note of the record", note) for note in record.notes]
    items.append(("Verification record", str(x.record_path)))
    return items
