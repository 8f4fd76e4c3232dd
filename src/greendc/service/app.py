"""The FastAPI application: routes, the dashboard's templates and static files, and the error contract.

Errors keep the command line's contract: a :class:`~greendc.errors.GreendcError` (a bad site file, inventory,
telemetry batch or option) is a 422 whose ``detail`` is the same one line the CLI prints, naming the field;
a request body that does not fit its typed model is a 422 naming the first field at fault; anything else
that escapes is logged and answered with a 500 that says it is a bug, never with a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from greendc.errors import GreendcError, plain_text
from greendc.service.database import make_engine, session_factory
from greendc.service.schema_version import check_database
from greendc.service.settings import ServiceSettings

PACKAGE = Path(__file__).parent
templates = Jinja2Templates(directory=PACKAGE / "templates")
log = logging.getLogger("greendc.service")


class UploadLimit:
    """Refuse (413) a request body over the limit before it is read whole: by its Content-Length at once,
    and a chunked body as soon as its bytes pass the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await _too_large(self.max_bytes)(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _BodyTooLargeError()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLargeError:
            await _too_large(self.max_bytes)(scope, receive, send)


class RequestLimit:
    """At most ``limit`` requests in the routes at once; the others wait on the event loop.

    Sync routes and their database sessions run in AnyIO's worker threads (40), and a session's commit, at
    the end of its request, needs a thread too. Were every thread taken by requests waiting for SQLite's
    write lock, the request holding that lock could not get one to commit: every request would stall until
    the lock's timeout (seen with 50 users logging in at once). Keeping the requests in flight well under the
    thread count leaves the holder a thread.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self._slots = app, asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self._slots:
            await self.app(scope, receive, send)


class _BodyTooLargeError(Exception):
    pass


def _too_large(max_bytes: int) -> Response:
    return JSONResponse({"detail": f"upload too large: at most {max_bytes // (1024 * 1024)} MiB"}, 413)


def _first_validation_problem(error: RequestValidationError) -> str:
    problems = error.errors()
    if not problems:
        return "the request does not fit its schema"
    first = problems[0]
    if first.get("type") == "json_invalid":
        return "request body: not valid JSON"
    where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path"))
    return f"{where or 'request'}: {plain_text(first.get('msg', 'invalid'))}"


#: What every 422 answers (a GreendcError's line or the first field at fault), for the OpenAPI document, which
#: would otherwise describe FastAPI's default list of validation errors.
PROBLEM_SCHEMA = {"title": "Problem", "type": "object", "required": ["detail"],
                  "properties": {"detail": {"title": "Detail", "type": "string",
                                            "description": "One line naming the field at fault."}}}


def _openapi_with_one_line_problems(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` whose 422 answers are described as they are: ``{"detail": "one line"}``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            schemas = document.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in schemas:
                schemas["HTTPValidationError"] = PROBLEM_SCHEMA
                schemas.pop("ValidationError", None)
            app.openapi_schema = document
        return app.openapi_schema

    return openapi


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GreendcError)
    async def user_error(request: Request, error: GreendcError) -> Response:
        return JSONResponse({"detail": str(error)}, 422)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        return JSONResponse({"detail": _first_validation_problem(error)}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 401 and _wants_html(request):
            return RedirectResponse(f"/login?next={request.url.path}", 303)
        return JSONResponse({"detail": error.detail}, error.status_code, headers=error.headers)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def out_of_range(request: Request, error: Exception) -> Response:
        # An id past the database's integer (2**63 on SQLite, 2**31 on PostgreSQL) names no row and fits no
        # column, as a text past a column's length: the request's fault, not greendc's.
        return JSONResponse({"detail": "a value in the request does not fit the database (a number too large "
                                       "or a text too long)"}, 422)

    @app.exception_handler(Exception)
    async def bug(request: Request, error: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": f"internal error (a bug in greendc, please report it): "
                                       f"{type(error).__name__}"}, 500)


def create_app(settings: ServiceSettings, check_schema: bool = True) -> FastAPI:
    """The service for ``settings``; refuses (DatabaseError) a database that is unreachable or not migrated."""
    from greendc.service.routes import register_routes

    engine = make_engine(settings.database_url)
    if check_schema:
        check_database(engine)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = FastAPI(title="greendc", version=_version(), summary="Greener data centers: simulation, AI cooling "
                  "control, verified savings and carbon reporting, for operators and sustainability teams.")
    app.state.settings, app.state.engine, app.state.sessions = settings, engine, session_factory(engine)
    app.state.templates = templates
    add_error_handlers(app)
    app.mount("/static", StaticFiles(directory=PACKAGE / "static"), name="static")
    register_routes(app)
    app.openapi = _openapi_with_one_line_problems(app)  # type: ignore[method-assign]
    app.add_middleware(UploadLimit, max_bytes=settings.max_upload_bytes)  # type: ignore[arg-type]
    app.add_middleware(RequestLimit, limit=settings.requests_in_flight)  # type: ignore[arg-type]
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("greendc")
    except PackageNotFoundError:
        return "0"


def template_context(request: Request, **values: Any) -> dict[str, Any]:
    """What every dashboard page's template sees: the request, the user, the CSRF token, and ``values``."""
    return {"request": request, **values}
