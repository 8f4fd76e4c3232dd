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


def _bench_one(job: tuple[Site, Path | None, str, str]) -> dict[str, Any]:
    site, site_dir, climate, controller = job
    outcome = simulate(site, site_dir, controller, weather=climate)
    return bench_record(Path(climate).stem if climate not in SHIPPED_WEATHER else climate, outcome.summary)


def run_bench(
    site: Site,
    site_dir: Path | None,
    controllers: Iterable[str],
    climates: Iterable[str],
    workers: int = 2,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every controller in every climate (in parallel processes) and return one record per run."""
    jobs = [(site, site_dir, climate, controller) for climate in climates for controller in controllers]
    for _, _, _, controller in jobs:
        make_controller(controller)  # fail before starting any simulation
    records: list[dict[str, Any]] = []
    if workers <= 1 or len(jobs) == 1:
        for job in jobs:
            records.append(_bench_one(job))
            if on_done:
                on_done(records[-1])
        return records
    context = multiprocessing.get_context("spawn")  # EnergyPlus keeps global state; never fork it
    with context.Pool(processes=min(workers, len(jobs))) as pool:
        for record in pool.imap(_bench_one, jobs):
            records.append(record)
            if on_done:
                on_done(record)
    return records
