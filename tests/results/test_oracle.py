from __future__ import annotations

import pytest

from greendc.results.oracle import ORACLE_GRID, OracleError, SetpointGrid, oracle_from_sweep, sweep_setpoints
from greendc.site.schema import Bounds, Setpoints


def _run(supply_c: float, months: list[tuple[float, float, float]]) -> dict:
    return {"setpoints": {"supply_air_c": supply_c},
            "monthly": [{"month": i + 1, "it_kwh": it, "cooling_kwh": facility - it, "facility_kwh": facility,
                         "water_m3": 1.0, "inlet_max_c": inlet, "steps_above_27c": 0, "steps_above_32c": 0,
                         "steps_below_18c": int(supply_c < 20), "steps_humid": i}
                        for i, (it, facility, inlet) in enumerate(months)]}


def test_best_safe_run_per_month_by_hand() -> None:
    cool = _run(18.0, [(100.0, 130.0, 19.0), (100.0, 140.0, 19.5)])
    warm = _run(25.0, [(103.0, 120.0, 26.0), (104.0, 125.0, 27.5)])  # cheaper, but too hot in month 2
    oracle = oracle_from_sweep([cool, warm])
    assert [m["setpoints"]["supply_air_c"] for m in oracle["monthly"]] == [25.0, 18.0]
    assert oracle["facility_kwh"] == pytest.approx(120.0 + 140.0)
    assert oracle["it_kwh"] == pytest.approx(103.0 + 100.0)
    assert oracle["inlet_max_c"] == 26.0
    assert oracle["pue"] == pytest.approx(260.0 / 203.0)
    # Counts and water are those of the chosen months: month 1 from the warm run, month 2 from the cool one.
    assert (oracle["steps_below_18c"], oracle["steps_humid"], oracle["water_m3"]) == (1, 1, 2.0)
    assert oracle["swept_runs"] == 2
    by_cooling = oracle_from_sweep([cool, warm], objective="cooling")
    assert by_cooling["cooling_kwh"] == pytest.approx(17.0 + 40.0)


def test_no_safe_setpoint_is_an_error() -> None:
    with pytest.raises(OracleError, match="month 1"):
        oracle_from_sweep([_run(26.0, [(100.0, 110.0, 28.0)])])
    with pytest.raises(ValueError, match="objective"):
        oracle_from_sweep([_run(18.0, [(100.0, 110.0, 20.0)])], objective="water")


def _within(point: dict[str, float], bounds: Setpoints) -> bool:
    zone_c = point["supply_air_c"] + point["zone_rise_c"]
    return (bounds.supply_air_c.min <= point["supply_air_c"] <= bounds.supply_air_c.max
            and bounds.zone_cooling_c.min <= zone_c <= bounds.zone_cooling_c.max
            and bounds.chilled_water_c.min <= point["chilled_water_c"] <= bounds.chilled_water_c.max)


def test_sweep_stays_within_the_default_bounds() -> None:
    bounds = Setpoints()
    points = sweep_setpoints(bounds)
    assert all(_within(p, bounds) for p in points)
    # Zone setpoints above 30 C are applied as 30 C (as the runner clips them): 22 + 9 runs as 22 + 8, and
    # 25 + 9 and 26 + 9 are the same runs as 25 + 5 and 26 + 4, so 28 grid points make 24 runs.
    assert len(points) == 24
    assert {"supply_air_c": 22.0, "zone_rise_c": 8.0, "chilled_water_c": 7.0} in points
    assert {"supply_air_c": 26.0, "zone_rise_c": 4.0, "chilled_water_c": 11.0} in points


def test_sweep_drops_setpoints_the_operator_forbade() -> None:
    bounds = Setpoints(supply_air_c=Bounds(min=18, max=24), zone_cooling_c=Bounds(min=18, max=28),
                       chilled_water_c=Bounds(min=8, max=15))
    points = sweep_setpoints(bounds, ORACLE_GRID)
    assert all(_within(p, bounds) for p in points)
    assert sorted({p["supply_air_c"] for p in points}) == [18.0, 20.0, 22.0, 24.0]
    assert {p["chilled_water_c"] for p in points} == {11.0}
    assert len(points) == 7  # 24 + 5 and 24 + 9 both apply 28 C


def test_sweep_of_a_tiny_grid_and_a_site_without_chillers() -> None:
    grid = SetpointGrid(supply_air_c=(20.0, 22.0), zone_rise_c=(5.0,), chilled_water_c=(7.0, 11.0))
    assert len(sweep_setpoints(Setpoints(), grid)) == 4
    assert sweep_setpoints(Setpoints(), grid, chiller_plant=False) == [
        {"supply_air_c": 20.0, "zone_rise_c": 5.0}, {"supply_air_c": 22.0, "zone_rise_c": 5.0}]
    assert sweep_setpoints(Setpoints(supply_air_c=Bounds(min=12, max=15)), grid) == []
