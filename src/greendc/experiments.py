"""The main workflows: simulate a site under a controller, and benchmark controllers across climates.

Data flows one way: site -> twin -> co-simulation telemetry -> summary -> saved results.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greendc.control.baselines import make_controller
from greendc.results.store import write_directory_atomic, write_json_atomic
from greendc.results.summary import summarize
from greendc.site.schema import Site
from greendc.site.weather import SHIPPED_WEATHER
from greendc.twin.builder import build_twin
from greendc.twin.runner import RunResult, run_simulation

#: Keys of one benchmark record (one controller in one climate).
BENCH_KEYS = (
    "climate", "controller", "it_kwh", "cooling_kwh", "facility_kwh", "pue", "inlet_max_c",
    "steps_above_27c", "steps_above_32c", "steps_below_18c", "steps_humid", "wall_s",
)


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
) -> SimulationOutcome:
    """Build the site's twin and run it for its run period under a named controller."""
    twin = build_twin(site, site_dir=site_dir, weather=weather)
    result = run_simulation(twin, make_controller(controller), progress=progress)
    summary = summarize(result.telemetry, result.zone_names, result.timestep_h)
    summary.update(
        site=site.name,
        grid_region=site.grid_region,
        controller=controller,
        weather=str(twin.weather_path.name),
        wall_s=result.wall_s,
        energyplus_warnings=result.err.warnings,
        energyplus_severe_errors=result.err.severe,
        energyplus_severe_messages=result.err.severe_messages[:10],
    )
    return SimulationOutcome(result, summary)


def save_outcome(outcome: SimulationOutcome, out_dir: Path) -> Path:
    """Write telemetry.parquet, summary.json and model.epJSON into ``out_dir`` atomically."""

    def fill(staging: Path) -> None:
        outcome.result.telemetry.to_parquet(staging / "telemetry.parquet", index=False)
        write_json_atomic(staging / "model.epJSON", outcome.result.epjson)
        write_json_atomic(staging / "summary.json", outcome.summary)

    return write_directory_atomic(out_dir, fill)


def bench_record(climate: str, summary: dict[str, Any]) -> dict[str, Any]:
    record = {key: summary[key] for key in BENCH_KEYS if key in summary}
    record["climate"] = climate
    record.update(water_m3=summary["water_m3"], energyplus_severe_errors=summary["energyplus_severe_errors"])
    return record


@dataclass(frozen=True)
class SimulationJob:
    """One simulation to run: a site under a controller in a climate (``None`` keeps the site's)."""

    site: Site
    site_dir: Path | None
    controller: str
    weather: str | None = None


def _run_job(job: SimulationJob, report: Callable[[float], None] | None = None) -> SimulationOutcome:
    return simulate(job.site, job.site_dir, job.controller, weather=job.weather, progress=report)


def _run_job_reporting(payload: tuple[int, SimulationJob, Any]) -> tuple[int, SimulationOutcome]:
    index, job, progress_queue = payload
    return index, _run_job(job, lambda fraction: progress_queue.put((index, fraction)))


def simulate_many(
    jobs: list[SimulationJob],
    workers: int = 2,
    on_progress: Callable[[int, float], None] | None = None,
    on_done: Callable[[int, SimulationOutcome], None] | None = None,
) -> list[SimulationOutcome]:
    """Run several simulations, ``workers`` at a time in separate processes, in the order given.

    ``on_progress(job_index, fraction)`` reports progress within each run; ``on_done`` each finished run.
    """
    for job in jobs:
        make_controller(job.controller)  # fail before starting any simulation
    outcomes: list[SimulationOutcome | None] = [None] * len(jobs)
    if workers <= 1 or len(jobs) == 1:
        for index, job in enumerate(jobs):
            report = (lambda fraction, i=index: on_progress(i, fraction)) if on_progress else None
            outcomes[index] = _run_job(job, report)
            if on_done:
                on_done(index, outcomes[index])
        return [outcome for outcome in outcomes if outcome is not None]
    context = multiprocessing.get_context("spawn")  # EnergyPlus keeps global state; never fork it
    with context.Manager() as manager, context.Pool(processes=min(workers, len(jobs))) as pool:
        progress_queue = manager.Queue()
        pending = pool.imap_unordered(_run_job_reporting, [(i, job, progress_queue) for i, job in enumerate(jobs)])
        results = _collect(pending, len(jobs), progress_queue, on_progress, on_done)
        for index, outcome in results:
            outcomes[index] = outcome
    return [outcome for outcome in outcomes if outcome is not None]


def _collect(pending: Any, count: int, progress_queue: Any, on_progress: Callable[[int, float], None] | None,
             on_done: Callable[[int, SimulationOutcome], None] | None) -> list[tuple[int, SimulationOutcome]]:
    import queue
    import threading

    finished: list[tuple[int, SimulationOutcome]] = []
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            for index, outcome in pending:
                finished.append((index, outcome))
                if on_done:
                    on_done(index, outcome)
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    while thread.is_alive():
        try:
            index, fraction = progress_queue.get(timeout=0.2)
        except queue.Empty:
            continue
        if on_progress:
            on_progress(index, fraction)
    thread.join()
    if errors:
        raise errors[0]
    return finished


def run_bench(
    site: Site,
    site_dir: Path | None,
    controllers: Iterable[str],
    climates: Iterable[str],
    workers: int = 2,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every controller in every climate (in parallel processes) and return one record per run."""
    jobs = [SimulationJob(site, site_dir, controller, climate) for climate in climates for controller in controllers]

    def record(job: SimulationJob, outcome: SimulationOutcome) -> dict[str, Any]:
        climate = job.weather or site.weather
        return bench_record(climate if climate in SHIPPED_WEATHER else Path(climate).stem, outcome.summary)

    outcomes = simulate_many(jobs, workers=workers,
                             on_done=(lambda i, outcome: on_done(record(jobs[i], outcome))) if on_done else None)
    return [record(job, outcome) for job, outcome in zip(jobs, outcomes, strict=True)]
