"""Live agents on the service, on SQLite and PostgreSQL: steps stored once, recommendations approved or rejected
with who and when, the kill switch, organizations apart and roles, and the site's live partial."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from greendc.agent.agent import Agent, AgentSettings
from greendc.agent.ledger import LEDGER_FILE, Ledger
from greendc.agent.service_link import KILL_SWITCH_FILE, ServiceConnection, ServiceLink
from greendc.agent.storage import LiveStorage
from greendc.bms.store import PointStore
from greendc.bms.template import point_map_template
from greendc.control.registry import make_controller
from greendc.service.database import (
    AuditEvent,
    DecisionRecord,
    Organization,
    SiteRecord,
    TelemetryRow,
    session_factory,
)
from greendc.service.routes.agents import RECOMMENDATION_STEPS
from greendc.service.security import create_api_token, create_user
from greendc.site.loader import load_site
from greendc.twin.builder import control_context
from greendc.workflows.virtual_building import with_run_period
from tests.agent.conftest import StoreClient, start_building
from tests.agent.test_service_link import agent_on_service, served
from tests.conftest import EXAMPLE_SITE
from tests.service.conftest import PASSWORD


def add_site(app, organization: str = "acme", name: str = "Hall site") -> int:  # type: ignore[no-untyped-def]
    """A site record in ``organization`` (the sites part validates real uploads; the agents need only its id)."""
    with session_factory(app.state.engine)() as db:
        org = db.scalar(select(Organization).where(Organization.name == organization))
        assert org is not None
        site = SiteRecord(organization_id=org.id, name=name, site_yaml="name: x\n")
        db.add(site)
        db.commit()
        return site.id


def register(client: TestClient, site_id: int, mode: str = "advisory", name: str = "hall-agent") -> dict[str, Any]:
    answer = client.post("/api/agents", json={"name": name, "site_id": site_id, "mode": mode, "controller": "ai"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def step(minute: int, inlet: float = 24.0, setpoint: float | None = 22.0) -> dict[str, Any]:
    time = f"2024-07-01T{minute // 60:02d}:{minute % 60:02d}:00"
    body: dict[str, Any] = {"telemetry": [{"time": time, "agent_guard": "none",
                                           "values": {"West/inlet_temp_c": inlet, "East/inlet_temp_c": inlet - 3,
                                                      "outdoor_dry_bulb_c": 30.0}}], "decisions": []}
    if setpoint is not None:
        body["decisions"] = [{"time": time, "setpoints": {"West/supply_air_setpoint_c": setpoint},
                              "explanation": "cheaper at the same inlet", "guard": "none"}]
    return body


def test_a_step_sent_twice_is_stored_once_and_decisions_are_pending_in_advisory(app, make_client) -> None:
    client = make_client("olga")
    agent = register(client, add_site(app))
    first = client.post(f"/api/agents/{agent['id']}/steps", json=step(0))
    again = client.post(f"/api/agents/{agent['id']}/steps", json=step(0))
    assert first.status_code == 200 and first.json()["telemetry_stored"] == 1
    assert again.json()["telemetry_stored"] == 0 and again.json()["decisions_stored"] == 0
    with session_factory(app.state.engine)() as db:
        assert db.scalar(select(func.count()).select_from(TelemetryRow)) == 1
    pending = client.get(f"/api/agents/{agent['id']}/recommendations", params={"status": "pending"}).json()
    assert len(pending) == 1 and pending[0]["setpoints"] == {"West/supply_air_setpoint_c": 22.0}
    seen = client.get(f"/api/agents/{agent['id']}").json()
    assert seen["last_guard"] == "none" and seen["last_seen_at"] is not None and seen["kill_switch"] is False


def test_closed_loop_decisions_are_logged_not_pending(app, make_client) -> None:
    client = make_client("olga")
    agent = register(client, add_site(app), mode="closed-loop")
    client.post(f"/api/agents/{agent['id']}/steps", json=step(0))
    statuses = [r["status"] for r in client.get(f"/api/agents/{agent['id']}/recommendations").json()]
    assert statuses == ["logged"]


def test_unknown_columns_and_non_finite_values_are_refused_naming_them(app, make_client) -> None:
    client = make_client("olga")
    agent = register(client, add_site(app))
    body = step(0)
    body["telemetry"][0]["values"]["West/inlet_temperature"] = 20.0
    refused = client.post(f"/api/agents/{agent['id']}/steps", json=body)
    assert refused.status_code == 422 and "West/inlet_temperature" in refused.json()["detail"]
    too_many = {"telemetry": [step(minute)["telemetry"][0] for minute in range(201)]}
    assert client.post(f"/api/agents/{agent['id']}/steps", json=too_many).status_code == 422
    nan = '{"telemetry": [{"time": "2024-07-01T00:00:00", "values": {"pue": NaN}}]}'
    refused = client.post(f"/api/agents/{agent['id']}/steps", content=nan, headers={"content-type": "application/json"})
    assert refused.status_code == 422


def test_an_approval_is_recorded_with_who_and_when_and_handed_to_the_agent_once(app, make_client) -> None:
    client = make_client("olga")
    agent = register(client, add_site(app))
    client.post(f"/api/agents/{agent['id']}/steps", json=step(0))
    client.post(f"/api/agents/{agent['id']}/steps", json=step(15, setpoint=23.0))
    first, second = sorted(client.get(f"/api/agents/{agent['id']}/recommendations").json(), key=lambda r: r["id"])
    approved = client.post(f"/api/recommendations/{first['id']}/approve").json()
    rejected = client.post(f"/api/recommendations/{second['id']}/reject").json()
    assert approved["status"] == "approved" and approved["decided_by"] == "olga" and approved["decided_at"]
    assert rejected["status"] == "rejected" and rejected["decided_by"] == "olga"
    assert client.post(f"/api/recommendations/{first['id']}/reject").status_code == 409
    control = client.get(f"/api/agents/{agent['id']}/control").json()
    assert [r["id"] for r in control["approved"]] == [first["id"]] and control["kill_switch"] is False
    assert client.get(f"/api/agents/{agent['id']}/control").json()["approved"] == []
    with session_factory(app.state.engine)() as db:
        actions = sorted(db.scalars(select(AuditEvent.action).where(AuditEvent.action.like("recommendation%"))))
    assert actions == ["recommendation approved", "recommendation rejected"]


def test_a_recommendation_older_than_its_steps_expires_instead(app, make_client) -> None:
    client = make_client("olga")
    agent = register(client, add_site(app))
    client.post(f"/api/agents/{agent['id']}/steps", json=step(0))
    old = client.get(f"/api/agents/{agent['id']}/recommendations").json()[0]
    for number in range(1, RECOMMENDATION_STEPS + 1):
        client.post(f"/api/agents/{agent['id']}/steps", json=step(15 * number, setpoint=None))
    refused = client.post(f"/api/recommendations/{old['id']}/approve")
    assert refused.status_code == 409 and "expired" in refused.json()["detail"]


def test_the_kill_switch_is_recorded_and_in_the_control_state(app, make_client) -> None:
    client = make_client("olga")
    agent = register(client, add_site(app))
    client.post(f"/api/agents/{agent['id']}/steps", json=step(0))
    pending = client.get(f"/api/agents/{agent['id']}/recommendations").json()[0]
    client.post(f"/api/recommendations/{pending['id']}/approve")
    switched = client.post(f"/api/agents/{agent['id']}/kill-switch", json={"on": True}).json()
    assert switched["kill_switch"] is True and switched["kill_switch_changed_by"] == "olga"
    control = client.get(f"/api/agents/{agent['id']}/control").json()
    assert control == {"kill_switch": True, "approved": []}  # the baseline is in charge: nothing of the ai's
    with session_factory(app.state.engine)() as db:
        assert db.scalar(select(AuditEvent.target).where(AuditEvent.action == "kill switch on")) == "hall-agent"


def test_an_approval_held_back_by_the_kill_switch_expires_instead_of_being_written_later(app, make_client) -> None:
    client = make_client("olga")
    agent = register(client, add_site(app))
    client.post(f"/api/agents/{agent['id']}/steps", json=step(0))
    pending = client.get(f"/api/agents/{agent['id']}/recommendations").json()[0]
    client.post(f"/api/agents/{agent['id']}/kill-switch", json={"on": True})
    client.post(f"/api/recommendations/{pending['id']}/approve")
    for number in range(1, RECOMMENDATION_STEPS + 1):
        held = client.post(f"/api/agents/{agent['id']}/steps", json=step(15 * number, setpoint=None)).json()
        assert held["kill_switch"] is True and held["approved"] == []
    client.post(f"/api/agents/{agent['id']}/kill-switch", json={"on": False})
    assert client.get(f"/api/agents/{agent['id']}/control").json() == {"kill_switch": False, "approved": []}
    statuses = {r["id"]: r["status"] for r in client.get(f"/api/agents/{agent['id']}/recommendations").json()}
    assert statuses[pending["id"]] == "expired"


def test_another_organization_gets_404_and_a_viewer_cannot_act(app, make_client) -> None:
    client = make_client("olga")
    agent = register(client, add_site(app))
    client.post(f"/api/agents/{agent['id']}/steps", json=step(0))
    pending = client.get(f"/api/agents/{agent['id']}/recommendations").json()[0]
    stranger = make_client("zed", organization="other")
    assert stranger.get(f"/api/agents/{agent['id']}").status_code == 404
    assert stranger.get("/api/agents").json() == []
    assert stranger.post(f"/api/agents/{agent['id']}/steps", json=step(15)).status_code == 404
    assert stranger.post(f"/api/agents/{agent['id']}/kill-switch", json={"on": True}).status_code == 404
    assert stranger.post(f"/api/recommendations/{pending['id']}/approve").status_code == 404
    assert stranger.post("/api/agents", json={"name": "x", "site_id": agent["site_id"], "mode": "advisory",
                                              "controller": "ai"}).status_code == 404
    viewer = make_client("vera", role="viewer")
    assert viewer.get(f"/api/agents/{agent['id']}").status_code == 200
    assert viewer.post(f"/api/recommendations/{pending['id']}/approve").status_code == 403
    assert viewer.post(f"/api/agents/{agent['id']}/kill-switch", json={"on": True}).status_code == 403
    assert viewer.post(f"/api/agents/{agent['id']}/steps", json=step(15)).status_code == 403
    assert client.get(f"/api/agents/{agent['id']}").json()["kill_switch"] is False


def test_the_live_partial_shows_inlets_decisions_in_words_and_buttons_for_operators(app, make_client) -> None:
    client = make_client("olga")
    site_id = add_site(app)
    agent = register(client, site_id)
    client.post(f"/api/agents/{agent['id']}/steps", json=step(0, inlet=25.5))
    page = client.get(f"/sites/{site_id}/live", headers={"HX-Request": "true"})
    assert page.status_code == 200 and "<html" not in page.text  # the partial, for the site page to include
    assert "<html" in client.get(f"/sites/{site_id}/live").text  # opened on its own: a page
    assert "West supply air 22.0 C" in page.text and "supply_air_setpoint_c</td>" not in page.text
    assert "25.5" in page.text and "Approve" in page.text and "Kill switch" in page.text
    pending = client.get(f"/api/agents/{agent['id']}/recommendations").json()[0]
    clicked = client.post(f"/sites/{site_id}/live/recommendations/{pending['id']}/approve")
    assert clicked.status_code == 200 and "approved by olga" in clicked.text
    switched = client.post(f"/sites/{site_id}/live/agents/{agent['id']}/kill-switch?on=true")
    assert "kill switch on" in switched.text.lower() and "by\n        olga" in switched.text
    viewer = make_client("vera", role="viewer")
    watched = viewer.get(f"/sites/{site_id}/live")
    assert watched.status_code == 200 and "Approve" not in watched.text and "Give control back" not in watched.text
    assert make_client("zed", organization="other").get(f"/sites/{site_id}/live").status_code == 404


# -- a live agent on a virtual building, reporting to the service served on 127.0.0.1 ----------------------------
#: Wall seconds per 15-minute step of the building: room for the ai's decision and two requests.
SLOT_S = 0.3


def operator_token(app) -> str:  # type: ignore[no-untyped-def]
    """The API token of an operator (a person, not the agent's own token) in the agent's organization."""
    with session_factory(app.state.engine)() as db:
        token = create_api_token(db, create_user(db, "olga", PASSWORD, "operator", "acme"), "olga's script")
        db.commit()
        return token


async def _agent_under_the_switch(app, url: str, agent_id: int, token: str, model, out: Path,
                                  mode: str = "closed-loop", approve: bool = False) -> dict[str, Any]:
    """Run an ai agent on the example site's building; after a few steps flip the kill switch through the
    API (or, with ``approve``, approve its first recommendation); return what each step decided."""
    site, site_dir = load_site(EXAMPLE_SITE)
    site = with_run_period(site, "07-02", 1)
    point_map = point_map_template(site, "site.yaml")
    store = PointStore(point_map)
    building = await start_building(site, site_dir, point_map, SLOT_S, store, serve_protocols=False)
    controller = make_controller("ai", model=model, kill_switch=str(out / KILL_SWITCH_FILE),
                                 mode="advisory" if mode == "advisory" else "closed-loop")
    link = ServiceLink(ServiceConnection(url, token, agent_id), out / KILL_SWITCH_FILE, log=lambda line: None)
    client = StoreClient(store)
    agent = Agent(point_map, control_context(site), controller, AgentSettings(mode=mode, interval_s=SLOT_S),
                  client, LiveStorage(out), Ledger(out / LEDGER_FILE, point_map), log=lambda line: None, link=link)
    steps: list[tuple[int, str]] = []  # (steps done before the step, the guard of the ai's decision at it)
    act = controller.act

    def watched_act(observation):  # type: ignore[no-untyped-def]
        action = act(observation)
        steps.append((agent.summary.steps, controller.decision_log[-1].guard if controller.decision_log else ""))
        return action

    controller.act = watched_act  # type: ignore[method-assign]
    stop = asyncio.Event()
    # The operator acts through the same app and database in-process (TestClient, its own event loop): the
    # service's auth dependency does its database work on the server's event loop, so on SQLite two requests
    # at once on the one uvicorn server wait on each other until the busy timeout (reported to the core).
    api = TestClient(app, headers={"Authorization": f"Bearer {operator_token(app)}"})
    async with link:
        running = asyncio.create_task(agent.run(stop))
        while agent.summary.steps < 5:
            await asyncio.sleep(0.02)
        if approve:
            pending = (await asyncio.to_thread(api.get, f"/api/agents/{agent_id}/recommendations",
                                               params={"status": "pending"})).json()
            # The newest (the list is newest first): an older one may have expired already.
            answer = await asyncio.to_thread(api.post, f"/api/recommendations/{pending[0]['id']}/approve")
        else:
            answer = await asyncio.to_thread(api.post, f"/api/agents/{agent_id}/kill-switch", json={"on": True})
        assert answer.status_code == 200, answer.text
        # The answer came during the step after these: every step from the next one on started after it.
        flipped_at = agent.summary.steps
        while agent.summary.steps < flipped_at + 4:
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(running, 30)
    await building.stopped()
    return {"steps": steps, "flipped_at": flipped_at, "writes": client.writes, "link": link}


def test_the_kill_switch_reaches_a_running_agent_within_one_step(app, facility_model, tmp_path: Path) -> None:
    agent_id, token = agent_on_service(app)
    with served(app) as url:
        run = asyncio.run(_agent_under_the_switch(app, url, agent_id, token, facility_model, tmp_path / "agent"))
    flipped_at, steps = run["flipped_at"], run["steps"]
    before = [guard for done, guard in steps if done < flipped_at]
    after = [guard for done, guard in steps if done > flipped_at]  # every step that started after the switch
    assert "kill-switch" not in before and len(after) >= 3
    assert set(after) == {"kill-switch"}, steps  # the ai handed every one of them to the baseline rule
    assert (tmp_path / "agent" / KILL_SWITCH_FILE).exists()
    with session_factory(app.state.engine)() as db:
        stored = db.scalar(select(func.count()).select_from(TelemetryRow))
        guards = [d.details["guard"] for d in db.scalars(select(DecisionRecord).order_by(DecisionRecord.step_time))]
    assert stored == run["link"].sent_steps and run["link"].queued_steps == 0
    assert guards[-1] == "kill-switch"


def test_an_approved_recommendation_is_written_by_an_advisory_agent(app, facility_model, tmp_path: Path) -> None:
    agent_id, token = agent_on_service(app, mode="advisory")
    with served(app) as url:
        run = asyncio.run(_agent_under_the_switch(app, url, agent_id, token, facility_model, tmp_path / "agent",
                                                  mode="advisory", approve=True))
    written = [(name, value) for name, value, _ in run["writes"] if value is not None and name != "heartbeat"]
    assert written and all("setpoint" in name for name, _ in written)
    with session_factory(app.state.engine)() as db:
        approved = db.scalar(select(DecisionRecord).where(DecisionRecord.status == "approved"))
        assert approved is not None and approved.delivered_at is not None
        for name, value in written:
            assert value == pytest.approx(approved.setpoints[name])
