"""The service under test, on the embedded SQLite and on a real PostgreSQL server.

The PostgreSQL server is a throwaway one started for the session from Debian's ``postgresql`` package
(installed by ``.ci/run``), each test on a database of its own; pytest-postgresql is not used because its
fixture runs ``initdb`` as the current user, and CI runs as root, which PostgreSQL refuses.
Where ``CI`` is set a missing server fails the tests rather than skipping them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from greendc.service.app import create_app
from greendc.service.database import make_engine, session_factory
from greendc.service.schema_version import upgrade
from greendc.service.security import create_user
from greendc.service.settings import ServiceSettings

PASSWORD = "a-long-test-password"


def _postgres_bin() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


POSTGRES_BIN = _postgres_bin()


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root (CI runs as root): there, run it as Debian's postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1 for the session; yields its base URL (no database)."""
    if POSTGRES_BIN is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: .ci/run installs Debian's postgresql package")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    # Not under pytest's temporary folder: that is private to root, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="greendc-postgresql-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run(_as_server_user([str(POSTGRES_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                                    "--auth=trust", "-E", "UTF8"]), check=True, capture_output=True, timeout=120)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(_as_server_user([str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-t", "60",
                                    "-l", str(folder / "server.log"), "start"]), check=True, capture_output=True,
                   timeout=120)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_server_user([str(POSTGRES_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def _new_postgresql_database(server_url: str) -> str:
    name = f"greendc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url.replace("postgresql+psycopg", "postgresql") + "/postgres",
                         autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: an SQLite file, or a new database on the throwaway PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'service.db'}"
    else:
        url = _new_postgresql_database(request.getfixturevalue("postgresql_server"))
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> ServiceSettings:
    return ServiceSettings(database_url=database_url, data_dir=tmp_path / "data", login_failures_allowed=5)


@pytest.fixture
def app(settings: ServiceSettings):  # type: ignore[no-untyped-def]
    application = create_app(settings)
    yield application
    # The job queue's workers poll the database: stop them before the database (PostgreSQL's goes with the
    # session) disappears under them.
    application.state.jobs.stop()
    application.state.engine.dispose()


@pytest.fixture
def make_client(app) -> Callable[..., TestClient]:  # type: ignore[no-untyped-def]
    """``make_client(name, role, organization)``: a new user, logged in; the client sends the CSRF header."""

    def make(name: str, role: str = "operator", organization: str = "acme") -> TestClient:
        with session_factory(app.state.engine)() as db:
            create_user(db, name, PASSWORD, role, organization)
            db.commit()
        client = TestClient(app)
        answer = client.post("/api/login", json={"name": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return client

    return make


@pytest.fixture
def anonymous(app) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app)
