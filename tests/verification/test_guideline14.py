"""Guideline 14 statistics against hand-computed values of a small example."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from greendc.verification import guideline14

MEASURED = [10.0, 12.0, 11.0, 13.0, 12.0]
PREDICTED = [10.0, 11.5, 11.0, 12.5, 12.0]  # residuals 0, 0.5, 0, 0.5, 0: sum 1, squares 0.5


def test_cv_rmse_uses_n_minus_p_degrees_of_freedom() -> None:
    # sqrt(0.5 / (5 - 2)) / 11.6
    assert guideline14.cv_rmse(MEASURED, PREDICTED, parameters=2) == pytest.approx(0.0351938, rel=1e-5)


def test_nmbe_is_the_bias_over_n_minus_p_times_the_mean() -> None:
    # 1 / ((5 - 2) * 11.6); positive: the model predicts less than was metered
    assert guideline14.nmbe(MEASURED, PREDICTED, parameters=2) == pytest.approx(0.0287356, rel=1e-5)


def test_lag1_autocorrelation_of_alternating_residuals() -> None:
    # deviations from the mean 0.2: -0.2, 0.3, -0.2, 0.3, -0.2; sum of lagged products -0.24 over 0.30
    assert guideline14.lag1_autocorrelation([0.0, 0.5, 0.0, 0.5, 0.0]) == pytest.approx(-0.8)


def test_effective_observations_shrink_with_positive_autocorrelation_only() -> None:
    assert guideline14.effective_observations(100, 0.5) == pytest.approx(100 / 3)
    assert guideline14.effective_observations(100, -0.8) == 100


def test_annex_b_savings_uncertainty_by_hand() -> None:
    # n = 100, p = 5, rho = 0.5: n' = 33.33, n' - p = 28.33, CV' = 0.1 sqrt(95 / 28.33); m = 50 hours of 10 kWh
    result = guideline14.savings_uncertainty_kwh(0.1, 100, 5, 0.5, 50, 10.0, 90.0)
    n_effective = 100 / 3
    cv_effective = 0.1 * math.sqrt(95 / (n_effective - 5))
    t = stats.t.ppf(0.95, n_effective - 5)
    expected = t * 1.26 * cv_effective * 10.0 * math.sqrt((1 + 2 / n_effective) * 50)
    assert result.uncertainty_kwh == pytest.approx(expected)
    assert 28.0 < result.uncertainty_kwh < 29.0
    assert result.effective_n == pytest.approx(n_effective)


def test_cv_rmse_limit_by_reporting_length() -> None:
    assert guideline14.cv_rmse_limit(6) == 0.20
    assert guideline14.cv_rmse_limit(12) == 0.25
    assert guideline14.cv_rmse_limit(61) == 0.30
