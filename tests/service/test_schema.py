"""The service's schema: the Alembic migration and the SQLAlchemy models agree on both engines, ``greendc db
upgrade`` can be run again, and ``greendc serve`` refuses a database it cannot use with one line (exit 2)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from greendc.cli.main import app as cli
from greendc.service import schema_version
from greendc.service.database import Base, make_engine
from tests.service.conftest import _new_postgresql_database

# Enough for the CLI to import and refuse; a serve that does not refuse would run until this runs out.
SERVE_TIMEOUT_S = 60


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables: a new SQLite file, or a new database on the throwaway PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        yield _new_postgresql_database(request.getfixturevalue("postgresql_server"))


def _greendc(*arguments: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run the greendc command as a user would; the answer's stdout and stderr as text."""
    return subprocess.run([sys.executable, "-m", "greendc", *arguments, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=SERVE_TIMEOUT_S, stdin=subprocess.DEVNULL)


def _flat(output: str) -> str:
    """The output with Rich's wrapping at the terminal's width undone."""
    return " ".join(output.split())


def _one_line(completed: subprocess.CompletedProcess[str]) -> str:
    """The single line the command printed (stdout and stderr together), failing when it printed more."""
    lines = [line for line in (completed.stdout + completed.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_the_migration_and_the_models_describe_the_same_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert differences == []
    # A comparison of nothing against nothing would pass too: the models' tables must all be there.
    assert set(Base.metadata.tables) <= tables and "alembic_version" in tables


def test_db_upgrade_creates_the_schema_once_and_a_rerun_changes_nothing(empty_database_url: str,
                                                                        tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["db", "upgrade", "--db", empty_database_url, "--data-dir", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert "migrated from an empty database to" in _flat(first.output)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            tables_before = set(inspect(connection).get_table_names())
            revision = MigrationContext.configure(connection).get_current_revision()
        again = runner.invoke(cli, ["db", "upgrade", "--db", empty_database_url, "--data-dir", str(tmp_path)])
        assert again.exit_code == 0, again.output
        assert f"already at migration {revision}" in _flat(again.output)
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == tables_before
            assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        engine.dispose()
    assert revision == schema_version.head_revision()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_refuses_a_postgresql_server_that_does_not_answer_in_one_line(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://greendc:secret-password@127.0.0.1:{_free_port()}/greendc"
    completed = _greendc("serve", "--db", url, "--port", str(_free_port()), data_dir=tmp_path)
    assert completed.returncode == 2
    line = _one_line(completed)
    assert line.startswith("error: cannot reach the database postgresql+psycopg://greendc:***@127.0.0.1")
    assert "secret-password" not in line and "Traceback" not in line


def test_serve_refuses_a_postgresql_database_without_the_schema_in_one_line(postgresql_server: str,
                                                                             tmp_path: Path) -> None:
    url = _new_postgresql_database(postgresql_server)
    completed = _greendc("serve", "--db", url, "--port", str(_free_port()), data_dir=tmp_path)
    assert completed.returncode == 2
    line = _one_line(completed)
    assert "has no greendc schema yet: run 'greendc db upgrade' --db URL" in line
    # Refused, not created behind the operator's back: a server's database is upgraded deliberately.
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert inspect(connection).get_table_names() == []
    finally:
        engine.dispose()


def test_serve_refuses_a_database_a_newer_greendc_wrote_in_one_line(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    finally:
        engine.dispose()
    completed = _greendc("serve", "--db", database_url, "--port", str(_free_port()), data_dir=tmp_path)
    assert completed.returncode == 2
    line = _one_line(completed)
    assert "is at migration 0099_from_the_future, which this greendc does not know" in line
    assert line.endswith("upgrade greendc")


def test_serve_refuses_a_database_at_an_older_migration_in_one_line(database_url: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # One migration ships so far, so "older" is shown by a greendc whose newest migration is a later one.
    current = schema_version.head_revision()
    monkeypatch.setattr(schema_version, "head_revision", lambda: "0002_a_later_one")

    def serving(*_arguments: object, **_options: object) -> None:
        raise AssertionError("serve started on a database at an older migration")

    monkeypatch.setattr("uvicorn.run", serving)
    answer = CliRunner().invoke(cli, ["serve", "--db", database_url, "--data-dir", str(tmp_path)])
    assert answer.exit_code == 2, answer.output
    lines = [line for line in answer.output.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert f"is at an older migration ({current}, this greendc needs 0002_a_later_one)" in lines[0]
    assert "run 'greendc db upgrade'" in lines[0]
