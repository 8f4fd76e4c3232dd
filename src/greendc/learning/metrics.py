"""Accuracy of a model against measured data, as ASHRAE Guideline 14-2014 defines it.

CV(RMSE) = 100 * sqrt(sum((y - yhat)^2) / (n - p)) / mean(y)
NMBE     = 100 * sum(y - yhat) / ((n - p) * mean(y))

with ``p = 1`` as is usual for data-driven models. Guideline 14 calibration limits for hourly data are
CV(RMSE) <= 30 % and |NMBE| <= 10 %. For temperatures, whose mean is far from zero in C, the mean
absolute error in kelvin is also reported because percentages of a Celsius mean mean little.
"""

from __future__ import annotations

import numpy as np


def cv_rmse_pct(measured: np.ndarray, predicted: np.ndarray, parameters: int = 1) -> float:
    measured = np.asarray(measured, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    n = measured.size
    return float(100.0 * np.sqrt(np.sum((measured - predicted) ** 2) / (n - parameters)) / np.mean(measured))


def nmbe_pct(measured: np.ndarray, predicted: np.ndarray, parameters: int = 1) -> float:
    measured = np.asarray(measured, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    n = measured.size
    return float(100.0 * np.sum(measured - predicted) / ((n - parameters) * np.mean(measured)))


def mae(measured: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(measured, dtype=float) - np.asarray(predicted, dtype=float))))


def accuracy(measured: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """CV(RMSE) %, NMBE %, MAE and RMSE (both in the target's unit) of one target."""
    error = np.asarray(measured, dtype=float) - np.asarray(predicted, dtype=float)
    return {"cv_rmse_pct": cv_rmse_pct(measured, predicted), "nmbe_pct": nmbe_pct(measured, predicted),
            "mae": mae(measured, predicted), "rmse": float(np.sqrt(np.mean(error**2))),
            "n": int(np.asarray(measured).size)}
