"""Small valid verification records (the JSON contract of ``greendc verify``), built with its pydantic model."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from greendc.verification.record import (
    Adjustment,
    IndependentVariable,
    ModelStatistics,
    Month,
    Period,
    Verification,
    write_verification,
)


def verification(
    avoided_kwh: float = 15_100.0,
    half_kwh: float = 2_300.0,
    *,
    months: int = 3,
    start_month: int = 1,
    year: int = 2023,
    **changes: Any,
) -> Verification:
    """A whole-facility (IPMVP Option C) record of ``avoided_kwh`` +- ``half_kwh`` at 90 % over ``months`` months
    from ``start_month`` of ``year``: 100 MWh measured a month, the saving and its interval spread evenly."""
    rows = []
    for m in range(start_month, start_month + months):
        saved, half = avoided_kwh / months, half_kwh / months
        rows.append(Month(month=f"{year}-{m:02d}", hours=720.0, adjusted_baseline_kwh=100_000.0 + saved,
                          measured_kwh=100_000.0, avoided_kwh=saved, avoided_kwh_lower=saved - half,
                          avoided_kwh_upper=saved + half))
    measured = 100_000.0 * months
    fields: dict[str, Any] = {
        "method": "IPMVP Option C (whole facility); ASHRAE Guideline 14-2014 hourly change-point regression",
        "ipmvp_option": "C (whole facility)",
        "energy": "facility",
        "confidence": 90.0,
        "avoided_kwh": avoided_kwh,
        "avoided_kwh_lower": avoided_kwh - half_kwh,
        "avoided_kwh_upper": avoided_kwh + half_kwh,
        "adjusted_baseline_kwh": measured + avoided_kwh,
        "measured_kwh": measured,
        "savings_fraction": avoided_kwh / (measured + avoided_kwh),
        "fractional_savings_uncertainty": half_kwh / abs(avoided_kwh) if avoided_kwh else None,
        "distinguishable_from_zero": abs(avoided_kwh) > half_kwh,
        "conclusion": f"saved {avoided_kwh / 1000:,.1f} MWh +- {half_kwh / 1000:,.1f} MWh at 90 % confidence",
        "baseline_period": Period(start=datetime(year - 1, 1, 1, 1), end=datetime(year, 1, 1), hours=8760),
        "reporting_period": Period(start=datetime(year, start_month, 1, 1),
                                   end=datetime(year, start_month + months, 1) if start_month + months <= 12
                                   else datetime(year + 1, 1, 1), hours=720.0 * months),
        "independent_variables": [
            IndependentVariable(name="outdoor dry-bulb temperature", unit="C", source="column outdoor_dry_bulb_c",
                                baseline_min=-5.0, baseline_max=35.0, reporting_min=-2.0, reporting_max=12.0),
        ],
        "it_load_signal": "IT power",
        "cv_rmse": 0.08,
        "nmbe": 0.001,
        "r2": 0.93,
        "statistics": ModelStatistics(interval="hourly", observations=8760, parameters=20, cv_rmse=0.08,
                                      cv_rmse_limit=0.2, nmbe=0.001, nmbe_limit=0.005, r2=0.93,
                                      lag1_autocorrelation=0.5, effective_observations=2900.0, passes=True),
        "uncertainty_components_kwh": {"guideline14": half_kwh * 0.8, "model_form": half_kwh * 0.6},
        "monthly": rows,
        "adjustments": [Adjustment(kind="exclude", start=datetime(year, start_month, 10), hours=24.0,
                                   end=datetime(year, start_month, 11), reason="chiller maintenance")],
        "baseline_controller": "trim-respond",
        "candidate_controller": "ai",
        "baseline_source": "meters/2022.parquet",
        "reporting_source": "meters/2023.parquet",
    }
    fields.update(changes)
    return Verification(**fields)


def write_record(folder: Path, record: Verification | None = None, name: str = "verify.json") -> Path:
    return write_verification(record or verification(), folder / name)
