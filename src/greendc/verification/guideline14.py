"""ASHRAE Guideline 14-2014 statistics of a baseline model and the uncertainty of the savings it gives.

With ``y`` the metered energy per interval, ``yhat`` the model's, ``n`` observations and ``p`` parameters
(Guideline 14-2014, section 4.3.2.4 and Annex B; Reddy & Claridge 2000, "Uncertainty of 'measured' energy
savings from statistical baseline models", HVAC&R Research 6(1)):

- CV(RMSE) = sqrt(sum((y - yhat)^2) / (n - p)) / mean(y)
- NMBE = sum(y - yhat) / ((n - p) * mean(y))
- the lag-1 autocorrelation ``rho`` of the residuals, and the effective number of independent observations
  n' = n (1 - rho) / (1 + rho) that interval data carry
- the fractional savings uncertainty of the sum of ``m`` reporting intervals at a saving fraction F::

      FSU = t(1 - alpha/2, n' - p) * 1.26 * CV' * sqrt((1 + 2 / n') / m) / F
      CV' = CV(RMSE) * sqrt((n - p) / (n' - p))

  (Annex B's form with its autocorrelation correction; 1.26 is the Guideline's empirical factor for the
  uncertainty of the prediction.) Annex B writes the correction as sqrt(n / n') on CV(RMSE); here CV' divides
  the squared residuals by n' - p instead, as LBNL's RMV2.0/nmecr implementation of the Guideline does: the
  two agree when p is small against n', and CV' is the wider (by 6 % at rho = 0.8, n = 8760, p = 120), which
  keeps a model with many parameters from claiming independent hours it does not have.

Limits for a baseline model of energy use (section 4.3.2.4): CV(RMSE) at most 20 % when fewer than 12 months
of reporting-period data will be used, 25 % for 12-60 months and 30 % beyond; the net determination bias at
most 0.005 %, which for a least-squares fit with an intercept is met by construction, so the model's NMBE is
held to the +-0.5 % that LBNL's and the CPUC's NMEC rulebook (2020) apply to it. R2 is reported, not held
to a limit: the Guideline sets none, and a data center's nearly constant load gives a low R2 to a good model.
The autocorrelation itself is statsmodels' ``acf``; t quantiles are scipy's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.tsa.stattools import acf

NMBE_LIMIT = 0.005
PREDICTION_FACTOR = 1.26


def cv_rmse_limit(reporting_months: float) -> float:
    """Guideline 14-2014 4.3.2.4: the CV(RMSE) a baseline model of energy use may have, by reporting length."""
    if reporting_months < 12:
        return 0.20
    return 0.25 if reporting_months <= 60 else 0.30


def cv_rmse(measured: np.ndarray, predicted: np.ndarray, parameters: int) -> float:
    """Coefficient of variation of the root-mean-square error, with n - p degrees of freedom (0-1)."""
    residual = np.asarray(measured, float) - np.asarray(predicted, float)
    return float(math.sqrt(np.sum(residual**2) / (residual.size - parameters)) / np.mean(measured))


def nmbe(measured: np.ndarray, predicted: np.ndarray, parameters: int) -> float:
    """Normalized mean bias error, with n - p degrees of freedom (a fraction; positive: model under-predicts)."""
    residual = np.asarray(measured, float) - np.asarray(predicted, float)
    return float(np.sum(residual) / ((residual.size - parameters) * np.mean(measured)))


def lag1_autocorrelation(residuals: np.ndarray) -> float:
    """The residuals' autocorrelation at lag 1 (statsmodels ``acf``)."""
    return float(acf(np.asarray(residuals, float), nlags=1, fft=True)[1])


def effective_observations(n: int, rho: float) -> float:
    """n' = n (1 - rho) / (1 + rho): independent observations in ``n`` autocorrelated ones (rho <= 0 keeps n)."""
    rho = max(rho, 0.0)
    return n * (1.0 - rho) / (1.0 + rho)


def two_sided_t(confidence_pct: float, freedom: float) -> float:
    """Student's t of a two-sided interval at ``confidence_pct`` (scipy), for ``freedom`` degrees of freedom."""
    return float(stats.t.ppf(1.0 - (1.0 - confidence_pct / 100.0) / 2.0, freedom))


@dataclass(frozen=True)
class SavingsUncertainty:
    """The Annex B uncertainty of a sum of ``reporting_intervals`` predicted intervals, kWh."""

    t: float
    effective_n: float
    cv_rmse_effective: float
    uncertainty_kwh: float


def savings_uncertainty_kwh(
    cv: float, n: int, parameters: int, rho: float, reporting_intervals: int, mean_baseline_kwh: float,
    confidence_pct: float,
) -> SavingsUncertainty:
    """Half-width of the two-sided interval of the avoided energy over ``reporting_intervals`` intervals, kWh.

    The formula above times F x m x mean(y), with ``mean_baseline_kwh`` the baseline period's mean energy per
    interval (the mean(y) of CV): the interval of m predicted intervals, whatever the saving. Annex B states
    it as a fraction of the saving, taking m x mean(y) for the adjusted baseline; the two differ when the
    reporting period's use differs from the baseline's mean (a winter-only reporting period).
    """
    effective_n = effective_observations(n, rho)
    freedom = max(effective_n - parameters, 1.0)
    cv_effective = cv * math.sqrt((n - parameters) / freedom)
    t = two_sided_t(confidence_pct, freedom)
    half_width = (
        t * PREDICTION_FACTOR * cv_effective * mean_baseline_kwh
        * math.sqrt((1.0 + 2.0 / effective_n) * reporting_intervals)
    )
    return SavingsUncertainty(t, effective_n, cv_effective, half_width)
