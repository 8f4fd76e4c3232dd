"""The agent's link to the greendc service: its control state fetched at the start of every step, its steps
posted after.

- At the start of each control step, before the controller decides, :meth:`ServiceLink.control` fetches
  ``GET /api/agents/{id}/control``: the kill switch and the approved recommendations not yet delivered. The
  kill switch is the ai's own (``AIController.kill_switch``, a file whose existence hands control to the
  baseline rule): the link creates the file when the operator turns the switch on and removes it when they turn
  it off, so a switch flipped during step k is obeyed at step k+1 at the latest, by the same mechanism as
  ``greendc simulate --kill-switch``.
- After each step :meth:`ServiceLink.record` queues its telemetry row and decisions, and a background send
  posts what is queued (``POST /api/agents/{id}/steps``, at most :data:`BATCH_STEPS` steps a request). The
  service stores a step once per (agent, time), so a step sent again after a lost answer counts once.
- A service that does not answer never stops or stalls the agent: every request has a bounded timeout, one line
  is logged when the link is lost and one when it is back, the control state last fetched stays in force (a
  kill switch on stays on), and unsent steps wait in a bounded queue (:data:`MAX_QUEUED_STEPS`, over ten
  weeks of 15-minute steps) and are sent, oldest first, when the service answers again.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greendc.telemetry.contract import Action
from greendc.telemetry.sensors import FACILITY, ZONE

#: Steps per POST (the service's limit is 200).
BATCH_STEPS = 100
#: Steps kept while the service does not answer; past it the oldest are dropped (the agent's own Parquet
#: files still hold them), with one line said.
MAX_QUEUED_STEPS = 7_000
#: Each request's timeout, s: short against a control step, so a hung service costs a step little.
REQUEST_TIMEOUT_S = 3.0
#: The file the link holds for the ai's kill switch, in the agent's output folder.
KILL_SWITCH_FILE = "service-kill-switch"


@dataclass(frozen=True)
class ServiceConnection:
    """Where the service is and who the agent is there."""

    url: str
    token: str
    agent_id: int
    timeout_s: float = REQUEST_TIMEOUT_S


@dataclass
class LinkControl:
    """The control state the agent obeys during a step."""

    kill_switch: bool = False
    #: The approved recommendations to write now: (recommendation id, its setpoints by column, C).
    approved: list[tuple[int, dict[str, float]]] = field(default_factory=list)


def action_of(setpoints: dict[str, float]) -> Action:
    """An :class:`Action` of setpoints by column (``West Hall/supply_air_setpoint_c``: 21.5), C."""
    zoned: dict[str, dict[str, float]] = {}
    chilled_water = None
    for column, value in setpoints.items():
        zone, _, kind = column.rpartition("/")
        if kind == FACILITY.chilled_water_setpoint_c.column and not zone:
            chilled_water = float(value)
        elif zone and kind in (ZONE.supply_air_setpoint_c.column, ZONE.zone_cooling_setpoint_c.column):
            zoned.setdefault(kind, {})[zone] = float(value)
    return Action(zoned.get(ZONE.supply_air_setpoint_c.column), zoned.get(ZONE.zone_cooling_setpoint_c.column),
                  chilled_water)


def setpoint_columns(action: Action) -> dict[str, float]:
    """An action's setpoints by column, C (the inverse of :func:`action_of`)."""
    columns = {ZONE.supply_air_setpoint_c.of(z): float(v) for z, v in (action.supply_air_setpoint_c or {}).items()}
    columns.update({ZONE.zone_cooling_setpoint_c.of(z): float(v)
                    for z, v in (action.zone_cooling_setpoint_c or {}).items()})
    if action.chilled_water_setpoint_c is not None:
        columns[FACILITY.chilled_water_setpoint_c.column] = float(action.chilled_water_setpoint_c)
    return columns


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _iso(time: Any) -> str:
    return (time.to_pydatetime() if hasattr(time, "to_pydatetime") else time).isoformat()


def decision_body(record: Any) -> dict[str, Any]:
    """A decision record (:class:`greendc.telemetry.decisions.DecisionRecord`) as the service takes it."""
    prediction = getattr(record, "prediction", None)
    details: dict[str, Any] = {"applied": record.applied, "mode": record.mode,
                               "hottest_inlet_c": _number(record.hottest_inlet_c)}
    if prediction is not None:
        details["predicted_saving_w"] = _number(prediction.saving_w)
    return {"time": _iso(record.time), "setpoints": setpoint_columns(record.chosen), "guard": record.guard,
            "explanation": str(record.detail)[:2000], "details": details}


class _RefusedError(Exception):
    """The service understood the request and refused its content (422)."""


class ServiceLink:
    """The agent's side of the service (see the module docstring); use ``async with``."""

    def __init__(self, connection: ServiceConnection, kill_switch_file: Path,
                 log: Callable[[str], None] = print) -> None:
        self.connection, self.kill_switch_file, self.log = connection, kill_switch_file, log
        self.state = LinkControl(kill_switch=kill_switch_file.exists())
        self._queue: deque[dict[str, Any]] = deque()
        self._client: Any = None
        self._sending: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        # One request at a time: the service sees the agent's requests in order, and never two at once on
        # its token (each request updates the token's last use, a row lock on PostgreSQL).
        self._request_lock = asyncio.Lock()
        self._lost: str | None = None  # why the service did not answer, while it does not
        self.sent_steps = 0
        self.dropped_steps = 0

    async def __aenter__(self) -> ServiceLink:
        import httpx  # only an agent with a service needs it

        self._client = httpx.AsyncClient(
            base_url=self.connection.url.rstrip("/"), timeout=self.connection.timeout_s,
            headers={"Authorization": f"Bearer {self.connection.token}"})
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._sending is not None:
                await asyncio.wait([self._sending], timeout=self.connection.timeout_s)
                self._sending.cancel()  # a send still waiting must not outlive the client
            await self.send()  # the last steps, once: the agent is stopping
        finally:
            await self._client.aclose()

    @property
    def queued_steps(self) -> int:
        return len(self._queue)

    @property
    def _path(self) -> str:
        return f"/api/agents/{self.connection.agent_id}"

    async def control(self) -> LinkControl:
        """The control state for this step; the last one fetched when the service does not answer."""
        try:
            answer = await self._request("GET", f"{self._path}/control")
        except _RefusedError as refused:
            self.log(f"service: the control state was refused: {refused}")
            answer = None
        if answer is not None:
            self._obey(answer)
        return self.state

    def record(self, row: dict[str, Any], decisions: Sequence[Any]) -> None:
        """Queue a step (its telemetry row as the agent stores it, and its decision records) and send it in the
        background; never waits for the service."""
        values = {name: _number(value) for name, value in row.items() if name not in ("time", "agent_guard")}
        self._queue.append({"telemetry": {"time": _iso(row["time"]), "values": values,
                                          "agent_guard": str(row.get("agent_guard", "none"))},
                            "decisions": [decision_body(record) for record in decisions]})
        if len(self._queue) > MAX_QUEUED_STEPS:
            self._queue.popleft()
            if self.dropped_steps == 0:
                self.log(f"service: over {MAX_QUEUED_STEPS} steps unsent; the oldest are dropped from the queue "
                         "(the agent's telemetry files keep them)")
            self.dropped_steps += 1
        if self._sending is None or self._sending.done():
            self._sending = asyncio.create_task(self.send())

    async def send(self) -> None:
        """Post the queued steps, oldest first, until the queue is empty or the service does not answer."""
        async with self._send_lock:  # one sender at a time: each queued step leaves the queue once
            await self._send_queued()

    async def _send_queued(self) -> None:
        while self._queue:
            batch = list(self._queue)[:BATCH_STEPS]
            body = {"telemetry": [step["telemetry"] for step in batch],
                    "decisions": [d for step in batch for d in step["decisions"]]}
            try:
                answer = await self._request("POST", f"{self._path}/steps", body)
            except _RefusedError as refused:
                # The service will refuse these steps however often they are sent: drop them, say why.
                self.log(f"service: {len(batch)} step(s) refused and not sent again: {refused}")
                answer = None
                for _ in batch:
                    self._queue.popleft()
                continue
            if answer is None:
                return
            for _ in batch:
                self._queue.popleft()
            self.sent_steps += len(batch)
            self._obey(answer, approvals=False)  # approvals are taken at a step's start, by control()

    def _obey(self, answer: dict[str, Any], approvals: bool = True) -> None:
        on = bool(answer.get("kill_switch"))
        if on != self.state.kill_switch:
            self.log("service: kill switch on, the baseline rule is in charge" if on
                     else "service: kill switch off, the controller is back in charge")
        if on:
            self.kill_switch_file.touch()
        else:
            self.kill_switch_file.unlink(missing_ok=True)
        self.state.kill_switch = on
        if approvals:
            self.state.approved = [(int(r["id"]), {k: float(v) for k, v in r["setpoints"].items() if v is not None})
                                   for r in answer.get("approved", [])]

    async def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The answer's JSON, or None (one line when the service stops answering, one when it is back)."""
        import httpx

        try:
            async with self._request_lock:
                response = await self._client.request(method, path, json=body)
            if response.status_code == 422:
                raise _RefusedError(response.text[:300])
            if response.status_code >= 400:
                problem = f"{response.status_code} {response.text[:200]}"
            else:
                if self._lost is not None:
                    self.log(f"service: answering again; {len(self._queue)} unsent step(s) are being sent")
                    self._lost = None
                return response.json()
        except (httpx.HTTPError, OSError, ValueError) as error:
            problem = f"{type(error).__name__}: {error}"[:200]
        if self._lost is None:
            self.log(f"service: {self.connection.url} does not answer ({problem}); the agent goes on, its last "
                     "control state in force, and sends its steps when the service answers")
        self._lost = problem
        return None
