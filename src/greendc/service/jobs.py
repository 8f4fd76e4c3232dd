"""Background jobs: simulations, benches and trainings (and any kind another part registers), queued in the
database and run by ``settings.job_workers`` worker threads, never in a request.

The heavy part of every built-in kind runs in a separate, spawned process through the workflows' executor
(:class:`~greendc.workflows.executor.LocalProcessExecutor`): a year of EnergyPlus or a LightGBM fit then never
holds the event loop or the GIL, and an EnergyPlus crash fails its job instead of the service. A worker
thread only waits for it and writes progress to the job's row.

A job's row (:class:`~greendc.service.database.JobRecord`) says where it is: ``status`` queued -> running ->
succeeded | failed, ``progress_fraction`` 0 to 1, ``message`` (on failure the GreendcError's one line, never a
traceback) and ``result_path``, its results folder relative to the data folder, holding the same files the
command line writes (``summary.json``, ``telemetry.parquet``, ``decisions.parquet``; ``bench.json``; a ``.gdm``).
A job still queued or running when the service stopped is marked failed when it starts again
(:func:`fail_interrupted_jobs`).

Adding a kind (the ``report`` kind, for example)::

    from greendc.service.jobs import JobContext, JobResult, register_job_kind

    def render(context: JobContext) -> JobResult:
        # context.parameters: the job's parameters (JSON), context.folder: its own empty folder (absolute),
        # context.progress(fraction, message): show progress (0 to 1), context.sessions: a session factory.
        ...
        return JobResult(result_folder=context.folder / "report", parameters={"key_figures": [...]})

    register_job_kind("report", render)

then ``submit_job(db, principal, "report", parameters)`` queues one, and the queue runs it: the function is
called in a worker thread of the service (hand heavy work to a process yourself); a GreendcError it raises
fails the job with its one line; anything else fails it as a bug (logged with its traceback). On success
``result_path`` is ``result_folder`` (default: ``context.folder``) and ``parameters`` are merged into the
job's parameters.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from greendc.errors import GreendcError, UsageError
from greendc.files import InputFileError, parse_yaml
from greendc.service.database import JobRecord, ModelRecord, utc_now
from greendc.service.files import new_folder, relative_to_store
from greendc.service.security import Principal
from greendc.service.settings import ServiceSettings
from greendc.site.loader import SiteFileError, describe_validation_error
from greendc.site.schema import Site
from greendc.site.weather import SHIPPED_WEATHER

log = logging.getLogger("greendc.service.jobs")
#: What a job stopped by the service's stop says when the service starts again.
INTERRUPTED = "the service stopped before this job finished; submit it again"
#: How often an idle worker looks for a queued job another service process may have added, s.
POLL_S = 1.0
#: Progress is written to the database at most this often (besides its first and last value), s.
PROGRESS_INTERVAL_S = 0.5


@dataclass
class JobContext:
    """What a job's function gets: its parameters, its own folder, and a way to report progress."""

    job_id: int
    organization_id: int
    kind: str
    parameters: dict[str, Any]
    site_id: int | None
    #: The job's own new folder (absolute), inside the organization's folder.
    folder: Path
    settings: ServiceSettings
    sessions: sessionmaker
    _last_write: float = 0.0

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Record progress (0 to 1) and, if given, what the job is doing, in words."""
        import time

        now = time.monotonic()
        if message is None and now - self._last_write < PROGRESS_INTERVAL_S:
            return
        self._last_write = now
        values: dict[str, Any] = {"progress_fraction": max(0.0, min(1.0, float(fraction)))}
        if message is not None:
            values["message"] = message
        with self.sessions() as db:
            db.execute(update(JobRecord).where(JobRecord.id == self.job_id).values(**values))
            db.commit()


@dataclass
class JobResult:
    """What a finished job leaves: its results folder and parameters to add to the job's (for its pages)."""

    result_folder: Path | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    message: str = ""


JobFunction = Callable[[JobContext], JobResult]
_KINDS: dict[str, JobFunction] = {}


def register_job_kind(kind: str, function: JobFunction) -> None:
    """Let the queue run jobs of ``kind`` with ``function`` (see the module's docstring)."""
    if not kind or len(kind) > 20:
        raise ValueError("a job kind is 1 to 20 characters (the jobs table's kind column)")
    _KINDS[kind] = function


def job_kinds() -> tuple[str, ...]:
    return tuple(_KINDS)


def submit_job(db: Session, principal: Principal, kind: str, parameters: dict[str, Any],
               site_id: int | None = None) -> JobRecord:
    """A new queued job of a registered ``kind`` (the caller commits, then :meth:`JobQueue.wake`)."""
    if kind not in _KINDS:
        raise UsageError(f"kind: one of {', '.join(_KINDS)}, not {kind[:40]!r}")
    job = JobRecord(organization_id=principal.organization_id, site_id=site_id, kind=kind, parameters=parameters,
                    status="queued", progress_fraction=0.0, message="waiting to start", created_by=principal.user_id)
    db.add(job)
    db.flush()
    return job


def fail_interrupted_jobs(sessions: sessionmaker) -> int:
    """Mark failed every job left queued or running by a service that stopped; returns how many."""
    with sessions() as db:
        result = db.execute(update(JobRecord).where(JobRecord.status.in_(("queued", "running")))
                            .values(status="failed", message=INTERRUPTED, finished_at=utc_now()))
        db.commit()
        return int(result.rowcount or 0)


class JobQueue:
    """``settings.job_workers`` worker threads taking queued jobs of the registered kinds, oldest first."""

    def __init__(self, settings: ServiceSettings, sessions: sessionmaker) -> None:
        self.settings, self.sessions = settings, sessions
        self._wake = threading.Condition()
        self._stopping = False
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self._threads:
            return
        for index in range(max(1, self.settings.job_workers)):
            thread = threading.Thread(target=self._work, name=f"greendc-job-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """Tell the workers a job was queued (they also look every :data:`POLL_S`)."""
        self.start()
        with self._wake:
            self._wake.notify_all()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop taking jobs and end the running ones' processes: a year of EnergyPlus must not hold the
        service's exit (the process pool would wait for it); those jobs end failed, to be submitted again."""
        import multiprocessing

        self._stopping = True
        with self._wake:
            self._wake.notify_all()
        if any(thread.is_alive() for thread in self._threads):
            # The service's only child processes are its jobs' (spawned by the workflows' executor).
            for child in multiprocessing.active_children():
                child.terminate()
        for thread in self._threads:
            thread.join(timeout=timeout_s)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def _work(self) -> None:
        while not self._stopping:
            job_id = self._claim()
            if job_id is None:
                with self._wake:
                    self._wake.wait(POLL_S)
                continue
            run_job(self.settings, self.sessions, job_id, lambda: self._stopping)

    def _claim(self) -> int | None:
        """The oldest queued job of a known kind, now running: a conditional update, so two workers (or two
        service processes) never take one job twice."""
        kinds = job_kinds()
        with self.sessions() as db:
            for job_id in db.scalars(select(JobRecord.id).where(JobRecord.status == "queued",
                                                                JobRecord.kind.in_(kinds))
                                     .order_by(JobRecord.id).limit(5)):
                claimed = db.execute(update(JobRecord).where(JobRecord.id == job_id, JobRecord.status == "queued")
                                     .values(status="running", started_at=utc_now(), message="starting"))
                db.commit()
                if claimed.rowcount:
                    return job_id
        return None


def run_job(settings: ServiceSettings, sessions: sessionmaker, job_id: int,
            stopping: Callable[[], bool] = lambda: False) -> None:
    """Run one claimed job to its end: succeeded with its results, or failed with one line (the service's
    stop, when ``stopping()`` says it was the cause)."""
    with sessions() as db:
        job = db.get(JobRecord, job_id)
        if job is None:
            return
        folder = new_folder(settings.data_dir, job.organization_id, "jobs", str(job.id))
        context = JobContext(job.id, job.organization_id, job.kind, dict(job.parameters or {}), job.site_id, folder,
                             settings, sessions)
    outcome: dict[str, Any]
    try:
        result = _KINDS[context.kind](context)
        outcome = {"status": "succeeded", "message": result.message,
                   "result_path": relative_to_store(settings.data_dir, result.result_folder or folder),
                   "parameters": {**context.parameters, **result.parameters}}
    except GreendcError as error:
        outcome = {"status": "failed", "message": _shown(str(error), folder, settings.data_dir, job_id)}
    except Exception as error:  # a job must end with a status, whatever went wrong
        log.exception("%s job %s failed", context.kind, job_id)
        outcome = {"status": "failed",
                   "message": f"internal error (a bug in greendc, please report it): {type(error).__name__}"}
    if outcome["status"] == "failed" and stopping():
        outcome["message"] = INTERRUPTED
    with sessions() as db:
        job = db.get(JobRecord, job_id)
        if job is None:
            return
        for key, value in outcome.items():
            setattr(job, key, value)
        job.progress_fraction = 1.0 if outcome["status"] == "succeeded" else job.progress_fraction
        job.finished_at = utc_now()
        db.commit()


def _shown(message: str, folder: Path, data_dir: Path, job_id: int) -> str:
    """A failure's first line, naming the job's folder as the user knows it, never the server's paths."""
    line = message.splitlines()[0] if message else "failed"
    for path in (folder.resolve(), folder):
        line = line.replace(f"{path}/", "").replace(str(path), f"job {job_id}")
    return line.replace(str(Path(data_dir).resolve()), "the data folder").replace(str(data_dir), "the data folder")


# -- sites as the service holds them -----------------------------------------------------------------------------
def load_site_text(text: str, name: str) -> Site:
    """A site file's YAML text validated as ``greendc simulate`` validates a file (its messages name ``name``
    and the field). A site stored in the service must stand alone: it may name only shipped weather and no
    IT-load CSV, since the service holds no side files of a user's."""
    try:
        data = parse_yaml(text, source=name)
    except InputFileError as error:
        raise SiteFileError(str(error)) from None
    if not isinstance(data, dict):
        raise SiteFileError(f"{name}: <root>: the site file must be a YAML mapping of keys to values")
    try:
        site = Site.model_validate(data)
    except ValidationError as error:
        raise SiteFileError(describe_validation_error(Path(name), error, Site)) from None
    for key in ("weather", "design_weather"):
        value = getattr(site, key)
        if value is not None and value.strip().lower() not in SHIPPED_WEATHER:
            raise SiteFileError(f"{name}: {key}: the service holds no weather file {value[:80]!r}; name a shipped "
                                f"weather ({', '.join(SHIPPED_WEATHER)})")
    if site.it_load.kind == "csv":
        raise SiteFileError(f"{name}: it_load.path: the service holds no IT-load file {str(site.it_load.path)[:80]!r}; "
                            "give a constant or schedule load")
    return site


def shortened(site: Site, days: int | None) -> Site:
    """``site`` with its run period cut to ``days`` days from its first day (the whole period when None)."""
    if days is None:
        return site
    from datetime import date, timedelta

    simulation = site.simulation
    first = date(2001, simulation.begin_month, simulation.begin_day)
    last = min(first + timedelta(days=days - 1), date(2001, simulation.end_month, simulation.end_day))
    data = site.model_dump(mode="json")
    data["simulation"] = {**data["simulation"], "end_month": last.month, "end_day": last.day}
    return Site.model_validate(data)


def _job_site(context: JobContext) -> Site:
    site = load_site_text(context.parameters["site_yaml"], context.parameters.get("site_name", "site"))
    return shortened(site, context.parameters.get("days"))


def model_file(context: JobContext) -> Path | None:
    """The job's model file (absolute), if it names one of its organization's models."""
    model_id = context.parameters.get("model_id")
    if model_id is None:
        return None
    with context.sessions() as db:
        row = db.scalar(select(ModelRecord).where(ModelRecord.id == model_id,
                                                  ModelRecord.organization_id == context.organization_id))
        if row is None:
            raise UsageError(f"model_id: no model {model_id} (it was deleted)")
        return context.settings.data_dir / row.file_path


# -- the built-in kinds -----------------------------------------------------------------------------------------
def run_simulation_job(context: JobContext) -> JobResult:
    """One simulation of the site under a controller, into ``run/`` (the files ``greendc simulate`` writes)."""
    from greendc.workflows.simulation import SimulationJob, controller_options, save_outcome, simulate_many

    site = _job_site(context)
    controller = context.parameters["controller"]
    options = controller_options([controller], [zone.name for zone in site.zones], model_file(context),
                                 context.parameters.get("objective", "facility"),
                                 advisory=bool(context.parameters.get("advisory", False)))
    context.progress(0.02, f"simulating {site.name} under {controller}")
    job = SimulationJob(site, None, controller, None, options[controller])
    [outcome] = simulate_many([job], workers=1,
                              on_progress=lambda _, fraction: context.progress(0.02 + 0.96 * fraction))
    save_outcome(outcome, context.folder / "run")
    summary = outcome.summary
    return JobResult(context.folder / "run", {"pue": summary.pue, "facility_kwh": summary.facility_kwh,
                                              "cooling_kwh": summary.cooling_kwh})


def run_bench_job(context: JobContext) -> JobResult:
    """Controllers across climates (``greendc bench``): ``bench.json``, one record per controller and climate."""
    from greendc.results.records import write_bench_records
    from greendc.workflows.bench import SWEPT_REFERENCES, run_bench
    from greendc.workflows.simulation import controller_options

    site = _job_site(context)
    names = list(context.parameters["controllers"])
    options = controller_options([n for n in names if n not in SWEPT_REFERENCES], [z.name for z in site.zones],
                                 model_file(context), context.parameters.get("objective", "facility"))
    context.progress(0.01, f"benchmarking {', '.join(names)}")

    def advance(done: int, total: int) -> None:
        context.progress(done / total if total else 0.0, f"{done} of {total} simulation runs")

    records = run_bench(site, None, names, context.parameters["climates"],
                        workers=max(1, context.settings.job_workers), options=options,
                        objective=context.parameters.get("objective", "facility"), on_progress=advance)
    write_bench_records(context.folder / "bench.json", records)
    failed = [record for record in records if record.error is not None]
    message = "; ".join(f"no {r.controller} in {r.climate}: {r.error}" for r in failed)[:500]
    return JobResult(context.folder, {"records": len(records)}, message)


def _fit_model(job: tuple[str, str, int], _report: Callable[[float], None] | None) -> str:
    """In a worker process: fit and save the facility model on an exploration folder (as ``greendc train``)."""
    from greendc.telemetry.schema import load_telemetry
    from greendc.workflows.train import train, training_site

    data, out, seed = job
    train(load_telemetry(data), Path(out), training_site(data), seed=seed)
    return out


def run_training_job(context: JobContext) -> JobResult:
    """Explore the site (``greendc explore``) then fit a model on it (``greendc train``), kept as a model."""
    from greendc.service.database import ModelRecord as Model
    from greendc.workflows.executor import LocalProcessExecutor
    from greendc.workflows.explore import explore

    site = _job_site(context)
    seed = int(context.parameters.get("seed", 0))
    context.progress(0.01, f"exploring {site.name}")
    exploration = explore(site, None, context.folder / "exploration", context.parameters.get("climates") or None,
                          seed=seed, workers=max(1, context.settings.job_workers),
                          on_progress=lambda _, fraction: context.progress(0.01 + 0.7 * fraction))
    context.progress(0.75, "fitting the facility model")
    out = context.folder / "model.gdm"
    LocalProcessExecutor(1).run(_fit_model, [(str(exploration.out_dir), str(out), seed)])
    name = context.parameters.get("model_name") or f"{site.name} (trained, job {context.job_id})"
    with context.sessions() as db:
        row = Model(organization_id=context.organization_id, site_id=context.site_id, name=name[:200],
                    file_path=relative_to_store(context.settings.data_dir, out), size_bytes=out.stat().st_size,
                    source="trained")
        db.add(row)
        db.commit()
        model_id = row.id
    return JobResult(context.folder, {"model_id_trained": model_id})


register_job_kind("simulation", run_simulation_job)
register_job_kind("bench", run_bench_job)
register_job_kind("training", run_training_job)
