from __future__ import annotations

import pytest

from greendc.results.oracle import oracle_from_sweep


def _run(supply_c: float, months: list[tuple[float, float, float]]) -> dict:
    return {"setpoints": {"supply_air_c": supply_c},
            "monthly": [{"month": i + 1, "it_kwh": it, "cooling_kwh": facility - it, "facility_kwh": facility,
                         "inlet_max_c": inlet} for i, (it, facility, inlet) in enumerate(months)]}


def test_best_safe_run_per_month_by_hand() -> None:
    cool = _run(18.0, [(100.0, 130.0, 19.0), (100.0, 140.0, 19.5)])
    warm = _run(25.0, [(103.0, 120.0, 26.0), (104.0, 125.0, 27.5)])  # cheaper, but too hot in month 2
    oracle = oracle_from_sweep([cool, warm])
    assert [m["setpoints"]["supply_air_c"] for m in oracle["monthly"]] == [25.0, 18.0]
    assert oracle["facility_kwh"] == pytest.approx(120.0 + 140.0)
    assert oracle["it_kwh"] == pytest.approx(103.0 + 100.0)
    assert oracle["inlet_max_c"] == 26.0
    by_cooling = oracle_from_sweep([cool, warm], objective="cooling")
    assert by_cooling["cooling_kwh"] == pytest.approx(17.0 + 40.0)


def test_no_safe_setpoint_is_an_error() -> None:
    with pytest.raises(ValueError, match="month 1"):
        oracle_from_sweep([_run(26.0, [(100.0, 110.0, 28.0)])])
