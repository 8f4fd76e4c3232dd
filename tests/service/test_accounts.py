"""Logging in, roles, CSRF, API tokens and the login rate limit, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.service.conftest import PASSWORD


def test_a_login_gives_an_httponly_samesite_cookie_and_me_answers(anonymous: TestClient, make_client) -> None:
    make_client("alice", "admin")
    answer = anonymous.post("/api/login", json={"name": "alice", "password": PASSWORD})
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    me = anonymous.get("/api/me").json()
    assert me["name"] == "alice" and me["role"] == "admin" and me["organization"] == "acme"


def test_without_a_login_the_api_answers_401(anonymous: TestClient) -> None:
    assert anonymous.get("/api/me").status_code == 401
    assert anonymous.post("/api/tokens", json={"name": "x"}).status_code == 401


def test_a_cookie_write_without_the_csrf_token_is_refused(make_client) -> None:
    client = make_client("alice", "admin")
    del client.headers["X-CSRF-Token"]
    refused = client.post("/api/users", json={"name": "bob", "password": PASSWORD, "role": "viewer"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]


def test_only_an_admin_creates_users_and_only_in_their_organization(make_client) -> None:
    operator = make_client("olga", "operator")
    assert operator.post("/api/users", json={"name": "bob", "password": PASSWORD}).status_code == 403
    admin = make_client("alice", "admin")
    created = admin.post("/api/users", json={"name": "bob", "password": PASSWORD, "role": "viewer"})
    assert created.status_code == 201 and created.json()["organization"] == "acme"
    other_admin = make_client("zed", "admin", organization="other")
    assert [u["name"] for u in other_admin.get("/api/users").json()] == ["zed"]


def test_an_api_token_acts_as_its_user_without_csrf(app, make_client) -> None:
    client = make_client("agent-owner", "operator")
    token = client.post("/api/tokens", json={"name": "hall agent"}).json()["token"]
    bearer = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert bearer.get("/api/me").json()["name"] == "agent-owner"
    assert TestClient(app, headers={"Authorization": "Bearer wrong"}).get("/api/me").status_code == 401


def test_failed_logins_are_rate_limited_even_with_the_right_password(anonymous: TestClient, make_client) -> None:
    make_client("alice", "viewer")
    for _ in range(5):
        assert anonymous.post("/api/login", json={"name": "alice", "password": "wrong-password"}).status_code == 401
    refused = anonymous.post("/api/login", json={"name": "alice", "password": PASSWORD})
    assert refused.status_code == 429 and "Retry-After" in refused.headers


def test_an_invalid_body_is_a_422_naming_the_field(make_client) -> None:
    admin = make_client("alice", "admin")
    answer = admin.post("/api/users", json={"name": "bob", "password": PASSWORD, "role": "superuser"})
    assert answer.status_code == 422 and answer.json()["detail"].startswith("role:")


def test_an_oversized_body_is_refused_before_it_is_read(app, make_client) -> None:
    admin = make_client("alice", "admin")
    limit = app.state.settings.max_upload_bytes
    answer = admin.post("/api/users", content=b"x" * (limit + 1), headers={"content-type": "application/json"})
    assert answer.status_code == 413


def test_the_login_page_redirects_only_to_local_paths(anonymous: TestClient, make_client) -> None:
    make_client("alice", "viewer")
    answer = anonymous.post("/login", data={"name": "alice", "password": PASSWORD, "next": "//evil.example/x"},
                            follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_an_admin_adds_a_user_in_the_browser_form_and_an_operator_may_not(make_client) -> None:
    admin = make_client("alice", "admin")
    page = admin.get("/users")
    assert page.status_code == 200 and "Add a user" in page.text
    csrf = admin.headers.pop("X-CSRF-Token")
    without_token = admin.post("/users", data={"name": "bob", "password": PASSWORD, "role": "viewer"})
    assert without_token.status_code == 403
    added = admin.post("/users", data={"name": "bob", "password": PASSWORD, "role": "viewer", "csrf_token": csrf},
                       follow_redirects=False)
    assert added.status_code == 303
    assert "bob" in [u["name"] for u in admin.get("/api/users").json()]
    short = admin.post("/users", data={"name": "carl", "password": "short", "role": "viewer", "csrf_token": csrf})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    operator = make_client("olga", "operator")
    assert operator.get("/users").status_code == 403
