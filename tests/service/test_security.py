"""Every route of the service, walked from ``app.routes`` (so a route added later is walked too), on SQLite and
PostgreSQL: refused without a login, refused to a viewer when it changes state, refused to a cookie without
its CSRF token, and never showing or changing another organization's rows.

The other organization's rows are made straight in the database, one per table (a job of every kind), with a
marker in every text and JSON column: a route that answers with one of them shows the marker. Path parameters
are filled with those rows' ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, get_args
from urllib.parse import urlencode

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String, Text, select
from sqlalchemy.orm import Session
from starlette.routing import Mount, Route

from greendc.service.database import ROLES, Base, JobKind, utc_now
from greendc.service.security import create_api_token, create_user
from tests.service.conftest import PASSWORD

MARKER = "othercorp-secret"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Routes anyone may call: the login itself.
PUBLIC = frozenset({("GET", "/login"), ("POST", "/login"), ("POST", "/api/login")})
#: State-changing routes a viewer may call: they touch only the viewer's own session or credentials.
VIEWER_MAY = frozenset({("POST", "/api/logout"), ("POST", "/logout"), ("POST", "/api/tokens")})
#: Framework routes that hold no data (the OpenAPI document and its viewers; static files are a Mount).
FRAMEWORK = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
#: Path parameters that are not row ids, and a value each.
FIXED_PATH_VALUES = {"verdict": "approve", "name": "summary.json"}
#: A path parameter ``<name>_id`` names a row of this table (else the table ``<name>s``); jobs by their kind.
ID_TABLES = {"recommendation": "decisions", "decision": "decisions", "inventory": "inventories",
             "verification": "verifications", "token": "api_tokens", "event": "audit_events",
             "report": "jobs:report", "job": "jobs:simulation", "run": "jobs:simulation", "bench": "jobs:bench",
             "simulation": "jobs:simulation", "training": "jobs:training"}
#: Values that make the other organization's rows look real, so a route does not refuse them for their oddity.
REALISTIC = {("jobs", "status"): "succeeded", ("jobs", "progress_fraction"): 1.0,
             ("decisions", "status"): "pending", ("agents", "mode"): "advisory", ("agents", "controller"): "ai",
             ("agents", "kill_switch"): False, ("models", "source"): "uploaded", ("users", "role"): "admin"}
#: Bodies that pass validation, for the writes on a path with an id (so that their 404 is what is tested), by a
#: part of the path; JSON for ``/api/`` routes, a form for the dashboard's.
BODIES = {"/api/agents/{agent_id}/kill-switch": {"on": True},
          "/sites/{site_id}/jobs": {"kind": "simulation", "controller": "default"}}
SKIPPED_TABLES = frozenset({"organizations", "users", "api_tokens", "browser_sessions", "login_attempts"})


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    route: Route

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


def walk(routes: list[Any], prefix: str = "") -> Iterator[Endpoint]:
    """Every (method, path) of the application, including routers FastAPI keeps as included sub-routers."""
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from walk(original.routes, prefix + getattr(route.include_context, "prefix", ""))
        elif isinstance(route, Mount):
            continue
        elif isinstance(route, Route | APIRoute) and route.path not in FRAMEWORK:
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield Endpoint(method, prefix + route.path, route)


def checked(app: Any) -> list[Endpoint]:
    """What the walk checks: every write, and every GET but the login page's."""
    endpoints = [e for e in walk(app.routes) if e.key not in PUBLIC and (e.method in WRITE_METHODS or
                                                                         e.method == "GET")]
    assert any(e.path.startswith("/api/agents") for e in endpoints), "the walk found none of the routes"
    return endpoints


# -- the other organization's rows -----------------------------------------------------------------------------
def _value(table: str, column: Any, made: dict[str, list[dict[str, Any]]], n: int) -> Any:
    """A value for one column of the other organization's row ``n`` of ``table``."""
    if (table, column.name) in REALISTIC:
        return REALISTIC[table, column.name]
    for key in column.foreign_keys:
        parents = made.get(key.column.table.name)
        return parents[0][key.column.name] if parents else None
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, Float):
        return 1.0
    if isinstance(kind, JSON):
        return {"note": f"{MARKER}-{table}"}
    if isinstance(kind, String | Text):
        text = f"{MARKER}-{table}-{column.name}-{n}"
        return text[: kind.length] if getattr(kind, "length", None) else text
    if isinstance(getattr(kind, "impl", kind), DateTime):
        return utc_now() - timedelta(minutes=5 + n)
    raise AssertionError(f"{table}.{column.name}: no value for a {kind!r} column: extend _value")


def make_other_organization(app: Any) -> dict[str, list[int]]:
    """The other organization, its admin with an API token, and rows of every table; their ids by table name
    (``jobs:KIND`` for the jobs of each kind)."""
    made: dict[str, list[dict[str, Any]]] = {}
    with Session(app.state.engine) as db:
        user = create_user(db, "other-admin", PASSWORD, "admin", "othercorp")
        create_api_token(db, user, f"{MARKER}-token")
        made["organizations"] = [{"id": user.organization_id}]
        made["users"] = [{"id": user.id}]
        made["api_tokens"] = [{"id": db.scalar(select(Base.metadata.tables["api_tokens"].c.id))}]
        ids: dict[str, list[int]] = {}
        for table in Base.metadata.sorted_tables:
            if table.name in SKIPPED_TABLES:
                continue
            kinds: tuple[str | None, ...] = get_args(JobKind) if table.name == "jobs" else (None,)
            for n, kind in enumerate(kinds):
                row = {c.name: _value(table.name, c, made, n) for c in table.columns if not c.primary_key}
                if kind is not None:
                    row["kind"] = kind
                row_id = db.execute(table.insert().values(**row).returning(table.c.id)).scalar_one()
                made.setdefault(table.name, []).append({**row, "id": row_id})
                if kind is not None:
                    ids[f"jobs:{kind}"] = [row_id]
        db.commit()
    return {**{name: [row["id"] for row in rows] for name, rows in made.items()}, **ids}


def other_rows(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the login bookkeeping, to tell whether a request changed any."""
    with Session(app.state.engine) as db:
        return {t.name: sorted(map(tuple, db.execute(select(t)).all()), key=repr)
                for t in Base.metadata.sorted_tables if t.name not in ("browser_sessions", "login_attempts",
                                                                       "api_tokens", "audit_events")}


def url_for(endpoint: Endpoint, ids: dict[str, list[int]]) -> str:
    """The endpoint's path with each parameter the id of the other organization's row it names."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        if name in FIXED_PATH_VALUES:
            return FIXED_PATH_VALUES[name]
        assert name.endswith("_id"), f"{endpoint.path}: add a value for {{{name}}} to FIXED_PATH_VALUES"
        stem = name.removesuffix("_id")
        table = ID_TABLES.get(stem, f"{stem}s")
        assert table in ids, f"{endpoint.path}: {{{name}}} names no table: add it to ID_TABLES"
        return str(ids[table][0])

    path = re.sub(r"\{([^}]+)\}", fill, endpoint.path)
    # Required query parameters too (the one-click kill switch's ``on``), else the 422 would hide the 404.
    dependant = getattr(endpoint.route, "dependant", None)
    query = {p.alias: _query_value(p.alias, p.field_info.annotation, ids) for p in
             (dependant.query_params if dependant else ()) if p.field_info.is_required()}
    return f"{path}?{urlencode(query)}" if query else path


def _query_value(name: str, annotation: Any, ids: dict[str, list[int]]) -> str:
    if annotation is bool:
        return "true"
    if name.endswith("_id"):
        return str(ids.get(ID_TABLES.get(name.removesuffix("_id"), name.removesuffix("_id") + "s"), [1])[0])
    return "1"


def send(client: TestClient, endpoint: Endpoint, url: str) -> Any:
    """The request; a write has its body from BODIES, or an empty one (refusals come before the body is read)."""
    if endpoint.method not in WRITE_METHODS:
        return client.request(endpoint.method, url)
    body = next((b for part, b in BODIES.items() if part in endpoint.path), {})
    if endpoint.path.startswith("/api/"):
        return client.request(endpoint.method, url, json=body)
    return client.request(endpoint.method, url, data={k: str(v).lower() if isinstance(v, bool) else v
                                                      for k, v in body.items()})


# -- the tests -------------------------------------------------------------------------------------------------
def test_without_a_login_every_route_but_the_login_is_refused(app, anonymous: TestClient) -> None:
    ids = make_other_organization(app)
    for endpoint in checked(app):
        answer = send(anonymous, endpoint, url_for(endpoint, ids))
        assert answer.status_code in (401, 403), (endpoint.key, answer.status_code, answer.text[:200])
        assert MARKER not in answer.text


def test_an_html_page_without_a_login_sends_the_browser_to_the_login(app, anonymous: TestClient) -> None:
    ids = make_other_organization(app)
    pages = [e for e in checked(app) if e.method == "GET" and not e.path.startswith("/api/")]
    assert pages, "no dashboard page found"
    for endpoint in pages:
        answer = anonymous.get(url_for(endpoint, ids), headers={"Accept": "text/html"}, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), endpoint.key


def test_a_viewer_changes_nothing(app, make_client) -> None:
    ids = make_other_organization(app)
    viewer = make_client("vera", "viewer")
    before = other_rows(app)
    writes = [e for e in checked(app) if e.method in WRITE_METHODS and e.key not in VIEWER_MAY]
    assert len(writes) >= 5
    for endpoint in writes:
        answer = send(viewer, endpoint, url_for(endpoint, ids))
        assert answer.status_code == 403, (endpoint.key, answer.status_code, answer.text[:200])
        assert "role" in answer.json()["detail"]
    assert other_rows(app) == before


def test_a_cookie_write_without_its_csrf_token_is_refused(app, make_client) -> None:
    ids = make_other_organization(app)
    admin = make_client("alice", "admin")
    del admin.headers["X-CSRF-Token"]
    before = other_rows(app)
    for endpoint in checked(app):
        if endpoint.method not in WRITE_METHODS:
            continue
        answer = send(admin, endpoint, url_for(endpoint, ids))
        assert answer.status_code == 403, (endpoint.key, answer.status_code, answer.text[:200])
        assert "CSRF" in answer.json()["detail"]
    assert other_rows(app) == before


@pytest.mark.parametrize("role", ROLES)
def test_another_organization_sees_and_changes_none_of_its_rows(app, make_client, role: str) -> None:
    ids = make_other_organization(app)
    client = make_client(f"acme-{role}", role)
    before = other_rows(app)
    for endpoint in checked(app):
        if endpoint.key in VIEWER_MAY and endpoint.method in WRITE_METHODS:
            continue  # a logout or a token of one's own: nothing of another organization's to reach
        answer = send(client, endpoint, url_for(endpoint, ids))
        status = answer.status_code
        assert status < 500 and status != 401, (endpoint.key, status, answer.text[:300])
        assert MARKER not in answer.text, (endpoint.key, status, answer.text[:300])
        if "{" in endpoint.path:
            # The other organization's id: as if it did not exist (or the role refused). A 422 would hide
            # whether the id was refused: give the route a valid body in BODIES.
            assert status == 404 or (status == 403 and "role" in answer.json()["detail"]), (
                endpoint.key, status, answer.text[:200])
    assert other_rows(app) == before


def test_an_id_no_table_can_hold_names_no_row_on_every_route(app, make_client) -> None:
    # 2**63 fits neither PostgreSQL's integer nor SQLite's: every route with an id answers as for a missing
    # row (before, only the runs' routes did; the others answered 422 from the database's refusal).
    huge = {table: [2**63] for table in make_other_organization(app)}
    client = make_client("acme-huge", "admin")
    for endpoint in checked(app):
        if "_id" not in endpoint.path or (endpoint.key in VIEWER_MAY and endpoint.method in WRITE_METHODS):
            continue
        answer = send(client, endpoint, url_for(endpoint, huge))
        assert answer.status_code == 404, (endpoint.key, answer.status_code, answer.text[:200])
