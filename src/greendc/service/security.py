"""Who is asking, and may they: passwords, browser sessions with CSRF tokens, API tokens, roles, login limits.

- Passwords are hashed with argon2id (``argon2-cffi``, RFC 9106 parameters of its current profile) and
  rehashed on login when those parameters change.
- A browser gets a session cookie (HttpOnly, SameSite=Lax; Secure behind TLS) holding a random token of
  which only the SHA-256 is stored. Every state-changing request made with that cookie must carry the
  session's CSRF token (the ``X-CSRF-Token`` header, which the dashboard's HTMX requests send, or a
  ``csrf_token`` form field): a cross-site form can send the cookie but cannot read the token (the
  synchronizer-token pattern of the OWASP CSRF Prevention Cheat Sheet).
- Agents and scripts send ``Authorization: Bearer TOKEN``; a token acts with its user's role and
  organization. Bearer requests need no CSRF token (a browser never adds that header by itself).
- Roles are ranked ``viewer`` < ``operator`` < ``admin``: each route names the least role it needs.
- After :data:`~greendc.service.settings.LOGIN_FAILURES_ALLOWED` failures within the window for one user name
  or from one client, logins are refused with 429 before the password is even checked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from greendc.errors import UsageError
from greendc.service.database import (
    ROLES,
    ApiToken,
    BrowserSession,
    LoginAttempt,
    Organization,
    User,
    utc_now,
)
from greendc.service.settings import ServiceSettings

Row = TypeVar("Row")
SESSION_COOKIE = "greendc_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: User names: letters, digits and ``.-_@``, as a login form and a log line can show them unquoted.
NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@")
MIN_PASSWORD_CHARS = 10
#: A token's last use is recorded to within this (a minute is what an audit needs).
TOKEN_USE_RESOLUTION = timedelta(minutes=1)

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (which must have at least :data:`MIN_PASSWORD_CHARS` characters)."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise UsageError(f"password: at least {MIN_PASSWORD_CHARS} characters, got {len(password)}")
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def sha256_hex(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A random token of 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def check_user_name(name: str) -> str:
    if not 1 <= len(name) <= 100 or not set(name) <= NAME_CHARACTERS:
        raise UsageError("user name: 1 to 100 letters, digits or the characters . - _ @, got "
                         f"{name[:40]!r}")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UsageError(f"role: one of {', '.join(ROLES)}, got {role[:40]!r}")
    return role


def create_user(db: Session, name: str, password: str, role: str, organization: str) -> User:
    """A new user in ``organization`` (created when it does not exist yet); the caller commits."""
    check_user_name(name)
    check_role(role)
    if db.scalar(select(User).where(User.name == name)) is not None:
        raise UsageError(f"user name: {name!r} is taken")
    org = db.scalar(select(Organization).where(Organization.name == organization))
    if org is None:
        org = Organization(name=organization)
        db.add(org)
        db.flush()
    user = User(organization_id=org.id, name=name, password_hash=hash_password(password), role=role)
    db.add(user)
    db.flush()
    return user


def create_api_token(db: Session, user: User, name: str) -> str:
    """A new API token for ``user``; the token is returned once and only its SHA-256 is kept."""
    token = new_token()
    db.add(ApiToken(user_id=user.id, name=name[:100], token_sha256=sha256_hex(token)))
    db.flush()
    return token


@dataclass(frozen=True)
class Principal:
    """The user a request acts for, and how it proved it."""

    user_id: int
    user_name: str
    organization_id: int
    role: str
    #: The session's CSRF token (None for a bearer token, which needs none).
    csrf_token: str | None

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def _principal(user: User, csrf_token: str | None) -> Principal:
    return Principal(user.id, user.name, user.organization_id, user.role, csrf_token)


def principal_from_request(request: Request, db: Session) -> Principal | None:
    """The request's user by its bearer token or its session cookie; None when it has neither valid."""
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        token = db.scalar(select(ApiToken).where(ApiToken.token_sha256 == sha256_hex(authorization[7:].strip())))
        if token is None:
            return None
        now = utc_now()
        if token.last_used_at is None or now - token.last_used_at > TOKEN_USE_RESOLUTION:
            token.last_used_at = now  # not at every request: an agent's every step would be a write
        user = db.get(User, token.user_id)
        return None if user is None else _principal(user, None)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    session = db.scalar(select(BrowserSession).where(BrowserSession.token_sha256 == sha256_hex(cookie)))
    if session is None or session.expires_at <= utc_now():
        return None
    user = db.get(User, session.user_id)
    return None if user is None else _principal(user, session.csrf_token)


async def check_csrf(request: Request, principal: Principal) -> None:
    """Refuse (403) a state-changing cookie request without its session's CSRF token."""
    if request.method in SAFE_METHODS or principal.csrf_token is None:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = str((await request.form()).get(CSRF_FIELD) or "")
    if not sent or not hmac.compare_digest(sent, principal.csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


def database(request: Request):  # type: ignore[no-untyped-def]
    """One database session per request, committed when the route returns without an error.

    Used as ``Depends(database, scope="function")``: the commit then happens before the response is sent
    (FastAPI's default scope commits after it), so a client is never told of a write that is not yet in the
    database, or that then fails; the load test saw a freshly logged-in browser refused (its session row was
    not committed yet when its next request came)."""
    with request.app.state.sessions() as db:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise


def requires(role: str) -> Callable[..., object]:
    """A dependency: the request's :class:`Principal`, who must hold at least ``role`` (401 without a login,
    403 with a lesser role or, for a cookie request that changes state, without the CSRF token)."""
    check_role(role)

    async def dependency(request: Request, db: Annotated[Session, Depends(database, scope="function")]) -> Principal:
        # The look-up blocks on the database: in a worker thread, as FastAPI runs the sync routes, never on the
        # event loop (there, one request waiting for SQLite's write lock stalls every other request, the one
        # holding the lock included, whose commit the loop must schedule).
        principal = await run_in_threadpool(principal_from_request, request, db)
        if principal is None:
            raise HTTPException(401, "log in first (a session cookie or an API token)",
                                headers={"WWW-Authenticate": "Bearer"})
        await check_csrf(request, principal)
        if not principal.may(role):
            raise HTTPException(403, f"this needs the {role} role; you are {principal.role}")
        return principal

    return dependency


#: The largest id the tables hold (PostgreSQL's integer): a larger one names no row, and is not sent to the
#: database, which would refuse it as out of range.
MAX_ID = 2**31 - 1


def valid_id(value: int | None) -> bool:
    return value is not None and 1 <= value <= MAX_ID


def owned_row(db: Session, principal: Principal, table: type[Row], row_id: int, what: str) -> Row:
    """The row ``row_id`` of ``table`` if it belongs to the principal's organization; otherwise 404, so that
    another organization's id (or one no table can hold) answers as a missing one does."""
    if not valid_id(row_id):
        raise HTTPException(404, f"no {what} {row_id}")
    row = db.scalar(select(table).where(table.id == row_id,  # type: ignore[attr-defined]
                                        table.organization_id == principal.organization_id))  # type: ignore[attr-defined]
    if row is None:
        raise HTTPException(404, f"no {what} {row_id}")
    return row


def login_refused_for(db: Session, settings: ServiceSettings, user_name: str, client: str) -> bool:
    """Whether the failures within the window for this name, or from this client, reach the limit."""
    since = utc_now() - timedelta(seconds=settings.login_window_s)
    failures = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.succeeded.is_(False),
                                                                   LoginAttempt.at >= since)
    by_name = db.scalar(failures.where(LoginAttempt.user_name == user_name[:100])) or 0
    by_client = db.scalar(failures.where(LoginAttempt.client == client[:100])) or 0
    return max(by_name, by_client) >= settings.login_failures_allowed


def log_in(db: Session, settings: ServiceSettings, user_name: str, password: str, client: str
           ) -> tuple[str, BrowserSession] | None:
    """Check a login; on success a new session (its cookie token and its row), else None. Every try is
    recorded; the caller checks :func:`login_refused_for` first."""
    user = db.scalar(select(User).where(User.name == user_name))
    matched = user is not None and password_matches(user.password_hash, password)
    db.add(LoginAttempt(user_name=user_name[:100], client=client[:100], succeeded=matched))
    if not matched or user is None:
        db.commit()  # the failure counts even though the request fails
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    token = new_token()
    session = BrowserSession(user_id=user.id, token_sha256=sha256_hex(token), csrf_token=new_token(),
                             expires_at=utc_now() + timedelta(seconds=settings.session_lifetime_s))
    db.add(session)
    db.flush()
    return token, session


def log_out(db: Session, cookie: str | None) -> None:
    if cookie:
        session = db.scalar(select(BrowserSession).where(BrowserSession.token_sha256 == sha256_hex(cookie)))
        if session is not None:
            db.delete(session)
