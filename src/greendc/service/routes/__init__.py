"""The service's routes: ``/api/...`` answers JSON (described by the OpenAPI document at ``/openapi.json``);
the other paths are the dashboard's pages."""

from __future__ import annotations

from fastapi import FastAPI

from greendc.service.routes import accounts, agents, reporting, sites


def register_routes(app: FastAPI) -> None:
    app.include_router(accounts.router)
    app.include_router(reporting.router)
    app.include_router(agents.router)
    sites.install(app)
