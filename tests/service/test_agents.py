"""Live agents on the service, on SQLite and PostgreSQL: steps stored once, recommendations approved or rejected
with who and when, the kill switch, organizations apart and roles, and the site's live partial."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from greendc.service.database import AuditEvent, Organization, SiteRecord, TelemetryRow, session_factory
from greendc.service.routes.agents import RECOMMENDATION_STEPS


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
    page = client.get(f"/sites/{site_id}/live")
    assert page.status_code == 200
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
