"""Logging in and out, the current user, API tokens, and the admin's user management."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from greendc.errors import GreendcError
from greendc.service.database import ROLES, AuditEvent, Organization, Role, User
from greendc.service.security import (
    SESSION_COOKIE,
    Principal,
    create_api_token,
    create_user,
    database,
    log_in,
    log_out,
    login_refused_for,
    requires,
)

router = APIRouter()
Database = Annotated[Session, Depends(database, scope="function")]


class LoginRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class LoginAnswer(BaseModel):
    user: str
    role: str
    organization: str
    #: Send it as the X-CSRF-Token header with every state-changing request made with the session cookie.
    csrf_token: str


class UserAnswer(BaseModel):
    id: int
    name: str
    role: str
    organization: str


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=10, max_length=1000)
    role: Role = "viewer"


class NewToken(BaseModel):
    name: str = Field(default="agent", min_length=1, max_length=100)


class TokenAnswer(BaseModel):
    name: str
    #: Shown once: only its SHA-256 is kept.
    token: str


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(SESSION_COOKIE, token, max_age=int(settings.session_lifetime_s), httponly=True,
                        samesite="lax", secure=settings.secure_cookies, path="/")


def _logged_in(db: Session, request: Request, name: str, password: str) -> tuple[str, str, User]:
    settings = request.app.state.settings
    if login_refused_for(db, settings, name, _client(request)):
        raise HTTPException(429, f"too many failed logins: try again in {int(settings.login_window_s // 60)} "
                                 "minutes", headers={"Retry-After": str(int(settings.login_window_s))})
    outcome = log_in(db, settings, name, password, _client(request))
    if outcome is None:
        raise HTTPException(401, "wrong user name or password")
    token, session = outcome
    user = db.get(User, session.user_id)
    assert user is not None
    return token, session.csrf_token, user


@router.post("/api/login", response_model=LoginAnswer, tags=["accounts"])
def api_login(body: LoginRequest, request: Request, response: Response, db: Database) -> LoginAnswer:
    """Start a browser session: the cookie is set, and the CSRF token returned."""
    token, csrf, user = _logged_in(db, request, body.name, body.password)
    _set_session_cookie(request, response, token)
    organization = db.get(Organization, user.organization_id)
    return LoginAnswer(user=user.name, role=user.role, organization=organization.name if organization else "",
                       csrf_token=csrf)


@router.post("/api/logout", status_code=204, tags=["accounts"])
def api_logout(request: Request, db: Database, _: Annotated[Principal, Depends(requires("viewer"))]) -> Response:
    log_out(db, request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/api/me", response_model=UserAnswer, tags=["accounts"])
def me(db: Database, principal: Annotated[Principal, Depends(requires("viewer"))]) -> UserAnswer:
    return _user_answer(db, db.get(User, principal.user_id))  # type: ignore[arg-type]


def _user_answer(db: Session, user: User) -> UserAnswer:
    organization = db.get(Organization, user.organization_id)
    return UserAnswer(id=user.id, name=user.name, role=user.role,
                      organization=organization.name if organization else "")


@router.post("/api/tokens", response_model=TokenAnswer, status_code=201, tags=["accounts"])
def new_token(body: NewToken, db: Database, principal: Annotated[Principal, Depends(requires("viewer"))]
              ) -> TokenAnswer:
    """An API token that acts as the current user (for an agent or a script); shown once."""
    user = db.get(User, principal.user_id)
    assert user is not None
    token = create_api_token(db, user, body.name)
    db.add(AuditEvent(organization_id=principal.organization_id, user_id=principal.user_id,
                      action="api token created", target=body.name))
    return TokenAnswer(name=body.name, token=token)


@router.get("/api/users", response_model=list[UserAnswer], tags=["accounts"])
def list_users(db: Database, principal: Annotated[Principal, Depends(requires("admin"))]) -> list[UserAnswer]:
    users = db.scalars(select(User).where(User.organization_id == principal.organization_id).order_by(User.name))
    return [_user_answer(db, user) for user in users]


@router.post("/api/users", response_model=UserAnswer, status_code=201, tags=["accounts"])
def add_user(body: NewUser, db: Database, principal: Annotated[Principal, Depends(requires("admin"))]
             ) -> UserAnswer:
    """A new user in the admin's own organization."""
    organization = db.get(Organization, principal.organization_id)
    assert organization is not None
    user = create_user(db, body.name, body.password, body.role, organization.name)
    db.add(AuditEvent(organization_id=principal.organization_id, user_id=principal.user_id,
                      action="user created", target=body.name, details={"role": body.role}))
    return _user_answer(db, user)


# -- the login page ------------------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/") -> Response:
    return request.app.state.templates.TemplateResponse(request, "login.html", {"next": _local(next),
                                                                                "problem": None})


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, db: Database, name: Annotated[str, Form(max_length=100)],
               password: Annotated[str, Form(max_length=1000)], next: Annotated[str, Form()] = "/") -> Response:
    try:
        token, _, _ = _logged_in(db, request, name, password)
    except HTTPException as refused:
        return request.app.state.templates.TemplateResponse(
            request, "login.html", {"next": _local(next), "problem": refused.detail}, status_code=refused.status_code)
    response = RedirectResponse(_local(next), 303)
    _set_session_cookie(request, response, token)
    return response


@router.post("/logout", include_in_schema=False)
def logout_form(request: Request, db: Database, _: Annotated[Principal, Depends(requires("viewer"))]) -> Response:
    log_out(db, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _local(path: str) -> str:
    """Only a path on this server may be a redirect target (no open redirect to another site)."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"



# -- the admin's users page ----------------------------------------------------------------------------
def _users_page(request: Request, db: Session, principal: Principal, problem: str | None = None,
                status_code: int = 200) -> Response:
    users = db.scalars(select(User).where(User.organization_id == principal.organization_id).order_by(User.name))
    return request.app.state.templates.TemplateResponse(
        request, "users.html", {"principal": principal, "active": "/users", "users": list(users), "roles": ROLES,
                                "problem": problem}, status_code=status_code)


@router.get("/users", response_class=HTMLResponse, include_in_schema=False)
def users_page(request: Request, db: Database, principal: Annotated[Principal, Depends(requires("admin"))]
               ) -> Response:
    return _users_page(request, db, principal)


@router.post("/users", response_class=HTMLResponse, include_in_schema=False)
def users_form(request: Request, db: Database, principal: Annotated[Principal, Depends(requires("admin"))],
               name: Annotated[str, Form(max_length=100)], password: Annotated[str, Form(max_length=1000)],
               role: Annotated[str, Form(max_length=20)] = "viewer") -> Response:
    """The admin's "Add user" form: a new user in the admin's organization, or the form again with why not."""
    organization = db.get(Organization, principal.organization_id)
    assert organization is not None
    try:
        create_user(db, name, password, role, organization.name)
    except GreendcError as refused:
        db.rollback()
        return _users_page(request, db, principal, str(refused), 422)
    db.add(AuditEvent(organization_id=principal.organization_id, user_id=principal.user_id,
                      action="user created", target=name, details={"role": role}))
    return RedirectResponse("/users", 303)
