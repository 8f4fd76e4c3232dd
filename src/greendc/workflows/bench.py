"""Benchmark controllers across climates, with the hindsight oracle's sweep of constant setpoints."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from greendc.errors import UsageError
from greendc.results.oracle import (
    OBJECTIVES,
    ORACLE_GRID,
    OracleError,
    SetpointGrid,
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


def climate_name(weather: str) -> str:
    """How a benchmark names a climate: the shipped weather's short name, or an EPW file's stem."""
    return weather if weather in SHIPPED_WEATHER else Path(weather).stem


def bench_record(climate: str, summary: RunSummary) -> BenchRecord:
    """The benchmark record (:data:`BENCH_KEYS`, water and severe errors) of one run's summary."""
    return BenchRecord.of_run(climate, summary)


def oracle_sweep_jobs(site: Site, site_dir: Path | None, weather: str | None,
                      grid: SetpointGrid = ORACLE_GRID) -> list[SimulationJob]:
    """The ``constant`` runs of the oracle's sweep in one climate, over ``grid`` within the site's bounds.

    Raises :class:`OracleError` when no grid point lies within the site's setpoint bounds.
    """
    points = sweep_setpoints(site.setpoints, grid, chiller_plant=site.has_chiller_plant)
    if not points:
        raise OracleError(f"no point of the oracle's grid {grid.as_dict()} lies within the site's setpoint bounds")
    return [SimulationJob(site, site_dir, "constant", weather, point, summary_only=True) for point in points]


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
    record: dict[str, Any] = {"climate": climate, "controller": ORACLE}
    record.update({key: oracle[key] for key in BENCH_KEYS if key in oracle})
    record["wall_s"] = sum(outcome.summary.wall_s for _, outcome in sweep)
    record["energyplus_severe_errors"] = sum(outcome.summary.energyplus_severe_errors for _, outcome in sweep)
    record.update({key: value for key, value in oracle.items() if key not in record})
    return BenchRecord.model_validate(record)


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
    faults: Sequence[SensorFault] = (),
) -> list[BenchRecord]:
    """Run every controller in every climate (in parallel processes) and return one record per pair.

    ``options`` maps a controller name to its constructor options (the ai controller's model file...).
    ``objective`` (``facility`` or ``cooling`` electricity) is the one the ai minimises and the ``oracle``
    is chosen by. ``oracle`` among the controllers is the hindsight reference: per climate a sweep of
    ``constant`` runs over ``oracle_grid`` (:func:`oracle_sweep_jobs`), combined month by month into one
    record (:func:`oracle_record`). All runs of all climates share the ``workers`` processes.

    A climate whose sweep has no safe point in some month gets an oracle record with only ``climate``,
    ``controller`` and ``error`` (why), instead of failing the whole benchmark.

    ``on_done(record)`` is called as each record completes (the oracle's when the last run of its sweep in
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
    jobs: list[SimulationJob] = []
    slots: list[tuple[str, str, range]] = []  # (climate, controller, the jobs that make its record)
    for weather in climates:
        for controller in controllers:
            if controller == ORACLE:
                new = oracle_sweep_jobs(site, site_dir, weather, oracle_grid)
            else:
                new = [SimulationJob(site, site_dir, controller, weather, options.get(controller, {}),
                                     summary_only=True, faults=tuple(faults))]
            slots.append((climate_name(weather or site.weather), controller, range(len(jobs), len(jobs) + len(new))))
            jobs += new
    slot_of = {index: slot for slot, (_, _, indices) in enumerate(slots) for index in indices}
    outcomes: dict[int, SimulationOutcome] = {}
    records: dict[int, BenchRecord] = {}

    def finished(index: int, outcome: SimulationOutcome) -> None:
        outcomes[index] = outcome
        slot = slot_of[index]
        climate, controller, indices = slots[slot]
        if all(i in outcomes for i in indices):
            if controller == ORACLE:
                try:
                    records[slot] = oracle_record(climate, [(jobs[i], outcomes[i]) for i in indices], objective)
                except OracleError as error:
                    # A climate with no safe constant setpoint in some month has no oracle; that must not
                    # throw away every other record of a long benchmark.
                    records[slot] = BenchRecord(climate=climate, controller=ORACLE, error=str(error))
            else:
                records[slot] = bench_record(climate, outcome.summary)
            if on_done:
                on_done(records[slot])
        if on_progress:
            on_progress(len(outcomes), len(jobs))

    if on_progress:
        on_progress(0, len(jobs))
    simulation.simulate_many(jobs, workers=workers, isolated=isolated, on_done=finished, executor=executor)
    return [records[slot] for slot in range(len(slots))]
