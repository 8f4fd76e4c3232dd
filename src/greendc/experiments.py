"""The main workflows: simulate a site under a controller, and benchmark controllers across climates.

Data flows one way: site -> twin -> co-simulation telemetry -> summary -> saved results.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from greendc.control.registry import make_controller
from greendc.results.oracle import (
    OBJECTIVES,
    ORACLE_GRID,
    OracleError,
    SetpointGrid,
    oracle_from_sweep,
    sweep_setpoints,
)
from greendc.results.store import write_directory_atomic, write_json_atomic
from greendc.results.summary import summarize
from greendc.site.schema import Site
from greendc.site.weather import SHIPPED_WEATHER
from greendc.twin.builder import build_twin
from greendc.twin.run_folder import remove_abandoned_run_folders
from greendc.twin.runner import EnergyPlusError, RunResult, run_simulation

#: Keys of one benchmark record (one controller in one climate).
BENCH_KEYS = (
    "climate", "controller", "it_kwh", "cooling_kwh", "facility_kwh", "pue", "inlet_max_c",
    "steps_above_27c", "steps_above_32c", "steps_below_18c", "steps_humid", "wall_s",
)

#: The benchmark name of the hindsight oracle (``greendc.results.oracle``): a sweep, not a controller.
ORACLE = "oracle"


@dataclass
class SimulationOutcome:
    result: RunResult
    summary: dict[str, Any]


def simulate(
    site: Site,
    site_dir: Path | None,
    controller: str,
    weather: str | None = None,
    progress: Callable[[float], None] | None = None,
    controller_options: dict[str, Any] | None = None,
) -> SimulationOutcome:
    """Build the site's twin and run it for its run period under a named controller."""
    twin = build_twin(site, site_dir=site_dir, weather=weather)
    result = run_simulation(twin, make_controller(controller, **(controller_options or {})), progress=progress)
    summary = summarize(result.telemetry, result.zone_names, result.timestep_h)
    decisions = result.decisions
    if decisions is not None:
        summary.update(
            decisions=len(decisions),
            decision_ms_median=float(decisions["decision_ms"].median()),
            decision_ms_p99=float(decisions["decision_ms"].quantile(0.99)),
            guard_counts={str(k): int(v) for k, v in decisions["guard"].value_counts().items()},
        )
    summary.update(
        site=site.name,
        grid_region=site.grid_region,
        controller=controller,
        controller_options={k: str(v) for k, v in (controller_options or {}).items()},
        weather=str(twin.weather_path.name),
        wall_s=result.wall_s,
        energyplus_warnings=result.err.warnings,
        energyplus_severe_errors=result.err.severe,
        energyplus_severe_messages=result.err.severe_messages[:10],
    )
    return SimulationOutcome(result, summary)


def write_run_files(outcome: SimulationOutcome, folder: Path) -> None:
    """Write telemetry.parquet, summary.json, model.epJSON (and decisions.parquet) into ``folder``."""
    outcome.result.telemetry.to_parquet(folder / "telemetry.parquet", index=False)
    if outcome.result.decisions is not None:
        outcome.result.decisions.to_parquet(folder / "decisions.parquet", index=False)
    write_json_atomic(folder / "model.epJSON", outcome.result.epjson)
    write_json_atomic(folder / "summary.json", outcome.summary)


def save_outcome(outcome: SimulationOutcome, out_dir: Path) -> Path:
    """Write one run's files into a new folder ``out_dir`` atomically (inside a claimed result folder)."""
    return write_directory_atomic(out_dir, lambda folder: write_run_files(outcome, folder))


def climate_name(weather: str) -> str:
    """How a benchmark names a climate: the shipped weather's short name, or an EPW file's stem."""
    return weather if weather in SHIPPED_WEATHER else Path(weather).stem


def bench_record(climate: str, summary: dict[str, Any]) -> dict[str, Any]:
    """The benchmark record (:data:`BENCH_KEYS`, water and severe errors) of one run's summary."""
    record = {key: summary[key] for key in BENCH_KEYS if key in summary}
    record["climate"] = climate
    record.update(water_m3=summary["water_m3"], energyplus_severe_errors=summary["energyplus_severe_errors"])
    return record


@dataclass(frozen=True)
class SimulationJob:
    """One simulation to run: a site under a controller in a climate (``None`` keeps the site's).

    With ``summary_only`` the outcome's telemetry, decisions and model are emptied in the worker: a bench of
    a hundred annual runs then neither pickles nor holds some 20 MB of frames per run it never reads.
    """

    site: Site
    site_dir: Path | None
    controller: str
    weather: str | None = None
    controller_options: dict[str, Any] = field(default_factory=dict)
    summary_only: bool = False


def _run_job(job: SimulationJob, report: Callable[[float], None] | None = None) -> SimulationOutcome:
    outcome = simulate(job.site, job.site_dir, job.controller, weather=job.weather, progress=report,
                       controller_options=job.controller_options)
    if job.summary_only:
        result = outcome.result
        decisions = result.decisions.iloc[0:0] if result.decisions is not None else None
        outcome = SimulationOutcome(replace(result, telemetry=result.telemetry.iloc[0:0], decisions=decisions,
                                            epjson={}), outcome.summary)
    return outcome


def _run_job_reporting(index: int, job: SimulationJob, progress_queue: Any) -> SimulationOutcome:
    return _run_job(job, lambda fraction: progress_queue.put((index, fraction)))


def simulate_many(
    jobs: list[SimulationJob],
    workers: int = 2,
    on_progress: Callable[[int, float], None] | None = None,
    on_done: Callable[[int, SimulationOutcome], None] | None = None,
    isolated: bool = True,
) -> list[SimulationOutcome]:
    """Run several simulations, ``workers`` at a time, and return their outcomes in the order given.

    With ``isolated`` each run happens in a separate process, so that an EnergyPlus crash (which takes
    its process with it) becomes an :class:`EnergyPlusError` instead of killing the caller.
    ``on_progress(job_index, fraction)`` reports progress within each run; ``on_done`` each finished run.
    """
    for job in jobs:
        make_controller(job.controller, **job.controller_options)  # fail before starting any simulation
    if not isolated:
        outcomes = []
        for index, job in enumerate(jobs):
            report = (lambda fraction, i=index: on_progress(i, fraction)) if on_progress else None
            outcomes.append(_run_job(job, report))
            if on_done:
                on_done(index, outcomes[-1])
        return outcomes
    context = multiprocessing.get_context("spawn")  # EnergyPlus keeps global state; never fork it
    results: dict[int, SimulationOutcome] = {}
    children_before = set(multiprocessing.active_children())
    with context.Manager() as manager, ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
        progress_queue = manager.Queue()
        futures = {pool.submit(_run_job_reporting, i, job, progress_queue): i for i, job in enumerate(jobs)}
        try:
            _collect(jobs, futures, progress_queue, results, on_progress, on_done)
        except BaseException:
            # Ctrl-C (or any failure here) must stop the runs now: EnergyPlus does not return to Python during
            # sizing and warm-up, so a worker would finish those (a minute or more) before it saw the signal,
            # and the pool's exit would wait for it.
            _stop_workers(set(multiprocessing.active_children()) - children_before)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [results[index] for index in range(len(jobs))]


def _stop_workers(processes: set[Any]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=2.0)
    remove_abandoned_run_folders()  # the killed runs could not remove their EnergyPlus folders


def _collect(jobs: list[SimulationJob], futures: dict[Any, int], progress_queue: Any,
             results: dict[int, SimulationOutcome], on_progress: Callable[[int, float], None] | None,
             on_done: Callable[[int, SimulationOutcome], None] | None) -> None:
    """Wait for the runs, passing on their progress, and keep each outcome as it arrives."""
    pending = set(futures)
    while pending:
        finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        while not progress_queue.empty():
            index, fraction = progress_queue.get()
            if on_progress:
                on_progress(index, fraction)
        for future in finished:
            index = futures[future]
            try:
                results[index] = future.result()
            except BrokenProcessPool as error:
                job = jobs[index]
                raise EnergyPlusError(
                    f"EnergyPlus crashed (its process died) while simulating {job.site.name} under "
                    f"{job.controller} in {job.weather or job.site.weather}"
                ) from error
            if on_done:
                on_done(index, results[index])


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
                  ) -> dict[str, Any]:
    """The oracle's benchmark record in one climate from its finished sweep runs.

    It carries every key of :data:`BENCH_KEYS` (energy in kWh summed over the chosen months; ``wall_s`` is
    the sweep's total run time in s), ``water_m3``, ``energyplus_severe_errors`` (all sweep runs),
    ``objective``, ``inlet_limit_c``, ``swept_runs`` and ``monthly``: the chosen setpoints and figures.
    """
    runs = [{"setpoints": job.controller_options, "monthly": outcome.summary["monthly"]} for job, outcome in sweep]
    try:
        oracle = oracle_from_sweep(runs, objective=objective)
    except OracleError as error:
        raise OracleError(f"oracle in {climate}: {error}") from None
    record: dict[str, Any] = {"climate": climate, "controller": ORACLE}
    record.update({key: oracle[key] for key in BENCH_KEYS if key in oracle})
    record["wall_s"] = sum(outcome.summary["wall_s"] for _, outcome in sweep)
    record["energyplus_severe_errors"] = sum(outcome.summary["energyplus_severe_errors"] for _, outcome in sweep)
    record.update({key: value for key, value in oracle.items() if key not in record})
    return record


def run_bench(
    site: Site,
    site_dir: Path | None,
    controllers: Iterable[str],
    climates: Iterable[str],
    workers: int = 2,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    isolated: bool = True,
    options: dict[str, dict[str, Any]] | None = None,
    objective: str = "facility",
    oracle_grid: SetpointGrid = ORACLE_GRID,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
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
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {objective!r}")
    controllers, climates = list(controllers), list(climates)
    options = {name: dict(value) for name, value in (options or {}).items()}
    if "ai" in controllers and options.setdefault("ai", {}).setdefault("objective", objective) != objective:
        raise ValueError(f"the ai's objective {options['ai']['objective']!r} is not the bench's {objective!r}; "
                         "the ai and the oracle must be judged on the same objective")
    jobs: list[SimulationJob] = []
    slots: list[tuple[str, str, range]] = []  # (climate, controller, the jobs that make its record)
    for weather in climates:
        for controller in controllers:
            if controller == ORACLE:
                new = oracle_sweep_jobs(site, site_dir, weather, oracle_grid)
            else:
                new = [SimulationJob(site, site_dir, controller, weather, options.get(controller, {}),
                                     summary_only=True)]
            slots.append((climate_name(weather or site.weather), controller, range(len(jobs), len(jobs) + len(new))))
            jobs += new
    slot_of = {index: slot for slot, (_, _, indices) in enumerate(slots) for index in indices}
    outcomes: dict[int, SimulationOutcome] = {}
    records: dict[int, dict[str, Any]] = {}

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
                    records[slot] = {"climate": climate, "controller": ORACLE, "error": str(error)}
            else:
                records[slot] = bench_record(climate, outcome.summary)
            if on_done:
                on_done(records[slot])
        if on_progress:
            on_progress(len(outcomes), len(jobs))

    if on_progress:
        on_progress(0, len(jobs))
    simulate_many(jobs, workers=workers, isolated=isolated, on_done=finished)
    return [records[slot] for slot in range(len(slots))]
