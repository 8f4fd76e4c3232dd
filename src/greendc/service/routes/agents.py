"""Live agents: their registration, the telemetry and decisions they report, the operators' approvals of
advisory recommendations, and the kill switch (hand control back to the baseline rule).

An agent (``greendc agent ... --service URL --token-file F``) fetches its control state at the start of every
control step (``GET /api/agents/{id}/control``) and posts each step afterwards (``POST .../steps``); a step is
keyed by (agent, step time), so a step sent again after a lost answer is stored and counted once. In advisory
mode each decision is a pending recommendation; an operator approves or rejects it, and an approved one is
handed to the agent once (``delivered_at``), which writes its setpoints as closed loop would. A
recommendation not decided within :data:`RECOMMENDATION_STEPS` control steps expires: the building has moved
on since, and setpoints chosen for an older state are not what the ai would choose now.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from greendc.service.database import (
    AgentRecord,
    AuditEvent,
    DecisionRecord,
    SiteRecord,
    TelemetryRow,
    User,
    utc_now,
)
from greendc.service.security import Principal, database, owned_row, requires, valid_id
from greendc.telemetry.sensors import FACILITY, PHYSICAL_RANGE, ZONE, column_kind

router = APIRouter()
Database = Annotated[Session, Depends(database, scope="function")]
Viewer = Annotated[Principal, Depends(requires("viewer"))]
Operator = Annotated[Principal, Depends(requires("operator"))]

#: Steps one POST may carry: a day of 15-minute steps, plus room for an agent catching up after an outage.
MAX_STEPS_PER_BATCH = 200
#: A pending recommendation expires after this many control steps of its agent.
RECOMMENDATION_STEPS = 4
#: The inlet chart's and the decision log's length, in control steps.
LIVE_STEPS = 96
INLET_BAND_C = (18.0, 27.0)
_ZONE_COLUMNS = frozenset(ZONE._fields)
_FACILITY_COLUMNS = frozenset(FACILITY._fields)
#: The setpoints' words, as the report and the CLI say them.
SETPOINT_WORDS = {ZONE.supply_air_setpoint_c.column: "supply air", ZONE.zone_cooling_setpoint_c.column: "zone cooling",
                  FACILITY.chilled_water_setpoint_c.column: "chilled water"}
GUARD_WORDS = {"none": "normal", "kill-switch": "kill switch", "device-unreachable": "device unreachable",
               "stale-values": "stale values", "write-rejected": "write rejected",
               "device-restarted": "device restarted", "missing-input": "missing input",
               "out-of-range": "out of range", "stuck-sensor": "stuck sensor",
               "implausible-sensor": "implausible sensor"}


def check_column(column: str) -> str:
    """A telemetry or setpoint column as the sensor registry names it (``West Hall/inlet_temp_c``, ``pue``)."""
    kind = column_kind(column)
    zoned = "/" in column
    if kind not in PHYSICAL_RANGE or (zoned and kind not in _ZONE_COLUMNS) or (
            not zoned and kind not in _FACILITY_COLUMNS) or (zoned and not column.rsplit("/", 1)[0].strip()):
        raise ValueError(f"unknown column {column[:80]!r}: not a sensor or setpoint of greendc.telemetry")
    return column


def _as_utc(time: datetime) -> datetime:
    """A step's time; the building's clock has no time zone, and is stored as UTC as it reads."""
    return time.replace(tzinfo=UTC) if time.tzinfo is None else time.astimezone(UTC)


def _check_values(values: dict[str, float | None]) -> dict[str, float | None]:
    for column, value in values.items():
        check_column(column)
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{column[:80]}: not a finite number")
    return values


# -- request and answer bodies ---------------------------------------------------------------------------------
class NewAgent(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    site_id: int
    mode: Literal["read-only", "advisory", "closed-loop"]
    controller: str = Field(min_length=1, max_length=50)


class AgentAnswer(BaseModel):
    id: int
    name: str
    site_id: int | None
    mode: str
    controller: str
    last_seen_at: datetime | None
    last_guard: str | None
    kill_switch: bool
    kill_switch_changed_by: str | None
    kill_switch_changed_at: datetime | None


class TelemetryStep(BaseModel):
    """One control step's readings: values by telemetry column (None: not read), and the agent's link guard."""

    time: datetime
    values: dict[str, float | None] = Field(max_length=2000)
    agent_guard: str = Field(default="none", max_length=50)

    _values = field_validator("values")(_check_values)
    _time = field_validator("time")(_as_utc)


class DecisionIn(BaseModel):
    """A controller's decision at a step: the setpoints it chose (C, by column), why, and its guard."""

    time: datetime
    setpoints: dict[str, float | None] = Field(max_length=500)
    explanation: str = Field(default="", max_length=2000)
    guard: str = Field(default="none", max_length=50)
    details: dict[str, Any] = Field(default_factory=dict, max_length=50)

    _setpoints = field_validator("setpoints")(_check_values)
    _time = field_validator("time")(_as_utc)


class StepBatch(BaseModel):
    telemetry: list[TelemetryStep] = Field(default_factory=list, max_length=MAX_STEPS_PER_BATCH)
    decisions: list[DecisionIn] = Field(default_factory=list, max_length=MAX_STEPS_PER_BATCH)


class Recommendation(BaseModel):
    id: int
    agent_id: int
    step_time: datetime
    setpoints: dict[str, float | None]
    explanation: str
    status: str
    decided_by: str | None
    decided_at: datetime | None
    delivered_at: datetime | None


class ControlState(BaseModel):
    """What the agent must obey now: the kill switch, and the approved recommendations to write."""

    kill_switch: bool
    approved: list[Recommendation]


class StepsAnswer(ControlState):
    telemetry_stored: int
    decisions_stored: int


class KillSwitch(BaseModel):
    on: bool


# -- helpers ---------------------------------------------------------------------------------------------------
def _user_name(db: Session, user_id: int | None) -> str | None:
    user = None if user_id is None else db.get(User, user_id)
    return None if user is None else user.name


def _agent_answer(db: Session, agent: AgentRecord) -> AgentAnswer:
    return AgentAnswer(id=agent.id, name=agent.name, site_id=agent.site_id, mode=agent.mode,
                       controller=agent.controller, last_seen_at=agent.last_seen_at, last_guard=agent.last_guard,
                       kill_switch=agent.kill_switch,
                       kill_switch_changed_by=_user_name(db, agent.kill_switch_changed_by),
                       kill_switch_changed_at=agent.kill_switch_changed_at)


def _recommendation(db: Session, row: DecisionRecord) -> Recommendation:
    return Recommendation(id=row.id, agent_id=row.agent_id, step_time=row.step_time, setpoints=row.setpoints,
                          explanation=row.explanation, status=row.status, decided_by=_user_name(db, row.decided_by),
                          decided_at=row.decided_at, delivered_at=row.delivered_at)


def _agent(db: Session, principal: Principal, agent_id: int) -> AgentRecord:
    """The agent of the principal's organization (another organization's answers 404, as a missing one)."""
    return owned_row(db, principal, AgentRecord, agent_id, "agent")


def _site(db: Session, principal: Principal, site_id: int) -> SiteRecord:
    return owned_row(db, principal, SiteRecord, site_id, "site")


def _steps_since(db: Session, agent_id: int, step_time: datetime) -> int:
    return db.scalar(select(func.count()).select_from(TelemetryRow).where(
        TelemetryRow.agent_id == agent_id, TelemetryRow.step_time > step_time)) or 0


def _expire_old(db: Session, agent_id: int) -> None:
    """Mark the agent's recommendations older than :data:`RECOMMENDATION_STEPS` steps expired: the pending
    ones, and the approved ones not yet handed out (held back by the kill switch, or the agent away): setpoints
    chosen for the building of an hour ago are not to be written now."""
    for row in db.scalars(select(DecisionRecord).where(
            DecisionRecord.agent_id == agent_id, (DecisionRecord.status == "pending") | (
                (DecisionRecord.status == "approved") & DecisionRecord.delivered_at.is_(None)))):
        if _steps_since(db, agent_id, row.step_time) >= RECOMMENDATION_STEPS:
            row.status = "expired"


def _control_state(db: Session, agent: AgentRecord) -> ControlState:
    """The kill switch and the approved recommendations not yet handed out (marked delivered now)."""
    agent.last_seen_at = utc_now()
    _expire_old(db, agent.id)
    approved = list(db.scalars(select(DecisionRecord).where(
        DecisionRecord.agent_id == agent.id, DecisionRecord.status == "approved",
        DecisionRecord.delivered_at.is_(None)).order_by(DecisionRecord.step_time)))
    if agent.kill_switch:
        # Under the kill switch the baseline rule is in charge: nothing of the ai's is written (an approval
        # waits, and expires with its steps).
        approved = []
    now = utc_now()
    for row in approved:
        row.delivered_at = now
    db.flush()
    return ControlState(kill_switch=agent.kill_switch, approved=[_recommendation(db, row) for row in approved])


# -- the API ---------------------------------------------------------------------------------------------------
@router.post("/api/agents", response_model=AgentAnswer, status_code=201, tags=["agents"])
def register_agent(body: NewAgent, db: Database, principal: Operator) -> AgentAnswer:
    """Register a live agent on one of the organization's sites."""
    site = _site(db, principal, body.site_id)
    if db.scalar(select(AgentRecord).where(AgentRecord.organization_id == principal.organization_id,
                                           AgentRecord.name == body.name)) is not None:
        raise HTTPException(422, f"name: an agent named {body.name!r} exists")
    agent = AgentRecord(organization_id=principal.organization_id, site_id=site.id, name=body.name,
                        mode=body.mode, controller=body.controller)
    db.add(agent)
    db.flush()
    db.add(AuditEvent(organization_id=principal.organization_id, user_id=principal.user_id,
                      action="agent registered", target=body.name,
                      details={"site": site.name, "mode": body.mode, "controller": body.controller}))
    return _agent_answer(db, agent)


@router.get("/api/agents", response_model=list[AgentAnswer], tags=["agents"])
def list_agents(db: Database, principal: Viewer, site_id: int | None = None) -> list[AgentAnswer]:
    """The organization's agents (of one site with ``site_id``)."""
    query = select(AgentRecord).where(AgentRecord.organization_id == principal.organization_id)
    if site_id is not None:
        query = query.where(AgentRecord.site_id == site_id)
    return [_agent_answer(db, agent) for agent in db.scalars(query.order_by(AgentRecord.name))]


@router.get("/api/agents/{agent_id}", response_model=AgentAnswer, tags=["agents"])
def get_agent(agent_id: int, db: Database, principal: Viewer) -> AgentAnswer:
    return _agent_answer(db, _agent(db, principal, agent_id))


@router.get("/api/agents/{agent_id}/control", response_model=ControlState, tags=["agents"])
def control_state(agent_id: int, db: Database, principal: Operator) -> ControlState:
    """What the agent must obey at the start of its step: the kill switch and the approvals to write (handed
    out once)."""
    return _control_state(db, _agent(db, principal, agent_id))


@router.post("/api/agents/{agent_id}/steps", response_model=StepsAnswer, tags=["agents"])
def post_steps(agent_id: int, body: StepBatch, db: Database, principal: Operator) -> StepsAnswer:
    """Store a batch of steps; a step already stored (same agent and time) is not stored again."""
    agent = _agent(db, principal, agent_id)
    times = [step.time for step in body.telemetry]
    known = set(db.scalars(select(TelemetryRow.step_time).where(
        TelemetryRow.agent_id == agent.id, TelemetryRow.step_time.in_(times)))) if times else set()
    stored = 0
    for step in sorted(body.telemetry, key=lambda s: s.time):
        if step.time in known:
            continue
        known.add(step.time)
        db.add(TelemetryRow(agent_id=agent.id, step_time=step.time, values=step.values, guard=step.agent_guard))
        agent.last_guard = step.agent_guard
        stored += 1
    decided = [d.time for d in body.decisions]
    known_decisions = set(db.scalars(select(DecisionRecord.step_time).where(
        DecisionRecord.agent_id == agent.id, DecisionRecord.step_time.in_(decided)))) if decided else set()
    decisions = 0
    status = "pending" if agent.mode == "advisory" else "logged"
    for decision in body.decisions:
        if decision.time in known_decisions:
            continue
        known_decisions.add(decision.time)
        db.add(DecisionRecord(agent_id=agent.id, step_time=decision.time, setpoints=decision.setpoints,
                              explanation=decision.explanation, status=status,
                              details={**decision.details, "guard": decision.guard}))
        decisions += 1
    db.flush()
    _expire_old(db, agent.id)
    state = _control_state(db, agent)
    return StepsAnswer(**state.model_dump(), telemetry_stored=stored, decisions_stored=decisions)


def _decide(db: Session, principal: Principal, recommendation_id: int, verdict: str) -> Recommendation:
    missing = HTTPException(404, f"no recommendation {recommendation_id}")
    if not valid_id(recommendation_id):
        raise missing
    # A recommendation belongs to an organization through its agent, so owned_row cannot find it.
    row = db.scalar(select(DecisionRecord).join(AgentRecord, AgentRecord.id == DecisionRecord.agent_id).where(
        DecisionRecord.id == recommendation_id, AgentRecord.organization_id == principal.organization_id))
    if row is None:
        raise missing
    _expire_old(db, row.agent_id)
    if row.status == "expired":
        raise HTTPException(409, f"recommendation {row.id} expired: more than {RECOMMENDATION_STEPS} control "
                                 "steps have passed since it was made, and the building has moved on")
    if row.status != "pending":
        raise HTTPException(409, f"recommendation {row.id} is {row.status}, not pending")
    row.status, row.decided_by, row.decided_at = verdict, principal.user_id, utc_now()
    db.add(AuditEvent(organization_id=principal.organization_id, user_id=principal.user_id,
                      action=f"recommendation {verdict}", target=f"recommendation {row.id}",
                      details={"agent_id": row.agent_id, "setpoints": row.setpoints}))
    db.flush()
    return _recommendation(db, row)


@router.post("/api/recommendations/{recommendation_id}/approve", response_model=Recommendation, tags=["agents"])
def approve(recommendation_id: int, db: Database, principal: Operator) -> Recommendation:
    """Approve a pending recommendation: its agent writes the setpoints at its next step."""
    return _decide(db, principal, recommendation_id, "approved")


@router.post("/api/recommendations/{recommendation_id}/reject", response_model=Recommendation, tags=["agents"])
def reject(recommendation_id: int, db: Database, principal: Operator) -> Recommendation:
    return _decide(db, principal, recommendation_id, "rejected")


@router.get("/api/agents/{agent_id}/recommendations", response_model=list[Recommendation], tags=["agents"])
def recommendations(agent_id: int, db: Database, principal: Viewer, status: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[Recommendation]:
    """The agent's decisions, newest first (of one status with ``status``: pending, approved, ...)."""
    agent = _agent(db, principal, agent_id)
    _expire_old(db, agent.id)
    query = select(DecisionRecord).where(DecisionRecord.agent_id == agent.id)
    if status is not None:
        query = query.where(DecisionRecord.status == status)
    rows = db.scalars(query.order_by(DecisionRecord.step_time.desc()).limit(limit))
    return [_recommendation(db, row) for row in rows]


@router.post("/api/agents/{agent_id}/kill-switch", response_model=AgentAnswer, tags=["agents"])
def kill_switch(agent_id: int, body: KillSwitch, db: Database, principal: Operator) -> AgentAnswer:
    """Hand control back to the baseline rule (on) or to the agent's controller (off); the agent obeys at the
    start of its next step."""
    agent = _agent(db, principal, agent_id)
    agent.kill_switch = body.on
    agent.kill_switch_changed_by, agent.kill_switch_changed_at = principal.user_id, utc_now()
    db.add(AuditEvent(organization_id=principal.organization_id, user_id=principal.user_id,
                      action="kill switch on" if body.on else "kill switch off", target=agent.name))
    db.flush()
    return _agent_answer(db, agent)


# -- the site's live partial -----------------------------------------------------------------------------------
def setpoints_in_words(setpoints: dict[str, float | None]) -> str:
    """``West Hall/supply_air_setpoint_c: 21.5`` as "West Hall supply air 21.5 C"."""
    words = []
    for column, value in sorted(setpoints.items()):
        if value is None:
            continue
        zone, _, kind = column.rpartition("/")
        label = SETPOINT_WORDS.get(kind, kind.replace("_", " ").removesuffix(" c"))
        words.append(f"{zone + ' ' if zone else ''}{label} {value:.1f} C")
    return ", ".join(words) or "no setpoint"


def _inlet_series(rows: list[TelemetryRow]) -> dict[str, list[Any]]:
    """The hottest and coolest measured server inlet at each step, C (None where no inlet was read)."""
    labels, hottest, coolest = [], [], []
    for row in rows:
        inlets = [v for k, v in row.values.items() if column_kind(k) == ZONE.inlet_temp_c.column and v is not None]
        labels.append(row.step_time.strftime("%d %b %H:%M"))
        hottest.append(round(max(inlets), 2) if inlets else None)
        coolest.append(round(min(inlets), 2) if inlets else None)
    return {"labels": labels, "hottest": hottest, "coolest": coolest,
            "band_min": INLET_BAND_C[0], "band_max": INLET_BAND_C[1]}


def _agent_view(db: Session, agent: AgentRecord) -> dict[str, Any]:
    _expire_old(db, agent.id)
    rows = list(db.scalars(select(TelemetryRow).where(TelemetryRow.agent_id == agent.id)
                           .order_by(TelemetryRow.step_time.desc()).limit(LIVE_STEPS)))[::-1]
    decisions = list(db.scalars(select(DecisionRecord).where(DecisionRecord.agent_id == agent.id)
                                .order_by(DecisionRecord.step_time.desc()).limit(20)))
    series = _inlet_series(rows)
    latest = [v for v in series["hottest"] if v is not None]
    return {"agent": _agent_answer(db, agent), "guard_words": GUARD_WORDS.get(agent.last_guard or "none",
                                                                             agent.last_guard or "none"),
            "chart_json": json.dumps(series), "hottest_c": latest[-1] if latest else None,
            "coolest_c": next((v for v in reversed(series["coolest"]) if v is not None), None),
            "decisions": [{"id": d.id, "time": d.step_time, "status": d.status, "words": setpoints_in_words(
                d.setpoints), "explanation": d.explanation, "decided_by": _user_name(db, d.decided_by),
                "decided_at": d.decided_at} for d in decisions],
            "pending": [d for d in decisions if d.status == "pending"]}


@router.get("/sites/{site_id}/live", response_class=HTMLResponse, include_in_schema=False)
def site_live(site_id: int, request: Request, db: Database, principal: Viewer) -> Response:
    """The site's agents as a partial (the site page loads it every 5 s); standalone it needs no page."""
    site = _site(db, principal, site_id)
    agents = db.scalars(select(AgentRecord).where(AgentRecord.organization_id == principal.organization_id,
                                                  AgentRecord.site_id == site.id).order_by(AgentRecord.name))
    # Through HTMX (the site page, or this partial's own refresh) the partial alone; opened directly, a page.
    template = "_site_live.html" if request.headers.get("hx-request") else "_agent_live_page.html"
    return request.app.state.templates.TemplateResponse(request, template, {
        "principal": principal, "site": site, "may_act": principal.may("operator"), "active": "/",
        "agents": [_agent_view(db, agent) for agent in agents], "band": INLET_BAND_C})


@router.post("/sites/{site_id}/live/agents/{agent_id}/kill-switch", response_class=HTMLResponse,
             include_in_schema=False)
def site_live_kill_switch(site_id: int, agent_id: int, request: Request, db: Database, principal: Operator,
                          on: Annotated[bool, Query()]) -> Response:
    """The partial's one-click kill switch (HTMX); answers the partial again."""
    kill_switch(agent_id, KillSwitch(on=on), db, principal)
    return site_live(site_id, request, db, principal)


@router.post("/sites/{site_id}/live/recommendations/{recommendation_id}/{verdict}", response_class=HTMLResponse,
             include_in_schema=False)
def site_live_decide(site_id: int, recommendation_id: int, verdict: Literal["approve", "reject"], request: Request,
                     db: Database, principal: Operator) -> Response:
    """The partial's Approve / Reject buttons (HTMX); a recommendation that expired says so in the partial."""
    problem = None
    try:
        _decide(db, principal, recommendation_id, "approved" if verdict == "approve" else "rejected")
    except HTTPException as refused:
        if refused.status_code != 409:
            raise
        problem = refused.detail
    answer = site_live(site_id, request, db, principal)
    if problem is not None:
        answer = request.app.state.templates.TemplateResponse(request, "_site_live.html", {
            **answer.context, "problem": problem})  # type: ignore[attr-defined]
    return answer
