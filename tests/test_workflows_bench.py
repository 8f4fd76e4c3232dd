from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import greendc.workflows.simulation as simulation
from greendc.results.oracle import OracleError, SetpointGrid
from greendc.site.schema import Site
from greendc.workflows.bench import (
    BENCH_KEYS,
    ORACLE,
    ORACLE_HOURLY,
    ORACLE_HOURLY_HUMID,
    oracle_sweep_jobs,
    run_bench,
)
from tests.conftest import example_site_data

TWO_POINTS = SetpointGrid(supply_air_c=(20.0, 22.0), zone_rise_c=(9.0,), chilled_water_c=(7.0,))


def test_oracle_sweep_respects_the_site_bounds() -> None:
    data = example_site_data()
    data["setpoints"] = {"supply_air_c": {"min": 17, "max": 21}, "chilled_water_c": {"min": 6, "max": 9},
                         "zone_cooling_c": {"min": 18, "max": 29}}
    site = Site.model_validate(data)
    jobs = oracle_sweep_jobs(site, None, "tampa")
    assert jobs and all(job.controller == "constant" and job.weather == "tampa" for job in jobs)
    assert all(job.summary_only for job in jobs)  # the bench reads summaries only
    points = [job.controller_options for job in jobs]
    assert {p["supply_air_c"] for p in points} == {18.0, 20.0}
    assert {p["chilled_water_c"] for p in points} == {7.0}
    assert all(p["supply_air_c"] + p["zone_rise_c"] <= 29.0 for p in points)
    assert len(oracle_sweep_jobs(site, None, "tampa", TWO_POINTS)) == 1  # 22 C is above the 21 C limit
    with pytest.raises(OracleError, match="bounds"):
        oracle_sweep_jobs(site, None, "tampa", SetpointGrid((24.0,), (5.0,), (7.0,)))


def test_bench_objective_is_checked_before_any_run(short_site: Site) -> None:
    with pytest.raises(ValueError, match="objective"):
        run_bench(short_site, None, [ORACLE], ["chicago"], objective="water")
    with pytest.raises(ValueError, match="same objective"):
        run_bench(short_site, None, ["ai"], ["chicago"], objective="cooling",
                  options={"ai": {"model": "x.gdm", "objective": "facility"}})


def test_bench_with_the_oracle_end_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """Default and a two-point oracle over four days across a month end, in process (about 3 s)."""
    site = Site.model_validate(example_site_data(begin_month=6, begin_day=29, end_month=7, end_day=2))
    swept: list[Any] = []
    simulate_many = simulation.simulate_many

    def spy(jobs, **kwargs):
        outcomes = simulate_many(jobs, **kwargs)
        swept.extend(o.summary for job, o in zip(jobs, outcomes, strict=True) if job.controller == "constant")
        return outcomes

    monkeypatch.setattr(simulation, "simulate_many", spy)
    done: list[Any] = []
    progress: list[tuple[int, int]] = []
    records = run_bench(site, None, ["default", ORACLE], ["chicago"], isolated=False, oracle_grid=TWO_POINTS,
                        on_done=done.append, on_progress=lambda d, t: progress.append((d, t)))
    assert [(r.climate, r.controller) for r in records] == [("chicago", "default"), ("chicago", ORACLE)]
    assert done == records  # one oracle record, emitted with its last sweep run
    assert progress == [(0, 3), (1, 3), (2, 3), (3, 3)]
    for record in records:
        assert set(BENCH_KEYS) <= set(record.row())
        assert record.pue == pytest.approx(record.facility_kwh / record.it_kwh)
    oracle = records[1]
    assert len(swept) == oracle.swept_runs == 2
    assert oracle.facility_kwh <= min(s.facility_kwh for s in swept if s.inlet_max_c <= 27.0) + 1e-9
    assert oracle.wall_s == pytest.approx(sum(s.wall_s for s in swept))
    assert [m.month for m in oracle.monthly] == [6, 7]
    assert all(m.setpoints in ({"supply_air_c": 20.0, "zone_rise_c": 9.0, "chilled_water_c": 7.0},
                                  {"supply_air_c": 22.0, "zone_rise_c": 8.0, "chilled_water_c": 7.0})
               for m in oracle.monthly)
    assert oracle.steps_above_27c == 0 and oracle.objective == "facility"
    assert oracle.it_kwh == pytest.approx(sum(m.it_kwh for m in oracle.monthly))


def test_a_climate_without_an_oracle_keeps_the_other_records() -> None:
    """A grid whose only point overheats the servers gives no oracle; the bench still returns default's row."""
    data = example_site_data(begin_month=7, begin_day=1, end_month=7, end_day=2)
    data["setpoints"] = {"supply_air_c": {"min": 12, "max": 30}, "zone_cooling_c": {"min": 18, "max": 34}}
    site = Site.model_validate(data)
    too_warm = SetpointGrid(supply_air_c=(30.0,), zone_rise_c=(4.0,), chilled_water_c=(7.0,))
    records = run_bench(site, None, ["default", ORACLE], ["chicago"], isolated=False, oracle_grid=too_warm)
    assert [(r.climate, r.controller) for r in records] == [("chicago", "default"), ("chicago", ORACLE)]
    assert set(BENCH_KEYS) <= set(records[0].row())
    assert set(records[1].row()) == {"climate", "controller", "error"} and "chicago" in records[1].error


def test_bench_with_both_oracles_shares_one_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Default, the monthly oracle on two points and the hourly one on three (two shared) over two days."""
    site = Site.model_validate(example_site_data(begin_month=7, begin_day=1, end_month=7, end_day=2))
    three_points = SetpointGrid(supply_air_c=(20.0, 22.0, 24.0), zone_rise_c=(5.0,), chilled_water_c=(7.0,))
    two_points = SetpointGrid(supply_air_c=(20.0, 22.0), zone_rise_c=(5.0,), chilled_water_c=(7.0,))
    ran: list[Any] = []
    simulate_many = simulation.simulate_many

    def spy(jobs, **kwargs):
        outcomes = simulate_many(jobs, **kwargs)
        ran.extend(zip(jobs, outcomes, strict=True))
        return outcomes

    monkeypatch.setattr(simulation, "simulate_many", spy)
    progress: list[tuple[int, int]] = []
    records = run_bench(site, None, ["default", ORACLE, ORACLE_HOURLY], ["chicago"], isolated=False,
                        oracle_grid=two_points, hourly_oracle_grid=three_points,
                        on_progress=lambda d, t: progress.append((d, t)))
    assert [r.controller for r in records] == ["default", ORACLE, ORACLE_HOURLY, ORACLE_HOURLY_HUMID]
    assert progress[0] == (0, 4) and progress[-1] == (4, 4)  # 1 + 3 runs: the monthly sweep added none
    swept = [(job, outcome) for job, outcome in ran if job.controller == "constant"]
    assert len(swept) == 3 and all(job.hourly and outcome.hourly is not None for job, outcome in swept)
    assert not ran[0][0].hourly and ran[0][1].hourly is None  # default's run ships no per-hour table
    for _, outcome in swept:  # worked out in the worker, the table adds up to the run's summary
        assert len(outcome.result.telemetry) == 0 and len(outcome.hourly) == 48
        assert outcome.hourly["facility_kwh"].sum() == pytest.approx(outcome.summary.facility_kwh)
        assert outcome.hourly["steps_humid"].sum() == outcome.summary.steps_humid
    monthly, hourly, humid = records[1:]
    assert monthly.swept_runs == 2 and hourly.swept_runs == humid.swept_runs == 3
    for record in (hourly, humid):
        assert set(BENCH_KEYS) <= set(record.row()) and record.objective == "facility" and record.hours == 48
        assert record.pue == pytest.approx(record.facility_kwh / record.it_kwh)
        assert record.wall_s == pytest.approx(sum(outcome.summary.wall_s for _, outcome in swept))
        assert all(sum(hours.values()) == 48 for hours in record.setpoint_hours.values())
        assert 0 <= record.hours_without_safe_run <= 48
    assert (hourly.limits, humid.limits) == ("temperature", "temperature+humidity")
    safe_all_along = [o.summary.facility_kwh for _, o in swept
                      if o.summary.steps_above_27c == o.summary.steps_below_18c == 0]
    if safe_all_along:  # a run within 18-27 C every hour is one of the hourly oracle's candidates every hour
        assert hourly.facility_kwh <= min(safe_all_along) + 1e-9
    cheapest_each_hour = np.column_stack([o.hourly["facility_kwh"] for _, o in swept]).min(axis=1).sum()
    assert hourly.facility_kwh >= cheapest_each_hour - 1e-9
    if humid.hours_without_safe_run == 0:  # each hour's humid-safe runs are among its temperature-safe ones
        assert humid.facility_kwh >= hourly.facility_kwh - 1e-9
