"""The agent's link to the service: setpoints by column both ways, and a service that does not answer costs
no telemetry row (the steps wait and are sent, once each, when it answers) and never stops the agent."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import uvicorn
from sqlalchemy import func, select

from greendc.agent.service_link import ServiceConnection, ServiceLink, action_of, setpoint_columns
from greendc.service.app import create_app
from greendc.service.database import (
    AgentRecord,
    Organization,
    SiteRecord,
    TelemetryRow,
    User,
    make_engine,
    session_factory,
)
from greendc.service.schema_version import upgrade
from greendc.service.security import create_api_token, create_user
from greendc.service.settings import ServiceSettings
from greendc.telemetry.contract import Action

PASSWORD = "a-long-test-password"


def free_socket() -> socket.socket:
    """A TCP socket bound to a free port of 127.0.0.1 and not listening yet (a connection is refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def served(app: Any, sock: socket.socket | None = None) -> Iterator[str]:
    """The app served by uvicorn in a thread on 127.0.0.1; yields its URL, stops it on the way out."""
    sock = sock or free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(15)


def agent_on_service(app: Any, mode: str = "closed-loop", controller: str = "ai") -> tuple[int, str]:
    """An operator's API token and a registered agent of theirs (on a site record), as the agent would have."""
    with session_factory(app.state.engine)() as db:
        user = create_user(db, "agent-operator", PASSWORD, "operator", "acme")
        token = create_api_token(db, user, "agent")
        site = SiteRecord(organization_id=user.organization_id, name="Hall site", site_yaml="name: x\n")
        db.add(site)
        db.flush()
        agent = AgentRecord(organization_id=user.organization_id, site_id=site.id, name="hall-agent", mode=mode,
                            controller=controller)
        db.add(agent)
        db.commit()
        return agent.id, token


def sqlite_app(tmp_path: Path) -> Any:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return create_app(ServiceSettings(database_url=url, data_dir=tmp_path / "data"))


def test_setpoints_by_column_make_the_same_action_back() -> None:
    action = Action({"West Hall": 21.5, "East Hall": 22.0}, {"West Hall": 27.0}, 9.0)
    columns = setpoint_columns(action)
    assert columns["West Hall/supply_air_setpoint_c"] == 21.5 and columns["chilled_water_setpoint_c"] == 9.0
    assert action_of(columns) == action


def _row(minute: int) -> dict[str, Any]:
    return {"time": pd.Timestamp(2024, 7, 1) + pd.Timedelta(minutes=15 * minute), "West Hall/inlet_temp_c": 24.0,
            "outdoor_dry_bulb_c": float("nan"), "agent_guard": "none"}


def test_steps_wait_while_the_service_is_down_and_are_sent_once_each_when_it_answers(tmp_path: Path) -> None:
    app = sqlite_app(tmp_path)
    agent_id, token = agent_on_service(app)
    sock = free_socket()  # bound, not listening: the service is down
    lines: list[str] = []

    async def scenario(url: str, start_service: Any) -> ServiceLink:
        link = ServiceLink(ServiceConnection(url, token, agent_id, timeout_s=1.0), tmp_path / "kill", lines.append)
        async with link:
            for minute in range(5):
                started = time.monotonic()
                assert (await link.control()).kill_switch is False
                link.record(_row(minute), [])
                await asyncio.sleep(0.01)
                assert time.monotonic() - started < 1.5  # a service that does not answer never stalls a step
            await link.send()
            assert link.queued_steps == 5
            with start_service():
                for minute in range(5, 8):
                    await link.control()
                    link.record(_row(minute), [])
                    await asyncio.sleep(0.05)
                await link.send()
        return link

    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    link = asyncio.run(scenario(url, lambda: served(app, sock)))
    assert link.queued_steps == 0 and link.sent_steps == 8
    lost = [line for line in lines if "does not answer" in line]
    assert len(lost) == 1 and any("answering again" in line for line in lines)
    with session_factory(app.state.engine)() as db:
        assert db.scalar(select(func.count()).select_from(TelemetryRow)) == 8
        first = db.scalar(select(TelemetryRow).order_by(TelemetryRow.step_time))
        assert first is not None and first.values["outdoor_dry_bulb_c"] is None  # NaN sent as not read
        assert first.step_time.replace(tzinfo=None) == datetime(2024, 7, 1)
        assert db.scalar(select(func.count()).select_from(User)) == 1
        assert db.scalar(select(func.count()).select_from(Organization)) == 1
    app.state.engine.dispose()


def test_greendc_agent_with_a_service_holds_the_ai_kill_switch_file_in_its_folder(tmp_path: Path,
                                                                                   facility_model) -> None:
    from greendc.agent.service_link import KILL_SWITCH_FILE
    from greendc.bms.template import point_map_template, point_map_yaml
    from greendc.site.loader import load_site
    from greendc.workflows.live import AgentJob, check_agent_folder, prepare_agent
    from tests.conftest import EXAMPLE_SITE

    site, _ = load_site(EXAMPLE_SITE)
    points = tmp_path / "points.yaml"
    points.write_text(point_map_yaml(point_map_template(site, str(EXAMPLE_SITE))))
    model = tmp_path / "model.joblib"
    facility_model.save(model)
    job = AgentJob(points=points, controller="ai", mode="advisory", interval_s=1.0, out_dir=tmp_path / "agent",
                   model=model, service=ServiceConnection("http://127.0.0.1:1", "token", 7))
    prepared = prepare_agent(job, log=lambda line: None)
    assert prepared.agent.link is not None and prepared.agent.link.connection.agent_id == 7
    assert Path(prepared.agent.controller.kill_switch) == (tmp_path / "agent" / KILL_SWITCH_FILE).resolve()
    (tmp_path / "agent" / KILL_SWITCH_FILE).touch()
    check_agent_folder(tmp_path / "agent")  # the link's file is the agent's own, not a stranger's
    lines: list[str] = []
    rule = prepare_agent(AgentJob(points=points, controller="rbc", mode="read-only", interval_s=1.0,
                                  out_dir=tmp_path / "rule", service=job.service), log=lines.append)
    assert rule.agent.link is not None and any("a rule already" in line for line in lines)


def test_the_service_options_of_greendc_agent_are_checked_first(tmp_path: Path) -> None:
    import pytest

    from greendc.cli.live_commands import _service_connection
    from greendc.errors import UsageError

    token = tmp_path / "token"
    token.write_text("secret\n")
    assert _service_connection(None, None, None) is None
    assert _service_connection("http://h:8000", token, 3) == ServiceConnection("http://h:8000", "secret", 3)
    for url, file, agent, words in (("h:8000", token, 3, "http:// or https://"), ("http://h", None, 3, "--token-file"),
                                    (None, token, None, "need --service"), ("http://h", tmp_path / "no", 3, "no")):
        with pytest.raises(UsageError, match=words):
            _service_connection(url, file, agent)
