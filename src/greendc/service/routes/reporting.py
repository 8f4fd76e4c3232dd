"""Inventories, savings verification records and the ESG reports rendered from them.

- An inventory is the YAML of ``greendc carbon`` / ``greendc report``, validated by the same loader, so a bad one
  is refused (422) with the command line's one line naming the field. An inventory stored in the service must
  be self-contained: it may not name files on the server's disk (a run's summary, a bench, a verification
  record or an EPW path), since those would let a user read files that are not theirs; a verification record
  is uploaded on its own and chosen when the report is rendered, as ``greendc report --verification`` adds it.
- A verification record is the JSON ``greendc verify --json`` writes, read by
  :func:`greendc.verification.record.read_verification` (with its self-consistency checks).
- A report is a job of the service's queue (:mod:`greendc.service.jobs`, kind ``report``): its input (the
  inventory and the records, as they were when it was requested) is written and checked at once, so bad input
  is a 422 and not a failed job; the queue then runs :func:`greendc.report.build_report` into the job's folder,
  whose ``report.html``, ``report.pdf`` and ``figures.json`` are downloaded from here.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from greendc.carbon.calculate import KIND_WORDS
from greendc.carbon.errors import InventoryError
from greendc.carbon.inventory import Inventory, LoadedInventory, parse_inventory
from greendc.carbon.verified import read_claimable_verification
from greendc.errors import GreendcError, UsageError
from greendc.files import InputFileError, parse_yaml
from greendc.service.database import AuditEvent, InventoryRecord, JobRecord, VerificationResult, utc_now
from greendc.service.files import new_folder, relative_to_store
from greendc.service.jobs import JobContext, JobResult, register_job_kind, submit_job
from greendc.service.security import Principal, database, owned_row, requires
from greendc.service.settings import ServiceSettings
from greendc.site.weather import SHIPPED_WEATHER
from greendc.verification.record import Verification, read_verification

router = APIRouter()
Database = Annotated[Session, Depends(database, scope="function")]
Viewer = Annotated[Principal, Depends(requires("viewer"))]
Operator = Annotated[Principal, Depends(requires("operator"))]
REPORT_KIND = "report"
#: What a finished report folder holds that may be downloaded, with its content type.
DOWNLOADS = {"report.html": "text/html; charset=utf-8", "report.pdf": "application/pdf",
             "figures.json": "application/json"}


# -- request and answer bodies ---------------------------------------------------------------------------------
class InventoryUpload(BaseModel):
    #: The inventory's name in the service; an inventory of the same name is replaced.
    name: str = Field(min_length=1, max_length=200)
    #: The inventory file's text (YAML), as ``greendc carbon`` reads it.
    inventory_yaml: str = Field(min_length=1)


class InventoryAnswer(BaseModel):
    id: int
    name: str
    organization: str
    reporting_year: int
    sites: list[str]
    savings: int
    created_at: datetime
    #: True when an inventory of this name was there before and this one replaced it.
    replaced: bool = False


class InventoryDetail(InventoryAnswer):
    inventory_yaml: str


class VerificationUpload(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    #: The record exactly as ``greendc verify --json`` wrote it.
    record: dict[str, Any]


class VerificationAnswer(BaseModel):
    id: int
    name: str
    method: str
    ipmvp_option: str
    baseline_controller: str
    candidate_controller: str
    #: The days the reporting period's metered intervals cover (its times are interval ends).
    reporting_first_day: date
    reporting_last_day: date
    avoided_mwh: float
    avoided_mwh_lower: float
    avoided_mwh_upper: float
    confidence_pct: float
    savings_pct: float
    distinguishable_from_zero: bool
    #: Whether a report may count it as a verified saving; if not, ``not_claimable_because`` says why.
    claimable: bool
    not_claimable_because: str = ""
    created_at: datetime


class VerificationDetail(VerificationAnswer):
    record: dict[str, Any]


class ReportRequest(BaseModel):
    inventory_id: int
    #: Verification records added as verified savings, as ``greendc report --verification`` adds them.
    verification_ids: list[int] = Field(default=[], max_length=50)
    #: The inventory's site the verification records measured (needed when it has several).
    site: str | None = Field(default=None, max_length=120)


class KeyFigure(BaseModel):
    """One headline figure of a report, labelled as the report labels it."""

    label: str
    value: str
    unit: str
    note: str = ""


class ReportAnswer(BaseModel):
    id: int
    inventory_id: int | None
    inventory_name: str
    verification_ids: list[int]
    status: str
    progress_fraction: float
    message: str
    created_at: datetime
    finished_at: datetime | None
    #: Download paths, once the report is rendered.
    html_url: str | None = None
    pdf_url: str | None = None
    figures_url: str | None = None
    key_figures: list[KeyFigure] = []
    location_based_tco2: float | None = None
    market_based_tco2: float | None = None
    renewable_share_pct: float | None = None
    avoided_tco2: float | None = None


# -- validation: the command line's loaders, and no file on the server's disk ---------------------------------
def _refuse_files(model: Inventory, file: str) -> None:
    """Refuse, naming the field, an inventory that points at a file: the service reads none of its own disk
    for a user (it would read whatever the path names), and a stored inventory must stand on its own."""
    def refused(field: str, instead: str) -> InventoryError:
        return InventoryError(file, field, f"the service reads no file from its own disk: {instead}")

    for s_index, site in enumerate(model.sites):
        if site.electricity.from_run is not None:
            raise refused(f"sites[{s_index}].electricity.from_run", "give annual or monthly electricity")
        for g_index, generation in enumerate(site.onsite_generation):
            weather = generation.pv_model.weather if generation.pv_model is not None else None
            if weather is not None and weather.strip().lower() not in SHIPPED_WEATHER:
                raise refused(f"sites[{s_index}].onsite_generation[{g_index}].pv_model.weather",
                              f"name a shipped weather ({', '.join(SHIPPED_WEATHER)})")
    for index, saving in enumerate(model.savings):
        if saving.from_verification is not None:
            raise refused(f"savings[{index}].from_verification", "upload the record under verification results "
                                                                 "and choose it when rendering the report")
        if saving.from_bench is not None:
            raise refused(f"savings[{index}].from_bench", "give the saving as energy_saved")


def loaded_inventory(text: str, name: str, folder: Path) -> LoadedInventory:
    """The inventory YAML ``text`` (called ``name`` in messages) read and checked as ``greendc carbon`` reads a
    file, its relative paths resolving in ``folder``; bad input raises the CLI's one-line InventoryError."""
    try:
        data = parse_yaml(text, source=name)
    except InputFileError as error:
        raise InventoryError(error.file, error.field, error.message) from None
    model = parse_inventory(data, file=name)
    _refuse_files(model, name)
    return LoadedInventory(model=model, path=Path(name), base_dir=folder)


def checked_inventory(text: str, name: str) -> Inventory:
    """Validate an inventory completely, as ``greendc carbon`` does: parsed, checked, and its figures
    computed (a grid region without factors, a PV array without weather, ... are refused here)."""
    from greendc.carbon.calculate import calculate

    with tempfile.TemporaryDirectory(prefix="greendc-inventory-") as folder:
        loaded = loaded_inventory(text, name, Path(folder))
        calculate(loaded)
    return loaded.model


def _upload_text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InventoryError(name, "<file>", "not UTF-8 text") from None


def read_record(raw: bytes, name: str) -> tuple[Verification, str]:
    """A ``greendc verify --json`` record read by the verification part's own reader, and '' if a report may
    claim its saving, else why not. A bad record raises one InputFileError naming ``name`` and the field."""
    with tempfile.TemporaryDirectory(prefix="greendc-verification-") as folder:
        path = Path(folder) / "record.json"
        path.write_bytes(raw)
        try:
            record = read_verification(path)
        except InputFileError as error:
            raise InputFileError(name, error.field, error.message) from None
        try:
            read_claimable_verification(path)
        except InventoryError as error:
            return record, f"{error.field}: {error.message}"
    return record, ""


# -- rows to answers ------------------------------------------------------------------------------------------
def _inventory_answer(row: InventoryRecord, replaced: bool = False) -> InventoryAnswer:
    # Stored inventories were validated on upload; parsing again only reads the headline facts.
    model = parse_inventory(parse_yaml(row.inventory_yaml, source=row.name), file=row.name)
    return InventoryAnswer(id=row.id, name=row.name, organization=model.organization.name,
                           reporting_year=model.reporting_year, sites=[s.name for s in model.sites],
                           savings=len(model.savings), created_at=row.created_at, replaced=replaced)


def _day_of(interval_end: datetime) -> date:
    """The day an interval ending at ``interval_end`` lies in (an hour ending at midnight is the day before's)."""
    return (interval_end - timedelta(seconds=1)).date()


def _verification_answer(row: VerificationResult) -> VerificationAnswer:
    record = Verification.model_validate(row.record)
    return VerificationAnswer(
        id=row.id, name=row.name, method=record.method, ipmvp_option=record.ipmvp_option,
        baseline_controller=record.baseline_controller, candidate_controller=record.candidate_controller,
        reporting_first_day=_day_of(record.reporting_period.start),
        reporting_last_day=_day_of(record.reporting_period.end),
        avoided_mwh=record.avoided_kwh / 1000.0, avoided_mwh_lower=record.avoided_kwh_lower / 1000.0,
        avoided_mwh_upper=record.avoided_kwh_upper / 1000.0, confidence_pct=record.confidence,
        savings_pct=record.savings_fraction * 100.0, distinguishable_from_zero=record.distinguishable_from_zero,
        claimable=not row.not_claimable_because, not_claimable_because=row.not_claimable_because,
        created_at=row.created_at)


def _report_answer(job: JobRecord) -> ReportAnswer:
    parameters = job.parameters or {}
    answer = ReportAnswer(
        id=job.id, inventory_id=parameters.get("inventory_id"), inventory_name=parameters.get("inventory_name", ""),
        verification_ids=parameters.get("verification_ids", []), status=job.status,
        progress_fraction=job.progress_fraction, message=job.message, created_at=job.created_at,
        finished_at=job.finished_at)
    if job.status == "succeeded":
        answer.html_url = f"/api/reports/{job.id}/report.html"
        answer.pdf_url = f"/api/reports/{job.id}/report.pdf"
        answer.figures_url = f"/api/reports/{job.id}/figures.json"
        answer.key_figures = [KeyFigure(**card) for card in parameters.get("key_figures", [])]
        for key in ("location_based_tco2", "market_based_tco2", "renewable_share_pct", "avoided_tco2"):
            setattr(answer, key, parameters.get(key))
    return answer


def _number(value: float | None) -> str:
    """As the report's cards write a figure: whole numbers from 10,000 up, else one decimal."""
    if value is None:
        return "n/a"
    return f"{value:,.{0 if abs(value) >= 10_000 else 1}f}"


def _share_change(org: dict[str, Any]) -> str:
    """The renewable share's change on last year in percentage points, as the report's card says it."""
    change = (org.get("year_over_year") or {}).get("renewable_share")
    if not change or change.get("change") is None:
        return ""
    return f"{change['change'] * 100:+.1f} pp vs {org.get('year_over_year_previous_year')}"


def key_figures(figures: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of a report's ``figures.json``, with the cards the report shows for them (the
    same labels; the avoided emissions of the strongest kind of saving, as the report's card)."""
    org = figures["organization"]
    share = org.get("renewable_share")
    kinds = [k for k in KIND_WORDS if any(a.get("kind") == k for a in figures.get("avoided_emissions", []))]
    avoided = org.get(f"avoided_tco2_{kinds[0]}") if kinds else None
    cards = [
        {"label": "Scope 2 location-based", "value": _number(org.get("location_based_tco2")), "unit": "tCO2"},
        {"label": "Scope 2 market-based", "value": _number(org.get("market_based_tco2")), "unit": "tCO2"},
        {"label": "Renewable share of electricity", "unit": "%",
         "value": "n/a" if share is None else f"{share * 100:.1f}", "note": _share_change(org)},
    ]
    if not kinds:
        cards.append({"label": "Avoided emissions, GRI 305-5", "value": "none", "unit": "tCO2",
                      "note": "no savings in the inventory"})
    else:
        saved = org.get(f"energy_saved_mwh_{kinds[0]}") or 0.0
        # A simulated year is no reduction anyone measured: the report does not call it GRI 305-5 either.
        label = "Simulated avoided emissions" if kinds[0] == "simulated" else "Avoided emissions, GRI 305-5"
        cards.append({"label": label, "value": f"{avoided or 0.0:,.1f}", "unit": "tCO2",
                      "note": f"{KIND_WORDS[kinds[0]]}: from {saved:,.1f} MWh saved"})
    return {"key_figures": cards, "location_based_tco2": org.get("location_based_tco2"),
            "market_based_tco2": org.get("market_based_tco2"),
            "renewable_share_pct": None if share is None else share * 100.0, "avoided_tco2": avoided}


# -- storing ----------------------------------------------------------------------------------------------------
def _audit(db: Session, principal: Principal, action: str, target: str, **details: Any) -> None:
    db.add(AuditEvent(organization_id=principal.organization_id, user_id=principal.user_id, action=action,
                      target=target[:300], details=details))


def store_inventory(db: Session, principal: Principal, name: str, text: str) -> InventoryAnswer:
    """Validate and keep an inventory under ``name``, replacing the organization's inventory of that name."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise UsageError("name: 1 to 200 characters")
    checked_inventory(text, name)
    row = db.scalar(select(InventoryRecord).where(InventoryRecord.organization_id == principal.organization_id,
                                                  InventoryRecord.name == name))
    replaced = row is not None
    if row is None:
        row = InventoryRecord(organization_id=principal.organization_id, name=name, inventory_yaml=text)
        db.add(row)
    else:
        row.inventory_yaml = text
        row.created_at = utc_now()
    db.flush()
    _audit(db, principal, "inventory replaced" if replaced else "inventory uploaded", name, inventory_id=row.id)
    return _inventory_answer(row, replaced)


def store_verification(db: Session, principal: Principal, name: str, raw: bytes) -> VerificationAnswer:
    """Validate and keep a ``greendc verify --json`` record under ``name``."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise UsageError("name: 1 to 200 characters")
    record, refusal = read_record(raw, name)
    if db.scalar(select(VerificationResult.id).where(VerificationResult.organization_id == principal.organization_id,
                                                     VerificationResult.name == name)) is not None:
        # Two records of one name could not be told apart when choosing those a report adds.
        raise UsageError(f"name: a verification result named {name!r} is already kept; give another name")
    row = VerificationResult(organization_id=principal.organization_id, name=name,
                             record=json.loads(record.model_dump_json()), not_claimable_because=refusal)
    db.add(row)
    db.flush()
    _audit(db, principal, "verification uploaded", name, verification_id=row.id,
           avoided_kwh=record.avoided_kwh, claimable=not refusal)
    return _verification_answer(row)


def _own_inventory(db: Session, principal: Principal, inventory_id: int) -> InventoryRecord:
    return owned_row(db, principal, InventoryRecord, inventory_id, "inventory")


def _own_verification(db: Session, principal: Principal, verification_id: int) -> VerificationResult:
    return owned_row(db, principal, VerificationResult, verification_id, "verification result")


def _own_report(db: Session, principal: Principal, report_id: int) -> JobRecord:
    job = owned_row(db, principal, JobRecord, report_id, "report")
    if job.kind != REPORT_KIND:  # another kind of job is not a report, as any missing id is not
        raise HTTPException(404, f"no report {report_id}")
    return job


def _upload_name(given: str | None, file: UploadFile | None, fallback: str) -> str:
    """The name a form gave, else the uploaded file's name without its folder and suffix."""
    if given and given.strip():
        return given.strip()
    if file is not None and file.filename:
        return Path(file.filename.replace("\\", "/")).stem[:200] or fallback
    return fallback


# -- the API: inventories and verification records ---------------------------------------------------------------
@router.post("/api/inventories", response_model=InventoryAnswer, tags=["reports"])
def upload_inventory(body: InventoryUpload, db: Database, principal: Operator) -> InventoryAnswer:
    """Add an inventory (YAML text), or replace the one of the same name; refused (422) as ``greendc carbon``
    refuses a bad file, in one line naming the field."""
    return store_inventory(db, principal, body.name, body.inventory_yaml)


@router.post("/api/inventories/upload", response_model=InventoryAnswer, tags=["reports"])
async def upload_inventory_file(file: UploadFile, db: Database, principal: Operator,
                                name: Annotated[str | None, Form(max_length=200)] = None) -> InventoryAnswer:
    """Add or replace an inventory from an uploaded YAML file (named after the file unless ``name`` is given)."""
    name = _upload_name(name, file, "inventory")
    return store_inventory(db, principal, name, _upload_text(await file.read(), name))


@router.get("/api/inventories", response_model=list[InventoryAnswer], tags=["reports"])
def list_inventories(db: Database, principal: Viewer) -> list[InventoryAnswer]:
    rows = db.scalars(select(InventoryRecord).where(InventoryRecord.organization_id == principal.organization_id)
                      .order_by(InventoryRecord.name))
    return [_inventory_answer(row) for row in rows]


@router.get("/api/inventories/{inventory_id}", response_model=InventoryDetail, tags=["reports"])
def get_inventory(inventory_id: int, db: Database, principal: Viewer) -> InventoryDetail:
    row = _own_inventory(db, principal, inventory_id)
    return InventoryDetail(**_inventory_answer(row).model_dump(), inventory_yaml=row.inventory_yaml)


@router.post("/api/verifications", response_model=VerificationAnswer, status_code=201, tags=["reports"])
def upload_verification(body: VerificationUpload, db: Database, principal: Operator) -> VerificationAnswer:
    """Keep a ``greendc verify --json`` record; a record that is not one, or not consistent, is refused (422)."""
    return store_verification(db, principal, body.name, json.dumps(body.record).encode())


@router.post("/api/verifications/upload", response_model=VerificationAnswer, status_code=201, tags=["reports"])
async def upload_verification_file(file: UploadFile, db: Database, principal: Operator,
                                   name: Annotated[str | None, Form(max_length=200)] = None) -> VerificationAnswer:
    """Keep a ``greendc verify --json`` record uploaded as its file."""
    return store_verification(db, principal, _upload_name(name, file, "verification"), await file.read())


@router.get("/api/verifications", response_model=list[VerificationAnswer], tags=["reports"])
def list_verifications(db: Database, principal: Viewer) -> list[VerificationAnswer]:
    rows = db.scalars(select(VerificationResult).where(
        VerificationResult.organization_id == principal.organization_id).order_by(VerificationResult.id.desc()))
    return [_verification_answer(row) for row in rows]


@router.get("/api/verifications/{verification_id}", response_model=VerificationDetail, tags=["reports"])
def get_verification(verification_id: int, db: Database, principal: Viewer) -> VerificationDetail:
    row = _own_verification(db, principal, verification_id)
    return VerificationDetail(**_verification_answer(row).model_dump(), record=row.record)


# -- reports: prepared at once (bad input is a 422 before any job), rendered in the background ------------------
def _report_input(folder: Path, parameters: dict[str, Any]) -> LoadedInventory:
    """The inventory of a report job, with its verification records added as verified savings, from the
    job's input folder (written when it was submitted, so a later replacement does not change it)."""
    from greendc.workflows.run_inventory import with_verifications

    source = folder / "input"
    name = parameters["inventory_name"]
    loaded = loaded_inventory((source / "inventory.yaml").read_text(encoding="utf-8"), name, source)
    records = [source / "verifications" / f"{vid}.json" for vid in parameters.get("verification_ids", [])]
    if not records:
        return loaded
    try:
        return with_verifications(loaded, records, parameters.get("site"))
    except UsageError as error:
        # The command line's option is --site; here it is the request's field.
        raise UsageError(str(error).replace("--site:", "site:", 1)) from None
    except InventoryError as error:
        # Name the record as the user knows it, not by the job folder's path.
        shown = parameters.get("verification_names", {}).get(Path(error.file).stem, error.file)
        raise InventoryError(shown, error.field, error.message) from None


def submit_report(db: Session, settings: ServiceSettings, principal: Principal, body: ReportRequest) -> JobRecord:
    """A queued report job for ``body``, its input written and checked (raises GreendcError for bad input)."""
    inventory = _own_inventory(db, principal, body.inventory_id)
    verifications = [_own_verification(db, principal, vid) for vid in dict.fromkeys(body.verification_ids)]
    parameters = {"inventory_id": inventory.id, "inventory_name": inventory.name,
                  "verification_ids": [v.id for v in verifications],
                  "verification_names": {str(v.id): v.name for v in verifications}, "site": body.site}
    job = submit_job(db, principal, REPORT_KIND, parameters)
    # The input is kept apart from the job's own folder, which the queue makes only when the job runs.
    folder = new_folder(settings.data_dir, principal.organization_id, "reports", str(job.id))
    job.parameters = {**parameters, "folder": relative_to_store(settings.data_dir, folder)}
    try:
        (folder / "input" / "verifications").mkdir(parents=True)
        (folder / "input" / "inventory.yaml").write_text(inventory.inventory_yaml, encoding="utf-8")
        for row in verifications:
            (folder / "input" / "verifications" / f"{row.id}.json").write_text(json.dumps(row.record),
                                                                                encoding="utf-8")
        _report_input(folder, parameters)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    _audit(db, principal, "report requested", inventory.name, report_id=job.id,
           verification_ids=parameters["verification_ids"])
    return job


def _build_report(job: tuple[str, dict[str, Any], str], _progress: Any = None) -> None:
    """In a process of its own: ``greendc report`` of a report job's input folder into ``out``."""
    from greendc.report import build_report

    folder, parameters, out = job
    build_report(_report_input(Path(folder), parameters), Path(out))


def render_report(context: JobContext) -> JobResult:
    """The ``report`` job kind: ``greendc report`` of the job's input folder into ``report/`` of its folder,
    and the report's key figures for its pages. Bad input or a failed rendering raises the one line."""
    from greendc.workflows.executor import LocalProcessExecutor

    context.progress(0.1, "rendering the report")
    out = context.folder / "report"
    # Charts and the PDF take seconds of CPU: in a spawned process they never hold the service's GIL (its
    # pages stay quick while a report renders), and a crash in a native library fails only this job.
    job = (str(context.settings.data_dir / context.parameters["folder"]), context.parameters, str(out))
    LocalProcessExecutor(workers=1).run(_build_report, [job])
    figures = json.loads((out / "figures.json").read_text(encoding="utf-8"))
    return JobResult(result_folder=out, parameters=key_figures(figures))


register_job_kind(REPORT_KIND, render_report)


def _start(request: Request) -> None:
    """Tell the service's job queue a report is waiting (its row committed first)."""
    request.app.state.jobs.wake()


@router.post("/api/reports", response_model=ReportAnswer, status_code=202, tags=["reports"])
def request_report(body: ReportRequest, request: Request, db: Database, principal: Operator) -> ReportAnswer:
    """Render the ESG report of an inventory (with verification records as verified savings) as a job; poll
    ``GET /api/reports/{id}`` until it has succeeded, then download it. Bad input is a 422 at once."""
    job = submit_report(db, request.app.state.settings, principal, body)
    db.commit()
    _start(request)
    return _report_answer(job)


@router.get("/api/reports", response_model=list[ReportAnswer], tags=["reports"])
def list_reports(db: Database, principal: Viewer) -> list[ReportAnswer]:
    return [_report_answer(job) for job in _reports(db, principal)]


def _reports(db: Session, principal: Principal, limit: int = 200) -> list[JobRecord]:
    return list(db.scalars(select(JobRecord).where(JobRecord.organization_id == principal.organization_id,
                                                   JobRecord.kind == REPORT_KIND)
                           .order_by(JobRecord.id.desc()).limit(limit)))


@router.get("/api/reports/{report_id}", response_model=ReportAnswer, tags=["reports"])
def get_report(report_id: int, db: Database, principal: Viewer) -> ReportAnswer:
    return _report_answer(_own_report(db, principal, report_id))


def _download(request: Request, db: Session, principal: Principal, report_id: int, file_name: str,
              attachment: bool) -> FileResponse:
    job = _own_report(db, principal, report_id)
    if job.status != "succeeded" or not job.result_path:
        raise HTTPException(404, f"report {report_id} is not rendered ({job.status})")
    path = request.app.state.settings.data_dir / job.result_path / file_name
    if not path.is_file():
        raise HTTPException(404, f"report {report_id} has no {file_name}")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", str(job.parameters.get("inventory_name", "report"))).strip("-")
    response = FileResponse(path, media_type=DOWNLOADS[file_name], filename=f"{stem or 'report'}-{file_name}",
                            content_disposition_type="attachment" if attachment else "inline")
    # The report is self-contained (styles inline, charts as data URIs): nothing else may load or run in it.
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _file_responses(kind: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI description of a download of content type ``kind``."""
    return {200: {"content": {kind: {}}, "description": "the file"}}


@router.get("/api/reports/{report_id}/report.html", response_class=FileResponse, tags=["reports"],
            responses=_file_responses("text/html"))
def report_html(report_id: int, request: Request, db: Database, principal: Viewer) -> FileResponse:
    """The report as one self-contained HTML page (shown in the browser)."""
    return _download(request, db, principal, report_id, "report.html", attachment=False)


@router.get("/api/reports/{report_id}/report.pdf", response_class=FileResponse, tags=["reports"],
            responses=_file_responses("application/pdf"))
def report_pdf(report_id: int, request: Request, db: Database, principal: Viewer) -> FileResponse:
    """The report as PDF (downloaded)."""
    return _download(request, db, principal, report_id, "report.pdf", attachment=True)


@router.get("/api/reports/{report_id}/figures.json", response_class=FileResponse, tags=["reports"],
            responses=_file_responses("application/json"))
def report_figures(report_id: int, request: Request, db: Database, principal: Viewer) -> FileResponse:
    """Every figure of the report with its inputs, factor and source (``greendc carbon --json``)."""
    return _download(request, db, principal, report_id, "figures.json", attachment=True)


# -- the report page ------------------------------------------------------------------------------------------
DONE_WORDS = {"inventory-added": "Inventory added.", "inventory-replaced": "Inventory replaced.",
              "verification-added": "Verification result added."}


def _page_context(db: Session, principal: Principal, **values: Any) -> dict[str, Any]:
    inventories = db.scalars(select(InventoryRecord).where(
        InventoryRecord.organization_id == principal.organization_id).order_by(InventoryRecord.name))
    verifications = db.scalars(select(VerificationResult).where(
        VerificationResult.organization_id == principal.organization_id).order_by(VerificationResult.id.desc()))
    return {"principal": principal, "active": "/reports", "may_act": principal.may("operator"),
            "inventories": [_inventory_answer(row) for row in inventories],
            "verifications": [_verification_answer(row) for row in verifications],
            "problem": None, "done": None, "inventory_form": {}, "verification_form": {},
            **_list_context(db, principal), **values}


def _list_context(db: Session, principal: Principal, problem: str | None = None) -> dict[str, Any]:
    reports = [_report_answer(job) for job in _reports(db, principal, limit=50)]
    latest = next((r for r in reports if r.status == "succeeded"), None)
    return {"reports": reports, "latest": latest, "list_problem": problem,
            "running": any(r.status in ("queued", "running") for r in reports)}


def _page(request: Request, db: Session, principal: Principal, status_code: int = 200, **values: Any) -> Response:
    return request.app.state.templates.TemplateResponse(request, "reports.html",
                                                        _page_context(db, principal, **values),
                                                        status_code=status_code)


@router.get("/reports", response_class=HTMLResponse, include_in_schema=False)
def reports_page(request: Request, db: Database, principal: Viewer, done: str | None = None) -> Response:
    # Only fixed words are shown for ``done``: a link cannot make the page say what its sender wants.
    return _page(request, db, principal, done=DONE_WORDS.get(done or ""))


@router.get("/reports/list", response_class=HTMLResponse, include_in_schema=False)
def reports_list(request: Request, db: Database, principal: Viewer) -> Response:
    """The reports table and the latest report's key figures (HTMX polls it while a report renders)."""
    return request.app.state.templates.TemplateResponse(
        request, "report_list.html", {"principal": principal, **_list_context(db, principal)})


async def _form_upload(file: UploadFile | None, text: str | None, name: str) -> bytes:
    """The uploaded file's bytes, else the pasted text's; a form with neither is refused naming the field."""
    if file is not None and file.filename:
        return await file.read()
    if text and text.strip():
        return text.encode("utf-8")
    raise UsageError(f"{name}: paste the file's text or choose a file to upload")


@router.post("/reports/inventories", response_class=HTMLResponse, include_in_schema=False)
async def inventory_form(request: Request, db: Database, principal: Operator,
                         name: Annotated[str | None, Form(max_length=200)] = None,
                         inventory_yaml: Annotated[str | None, Form()] = None,
                         file: UploadFile | None = None) -> Response:
    label = _upload_name(name, file, "inventory")
    try:
        raw = await _form_upload(file, inventory_yaml, "inventory_yaml")
        answer = store_inventory(db, principal, label, _upload_text(raw, label))
    except GreendcError as error:
        # The form comes back as it was sent, so a fix is one edit, not a new paste.
        return _page(request, db, principal, status_code=422, problem=str(error),
                     inventory_form={"name": name or "", "text": inventory_yaml or ""})
    return RedirectResponse(f"/reports?done=inventory-{'replaced' if answer.replaced else 'added'}", 303)


@router.post("/reports/verifications", response_class=HTMLResponse, include_in_schema=False)
async def verification_form(request: Request, db: Database, principal: Operator,
                            name: Annotated[str | None, Form(max_length=200)] = None,
                            record_json: Annotated[str | None, Form()] = None,
                            file: UploadFile | None = None) -> Response:
    label = _upload_name(name, file, "verification")
    try:
        store_verification(db, principal, label, await _form_upload(file, record_json, "record_json"))
    except GreendcError as error:
        return _page(request, db, principal, status_code=422, problem=str(error),
                     verification_form={"name": name or "", "text": record_json or ""})
    return RedirectResponse("/reports?done=verification-added", 303)


@router.post("/reports/render", response_class=HTMLResponse, include_in_schema=False)
def render_form(request: Request, db: Database, principal: Operator,
                inventory_id: Annotated[int, Form()],
                verification_ids: Annotated[list[int] | None, Form()] = None,
                site: Annotated[str | None, Form(max_length=120)] = None) -> Response:
    """The "Render report" button: starts the job and answers the reports table (HTMX swaps it in)."""
    problem = None
    try:
        body = ReportRequest(inventory_id=inventory_id, verification_ids=verification_ids or [],
                             site=site.strip() if site and site.strip() else None)
        submit_report(db, request.app.state.settings, principal, body)
        db.commit()
        _start(request)
    except GreendcError as error:
        db.rollback()
        problem = str(error)
    return request.app.state.templates.TemplateResponse(
        request, "report_list.html", {"principal": principal, **_list_context(db, principal, problem)})
