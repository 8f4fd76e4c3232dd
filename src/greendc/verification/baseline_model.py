"""The baseline model: hourly energy from weather, time of week and IT load, by least squares (statsmodels).

The form is Guideline 14's change-point regression (ASHRAE Guideline 14-2014, Annex D; Kissock, Haberl &
Claridge 2003, ASHRAE RP-1050) generalised to several variables, with the time-of-week indicators of the
LBNL time-of-week-and-temperature model (Mathieu, Price, Kiliccote & Piette 2011, "Quantifying changes in
building electricity use, with application to demand response", IEEE Trans. Smart Grid 2(3)), which is also
opendsm's hourly CalTRACK model::

    E_h = b0 + b1 L + sum_v [ c_v T_v + sum_k c_vk (T_v - k)+ ]
             + L/100 * sum_v [ d_v T_v + sum_k d_vk (T_v - k)+ ] + hour-of-day and weekend indicators

with ``L`` the IT-load signal, ``T_v`` each outdoor variable (dry-bulb, wet-bulb, dew point; hourly means,
C) and ``(x)+ = max(x, 0)``. The hinges ``k`` are every :data:`KNOT_SPACING_K` kelvin between the baseline's
5th and 95th percentiles of the variable (learned at ``fit``), so that the model bends where the plant
changes mode (economizer, evaporative stages, chiller) but never beyond the data it learned from. The IT
interaction terms let cooling energy scale with the heat it removes: a data center's cooling is driven by
IT load and weather together.

The IT-load signal must be one the measure does not move (:mod:`greendc.verification.meter_data`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.regression.linear_model import RegressionResults
from statsmodels.tools.sm_exceptions import SingularMatrixWarning

from greendc.verification import guideline14

KNOT_SPACING_K = 2.0
#: Seasons are held out one at a time to measure how the model predicts weather it did not see.
MIN_SEASONS_FOR_CROSS_VALIDATION = 3
#: A season with fewer hours (the stray first or last hours of a year) is not held out: its error says little.
MIN_HOURS_TO_HOLD_OUT = 14 * 24


@dataclass(frozen=True)
class FitStatistics:
    """The Guideline 14 statistics of a fit on hourly data."""

    observations: int
    parameters: int
    cv_rmse: float
    nmbe: float
    r2: float
    lag1_autocorrelation: float
    mean_kwh: float


def least_squares(energy: np.ndarray, design: np.ndarray, **fit_options: object) -> RegressionResults:
    """statsmodels OLS. Terms can be collinear (dew point and wet-bulb in a dry climate, a knot's interaction
    with a near-constant load): OLS then fits by pseudo-inverse, which predicts as well, and the parameters
    counted for the statistics are the design's rank, not its columns."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularMatrixWarning)
        return sm.OLS(energy, design).fit(**fit_options)


def fit_statistics(result: RegressionResults, measured: np.ndarray) -> FitStatistics:
    """Guideline 14 statistics of a least-squares fit to ``measured``, its parameters counted as its rank."""
    fitted = result.fittedvalues
    parameters = int(result.model.rank)
    return FitStatistics(
        observations=len(measured),
        parameters=parameters,
        cv_rmse=guideline14.cv_rmse(measured, fitted, parameters),
        nmbe=guideline14.nmbe(measured, fitted, parameters),
        r2=float(result.rsquared),
        lag1_autocorrelation=guideline14.lag1_autocorrelation(measured - fitted),
        mean_kwh=float(np.mean(measured)),
    )


class BaselineModel:
    """Hourly baseline model (see the module docstring): ``fit`` on the baseline period, ``predict`` after.

    ``it_load`` names the IT-load column and ``weather`` the outdoor columns to use.
    """

    def __init__(self, it_load: str, weather: tuple[str, ...], knot_spacing_k: float = KNOT_SPACING_K) -> None:
        self.it_load = it_load
        self.weather = weather
        self.knot_spacing_k = knot_spacing_k

    def fit(self, frame: pd.DataFrame) -> BaselineModel:
        """Fit on hours with ``energy_kwh`` and the independent variables; learns knots, columns, coefficients."""
        self.knots_ = {v: self._knots(frame[v]) for v in self.weather}
        design = self.design_matrix(frame)
        varied = design.columns[(design.std() > 1e-9) | (design.columns == "intercept")]
        self.columns_ = list(varied)
        self.result_ = least_squares(frame["energy_kwh"].to_numpy(), design[self.columns_].to_numpy())
        self.statistics_ = fit_statistics(self.result_, frame["energy_kwh"].to_numpy())
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Energy per hour (kWh) the baseline would have used under ``frame``'s conditions."""
        return self.result_.predict(self.design_matrix(frame)[self.columns_].to_numpy())

    def _knots(self, values: pd.Series) -> list[float]:
        low, high = np.nanpercentile(values, [5, 95])
        first = np.ceil(low / self.knot_spacing_k) * self.knot_spacing_k
        return [float(k) for k in np.arange(first, high, self.knot_spacing_k)]

    def design_matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        load = frame[self.it_load].to_numpy(float)
        columns: dict[str, np.ndarray] = {"intercept": np.ones(len(frame)), "it_load": load}
        for variable in self.weather:
            values = frame[variable].to_numpy(float)
            hinges = {f"{variable}>{k:g}": np.maximum(values - k, 0.0) for k in self.knots_[variable]}
            terms = {variable: values} | hinges
            for name, term in terms.items():
                columns[name] = term
                columns[f"it_load*{name}"] = load * term / 100.0
        hour = frame.index.hour
        for h in range(1, 24):
            columns[f"hour{h}"] = (hour == h).astype(float)
        columns["weekend"] = (frame.index.day_of_week >= 5).astype(float)
        return pd.DataFrame(columns, index=frame.index)


def seasonal_cross_validation(model: BaselineModel, frame: pd.DataFrame) -> np.ndarray:
    """Each season's (calendar quarter's) error of a model fitted without it, as a fraction of its energy.

    Guideline 14's Annex B covers the model's random error only; a model carried to another year's weather
    also errs by its form. Holding out a whole season (keeping the knots of the full fit, so that only the
    coefficients are refitted) asks the model for weather the rest of the year has little of, as a different
    year does. Held-out months were tried first: their errors (RMS 1.0-1.4 % of cooling energy in the truth
    benchmark) understated what the model erred by in another climate (1.6-2.8 %); held-out seasons (1.1-2.0 %,
    with Student's t for 3 degrees of freedom) cover it. Empty when the baseline holds fewer than
    :data:`MIN_SEASONS_FOR_CROSS_VALIDATION` seasons.

    Each refit solves the normal equations with the held-out season's share subtracted (the same least
    squares, minimum-norm where terms are collinear): statsmodels refits took 16 s of an 18 s verification.
    """
    seasons = (frame.index.year * 4 + (frame.index.month - 1) // 3).to_numpy()
    design = model.design_matrix(frame)[model.columns_].to_numpy()
    energy = frame["energy_kwh"].to_numpy()
    gram, moment = design.T @ design, design.T @ energy
    errors = []
    for season in np.unique(seasons):
        held = seasons == season
        if held.sum() < MIN_HOURS_TO_HOLD_OUT:
            continue
        rows, metered = design[held], energy[held]
        coefficients = np.linalg.lstsq(gram - rows.T @ rows, moment - rows.T @ metered, rcond=None)[0]
        errors.append((float((rows @ coefficients).sum()) - metered.sum()) / metered.sum())
    return np.array(errors) if len(errors) >= MIN_SEASONS_FOR_CROSS_VALIDATION else np.array([])
