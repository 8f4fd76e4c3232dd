"""The saving of a candidate controller over a baseline from randomized A/B switching within one period.

``greendc simulate|agent --schedule ab`` hands control to the candidate or the baseline in randomized
blocks of whole days and records the arm of each step (``ab_arm``). Both arms then see the same season,
weather spread and IT growth, so no baseline year is extrapolated. The estimate is the arm's coefficient in
one least-squares regression over the period's hours::

    E_h = beta_hour(h) * [candidate in control at h] + baseline model terms (weather, time of week, IT load)

with one effect per hour of day, averaged over the hours the candidate was in charge (settling hours are
left out of the fit; a saving that differs between night and day is then still weighted as it ran), and the
terms of :class:`greendc.verification.baseline_model.BaselineModel` adjusting for what differed
between the arms' days. The first :data:`SETTLING_HOURS` after each switch are left out: the building's
thermal mass and the controllers' own ramps carry the previous arm into them. Its standard error is
heteroskedasticity- and autocorrelation-consistent (Newey & West 1987, Econometrica 55(3), statsmodels'
``HAC``, lags of :data:`HAC_LAG_HOURS`), because hourly residuals within a day are not independent.

The avoided energy is -beta times the candidate's hours: what it saved while it was in control. A saving
"had the candidate run throughout" is -beta times all the period's hours; the record's notes state both.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from greendc.telemetry.schema import ARM_COLUMN, BASELINE, CANDIDATE
from greendc.verification.adjustments import Adjustments, apply_exclusions
from greendc.verification.baseline_model import BaselineModel, fit_statistics, least_squares
from greendc.verification.guideline14 import two_sided_t
from greendc.verification.meter_data import (
    WEATHER_COLUMNS,
    HourlyData,
    VerificationRefusedError,
    load_hourly,
)
from greendc.verification.record import IndependentVariable, ModelStatistics, Month, Period, Verification
from greendc.verification.savings import (
    HOURS_PER_MONTH,
    check_model,
    conclusion,
    fit_statistics_record,
    independent_variables,
    ipmvp_option,
    run_summary,
)

#: Hours left out after each switch. Measured on the two-hall site in Chicago (``bench/verify.py``): after a
#: switch, trim-respond's facility power differed from its steady year's by 0.5-2.4 kW (of some 82) for 12
#: hours as it trimmed back up, and by under 0.3 kW after; the ai settled within 4 hours. With 2 hours left
#: out, the A/B estimate of the ai's saving was 13.5 MWh against a true 17.9.
SETTLING_HOURS = 12
HAC_LAG_HOURS = 48
MIN_HOURS_PER_ARM = 7 * 24


def verify_ab(path: str, energy: str, confidence_pct: float, it_load: str | None = None,
              adjustments: Adjustments | None = None, settling_hours: int = SETTLING_HOURS) -> Verification:
    """The candidate's saving over the baseline from one A/B-switched period's telemetry (module docstring).

    ``adjustments`` may exclude periods; a baseline adjustment has no meaning here (both arms share the
    period) and is refused. ``settling_hours`` after each switch are left out; with day blocks and a
    slow baseline, blocks of several days (``--ab-block-days``) keep every hour of the day in both arms.
    """
    adjustments = adjustments or Adjustments()
    if adjustments.adjust_baseline:
        raise VerificationRefusedError("adjust_baseline: an A/B comparison has no baseline period to adjust; "
                                       "exclude the affected days instead")
    data = load_hourly(path, energy, it_load, adjustments.exclusion_windows())
    if ARM_COLUMN not in data.frame:
        raise VerificationRefusedError(f"{data.source}: no column {ARM_COLUMN!r}: the telemetry was not recorded "
                                       "under an A/B schedule (--schedule ab)")
    frame, excluded = apply_exclusions(data.frame, adjustments)
    data = replace(data, frame=frame)
    kept = _settled(data.frame, settling_hours)
    candidate = (kept[ARM_COLUMN] == CANDIDATE).to_numpy(float)
    for arm, hours in ((CANDIDATE, candidate.sum()), (BASELINE, (1 - candidate).sum())):
        if hours < MIN_HOURS_PER_ARM:
            raise VerificationRefusedError(f"{data.source}: the {arm} arm has {hours:.0f} settled hours; at least "
                                           f"{MIN_HOURS_PER_ARM} are needed for an estimate")
    weather = tuple(c for c in WEATHER_COLUMNS if c in kept)
    model = BaselineModel(data.it_load_signal, weather).fit(kept)
    hour_of_day = kept.index.hour.to_numpy()
    _check_hours_of_day(hour_of_day, candidate, data.source, settling_hours)
    effects = {f"candidate at hour {h}": candidate * (hour_of_day == h) for h in range(24)}
    design = model.design_matrix(kept)[model.columns_].assign(**effects)
    energy_kwh = kept["energy_kwh"].to_numpy()
    result = least_squares(energy_kwh, design.to_numpy(), cov_type="HAC", cov_kwds={"maxlags": HAC_LAG_HOURS})
    # The candidate's hours of the whole period weight its hour-of-day effects: every hour counts as often as
    # it was in the candidate's charge, settled or not.
    in_charge = data.frame.index[data.frame[ARM_COLUMN] == CANDIDATE].hour
    weights = np.bincount(in_charge, minlength=24) / len(in_charge)
    beta = float(weights @ result.params[-24:])
    error = float(np.sqrt(weights @ result.cov_params()[-24:, -24:] @ weights))
    t = two_sided_t(confidence_pct, result.df_resid)
    statistics = fit_statistics_record(model, len(kept) / HOURS_PER_MONTH, fit_statistics(result, energy_kwh))
    check_model(statistics, data.source, energy)
    record = _record(data, kept, beta, t * error, energy, confidence_pct, statistics,
                     [v for _, v in independent_variables(model, kept, kept, data)], settling_hours)
    return record.model_copy(update={"adjustments": excluded})


def _check_hours_of_day(hour_of_day: np.ndarray, candidate: np.ndarray, source: str, settling_hours: int) -> None:
    """Both arms need settled hours at every hour of the day: with day blocks and a long settling period,
    the mornings are never settled, and a saving measured on afternoons would be taken for the whole day."""
    for arm, chosen in ((CANDIDATE, candidate == 1), (BASELINE, candidate == 0)):
        missing = sorted(set(range(24)) - set(hour_of_day[chosen].tolist()))
        if missing:
            raise VerificationRefusedError(
                f"{source}: the {arm} arm has no settled hour ending at {', '.join(f'{h:02d}:00' for h in missing[:6])}"
                f"{' ...' if len(missing) > 6 else ''} with {settling_hours} settling hours after each switch; use "
                "longer blocks (--ab-block-days) or fewer --settling-hours")


def _settled(frame: pd.DataFrame, settling_hours: int) -> pd.DataFrame:
    """Hours of a known arm, without the first ``settling_hours`` after each switch."""
    arms = frame[ARM_COLUMN]
    switched = arms.ne(arms.shift(1))
    block = switched.cumsum()
    hours_into_block = block.groupby(block).cumcount()
    keep = arms.notna() & (hours_into_block >= settling_hours)
    return frame[keep]


def _record(data: HourlyData, kept: pd.DataFrame, beta: float, half_per_hour: float, energy: str,
            confidence_pct: float, statistics: ModelStatistics, variables: list[IndependentVariable],
            settling_hours: int) -> Verification:
    frame = data.frame
    schedule = run_summary(data.source).get("ab_schedule") or {}
    in_control = frame[frame[ARM_COLUMN] == CANDIDATE]
    hours, all_hours = len(in_control), len(frame)
    measured = float(in_control["energy_kwh"].sum())
    avoided, half = -beta * hours, half_per_hour * hours
    months = []
    for month, rows in in_control.groupby(in_control.index.to_period("M")):
        saved = -beta * len(rows)
        months.append(Month(month=str(month), hours=float(len(rows)), adjusted_baseline_kwh=float(rows["energy_kwh"]
                            .sum()) + saved, measured_kwh=float(rows["energy_kwh"].sum()), avoided_kwh=saved,
                            avoided_kwh_lower=saved - half_per_hour * len(rows),
                            avoided_kwh_upper=saved + half_per_hour * len(rows)))
    period = Period(start=frame.index[0].to_pydatetime(), end=frame.index[-1].to_pydatetime(), hours=all_hours)
    adjusted = measured + avoided
    option = ipmvp_option(energy)
    return Verification(
        method=(f"IPMVP Option {option} with randomized A/B switching (on/off blocks of whole days); the arm's "
                "effect per hour of day, weighted by the candidate's hours, in an hourly regression on weather, "
                "time of week and IT load (ordinary least squares, statsmodels), Newey-West standard error with "
                f"{HAC_LAG_HOURS} hourly lags; the first {settling_hours} hours after each switch left out"),
        ipmvp_option=option, energy=energy, confidence=confidence_pct, avoided_kwh=avoided,
        avoided_kwh_lower=avoided - half, avoided_kwh_upper=avoided + half, adjusted_baseline_kwh=adjusted,
        measured_kwh=measured, savings_fraction=avoided / adjusted if adjusted else 0.0,
        fractional_savings_uncertainty=half / abs(avoided) if avoided else None,
        distinguishable_from_zero=abs(avoided) > half,
        conclusion=conclusion(avoided, half, confidence_pct, f" in the candidate's {hours} hours"),
        baseline_period=period,
        reporting_period=period, independent_variables=variables, it_load_signal=variables[0].name,
        cv_rmse=statistics.cv_rmse, nmbe=statistics.nmbe, r2=statistics.r2, statistics=statistics,
        uncertainty_components_kwh={"regression_newey_west": half}, monthly=months,
        hours_without_data=data.hours_without_data, baseline_source=data.source, reporting_source=data.source,
        baseline_controller=str(schedule.get("baseline_controller", "")),
        candidate_controller=str(schedule.get("candidate_controller", "")),
        notes=[f"The candidate was in control for {hours} of {all_hours} hours; had it run throughout, the saving "
               f"would be {-beta * all_hours / 1000:,.1f} MWh +- {half_per_hour * all_hours / 1000:,.1f} MWh.",
               f"{len(frame) - len(kept)} hours after switches or of a mixed arm were left out of the fit."],
    )
