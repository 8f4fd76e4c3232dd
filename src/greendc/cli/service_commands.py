"""``greendc serve``, ``greendc db upgrade`` and ``greendc users create``: the web service and its database."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from greendc.errors import UsageError

_out = Console()
DatabaseOption = Annotated[str | None, typer.Option(
    "--db", help="SQLAlchemy URL: postgresql+psycopg://USER:PASSWORD@HOST/DB, or sqlite:///PATH "
    "(default: an embedded SQLite file in the data folder).")]
DataDirOption = Annotated[Path | None, typer.Option(
    "--data-dir", help="Where the service keeps uploaded and produced files (default: $GREENDC_DATA_DIR or "
    "~/.local/share/greendc).")]


def _settings(database_url: str | None, data_dir: Path | None):  # type: ignore[no-untyped-def]
    from greendc.service.settings import ServiceSettings

    return ServiceSettings.from_options(database_url, data_dir)


def _engine_upgraded_if_new(settings):  # type: ignore[no-untyped-def]
    """The engine; the embedded default database is created on first use (a server's must be upgraded
    deliberately, with ``greendc db upgrade``)."""
    from greendc.service.database import make_engine
    from greendc.service.schema_version import current_revision, upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    embedded = settings.database_url.startswith("sqlite")
    if embedded and current_revision(engine) is None:
        upgrade(engine)
    return engine


def _read_password() -> str:
    if sys.stdin.isatty():
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("password: give it on standard input (one line)")
    return password


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="The service's database.", no_args_is_help=True)
    users_app = typer.Typer(help="The service's users.", no_args_is_help=True)
    app.add_typer(db_app, name="db")
    app.add_typer(users_app, name="users")

    @app.command()
    def serve(
        database_url: DatabaseOption = None,
        data_dir: DataDirOption = None,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    ) -> None:
        """Serve the web API and the dashboard (http://HOST:PORT, the API's description at /docs)."""
        import uvicorn

        from greendc.service.app import create_app

        settings = _settings(database_url, data_dir)
        _engine_upgraded_if_new(settings).dispose()
        application = create_app(settings)
        _hint_first_user(application)
        _out.print(f"greendc serving on http://{host}:{port} (database {_shown(settings.database_url)}); "
                   "Ctrl-C stops it")
        # Browsers and agents keep a connection open between pages and steps; uvicorn's 5 s default closed it
        # just as a client reused it (3 of 9,581 requests in the load test: "server disconnected").
        uvicorn.run(application, host=host, port=port, log_level="warning", timeout_keep_alive=75)

    @db_app.command("upgrade")
    def db_upgrade(database_url: DatabaseOption = None, data_dir: DataDirOption = None) -> None:
        """Create the service's tables, or migrate them to this greendc's schema."""
        from greendc.service.database import make_engine
        from greendc.service.schema_version import upgrade

        settings = _settings(database_url, data_dir)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        before, after = upgrade(make_engine(settings.database_url))
        shown = _shown(settings.database_url)
        _out.print(f"{shown}: already at migration {after}" if before == after
                   else f"{shown}: migrated from {before or 'an empty database'} to {after}")

    @users_app.command("create")
    def users_create(
        name: Annotated[str, typer.Argument(help="Login name.")],
        role: Annotated[str, typer.Option(help="viewer | operator | admin")] = "viewer",
        organization: Annotated[str, typer.Option(help="The user's organization (created if new).")] = "default",
        database_url: DatabaseOption = None,
        data_dir: DataDirOption = None,
    ) -> None:
        """Create a user; the password is read from standard input (asked twice on a terminal)."""
        from greendc.service.database import session_factory
        from greendc.service.schema_version import check_database
        from greendc.service.security import check_role, check_user_name, create_user

        check_user_name(name)
        check_role(role)
        engine = _engine_upgraded_if_new(_settings(database_url, data_dir))
        check_database(engine)
        password = _read_password()
        with session_factory(engine)() as db:
            create_user(db, name, password, role, organization)
            db.commit()
        _out.print(f"user {name} ({role}) created in organization {organization}")


def _shown(database_url: str) -> str:
    from greendc.service.schema_version import shown_url

    return shown_url(database_url)


def _hint_first_user(application) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from greendc.service.database import User

    with application.state.sessions() as db:
        if not db.scalar(select(func.count()).select_from(User)):
            _out.print("no users yet: create the first with 'greendc users create NAME --role admin' "
                       "(password on standard input)")
