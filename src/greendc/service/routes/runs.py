"""Simulations, benches and trainings as background jobs (:mod:`greendc.service.jobs`), their result files,
and the bench pages.

A job is submitted with one of three typed bodies (``kind`` says which), checked at once (the site and model
are the organization's, the controllers and climates known: a 422 with the field named), queued, and run
by the service's job queue; ``GET /api/jobs/{id}`` shows its progress. Its result files are downloaded by
their path inside the job's result folder, and nothing outside it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from greendc.control.registry import CONTROLLERS
from greendc.errors import GreendcError, UsageError
from greendc.results.records import BenchRecord, RunSummary, read_bench_records
from greendc.service.database import AuditEvent, JobRecord, ModelRecord, SiteRecord
from greendc.service.files import file_inside, files_under, stored_path
from greendc.service.jobs import submit_job
from greendc.service.security import Principal, database, owned_row, requires, valid_id
from greendc.site.weather import SHIPPED_WEATHER
from greendc.workflows.bench import SWEPT_REFERENCES

router = APIRouter()
Database = Annotated[Session, Depends(database, scope="function")]
Viewer = Annotated[Principal, Depends(requires("viewer"))]
Operator = Annotated[Principal, Depends(requires("operator"))]
#: Controllers a person chooses among, in words (the CLI's names stay the API's values).
CONTROLLER_WORDS = {"default": "site default rules", "rbc": "rule-based", "trim-respond": "trim and respond",
                    "explore": "exploration", "constant": "constant setpoints", "ai": "ai optimizer",
                    "oracle": "hindsight oracle (monthly)", "oracle-hourly": "hindsight oracle (hourly)",
                    "oracle-hourly-humid": "hindsight oracle (hourly, humidity too)"}
JOB_KIND_WORDS = {"simulation": "Simulation", "bench": "Bench", "training": "Model training", "report": "Report"}
ENGINEERING_KINDS = ("simulation", "bench", "training")
Days = Annotated[int | None, Field(default=None, ge=1, le=366, description="Simulate only the first N days of "
                                                                           "the site's run period (short runs).")]
Objective = Literal["facility", "cooling"]


class SimulationRequest(BaseModel):
    kind: Literal["simulation"]
    site_id: int
    controller: str = Field(default="default", max_length=50)
    #: The ai's facility model (one of the organization's models).
    model_id: int | None = None
    objective: Objective = "facility"
    #: The ai only recommends; the site's own rule stays in control.
    advisory: bool = False
    days: Days = None


class BenchRequest(BaseModel):
    kind: Literal["bench"]
    site_id: int
    controllers: list[str] = Field(default=["default", "rbc", "trim-respond"], min_length=1, max_length=10)
    #: Shipped climates (the site's own when empty).
    climates: list[str] = Field(default=[], max_length=10)
    model_id: int | None = None
    objective: Objective = "facility"
    days: Days = None


class TrainingRequest(BaseModel):
    kind: Literal["training"]
    site_id: int
    #: Shipped climates to explore (the site's own when empty).
    climates: list[str] = Field(default=[], max_length=5)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    model_name: str | None = Field(default=None, max_length=200)
    days: Days = None


JobRequest = Annotated[SimulationRequest | BenchRequest | TrainingRequest, Field(discriminator="kind")]


class ResultFile(BaseModel):
    #: The path inside the job's result folder, as the download route takes it.
    name: str
    size_bytes: int
    url: str


class JobAnswer(BaseModel):
    id: int
    kind: str
    site_id: int | None
    site_name: str
    status: Literal["queued", "running", "succeeded", "failed"]
    progress_fraction: float
    #: What the job is doing, or on failure why, in one line.
    message: str
    controller: str | None = None
    controllers: list[str] = []
    climates: list[str] = []
    days: int | None = None
    model_id: int | None = None
    #: The model a training job made.
    trained_model_id: int | None = None
    pue: float | None = None
    facility_kwh: float | None = None
    cooling_kwh: float | None = None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    files: list[ResultFile] = []


def job_answer(job: JobRecord, data_dir: Any, with_files: bool = False) -> JobAnswer:
    p = job.parameters or {}
    answer = JobAnswer(
        id=job.id, kind=job.kind, site_id=job.site_id, site_name=p.get("site_name", ""), status=job.status,
        progress_fraction=job.progress_fraction, message=job.message, controller=p.get("controller"),
        controllers=p.get("controllers", []), climates=p.get("climates", []), days=p.get("days"),
        model_id=p.get("model_id"), trained_model_id=p.get("model_id_trained"), pue=p.get("pue"),
        facility_kwh=p.get("facility_kwh"), cooling_kwh=p.get("cooling_kwh"), created_at=job.created_at,
        started_at=job.started_at, finished_at=job.finished_at)
    if with_files and job.status == "succeeded" and job.result_path:
        answer.files = [ResultFile(name=name, size_bytes=size, url=f"/api/jobs/{job.id}/files/{name}")
                        for name, size in files_under(stored_path(data_dir, job.result_path))]
    return answer


def own_site(db: Session, principal: Principal, site_id: int) -> SiteRecord:
    return owned_row(db, principal, SiteRecord, site_id, "site")


def own_job(db: Session, principal: Principal, job_id: int) -> JobRecord:
    return owned_row(db, principal, JobRecord, job_id, "job")


def _check_model(db: Session, principal: Principal, model_id: int | None, controllers: list[str]) -> None:
    if model_id is not None and (not valid_id(model_id) or db.scalar(select(ModelRecord.id).where(
            ModelRecord.id == model_id, ModelRecord.organization_id == principal.organization_id)) is None):
        raise UsageError(f"model_id: no model {model_id}")
    if "ai" in controllers and model_id is None:
        raise UsageError("model_id: the ai controller needs a facility model (upload one, or train one)")


def _check_climates(climates: list[str]) -> list[str]:
    bad = [c for c in climates if c not in SHIPPED_WEATHER]
    if bad:
        raise UsageError(f"climates: unknown {bad[0][:40]!r}; choose from {', '.join(SHIPPED_WEATHER)}")
    return list(dict.fromkeys(climates))


def _check_controllers(names: list[str], field: str, references: bool) -> None:
    allowed = [*CONTROLLERS, *SWEPT_REFERENCES] if references else list(CONTROLLERS)
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise UsageError(f"{field}: unknown controller {unknown[0][:40]!r}; choose from {', '.join(allowed)}")


def submit(request: Request, db: Session, principal: Principal, body: JobRequest) -> JobRecord:
    """Check ``body`` and queue its job (committed, the queue woken); bad input raises a one-line GreendcError."""
    site = own_site(db, principal, body.site_id)
    parameters: dict[str, Any] = {"site_name": site.name, "site_yaml": site.site_yaml, "days": body.days}
    if isinstance(body, SimulationRequest):
        _check_controllers([body.controller], "controller", references=False)
        _check_model(db, principal, body.model_id, [body.controller])
        parameters.update(controller=body.controller, model_id=body.model_id, objective=body.objective,
                          advisory=body.advisory)
    elif isinstance(body, BenchRequest):
        _check_controllers(body.controllers, "controllers", references=True)
        _check_model(db, principal, body.model_id, body.controllers)
        from greendc.service.jobs import load_site_text

        climates = _check_climates(body.climates) or [load_site_text(site.site_yaml, site.name).weather]
        parameters.update(controllers=list(dict.fromkeys(body.controllers)), climates=climates,
                          model_id=body.model_id, objective=body.objective)
    else:
        parameters.update(climates=_check_climates(body.climates), seed=body.seed, model_name=body.model_name)
    job = submit_job(db, principal, body.kind, parameters, site_id=site.id)
    db.add(AuditEvent(organization_id=principal.organization_id, user_id=principal.user_id,
                      action=f"{body.kind} requested", target=site.name[:300],
                      details={"job_id": job.id, **{k: v for k, v in parameters.items() if k != "site_yaml"}}))
    db.commit()
    request.app.state.jobs.wake()
    return job


@router.post("/api/jobs", response_model=JobAnswer, status_code=202, tags=["jobs"])
def submit_job_route(body: JobRequest, request: Request, db: Database, principal: Operator) -> JobAnswer:
    """Queue a simulation, a bench or a training of one of the organization's sites; poll
    ``GET /api/jobs/{id}`` for its progress. Bad input is a 422 naming the field, at once."""
    return job_answer(submit(request, db, principal, body), request.app.state.settings.data_dir)


@router.get("/api/jobs", response_model=list[JobAnswer], tags=["jobs"])
def list_jobs(request: Request, db: Database, principal: Viewer, site_id: int | None = None,
              kind: Literal["simulation", "bench", "training", "report"] | None = None) -> list[JobAnswer]:
    """The organization's jobs, newest first (at most 200)."""
    return [job_answer(job, request.app.state.settings.data_dir) for job in jobs_of(db, principal, site_id, kind)]


def jobs_of(db: Session, principal: Principal, site_id: int | None = None, kind: str | None = None,
            limit: int = 200) -> list[JobRecord]:
    query = select(JobRecord).where(JobRecord.organization_id == principal.organization_id)
    if site_id is not None and not valid_id(site_id):
        return []
    if site_id is not None:
        query = query.where(JobRecord.site_id == site_id)
    query = query.where(JobRecord.kind == kind) if kind else query.where(JobRecord.kind.in_(ENGINEERING_KINDS))
    return list(db.scalars(query.order_by(JobRecord.id.desc()).limit(limit)))


@router.get("/api/jobs/{job_id}", response_model=JobAnswer, tags=["jobs"])
def get_job(job_id: int, request: Request, db: Database, principal: Viewer) -> JobAnswer:
    """One job with its progress and, once it has succeeded, its result files."""
    return job_answer(own_job(db, principal, job_id), request.app.state.settings.data_dir, with_files=True)


def result_folder(request: Request, job: JobRecord) -> Any:
    if job.status != "succeeded" or not job.result_path:
        raise HTTPException(404, f"job {job.id} has no results ({job.status})")
    return stored_path(request.app.state.settings.data_dir, job.result_path)


@router.get("/api/jobs/{job_id}/files/{name:path}", response_class=FileResponse, tags=["jobs"],
            responses={200: {"content": {"application/octet-stream": {}}, "description": "the file"}})
def download(job_id: int, name: str, request: Request, db: Database, principal: Viewer) -> FileResponse:
    """A result file of a job by its path inside the job's result folder (``summary.json``,
    ``telemetry.parquet``, ``bench.json``, ...); a path outside it is refused."""
    job = own_job(db, principal, job_id)
    try:
        path = file_inside(result_folder(request, job), name)
    except UsageError as error:
        raise HTTPException(404, str(error)) from None
    response = FileResponse(path, filename=path.name, content_disposition_type="attachment",
                            media_type="application/json" if path.suffix == ".json" else "application/octet-stream")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/api/jobs/{job_id}/summary", response_model=RunSummary, tags=["jobs"])
def run_summary(job_id: int, request: Request, db: Database, principal: Viewer) -> RunSummary:
    """A finished simulation's ``summary.json`` (energy in kWh, inlet temperatures in C)."""
    job = own_job(db, principal, job_id)
    if job.kind != "simulation":
        raise HTTPException(404, f"job {job_id} is a {job.kind}, not a simulation")
    return RunSummary.read(result_folder(request, job) / "summary.json")


@router.get("/api/benches/{job_id}", response_model=list[BenchRecord], tags=["jobs"])
def bench_records(job_id: int, request: Request, db: Database, principal: Viewer) -> list[BenchRecord]:
    """A finished bench's records (``greendc bench --json``): one per controller and climate, energy in kWh."""
    job = own_job(db, principal, job_id)
    if job.kind != "bench":
        raise HTTPException(404, f"job {job_id} is a {job.kind}, not a bench")
    return read_bench_records(result_folder(request, job) / "bench.json")


# -- pages ------------------------------------------------------------------------------------------------------
#: The CLI's bench table (``greendc bench``): header, record key, format; energy shown in MWh.
BENCH_COLUMNS = [("IT MWh", "it_kwh", "{:,.1f}"), ("cooling MWh", "cooling_kwh", "{:,.2f}"),
                 ("facility MWh", "facility_kwh", "{:,.1f}"), ("PUE", "pue", "{:.3f}"),
                 ("inlet max C", "inlet_max_c", "{:.1f}"), ("steps > 27 C", "steps_above_27c", "{}"),
                 ("steps > 32 C", "steps_above_32c", "{}"), ("steps < 18 C", "steps_below_18c", "{}"),
                 ("humid steps", "steps_humid", "{}")]


def bench_rows(records: list[BenchRecord]) -> tuple[list[str], list[dict[str, Any]]]:
    """The bench table's headers and rows of formatted cells (the columns the records have)."""
    rows = [record.row() for record in records]
    columns = [c for c in BENCH_COLUMNS if any(row.get(c[1]) is not None for row in rows)]
    table = []
    for row in rows:
        cells = []
        for _, key, fmt in columns:
            value = row.get(key)
            if value is None:
                cells.append("")
                continue
            cells.append(fmt.format(value / 1000.0 if key.endswith("_kwh") else value))
        table.append({"climate": row["climate"], "controller": CONTROLLER_WORDS.get(row["controller"],
                                                                                      row["controller"]),
                      "cells": cells, "error": row.get("error")})
    return [c[0] for c in columns], table


def _render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status_code)


@router.get("/benches", response_class=HTMLResponse, include_in_schema=False)
def benches_page(request: Request, db: Database, principal: Viewer) -> Response:
    data_dir = request.app.state.settings.data_dir
    benches = [job_answer(job, data_dir) for job in jobs_of(db, principal, kind="bench", limit=100)]
    return _render(request, "bench.html", {"principal": principal, "active": "/benches", "benches": benches,
                                           "job": None, "words": CONTROLLER_WORDS})


@router.get("/benches/{job_id}", response_class=HTMLResponse, include_in_schema=False)
def bench_page(job_id: int, request: Request, db: Database, principal: Viewer) -> Response:
    job = own_job(db, principal, job_id)
    if job.kind != "bench":
        raise HTTPException(404, f"job {job_id} is not a bench")
    headers: list[str] = []
    rows: list[dict[str, Any]] = []
    problem = None
    if job.status == "succeeded":
        try:
            headers, rows = bench_rows(read_bench_records(result_folder(request, job) / "bench.json"))
        except GreendcError as error:
            problem = str(error)
    return _render(request, "bench.html", {
        "principal": principal, "active": "/benches", "job": job_answer(job, request.app.state.settings.data_dir),
        "headers": headers, "rows": rows, "problem": problem, "words": CONTROLLER_WORDS})


@router.get("/jobs/{job_id}/row", response_class=HTMLResponse, include_in_schema=False)
def job_row(job_id: int, request: Request, db: Database, principal: Viewer) -> Response:
    """One job's table row (HTMX polls it every 2 s while the job is queued or running)."""
    job = job_answer(own_job(db, principal, job_id), request.app.state.settings.data_dir)
    return _render(request, "job_row.html", {"principal": principal, "job": job, "words": CONTROLLER_WORDS,
                                             "kinds": JOB_KIND_WORDS})
