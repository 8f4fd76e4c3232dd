"""The main workflows: simulate a site under a controller, and benchmark controllers across climates.

Data flows one way: site -> twin -> co-simulation telemetry -> summary -> saved results.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greendc.control.registry import make_controller
from greendc.results.store import write_directory_atomic, write_json_atomic
from greendc.results.summary import summarize
from greendc.site.schema import Site
from greendc.site.weather import SHIPPED_WEATHER
from greendc.twin.builder import build_twin
from greendc.twin.runner import EnergyPlusError, RunResult, run_simulation

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


def save_outcome(outcome: SimulationOutcome, out_dir: Path) -> Path:
    """Write telemetry.parquet, summary.json, model.epJSON (and decisions.parquet) into ``out_dir`` atomically."""

    def fill(staging: Path) -> None:
        outcome.result.telemetry.to_parquet(staging / "telemetry.parquet", index=False)
        if outcome.result.decisions is not None:
            outcome.result.decisions.to_parquet(staging / "decisions.parquet", index=False)
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
    controller_options: dict[str, Any] = field(default_factory=dict)


def _run_job(job: SimulationJob, report: Callable[[float], None] | None = None) -> SimulationOutcome:
    return simulate(job.site, job.site_dir, job.controller, weather=job.weather, progress=report,
                    controller_options=job.controller_options)


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
    with context.Manager() as manager, ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
        progress_queue = manager.Queue()
        futures = {pool.submit(_run_job_reporting, i, job, progress_queue): i for i, job in enumerate(jobs)}
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
    return [results[index] for index in range(len(jobs))]


def run_bench(
    site: Site,
    site_dir: Path | None,
    controllers: Iterable[str],
    climates: Iterable[str],
    workers: int = 2,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    isolated: bool = True,
    options: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Run every controller in every climate (in parallel processes) and return one record per run.

    ``options`` maps a controller name to its constructor options (the ai controller's model file...).
    """
    options = options or {}
    jobs = [SimulationJob(site, site_dir, controller, climate, options.get(controller, {}))
            for climate in climates for controller in controllers]

    def record(job: SimulationJob, outcome: SimulationOutcome) -> dict[str, Any]:
        climate = job.weather or site.weather
        return bench_record(climate if climate in SHIPPED_WEATHER else Path(climate).stem, outcome.summary)

    outcomes = simulate_many(jobs, workers=workers, isolated=isolated,
                             on_done=(lambda i, outcome: on_done(record(jobs[i], outcome))) if on_done else None)
    return [record(job, outcome) for job, outcome in zip(jobs, outcomes, strict=True)]
