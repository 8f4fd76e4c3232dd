"""Avoided energy from a baseline period and a reporting period (IPMVP Option C or B; ASHRAE Guideline 14).

avoided energy = adjusted baseline - measured, where the adjusted baseline is the baseline model's
prediction under the reporting period's weather, time of week and IT load, plus any non-routine
adjustments (IPMVP Core Concepts 2022, eq. 1). Its uncertainty combines, in quadrature, two independent
parts, each at the chosen confidence:

- ``guideline14``: the model's random error over the reporting hours, Annex B with the autocorrelation
  correction (:func:`greendc.verification.guideline14.savings_uncertainty_kwh`);
- ``model_form``: the error of predicting data the fit did not see, from holding out each baseline season
  in turn (:func:`greendc.verification.baseline_model.seasonal_cross_validation`): the root-mean-square
  fractional seasonal error times the adjusted baseline, with Student's t for the number of seasons held
  out. Annex B alone assumes the model's form is right; a data center's cooling changes mode with the
  weather, and a different year's weather finds the form's errors. Those errors persist: in the truth
  benchmark a Chicago baseline over-predicted every month but one of a Dulles year, so the term is taken
  as a bias of the typical size in every month (fully correlated), not as independent monthly noise that
  would shrink with the square root of the months (which covered the true saving in neither energy of
  that case). ``bench/verify.py`` measures how often the combined interval covers the true saving.

Refusals (:class:`VerificationRefusedError`) name the reason: overlapping periods, too short a baseline, a model
outside the Guideline's limits, a reporting period outside the baseline's range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from greendc.files import InputFileError, read_json_file
from greendc.site.schema import Site
from greendc.telemetry.sensors import FACILITY
from greendc.verification import guideline14
from greendc.verification.adjustments import Adjustments, apply_exclusions, baseline_adjustment_kwh
from greendc.verification.baseline_model import BaselineModel, FitStatistics, seasonal_cross_validation
from greendc.verification.meter_data import (
    NORMALIZED_COLUMN,
    UTILIZATION_COLUMN,
    WEATHER_COLUMNS,
    HourlyData,
    VerificationRefusedError,
    load_hourly,
)
from greendc.verification.record import Adjustment, IndependentVariable, ModelStatistics, Month, Period, Verification

#: Guideline 14 asks for a baseline spanning the full range of operating conditions; for a data center,
#: whose cooling follows the seasons, that is a year.
MIN_BASELINE_DAYS = 365
#: A month of data, for Guideline 14's limits by reporting length (365.25 days / 12, in hours).
HOURS_PER_MONTH = 730.5
#: The share of reporting hours that may lie outside the range of a variable the baseline saw, widened on each
#: side by a tenth of its width: a linear model carries a little past its data (a load 5 % above the
#: baseline's peak), not far (a climate with its hottest month 10 K above anything the baseline saw).
MAX_SHARE_OUTSIDE_RANGE = 0.05
RANGE_MARGIN = 0.10
#: What the record and the report call each independent variable.
NAMES = {
    **{sensor.column: sensor.meaning for sensor in FACILITY if sensor.column in WEATHER_COLUMNS},
    NORMALIZED_COLUMN: "IT power at a 20 C inlet (metered, normalised with the site's server curve)",
    UTILIZATION_COLUMN: "IT utilisation (servers' CPU load fraction, weighted by each hall's IT power)",
}


@dataclass(frozen=True)
class VerifyOptions:
    """What to verify and how: the energy (facility or cooling), the confidence (%), the IT-load signal."""

    energy: str = "facility"
    confidence_pct: float = 90.0
    it_load: str | None = None
    adjustments: Adjustments = field(default_factory=Adjustments)
    #: The site file, for ``it_load="normalized"`` (the halls' design power and server curves).
    site: Site | None = None


def verify_savings(baseline_path: str, reporting_path: str, options: VerifyOptions) -> Verification:
    """The avoided energy of the reporting period against the baseline period's model (module docstring)."""
    windows = options.adjustments.exclusion_windows()
    baseline = load_hourly(baseline_path, options.energy, options.it_load, windows, options.site)
    reporting = load_hourly(reporting_path, options.energy, options.it_load, windows, options.site)
    _check_periods(baseline, reporting)
    base_frame, excluded = apply_exclusions(baseline.frame, options.adjustments)
    report_frame, excluded_reporting = apply_exclusions(reporting.frame, options.adjustments)
    weather = tuple(c for c in WEATHER_COLUMNS if c in base_frame)
    _check_variables(baseline, reporting, weather)
    model = BaselineModel(baseline.it_load_signal, weather).fit(base_frame)
    reporting_months = len(report_frame) / HOURS_PER_MONTH
    statistics = fit_statistics_record(model, reporting_months)
    check_model(statistics, baseline.source, options.energy)
    variables = independent_variables(model, base_frame, report_frame, baseline)
    _check_ranges(variables, report_frame, reporting.source)
    added, adjusted = baseline_adjustment_kwh(report_frame.index, options.adjustments)
    predicted = pd.Series(model.predict(report_frame), index=report_frame.index) + added
    months = _months(model, base_frame, report_frame["energy_kwh"], predicted, options.confidence_pct)
    return _record(baseline, reporting, base_frame, report_frame, options, model, statistics,
                   [v for _, v in variables], months, _merged(excluded, excluded_reporting) + adjusted)


def _merged(baseline: list[Adjustment], reporting: list[Adjustment]) -> list[Adjustment]:
    """Each exclusion once, with the hours it removed from both periods; one that removed none is refused
    (a window in the wrong year, a typo in a date: the auditor would read it as applied)."""
    merged = [b.model_copy(update={"hours": b.hours + r.hours}) for b, r in zip(baseline, reporting, strict=True)]
    for exclusion in merged:
        if exclusion.hours == 0:
            raise VerificationRefusedError(f"exclude ({exclusion.start} to {exclusion.end}, {exclusion.reason!r}) "
                                           "covers no hour of either period")
    return merged


def _period(frame: pd.DataFrame) -> Period:
    start, end = frame.index[0].to_pydatetime(), frame.index[-1].to_pydatetime()
    return Period(start=start, end=end, hours=float(len(frame)))


def _check_periods(baseline: HourlyData, reporting: HourlyData) -> None:
    base, report = baseline.frame.index, reporting.frame.index
    if len(base) == 0 or len(report) == 0:
        empty = baseline if len(base) == 0 else reporting
        raise VerificationRefusedError(f"{empty.source}: no complete hour of data")
    if report[-1] < base[0]:
        raise VerificationRefusedError(
            f"{reporting.source}: the reporting period ({report[0]} to {report[-1]}) comes before the baseline "
            f"period ({base[0]} to {base[-1]}); avoided energy is measured after the measure, against a baseline "
            "from before it")
    if base[0] <= report[-1] and report[0] <= base[-1]:
        raise VerificationRefusedError(
            f"{reporting.source}: the reporting period ({report[0]} to {report[-1]}) overlaps the baseline period "
            f"({base[0]} to {base[-1]}); they must not share an hour")
    days = (base[-1] - base[0] + pd.Timedelta(hours=1)) / pd.Timedelta(days=1)
    if days < MIN_BASELINE_DAYS:
        raise VerificationRefusedError(
            f"{baseline.source}: the baseline covers {days:.0f} days; Guideline 14 asks for a baseline spanning the "
            f"site's full range of operating conditions, for a data center's seasonal cooling a year "
            f"({MIN_BASELINE_DAYS} days) of data")
    if baseline.it_load_signal != reporting.it_load_signal:
        raise VerificationRefusedError(f"{reporting.source}: IT load is {reporting.it_load_signal!r} here but "
                                       f"{baseline.it_load_signal!r} in the baseline")


def _check_variables(baseline: HourlyData, reporting: HourlyData, weather: tuple[str, ...]) -> None:
    for column in weather:
        if column not in reporting.frame:
            raise VerificationRefusedError(
                f"{reporting.source}: missing column {column!r}, an independent variable of the baseline model")


def fit_statistics_record(model: BaselineModel, reporting_months: float,
                          fit: FitStatistics | None = None) -> ModelStatistics:
    """A fit's Guideline 14 statistics (the model's own, or ``fit``) against the limits for a reporting
    length in months."""
    fit = fit or model.statistics_
    effective = guideline14.effective_observations(fit.observations, fit.lag1_autocorrelation)
    limit = guideline14.cv_rmse_limit(reporting_months)
    return ModelStatistics(
        interval="hourly", observations=fit.observations, parameters=fit.parameters, cv_rmse=fit.cv_rmse,
        cv_rmse_limit=limit, nmbe=fit.nmbe, nmbe_limit=guideline14.NMBE_LIMIT, r2=fit.r2,
        lag1_autocorrelation=fit.lag1_autocorrelation, effective_observations=effective,
        passes=fit.cv_rmse <= limit and abs(fit.nmbe) <= guideline14.NMBE_LIMIT
        and effective > fit.parameters + 1,
    )


def check_model(statistics: ModelStatistics, source: str, energy: str) -> None:
    """Refuse a model beyond Guideline 14's limits, or with too few independent hours for its parameters."""
    if statistics.cv_rmse > statistics.cv_rmse_limit:
        raise VerificationRefusedError(
            f"{source}: the baseline model of {energy} energy has a CV(RMSE) of {statistics.cv_rmse:.1%}, above "
            f"Guideline 14's {statistics.cv_rmse_limit:.0%} for this reporting length")
    if abs(statistics.nmbe) > statistics.nmbe_limit:
        raise VerificationRefusedError(f"{source}: the baseline model's NMBE is {statistics.nmbe:+.2%}, beyond "
                                       f"+-{statistics.nmbe_limit:.1%}")
    if statistics.effective_observations <= statistics.parameters + 1:
        raise VerificationRefusedError(
            f"{source}: the residuals are so autocorrelated (lag-1 {statistics.lag1_autocorrelation:.2f}) that "
            f"{statistics.effective_observations:.0f} independent hours remain for {statistics.parameters} "
            "parameters; a longer baseline is needed")


def independent_variables(model: BaselineModel, base: pd.DataFrame, report: pd.DataFrame,
                          baseline: HourlyData) -> list[tuple[str, IndependentVariable]]:
    """Each independent variable's column and its description with the ranges of both periods."""
    out = []
    for name in [model.it_load, *model.weather]:
        unit = baseline.it_load_unit if name == model.it_load else WEATHER_COLUMNS[name]
        source = baseline.it_load_source if name == model.it_load else f"column {name}"
        out.append((name, IndependentVariable(
            name=NAMES.get(name, name), unit=unit, source=source,
            baseline_min=float(base[name].min()), baseline_max=float(base[name].max()),
            reporting_min=float(report[name].min()), reporting_max=float(report[name].max()),
        )))
    return out


def _check_ranges(variables: list[tuple[str, IndependentVariable]], report: pd.DataFrame, source: str) -> None:
    for column, variable in variables:
        margin = RANGE_MARGIN * (variable.baseline_max - variable.baseline_min)
        outside = (report[column] < variable.baseline_min - margin) | (report[column] > variable.baseline_max + margin)
        if outside.mean() > MAX_SHARE_OUTSIDE_RANGE:
            raise VerificationRefusedError(
                f"{source}: {outside.mean():.0%} of the reporting hours have {variable.name} outside the range the "
                f"baseline covered ({variable.baseline_min:.1f}-{variable.baseline_max:.1f} {variable.unit} and a "
                f"tenth of that beyond; reporting {variable.reporting_min:.1f}-{variable.reporting_max:.1f}): the "
                f"model would extrapolate (at most {MAX_SHARE_OUTSIDE_RANGE:.0%} of hours may)")


@dataclass(frozen=True)
class _Months:
    rows: list[Month]
    guideline14_kwh: float
    model_form_kwh: float


def _months(model: BaselineModel, base: pd.DataFrame, measured: pd.Series, predicted: pd.Series,
            confidence_pct: float) -> _Months:
    fit = model.statistics_
    errors = seasonal_cross_validation(model, base)
    rms_error = float(np.sqrt(np.mean(errors**2))) if errors.size else 0.0
    t_seasons = guideline14.two_sided_t(confidence_pct, max(errors.size - 1, 1))

    def random_kwh(hours: int) -> guideline14.SavingsUncertainty:
        return guideline14.savings_uncertainty_kwh(fit.cv_rmse, fit.observations, fit.parameters,
                                                   fit.lag1_autocorrelation, hours, fit.mean_kwh, confidence_pct)

    rows = []
    for month, hours in predicted.groupby(predicted.index.to_period("M")):
        form = t_seasons * rms_error * float(hours.sum())
        half = math.hypot(random_kwh(len(hours)).uncertainty_kwh, form)
        avoided = float(hours.sum() - measured.loc[hours.index].sum())
        rows.append(Month(month=str(month), hours=float(len(hours)), adjusted_baseline_kwh=float(hours.sum()),
                          measured_kwh=float(measured.loc[hours.index].sum()), avoided_kwh=avoided,
                          avoided_kwh_lower=avoided - half, avoided_kwh_upper=avoided + half))
    return _Months(rows, random_kwh(len(predicted)).uncertainty_kwh, t_seasons * rms_error * float(predicted.sum()))


def _record(baseline: HourlyData, reporting: HourlyData, base: pd.DataFrame, report: pd.DataFrame,
            options: VerifyOptions, model: BaselineModel, statistics: ModelStatistics,
            variables: list[IndependentVariable], months: _Months, adjustments: list[Adjustment]) -> Verification:
    adjusted = sum(m.adjusted_baseline_kwh for m in months.rows)
    measured = sum(m.measured_kwh for m in months.rows)
    avoided = adjusted - measured
    half = math.hypot(months.guideline14_kwh, months.model_form_kwh)
    fraction = avoided / adjusted if adjusted else 0.0
    option = ipmvp_option(options.energy)
    return Verification(
        method=(f"IPMVP Option {option}; ASHRAE Guideline 14-2014 hourly change-point regression of "
                f"{options.energy} energy on outdoor weather, time of week and IT load (ordinary least squares, "
                "statsmodels); uncertainty: Guideline 14 Annex B with autocorrelation, combined with "
                "leave-one-season-out cross-validation"),
        ipmvp_option=option, energy=options.energy, confidence=options.confidence_pct,
        avoided_kwh=avoided, avoided_kwh_lower=avoided - half, avoided_kwh_upper=avoided + half,
        adjusted_baseline_kwh=adjusted, measured_kwh=measured, savings_fraction=fraction,
        fractional_savings_uncertainty=half / abs(avoided) if avoided else None,
        distinguishable_from_zero=abs(avoided) > half, conclusion=conclusion(avoided, half, options.confidence_pct),
        baseline_period=_period(base), reporting_period=_period(report), independent_variables=variables,
        it_load_signal=NAMES.get(model.it_load, model.it_load),
        cv_rmse=statistics.cv_rmse, nmbe=statistics.nmbe, r2=statistics.r2, statistics=statistics,
        uncertainty_components_kwh={"guideline14": months.guideline14_kwh, "model_form": months.model_form_kwh},
        monthly=months.rows, adjustments=adjustments,
        hours_without_data=baseline.hours_without_data + reporting.hours_without_data,
        baseline_controller=_controller(baseline.source), candidate_controller=_controller(reporting.source),
        baseline_source=baseline.source, reporting_source=reporting.source,
        notes=[f"IT load: {baseline.it_load_source}."],
    )


def ipmvp_option(energy: str) -> str:
    """The IPMVP option a verification of this energy is: the facility meter, or the cooling sub-meters."""
    return "C (whole facility)" if energy == "facility" else "B (retrofit isolation: cooling sub-meters)"


def conclusion(avoided_kwh: float, half_width_kwh: float, confidence_pct: float, during: str = "") -> str:
    """The verification's one-line finding: a saving (or an increase) with its interval, or none that can be
    told from zero; ``during`` names the hours it covers when they are not the whole period."""
    interval = f"{half_width_kwh / 1000:,.1f} MWh at {confidence_pct:g} % confidence"
    if abs(avoided_kwh) <= half_width_kwh:
        return f"not distinguishable from zero: {avoided_kwh / 1000:,.1f} MWh +- {interval}"
    verb = "saved" if avoided_kwh > 0 else "used more:"
    return f"{verb} {abs(avoided_kwh) / 1000:,.1f} MWh +- {interval}{during}"


#: A run's summary.json is written by greendc: a few hundred kilobytes at most.
MAX_RUN_SUMMARY_BYTES = 64 * 1024 * 1024


def run_summary(source: str) -> dict:
    """The summary.json greendc wrote beside a run's telemetry (simulate, agent), or {} for other data."""
    path = Path(source)
    for folder in (path, path.parent):
        summary = folder / "summary.json"
        if summary.is_file():
            try:
                data = read_json_file(summary, MAX_RUN_SUMMARY_BYTES, "run summary")
            except InputFileError:  # not greendc's, or damaged: the record then names no controller
                return {}
            return data if isinstance(data, dict) else {}
    return {}


def _controller(source: str) -> str:
    """The controller a greendc run recorded beside its telemetry, or ''."""
    return str(run_summary(source).get("controller", ""))
