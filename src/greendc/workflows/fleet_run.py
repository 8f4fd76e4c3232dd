"""Run a fleet: explore -> train -> bench for every site, all sites' jobs through one executor, resumable.

The output folder holds ``jobs/KEY/`` (one finished job each, keyed by its inputs' content: a rerun skips it),
``sites/SITE/bench.json`` (and ``model.gdm`` when trained), ``fleet.csv`` and ``fleet.json`` (every site x
controller x climate) and ``report/`` (the fleet's ESG report and ``figures.json``, from the simulated years).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel

from greendc.atomic import write_directory_atomic, write_json_atomic
from greendc.errors import GreendcError
from greendc.results.oracle import HOURLY_ORACLE_GRID, ORACLE_GRID
from greendc.results.records import BenchRecord, RunSummary, write_bench_records
from greendc.results.store import OutputFolderError, output_lock
from greendc.workflows import bench as bench_plan
from greendc.workflows.executor import Executor, WorkerDiedError
from greendc.workflows.explore import slug, write_site_file
from greendc.workflows.fleet import Fleet, FleetMember
from greendc.workflows.fleet_jobs import FleetJob, FleetOutcome, run_fleet_job, simulation_job, train_job
from greendc.workflows.simulation import SimulationJob, SimulationOutcome, controller_options, save_outcome

#: The marker of a fleet output folder: a rerun into it resumes.
FLEET_MARKER = ".greendc-fleet.json"
JOBS = "jobs"
#: Explorations handed to the executor at once: each returns its telemetry (some 15 MB a year) to the driver.
EXPLORATIONS_AT_ONCE = 64


class FleetRunError(GreendcError):
    """A fleet job that failed for good (its worker died after every retry), named by site and job."""


class FleetRow(BaseModel):
    """One line of the fleet table: a site under a controller in a climate (energy in MWh over the run)."""

    site: str
    climate: str
    controller: str
    it_mwh: float | None = None
    cooling_mwh: float | None = None
    facility_mwh: float | None = None
    pue: float | None = None
    steps_above_27c: int | None = None
    steps_above_32c: int | None = None
    steps_below_18c: int | None = None
    steps_humid: int | None = None
    error: str | None = None

    @classmethod
    def of(cls, site: str, record: BenchRecord) -> FleetRow:
        data = record.row()
        mwh = {f"{k[:-4]}_mwh": data[k] / 1000.0 for k in ("it_kwh", "cooling_kwh", "facility_kwh") if k in data}
        keep = {k: data[k] for k in ("pue", "steps_above_27c", "steps_above_32c", "steps_below_18c", "steps_humid",
                                     "error") if k in data}
        return cls(site=site, climate=record.climate, controller=record.controller, **mwh, **keep)


@dataclass
class FleetResult:
    """A finished fleet: its table, each site's records, and how many jobs ran now and were found done."""

    out_dir: Path
    rows: list[FleetRow]
    records: dict[str, list[BenchRecord]]
    jobs_run: int = 0
    jobs_reused: int = 0
    report_dir: Path | None = None
    failed: list[str] = field(default_factory=list)


def claim_fleet_folder(out_dir: Path) -> Path:
    """``out_dir`` resolved, once it is new, empty, or an earlier fleet's (which is resumed); never a user's."""
    out_dir = Path(out_dir).expanduser().resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputFolderError(f"{out_dir}: exists and is a file, not a folder; choose a new folder for --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / FLEET_MARKER).is_file():
        raise OutputFolderError(f"{out_dir}: the folder holds files greendc fleet did not write; choose a new or "
                                "empty folder for --out (nothing was changed)")
    (out_dir / JOBS).mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / FLEET_MARKER, {"kind": "fleet", "written_by": "greendc"})
    return out_dir


class _Cache:
    """Finished jobs under ``jobs/KEY/``: a folder exists only once complete (written in one rename)."""

    def __init__(self, out_dir: Path) -> None:
        self.root = out_dir / JOBS

    def folder(self, key: str) -> Path:
        return self.root / key

    def has(self, job: FleetJob) -> bool:
        return self.folder(job.key).is_dir()

    def save(self, job: FleetJob, outcome: FleetOutcome) -> None:
        target = self.folder(job.key)
        if target.exists():
            return
        if outcome.model_gdm is not None:
            write_directory_atomic(target, lambda folder: (folder / "model.gdm").write_bytes(outcome.model_gdm))
        elif job.simulation is not None and not job.simulation.summary_only:
            save_outcome(outcome.simulation, target)  # an exploration: its telemetry is the training data
        else:
            write_directory_atomic(target, lambda folder: _write_summary(outcome.simulation, folder))

    def load(self, job: FleetJob) -> SimulationOutcome:
        """A finished bench run as the bench needs it: its summary (and its per-hour table, if it has one)."""
        folder = self.folder(job.key)
        hourly_path = folder / "hourly.parquet"
        hourly = pd.read_parquet(hourly_path) if hourly_path.is_file() else None
        return SimulationOutcome(result=None, summary=RunSummary.read(folder / "summary.json"),  # type: ignore[arg-type]
                                 hourly=hourly)


def _write_summary(outcome: SimulationOutcome | None, folder: Path) -> None:
    assert outcome is not None
    outcome.summary.write(folder / "summary.json")
    if outcome.hourly is not None:
        outcome.hourly.to_parquet(folder / "hourly.parquet")


class _Runner:
    """Runs batches of fleet jobs through one executor, skipping finished ones, with one progress count."""

    def __init__(self, cache: _Cache, executor: Executor, total: int,
                 on_progress: Callable[[float, int], None] | None) -> None:
        self.cache, self.executor, self.total, self.on_progress = cache, executor, total, on_progress
        self.done = 0.0
        self.jobs_run = self.jobs_reused = 0

    def run(self, jobs: list[FleetJob], batch: int | None = None) -> None:
        """Run the unfinished ones of ``jobs``, ``batch`` at a time if given (an executor returns its outcomes
        together: an exploration's are some 15 MB a year each, which the driver must not hold by the thousand)."""
        unique = list({job.key: job for job in jobs}.values())
        pending = [job for job in unique if not self.cache.has(job)]
        self.jobs_reused += len(jobs) - len(pending)
        self.done += len(jobs) - len(pending)
        self._report({})
        size = batch or max(1, len(pending))
        for start in range(0, len(pending), size):
            self._run_batch(pending[start:start + size])

    def _run_batch(self, pending: list[FleetJob]) -> None:
        partial: dict[int, float] = {}

        def progress(index: int, fraction: float) -> None:
            partial[index] = fraction
            self._report(partial)

        def finished(index: int, outcome: FleetOutcome) -> None:
            self.cache.save(pending[index], outcome)
            self.jobs_run += 1

        try:
            self.executor.run(run_fleet_job, pending, on_progress=progress, on_done=finished)
        except WorkerDiedError as error:
            raise FleetRunError(f"{pending[error.index].label}: its worker process died (EnergyPlus crashed or the "
                                "process was killed) on every try; the finished jobs are kept, rerun to resume") \
                from None
        self.done += len(pending)
        self._report({})

    def _report(self, partial: dict[int, float]) -> None:
        if self.on_progress:
            self.on_progress(min(self.total, self.done + sum(partial.values())), self.total)


def _label(member: FleetMember, controller: str, climate: str) -> str:
    return f"{member.site.name}, {controller} in {climate}"


def _explore_jobs(member: FleetMember) -> list[FleetJob]:
    names = member.explore_climates or ()
    return [simulation_job(SimulationJob(member.site, member.site_dir, "explore", name,
                                         {"random_state": member.explore_seed + i}),
                           member.path, _label(member, "exploration", bench_plan.climate_name(name)))
            for i, name in enumerate(names)]


def _train_job(member: FleetMember, explorations: list[FleetJob], cache: _Cache, out_dir: Path) -> FleetJob:
    staging = out_dir / "sites" / slug(member.site.name)
    staging.mkdir(parents=True, exist_ok=True)
    site_json = write_site_file(member.site, staging).read_bytes()
    runs = [(slug(Path(name).stem), cache.folder(job.key) / "telemetry.parquet")
            for name, job in zip(member.explore_climates or (), explorations, strict=True)]
    return train_job(runs, site_json, member.explore_seed, f"{member.site.name}, training the facility model",
                     [job.key for job in explorations])


def plan_bench(fleet: Fleet, member: FleetMember, model: Path | None
               ) -> tuple[list[SimulationJob], list[Any], dict[str, dict[str, Any]]]:
    """A site's bench runs and the records they make, as ``greendc bench`` plans them."""
    controllers = list(fleet.spec.controllers)
    names = [name for name in controllers if name not in bench_plan.SWEPT_REFERENCES]
    options = controller_options(names, [z.name for z in member.site.zones], model, fleet.spec.objective) \
        if model is not None or "ai" not in names else {name: {} for name in names}
    climates: list[str | None] = list(fleet.climates) or [None]
    jobs, rows = bench_plan._plan(member.site, member.site_dir, controllers, climates, options, (), ORACLE_GRID,
                                  HOURLY_ORACLE_GRID)
    return jobs, rows, options


def _bench_fleet_jobs(member: FleetMember, jobs: list[SimulationJob]) -> list[FleetJob]:
    return [simulation_job(job, member.path, _label(member, job.controller,
                                                    bench_plan.climate_name(job.weather or member.site.weather)))
            for job in jobs]


def _site_records(fleet: Fleet, rows: list[Any], jobs: list[SimulationJob], fleet_jobs: list[FleetJob],
                  cache: _Cache) -> list[BenchRecord]:
    outcomes = {index: cache.load(job) for index, job in enumerate(fleet_jobs)}
    return [bench_plan._row_record(row, jobs, outcomes, fleet.spec.objective) for row in rows]


def run_fleet(fleet: Fleet, out_dir: Path, executor: Executor,
              on_progress: Callable[[float, int], None] | None = None) -> FleetResult:
    """Explore, train and bench every site of ``fleet`` into ``out_dir`` through ``executor``; see the module.

    ``on_progress(jobs_done, jobs_total)`` follows the whole fleet (finished jobs found in the folder count as
    done; ``jobs_done`` has fractions of the running ones).
    """
    out_dir = claim_fleet_folder(out_dir)
    with output_lock(out_dir):
        cache = _Cache(out_dir)
        explorations = {m.entry: _explore_jobs(m) for m in fleet.members}
        trained = [m for m in fleet.members if m.explore_climates is not None]
        total = sum(map(len, explorations.values())) + len(trained) + sum(
            len(plan_bench(fleet, m, None)[0]) for m in fleet.members)
        runner = _Runner(cache, executor, total, on_progress)
        runner.run([job for jobs in explorations.values() for job in jobs], batch=EXPLORATIONS_AT_ONCE)
        models: dict[str, Path | None] = {m.entry: m.model for m in fleet.members}
        train_jobs = {m.entry: _train_job(m, explorations[m.entry], cache, out_dir) for m in trained}
        runner.run(list(train_jobs.values()))
        for entry, job in train_jobs.items():
            models[entry] = cache.folder(job.key) / "model.gdm"
        plans = {}
        for member in fleet.members:
            jobs, rows, _ = plan_bench(fleet, member, models[member.entry])
            plans[member.entry] = (jobs, rows, _bench_fleet_jobs(member, jobs))
        runner.run([job for _, _, fleet_jobs in plans.values() for job in fleet_jobs])
        records = {m.site.name: _site_records(fleet, plans[m.entry][1], plans[m.entry][0], plans[m.entry][2], cache)
                   for m in fleet.members}
        result = FleetResult(out_dir, [], records, runner.jobs_run, runner.jobs_reused)
        _write_site_results(fleet, result, models)
        result.rows = [FleetRow.of(site, record) for site, site_records in records.items() for record in site_records]
        result.failed = [f"{row.site}: no {row.controller} in {row.climate}: {row.error}" for row in result.rows
                         if row.error]
        write_fleet_table(out_dir, result.rows)
        summaries = {m.site.name: _report_summary(fleet, m, plans[m.entry][2]) for m in fleet.members}
        from greendc.workflows.fleet_report import build_fleet_report

        result.report_dir = build_fleet_report(fleet, {name: cache.folder(job.key) / "summary.json"
                                                       for name, job in summaries.items()}, out_dir / "report")
    return result


def _report_summary(fleet: Fleet, member: FleetMember, fleet_jobs: list[FleetJob]) -> FleetJob:
    """The bench job whose simulated year the report takes for a site (its controller in its climate)."""
    wanted = fleet.report_climate
    for job in fleet_jobs:
        simulation = job.simulation
        assert simulation is not None
        climate = bench_plan.climate_name(simulation.weather or member.site.weather)
        if simulation.controller == fleet.report_controller and (wanted is None or climate == wanted):
            return job
    raise FleetRunError(f"{member.site.name}: no run of {fleet.report_controller} for the report")


def _write_site_results(fleet: Fleet, result: FleetResult, models: dict[str, Path | None]) -> None:
    for member in fleet.members:
        folder = result.out_dir / "sites" / slug(member.site.name)
        folder.mkdir(parents=True, exist_ok=True)
        write_bench_records(folder / "bench.json", result.records[member.site.name])
        model = models[member.entry]
        if member.explore_climates is not None and model is not None:
            (folder / "model.gdm").write_bytes(model.read_bytes())


def write_fleet_table(out_dir: Path, rows: list[FleetRow]) -> None:
    """``fleet.json`` (a list of rows) and ``fleet.csv`` (one line per row, energy in MWh)."""
    data = [row.model_dump(mode="json") for row in rows]
    write_json_atomic(out_dir / "fleet.json", data)
    columns = list(FleetRow.model_fields)
    temporary = out_dir / "fleet.csv.partial"
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(data)
    temporary.replace(out_dir / "fleet.csv")


def read_fleet_table(out_dir: Path) -> list[FleetRow]:
    """The rows of a fleet folder's ``fleet.json``."""
    return [FleetRow.model_validate(row) for row in json.loads((Path(out_dir) / "fleet.json").read_text())]
