"""Benchmark controllers across climates, with the hindsight oracles' sweeps of constant setpoints."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from greendc.errors import UsageError
from greendc.results.oracle import (
    HOURLY_ORACLE_GRID,
    OBJECTIVES,
    ORACLE_GRID,
    OracleError,
    SetpointGrid,
    hourly_oracle_from_sweep,
    oracle_from_sweep,
    sweep_setpoints,
)
from greendc.results.records import BenchRecord, RunSummary
from greendc.site.schema import Site
from greendc.site.weather import SHIPPED_WEATHER
from greendc.telemetry.faults import SensorFault
from greendc.workflows import simulation
from greendc.workflows.executor import Executor
from greendc.workflows.simulation import SimulationJob, SimulationOutcome

#: Keys of one benchmark record (one controller in one climate).
BENCH_KEYS = (
    "climate", "controller", "it_kwh", "cooling_kwh", "facility_kwh", "pue", "inlet_max_c",
    "steps_above_27c", "steps_above_32c", "steps_below_18c", "steps_humid", "wall_s",
)

#: The benchmark name of the hindsight oracle (``greendc.results.oracle``): a sweep, not a controller.
ORACLE = "oracle"
#: The hourly-hindsight oracle's benchmark name; it gives two rows per climate, one per limits.
ORACLE_HOURLY = "oracle-hourly"
#: Its second row: each hour within the envelope's humidity limits as well as 18-27 C.
ORACLE_HOURLY_HUMID = "oracle-hourly-humid"
#: The hourly oracle's rows: record name -> limits (``greendc.results.oracle.HOURLY_LIMITS``).
HOURLY_ORACLE_ROWS = {ORACLE_HOURLY: "temperature", ORACLE_HOURLY_HUMID: "temperature+humidity"}
#: The names a bench takes besides the controllers: references made from sweeps of constant setpoints.
SWEPT_REFERENCES = (ORACLE, ORACLE_HOURLY)


def climate_name(weather: str) -> str:
    """How a benchmark names a climate: the shipped weather's short name, or an EPW file's stem."""
    return weather if weather in SHIPPED_WEATHER else Path(weather).stem


def bench_record(climate: str, summary: RunSummary) -> BenchRecord:
    """The benchmark record (:data:`BENCH_KEYS`, water and severe errors) of one run's summary."""
    return BenchRecord.of_run(climate, summary)


def oracle_sweep_jobs(site: Site, site_dir: Path | None, weather: str | None,
                      grid: SetpointGrid = ORACLE_GRID, hourly: bool = False) -> list[SimulationJob]:
    """The ``constant`` runs of the oracle's sweep in one climate, over ``grid`` within the site's bounds.

    With ``hourly`` each run also returns its per-hour table, which the hourly oracle chooses from.
    Raises :class:`OracleError` when no grid point lies within the site's setpoint bounds.
    """
    points = sweep_setpoints(site.setpoints, grid, chiller_plant=site.has_chiller_plant)
    if not points:
        raise OracleError(f"no point of the oracle's grid {grid.as_dict()} lies within the site's setpoint bounds")
    return [SimulationJob(site, site_dir, "constant", weather, point, summary_only=True, hourly=hourly)
            for point in points]


def oracle_record(climate: str, sweep: list[tuple[SimulationJob, SimulationOutcome]], objective: str = "facility"
                  ) -> BenchRecord:
    """The oracle's benchmark record in one climate from its finished sweep runs.

    It carries every key of :data:`BENCH_KEYS` (energy in kWh summed over the chosen months; ``wall_s`` is
    the sweep's total run time in s), ``water_m3``, ``energyplus_severe_errors`` (all sweep runs),
    ``objective``, ``inlet_limit_c``, ``swept_runs`` and ``monthly``: the chosen setpoints and figures.
    """
    runs = [{"setpoints": job.controller_options, "monthly": [month.model_dump() for month in outcome.summary.monthly]}
            for job, outcome in sweep]
    try:
        oracle = oracle_from_sweep(runs, objective=objective)
    except OracleError as error:
        raise OracleError(f"oracle in {climate}: {error}") from None
    return _sweep_record(climate, ORACLE, sweep, oracle)


def hourly_oracle_record(climate: str, sweep: list[tuple[SimulationJob, SimulationOutcome]],
                         objective: str = "facility", limits: str = "temperature") -> BenchRecord:
    """The hourly oracle's benchmark record in one climate from its finished sweep runs (with per-hour tables).

    Named ``oracle-hourly`` for the ``temperature`` limits, ``oracle-hourly-humid`` for
    ``temperature+humidity``. It carries every key of :data:`BENCH_KEYS` (energy in kWh summed over the
    chosen hours; ``wall_s`` the sweep's total run time in s), ``water_m3``, ``energyplus_severe_errors``,
    ``objective``, ``limits``, ``hours``, ``hours_without_safe_run``, ``setpoint_hours`` and ``swept_runs``
    (:func:`greendc.results.oracle.hourly_oracle_from_sweep`).
    """
    [controller] = [name for name, row_limits in HOURLY_ORACLE_ROWS.items() if row_limits == limits]
    if any(outcome.hourly is None for _, outcome in sweep):
        raise OracleError(f"{controller} in {climate}: a sweep run came back without its per-hour table")
    runs = [{"setpoints": job.controller_options, "hourly": outcome.hourly} for job, outcome in sweep]
    try:
        oracle = hourly_oracle_from_sweep(runs, objective=objective, limits=limits)
    except OracleError as error:
        raise OracleError(f"{controller} in {climate}: {error}") from None
    return _sweep_record(climate, controller, sweep, oracle)


def _sweep_record(climate: str, controller: str, sweep: list[tuple[SimulationJob, SimulationOutcome]],
                  oracle: dict[str, Any]) -> BenchRecord:
    """A sweep reference's record: its figures, with the wall time and severe errors of all its runs."""
    record: dict[str, Any] = {"climate": climate, "controller": controller}
    record.update({key: oracle[key] for key in BENCH_KEYS if key in oracle})
    record["wall_s"] = sum(outcome.summary.wall_s for _, outcome in sweep)
    record["energyplus_severe_errors"] = sum(outcome.summary.energyplus_severe_errors for _, outcome in sweep)
    record.update({key: value for key, value in oracle.items() if key not in record})
    return BenchRecord.model_validate(record)


@dataclass(frozen=True)
class _Row:
    """One record a bench makes: a controller's run, or a sweep reference from several (shared) runs."""

    climate: str
    controller: str
    jobs: tuple[int, ...]
    limits: str | None = None  # the hourly oracle's


def _add_sweep(jobs: list[SimulationJob], swept: dict[tuple[Any, ...], int], site: Site, site_dir: Path | None,
               weather: str | None, grid: SetpointGrid, hourly: bool) -> tuple[int, ...]:
    """Queue a climate's sweep over ``grid``, reusing the runs already queued there (``swept``: point -> job)."""
    indices = []
    for job in oracle_sweep_jobs(site, site_dir, weather, grid, hourly=hourly):
        point = tuple(sorted(job.controller_options.items()))
        if point not in swept:
            swept[point] = len(jobs)
            jobs.append(job)
        indices.append(swept[point])
    return tuple(indices)


def _plan(site: Site, site_dir: Path | None, controllers: list[str], climates: list[str],
          options: dict[str, dict[str, Any]], faults: Sequence[SensorFault], oracle_grid: SetpointGrid,
          hourly_grid: SetpointGrid) -> tuple[list[SimulationJob], list[_Row]]:
    """The runs of a bench and the records they make, in the order asked."""
    jobs: list[SimulationJob] = []
    rows: list[_Row] = []
    for weather in climates:
        climate = climate_name(weather or site.weather)
        swept: dict[tuple[Any, ...], int] = {}
        # Every sweep run of a climate returns its per-hour table when the hourly oracle is asked, so the
        # monthly oracle's runs (a subset of the hourly grid) serve both.
        hourly = ORACLE_HOURLY in controllers
        for controller in controllers:
            if controller == ORACLE:
                rows.append(_Row(climate, ORACLE, _add_sweep(jobs, swept, site, site_dir, weather, oracle_grid,
                                                             hourly)))
            elif controller == ORACLE_HOURLY:
                indices = _add_sweep(jobs, swept, site, site_dir, weather, hourly_grid, hourly)
                rows += [_Row(climate, name, indices, limits) for name, limits in HOURLY_ORACLE_ROWS.items()]
            else:
                rows.append(_Row(climate, controller, (len(jobs),)))
                jobs.append(SimulationJob(site, site_dir, controller, weather, options.get(controller, {}),
                                          summary_only=True, faults=tuple(faults)))
    return jobs, rows


def _row_record(row: _Row, jobs: list[SimulationJob], outcomes: dict[int, SimulationOutcome],
                objective: str) -> BenchRecord:
    sweep = [(jobs[index], outcomes[index]) for index in row.jobs]
    try:
        if row.controller == ORACLE:
            return oracle_record(row.climate, sweep, objective)
        if row.limits is not None:
            return hourly_oracle_record(row.climate, sweep, objective, row.limits)
    except OracleError as error:
        # A climate with no safe constant setpoint in some month has no oracle; that must not throw away
        # every other record of a long benchmark.
        return BenchRecord(climate=row.climate, controller=row.controller, error=str(error))
    return bench_record(row.climate, sweep[0][1].summary)


def run_bench(
    site: Site,
    site_dir: Path | None,
    controllers: Iterable[str],
    climates: Iterable[str],
    workers: int = 2,
    on_done: Callable[[BenchRecord], None] | None = None,
    isolated: bool = True,
    options: dict[str, dict[str, Any]] | None = None,
    objective: str = "facility",
    oracle_grid: SetpointGrid = ORACLE_GRID,
    on_progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
    hourly_oracle_grid: SetpointGrid = HOURLY_ORACLE_GRID,
    faults: Sequence[SensorFault] = (),
) -> list[BenchRecord]:
    """Run every controller in every climate (in parallel processes) and return one record per pair.

    ``options`` maps a controller name to its constructor options (the ai controller's model file...).
    ``objective`` (``facility`` or ``cooling`` electricity) is the one the ai minimises and the ``oracle``
    is chosen by. ``oracle`` among the controllers is the hindsight reference: per climate a sweep of
    ``constant`` runs over ``oracle_grid`` (:func:`oracle_sweep_jobs`), combined month by month into one
    record (:func:`oracle_record`). ``oracle-hourly`` is the hourly-hindsight reference: a sweep over
    ``hourly_oracle_grid`` whose runs return per-hour tables, combined hour by hour into two records,
    ``oracle-hourly`` (inlets within 18-27 C) and ``oracle-hourly-humid`` (and within the humidity limits)
    (:func:`hourly_oracle_record`). The sweeps of one climate share the runs of the points their grids have
    in common, so asking for both oracles adds no run to the hourly one's. All runs of all climates share
    the ``workers`` processes.

    A climate whose sweep has no safe point in some month gets an oracle record with only ``climate``,
    ``controller`` and ``error`` (why), instead of failing the whole benchmark. (The hourly oracle always
    has a record: an hour without a safe run takes the least unsafe one, and the record counts such hours.)

    ``on_done(record)`` is called as each record completes (an oracle's when the last run of its sweep in
    that climate finishes); ``on_progress(runs_done, runs_total)`` once before the first simulation and
    after each one, sweep runs included.

    ``faults`` (``greendc.telemetry.faults``) are what every controller observes through; the oracle's sweep
    runs without them, since constant setpoints observe nothing (and the oracle stays the true reference).
    """
    if objective not in OBJECTIVES:
        raise UsageError(f"objective must be one of {', '.join(OBJECTIVES)}, not {objective!r}")
    controllers, climates = list(controllers), list(climates)
    options = {name: dict(value) for name, value in (options or {}).items()}
    if "ai" in controllers and options.setdefault("ai", {}).setdefault("objective", objective) != objective:
        raise UsageError(f"the ai's objective {options['ai']['objective']!r} is not the bench's {objective!r}; "
                         "the ai and the oracle must be judged on the same objective")
    jobs, rows = _plan(site, site_dir, controllers, climates, options, faults, oracle_grid, hourly_oracle_grid)
    rows_of: dict[int, list[int]] = {}  # job -> the rows it takes part in
    for row_index, row in enumerate(rows):
        for index in row.jobs:
            rows_of.setdefault(index, []).append(row_index)
    outcomes: dict[int, SimulationOutcome] = {}
    records: dict[int, BenchRecord] = {}

    def finished(index: int, outcome: SimulationOutcome) -> None:
        outcomes[index] = outcome
        for row_index in rows_of[index]:
            row = rows[row_index]
            if row_index not in records and all(i in outcomes for i in row.jobs):
                records[row_index] = _row_record(row, jobs, outcomes, objective)
                if on_done:
                    on_done(records[row_index])
                for i in row.jobs:  # a year's per-hour table is some 0.6 MB: keep it only while a row needs it
                    if outcomes[i].hourly is not None and all(r in records for r in rows_of[i]):
                        outcomes[i] = replace(outcomes[i], hourly=None)
        if on_progress:
            on_progress(len(outcomes), len(jobs))

    if on_progress:
        on_progress(0, len(jobs))
    simulation.simulate_many(jobs, workers=workers, isolated=isolated, on_done=finished, executor=executor)
    return [records[row_index] for row_index in range(len(rows))]
