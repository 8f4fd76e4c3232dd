"""Create and upgrade the service's database with its Alembic migrations, and check it before serving.

``greendc db upgrade`` runs :func:`upgrade`; ``greendc serve`` runs :func:`check_database` first, so that a
server that cannot be reached, or a database at an older migration, is one clear line at start rather than
an error on the first request.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from greendc.errors import GreendcError, plain_text

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseError(GreendcError):
    """A database the service cannot use: unreachable, or at another migration than this greendc's."""


def shown_url(database_url: str) -> str:
    """The URL without its password, fit for a message."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except Exception:
        return "the database URL"


def _config(connection: object | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration this greendc ships."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None: an empty database); DatabaseError when it cannot be reached."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as error:
        raise DatabaseError(f"cannot reach the database {shown_url(str(engine.url))}: "
                            f"{plain_text(getattr(error, 'orig', error))}") from None


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate the database to ``revision``; return the revisions before and after."""
    before = current_revision(engine)
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)
    return before, current_revision(engine) or ""


def check_database(engine: Engine) -> None:
    """Refuse (one line) a database that cannot be reached or is not at this greendc's newest migration."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    url = shown_url(str(engine.url))
    if current is None:
        raise DatabaseError(f"the database {url} has no greendc schema yet: run 'greendc db upgrade'"
                            + ("" if url.startswith("sqlite") else " --db URL"))
    known = {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}
    if current in known:
        raise DatabaseError(f"the database {url} is at an older migration ({current}, this greendc needs {head}): "
                            "run 'greendc db upgrade'")
    raise DatabaseError(f"the database {url} is at migration {current}, which this greendc does not know "
                        "(a newer greendc wrote it): upgrade greendc")
