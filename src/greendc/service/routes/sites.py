"""Sites and facility models, and the fleet and site pages.

- A site is the YAML file ``greendc simulate`` reads, validated by the same schema with the same one-line
  message naming the field (a 422); a site stored in the service names only shipped weather and no IT-load
  CSV, since the service holds no side files (:func:`greendc.service.jobs.load_site_text`).
- A model is a ``.gdm`` file, uploaded (checked by the model loader, bounded in size) or made by a training
  job; it lives in the organization's folder.
- ``/`` shows every site of the organization with its latest figures; ``/sites/{id}`` one site.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greendc.errors import GreendcError, UsageError
from greendc.service.database import AgentRecord, AuditEvent, JobRecord, ModelRecord, SiteRecord
from greendc.service.files import new_folder, relative_to_store, stored_path
from greendc.service.jobs import JobQueue, fail_interrupted_jobs, load_site_text
from greendc.service.routes import runs
from greendc.service.security import Principal, database, requires
from greendc.site.schema import Site

router = APIRouter()
router.include_router(runs.router)
Database = Annotated[Session, Depends(database, scope="function")]
Viewer = Annotated[Principal, Depends(requires("viewer"))]
Operator = Annotated[Principal, Depends(requires("operator"))]
#: A site file is a few kilobytes; the upload limit of the whole service is far larger.
MAX_SITE_BYTES = 1024 * 1024


def install(app: FastAPI) -> None:
    """The routes, and the job queue (jobs a stopped service left behind are marked failed first)."""
    app.include_router(router)
    fail_interrupted_jobs(app.state.sessions)
    app.state.jobs = JobQueue(app.state.settings, app.state.sessions)
    app.router.add_event_handler("startup", app.state.jobs.start)
    app.router.add_event_handler("shutdown", app.state.jobs.stop)


class SiteCreate(BaseModel):
    #: The site file's text (YAML), as ``greendc simulate`` reads it.
    site_yaml: str = Field(min_length=1, max_length=MAX_SITE_BYTES)
    #: What messages call the file (default ``site.yaml``).
    file_name: str = Field(default="site.yaml", min_length=1, max_length=200)


class SiteAnswer(BaseModel):
    id: int
    name: str
    weather: str
    zones: list[str]
    it_design_power_kw: float
    #: The run period, as MM-DD of its first and last day.
    run_period_first_day: str
    run_period_last_day: str
    created_at: datetime


class SiteDetail(SiteAnswer):
    site_yaml: str


class ModelAnswer(BaseModel):
    id: int
    name: str
    site_id: int | None
    size_bytes: int
    #: ``uploaded`` or ``trained``.
    source: str
    created_at: datetime


def site_answer(row: SiteRecord, site: Site | None = None) -> SiteAnswer:
    # Stored sites were validated on upload; parsing again only reads the headline facts.
    site = site or load_site_text(row.site_yaml, row.name)
    s = site.simulation
    return SiteAnswer(id=row.id, name=row.name, weather=site.weather, zones=[z.name for z in site.zones],
                      it_design_power_kw=site.it_design_power_w / 1000.0,
                      run_period_first_day=f"{s.begin_month:02d}-{s.begin_day:02d}",
                      run_period_last_day=f"{s.end_month:02d}-{s.end_day:02d}", created_at=row.created_at)


def _audit(db: Session, principal: Principal, action: str, target: str, **details: Any) -> None:
    db.add(AuditEvent(organization_id=principal.organization_id, user_id=principal.user_id, action=action,
                      target=target[:300], details=details))


def store_site(db: Session, principal: Principal, text: str, file_name: str) -> SiteRecord:
    """Validate and keep a site file; a site of the same name in the organization is refused."""
    site = load_site_text(text, file_name)
    if db.scalar(select(SiteRecord.id).where(SiteRecord.organization_id == principal.organization_id,
                                             SiteRecord.name == site.name)) is not None:
        raise UsageError(f"{file_name}: name: the organization already has a site {site.name!r}")
    row = SiteRecord(organization_id=principal.organization_id, name=site.name, site_yaml=text,
                     created_by=principal.user_id)
    db.add(row)
    try:
        db.flush()
    except IntegrityError:  # another request added it meanwhile
        raise UsageError(f"{file_name}: name: the organization already has a site {site.name!r}") from None
    _audit(db, principal, "site added", site.name, site_id=row.id)
    return row


def _decode(raw: bytes, name: str) -> str:
    if len(raw) > MAX_SITE_BYTES:
        raise UsageError(f"{name}: the site file is larger than {MAX_SITE_BYTES // 1024} KiB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{name}: <file>: not UTF-8 text") from None


@router.post("/api/sites", response_model=SiteDetail, status_code=201, tags=["sites"])
def create_site(body: SiteCreate, db: Database, principal: Operator) -> SiteDetail:
    """Add a site from its YAML text; an invalid file is a 422 with the command line's one line."""
    row = store_site(db, principal, body.site_yaml, body.file_name)
    return SiteDetail(**site_answer(row).model_dump(), site_yaml=row.site_yaml)


@router.post("/api/sites/upload", response_model=SiteDetail, status_code=201, tags=["sites"])
async def upload_site(file: UploadFile, db: Database, principal: Operator) -> SiteDetail:
    """Add a site from an uploaded site file (YAML)."""
    name = Path(file.filename or "site.yaml").name[:200]
    row = store_site(db, principal, _decode(await file.read(MAX_SITE_BYTES + 1), name), name)
    return SiteDetail(**site_answer(row).model_dump(), site_yaml=row.site_yaml)


def sites_of(db: Session, principal: Principal) -> list[SiteRecord]:
    return list(db.scalars(select(SiteRecord).where(SiteRecord.organization_id == principal.organization_id)
                           .order_by(SiteRecord.name)))


@router.get("/api/sites", response_model=list[SiteAnswer], tags=["sites"])
def list_sites(db: Database, principal: Viewer) -> list[SiteAnswer]:
    return [site_answer(row) for row in sites_of(db, principal)]


@router.get("/api/sites/{site_id}", response_model=SiteDetail, tags=["sites"])
def get_site(site_id: int, db: Database, principal: Viewer) -> SiteDetail:
    row = runs.own_site(db, principal, site_id)
    return SiteDetail(**site_answer(row).model_dump(), site_yaml=row.site_yaml)


@router.delete("/api/sites/{site_id}", status_code=204, tags=["sites"])
def delete_site(site_id: int, db: Database, principal: Operator) -> Response:
    """Remove a site (its jobs and models stay, no longer tied to it)."""
    row = runs.own_site(db, principal, site_id)
    _audit(db, principal, "site deleted", row.name, site_id=row.id)
    db.delete(row)
    return Response(status_code=204)


# -- models -----------------------------------------------------------------------------------------------------
def model_answer(row: ModelRecord) -> ModelAnswer:
    return ModelAnswer(id=row.id, name=row.name, site_id=row.site_id, size_bytes=row.size_bytes, source=row.source,
                       created_at=row.created_at)


def store_model(db: Session, principal: Principal, data_dir: Path, raw: bytes, shown: str, name: str | None,
                site_id: int | None) -> ModelRecord:
    """Check a ``.gdm`` file's bytes with the model loader and keep it; a bad file raises its one line, naming
    the file as the user called it."""
    from greendc.learning.facility_model import MAX_MODEL_FILE_BYTES, FacilityModel, ModelFileError

    if site_id is not None:
        runs.own_site(db, principal, site_id)
    if len(raw) > MAX_MODEL_FILE_BYTES:
        raise UsageError(f"{shown}: the model file is larger than {MAX_MODEL_FILE_BYTES // 2**20} MiB")
    folder = new_folder(data_dir, principal.organization_id, "models", "upload")
    path = folder / "model.gdm"
    try:
        path.write_bytes(raw)
        FacilityModel.load(path)
    except ModelFileError as error:
        shutil.rmtree(folder, ignore_errors=True)
        # Name the file as the user knows it, not by the server's folder.
        raise ModelFileError(str(error).replace(str(path), shown, 1)) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    row = ModelRecord(organization_id=principal.organization_id, site_id=site_id, name=(name or shown)[:200],
                      file_path=relative_to_store(data_dir, path), size_bytes=len(raw), source="uploaded")
    db.add(row)
    db.flush()
    _audit(db, principal, "model uploaded", row.name, model_id=row.id)
    return row


async def _read_model(file: UploadFile) -> tuple[bytes, str]:
    from greendc.learning.facility_model import MAX_MODEL_FILE_BYTES

    return await file.read(MAX_MODEL_FILE_BYTES + 1), Path(file.filename or "model.gdm").name[:200]


@router.post("/api/models", response_model=ModelAnswer, status_code=201, tags=["models"])
async def upload_model(request: Request, file: UploadFile, db: Database, principal: Operator,
                       name: Annotated[str | None, Form(max_length=200)] = None,
                       site_id: Annotated[int | None, Form()] = None) -> ModelAnswer:
    """Keep an uploaded facility model (``.gdm``, as ``greendc train`` writes it), checked by the model loader;
    a bad file is a 422 with its one line."""
    raw, shown = await _read_model(file)
    return model_answer(store_model(db, principal, request.app.state.settings.data_dir, raw, shown, name, site_id))


def models_of(db: Session, principal: Principal) -> list[ModelRecord]:
    return list(db.scalars(select(ModelRecord).where(ModelRecord.organization_id == principal.organization_id)
                           .order_by(ModelRecord.id.desc())))


@router.get("/api/models", response_model=list[ModelAnswer], tags=["models"])
def list_models(db: Database, principal: Viewer) -> list[ModelAnswer]:
    return [model_answer(row) for row in models_of(db, principal)]


# -- what the pages show ----------------------------------------------------------------------------------------
#: End uses in words and the order the bar chart shows them, as ``greendc.results.plots`` labels them.
END_USE_WORDS = {"it": "IT equipment", "fans": "air-handler fans", "dx_coils": "DX coils", "chiller": "chiller",
                 "tower": "cooling tower", "pumps": "pumps", "evaporative": "evaporative cooling",
                 "ups_losses": "UPS losses", "other": "other"}
#: The ASHRAE recommended inlet range (A1), C.
INLET_BAND_C = (18.0, 27.0)
#: The control baseline a bench's ai saving is measured against.
BASELINE = "default"


def guard_words(guard: str | None) -> str:
    """A guard's name in words (``device-unreachable`` -> "device unreachable"; none -> "normal")."""
    return "normal" if not guard or guard == "none" else guard.replace("-", " ").replace("_", " ")


def _latest(db: Session, principal: Principal, site_id: int, kind: str) -> JobRecord | None:
    return db.scalar(select(JobRecord).where(JobRecord.organization_id == principal.organization_id,
                                             JobRecord.site_id == site_id, JobRecord.kind == kind,
                                             JobRecord.status == "succeeded", JobRecord.result_path.is_not(None))
                     .order_by(JobRecord.id.desc()).limit(1))


def _summary(data_dir: Path, job: JobRecord | None) -> Any:
    from greendc.results.records import RunSummary

    if job is None or job.result_path is None:
        return None
    try:
        return RunSummary.read(stored_path(data_dir, job.result_path) / "summary.json")
    except GreendcError:  # a results folder removed by hand: the page still shows the rest
        return None


def bench_saving(data_dir: Path, job: JobRecord | None) -> dict[str, Any] | None:
    """The ai's facility saving against the baseline in a bench's first climate with both, MWh and %."""
    from greendc.results.records import read_bench_records

    if job is None or job.result_path is None:
        return None
    try:
        records = read_bench_records(stored_path(data_dir, job.result_path) / "bench.json")
    except GreendcError:
        return None
    by = {(r.climate, r.controller): r for r in records if r.facility_kwh is not None}
    for (climate, controller), record in by.items():
        base = by.get((climate, BASELINE))
        if controller == "ai" and base is not None and base.facility_kwh:
            saved = base.facility_kwh - record.facility_kwh
            return {"climate": climate, "saved_mwh": saved / 1000.0, "saved_pct": 100.0 * saved / base.facility_kwh,
                    "bench_id": job.id}
    return None


def _agents(db: Session, principal: Principal, site_id: int) -> list[dict[str, Any]]:
    rows = db.scalars(select(AgentRecord).where(AgentRecord.organization_id == principal.organization_id,
                                                AgentRecord.site_id == site_id).order_by(AgentRecord.name))
    return [{"name": a.name, "guard": guard_words(a.last_guard), "normal": (a.last_guard or "none") == "none"
             and not a.kill_switch, "kill_switch": a.kill_switch} for a in rows]


def fleet_rows(db: Session, principal: Principal, data_dir: Path, sites: list[SiteRecord]) -> list[dict[str, Any]]:
    """Per site: its latest run's PUE and energy (MWh), the ai's bench saving and its agents' guard states."""
    rows = []
    for row in sites:
        summary = _summary(data_dir, _latest(db, principal, row.id, "simulation"))
        rows.append({"site": row, "summary": summary, "saving": bench_saving(data_dir, _latest(db, principal, row.id,
                                                                                                "bench")),
                     "agents": _agents(db, principal, row.id)})
    return rows


def _decision_log(run_dir: Path, limit: int = 12) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The last decisions of a run (newest first) and its explanation (``greendc explain``), if it logged any."""
    from greendc.results.explain import explain_run
    from greendc.telemetry.decisions import read_decisions

    path = run_dir / "decisions.parquet"
    if not path.is_file():
        return [], None
    try:
        records = read_decisions(path)
        explanation = explain_run(run_dir) if records else None
    except GreendcError:
        return [], None
    log = []
    for record in records[-limit:][::-1]:
        chosen = record.chosen.supply_air_setpoint_c or {}
        log.append({"time": record.time, "guard": guard_words(record.guard), "applied": record.applied,
                    "detail": record.detail, "hottest_inlet_c": record.hottest_inlet_c,
                    "supply_air_c": sum(chosen.values()) / len(chosen) if chosen else None,
                    "saving_w": record.prediction.saving_w if record.prediction is not None else None})
    return log, explanation


def site_view(db: Session, principal: Principal, data_dir: Path, row: SiteRecord) -> dict[str, Any]:
    """What the site page shows: the latest run's energy by end use, PUE, inlets against the band, guards,
    decisions, the latest bench's saving, and the site's jobs."""
    site = load_site_text(row.site_yaml, row.name)
    run_job = _latest(db, principal, row.id, "simulation")
    summary = _summary(data_dir, run_job)
    chart, log, explanation = None, [], None
    if summary is not None and run_job is not None:
        chart = {"labels": [END_USE_WORDS["it"]], "values": [round(summary.it_kwh / 1000.0, 3)]}
        for name, kwh in summary.end_uses_kwh().items():
            if kwh > 0:
                chart["labels"].append(END_USE_WORDS.get(name, name.replace("_", " ")))
                chart["values"].append(round(kwh / 1000.0, 3))
        log, explanation = _decision_log(stored_path(data_dir, run_job.result_path or ""))
    jobs = [runs.job_answer(job, data_dir) for job in runs.jobs_of(db, principal, site_id=row.id, limit=30)]
    return {"site": row, "site_model": site_answer(row, site), "summary": summary, "run_job": run_job, "chart": chart,
            "band": INLET_BAND_C, "decisions": log, "explanation": explanation,
            "guards": {guard_words(k): v for k, v in ((summary.guard_counts or {}) if summary else {}).items()},
            "saving": bench_saving(data_dir, _latest(db, principal, row.id, "bench")), "jobs": jobs,
            "agents": _agents(db, principal, row.id), "shipped": _shipped(),
            "controllers": [c for c in runs.CONTROLLER_WORDS if c in _controllers()],
            "bench_choices": [c for c in runs.CONTROLLER_WORDS if c in _controllers() or c in ("oracle",)]}


def _shipped() -> list[str]:
    from greendc.site.weather import SHIPPED_WEATHER

    return list(SHIPPED_WEATHER)


def _controllers() -> list[str]:
    from greendc.control.registry import CONTROLLERS

    return [name for name in CONTROLLERS if name not in ("explore", "constant")]


# -- pages ------------------------------------------------------------------------------------------------------
def _render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status_code)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def fleet_page(request: Request, db: Database, principal: Viewer) -> Response:
    rows = fleet_rows(db, principal, request.app.state.settings.data_dir, sites_of(db, principal))
    return _render(request, "fleet.html", {"principal": principal, "active": "/", "rows": rows,
                                           "may_act": principal.may("operator")})


@router.get("/sites/new", response_class=HTMLResponse, include_in_schema=False)
def new_site_page(request: Request, principal: Operator) -> Response:
    return _render(request, "site_new.html", {"principal": principal, "active": "/", "problem": None, "text": ""})


@router.post("/sites/new", response_class=HTMLResponse, include_in_schema=False)
async def new_site_form(request: Request, db: Database, principal: Operator,
                        site_yaml: Annotated[str | None, Form(max_length=MAX_SITE_BYTES)] = None,
                        file: UploadFile | None = None) -> Response:
    """The "Add site" form: pasted YAML or an uploaded file; a refused one comes back with what was sent."""
    try:
        if file is not None and file.filename:
            name = Path(file.filename).name[:200]
            text = _decode(await file.read(MAX_SITE_BYTES + 1), name)
        elif site_yaml and site_yaml.strip():
            name, text = "site.yaml", site_yaml
        else:
            raise UsageError("site_yaml: paste the site file's text or choose a file to upload")
        row = store_site(db, principal, text, name)
        db.commit()
    except GreendcError as error:
        db.rollback()
        return _render(request, "site_new.html", {"principal": principal, "active": "/", "problem": str(error),
                                                  "text": site_yaml or ""}, status_code=422)
    return RedirectResponse(f"/sites/{row.id}", 303)


@router.get("/sites/{site_id}", response_class=HTMLResponse, include_in_schema=False)
def site_page(site_id: int, request: Request, db: Database, principal: Viewer) -> Response:
    row = runs.own_site(db, principal, site_id)
    context = site_view(db, principal, request.app.state.settings.data_dir, row)
    return _render(request, "site.html", {"principal": principal, "active": "/", "may_act": principal.may("operator"),
                                          "models": [model_answer(m) for m in models_of(db, principal)],
                                          "words": runs.CONTROLLER_WORDS, "kinds": runs.JOB_KIND_WORDS,
                                          "problem": None, **context})


@router.get("/sites/{site_id}/jobs", response_class=HTMLResponse, include_in_schema=False)
def site_jobs(site_id: int, request: Request, db: Database, principal: Viewer) -> Response:
    """The site's jobs table (HTMX polls it while a job is queued or running)."""
    row = runs.own_site(db, principal, site_id)
    data_dir = request.app.state.settings.data_dir
    jobs = [runs.job_answer(job, data_dir) for job in runs.jobs_of(db, principal, site_id=row.id, limit=30)]
    return _render(request, "job_list.html", {"principal": principal, "site": row, "jobs": jobs,
                                              "words": runs.CONTROLLER_WORDS, "kinds": runs.JOB_KIND_WORDS,
                                              "problem": None})


@router.post("/sites/{site_id}/jobs", response_class=HTMLResponse, include_in_schema=False)
def start_job_form(site_id: int, request: Request, db: Database, principal: Operator,
                   kind: Annotated[str, Form()], controller: Annotated[str, Form()] = "default",
                   controllers: Annotated[list[str] | None, Form()] = None,
                   climates: Annotated[list[str] | None, Form()] = None,
                   model_id: Annotated[str | None, Form()] = None, days: Annotated[str | None, Form()] = None
                   ) -> Response:
    """The "Start simulation", "Run bench" and "Train a model" forms: queue the job and answer the jobs table."""
    row = runs.own_site(db, principal, site_id)
    problem = None
    try:
        chosen_model = int(model_id) if model_id and model_id.strip() else None
        chosen_days = int(days) if days and days.strip() else None
        fields: dict[str, Any] = {"site_id": row.id, "model_id": chosen_model, "days": chosen_days}
        if kind == "simulation":
            body: Any = runs.SimulationRequest(kind="simulation", controller=controller, **fields)
        elif kind == "bench":
            body = runs.BenchRequest(kind="bench", controllers=controllers or ["default"], climates=climates or [],
                                     **fields)
        elif kind == "training":
            body = runs.TrainingRequest(kind="training", site_id=row.id, climates=climates or [], days=chosen_days)
        else:
            raise UsageError(f"kind: simulation, bench or training, not {kind[:40]!r}")
        runs.submit(request, db, principal, body)
    except GreendcError as error:
        db.rollback()
        problem = str(error)
    except ValueError as error:  # a number that is not one, or a value out of its range
        db.rollback()
        problem = f"days: {str(error).splitlines()[-1][:200]}"
    data_dir = request.app.state.settings.data_dir
    jobs = [runs.job_answer(job, data_dir) for job in runs.jobs_of(db, principal, site_id=row.id, limit=30)]
    return _render(request, "job_list.html", {"principal": principal, "site": row, "jobs": jobs, "problem": problem,
                                              "words": runs.CONTROLLER_WORDS, "kinds": runs.JOB_KIND_WORDS})



@router.post("/sites/{site_id}/models", response_class=HTMLResponse, include_in_schema=False)
async def model_form(site_id: int, request: Request, db: Database, principal: Operator,
                     file: UploadFile | None = None, name: Annotated[str | None, Form(max_length=200)] = None
                     ) -> Response:
    """The "Upload model" form: back to the site page, or the page with the file's one-line problem."""
    row = runs.own_site(db, principal, site_id)
    try:
        if file is None or not file.filename:
            raise UsageError("file: choose a model file (.gdm) to upload")
        raw, shown = await _read_model(file)
        store_model(db, principal, request.app.state.settings.data_dir, raw, shown, name or None, row.id)
        db.commit()
    except GreendcError as error:
        db.rollback()
        context = site_view(db, principal, request.app.state.settings.data_dir, row)
        return _render(request, "site.html", {"principal": principal, "active": "/", "may_act": True,
                                              "models": [model_answer(m) for m in models_of(db, principal)],
                                              "words": runs.CONTROLLER_WORDS, "kinds": runs.JOB_KIND_WORDS,
                                              "problem": str(error), **context}, status_code=422)
    return RedirectResponse(f"/sites/{row.id}", 303)
