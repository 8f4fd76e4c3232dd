"""Schemathesis over the service's OpenAPI document: for every operation, requests generated from its schema
(valid and not) answered by the in-process application, authenticated as an admin with an API token, give
no 5xx and only answers that fit the document's schema. SQLite only (the schema is the same on both engines,
see test_schema.py); a bounded number of examples per operation keeps the whole run under a minute."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.orm import Session

from greendc.service.app import create_app
from greendc.service.database import make_engine
from greendc.service.schema_version import upgrade
from greendc.service.security import create_api_token, create_user
from greendc.service.settings import ServiceSettings
from tests.service.conftest import PASSWORD

EXAMPLES_PER_OPERATION = 15


@pytest.fixture
def fuzzed_app(tmp_path: Path) -> Iterator[tuple[object, str]]:
    """The service on a new SQLite database, and an admin's API token."""
    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app(ServiceSettings(database_url=url, data_dir=tmp_path / "data"))
    with Session(app.state.engine) as db:
        token = create_api_token(db, create_user(db, "fuzz-admin", PASSWORD, "admin", "acme"), "schemathesis")
        db.commit()
    yield app, token
    app.state.engine.dispose()


def _fuzz(operation, mode: GenerationMode, token: str) -> None:  # type: ignore[no-untyped-def]
    """Bounded examples of one operation in one generation mode, each answer checked."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def fuzz(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                               checks=[not_a_server_error, response_schema_conformance])

    fuzz()


def test_no_operation_answers_5xx_or_outside_its_schema(fuzzed_app: tuple[object, str]) -> None:
    app, token = fuzzed_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20, "the OpenAPI document lost its operations"
    failures = []
    for operation in operations:
        if operation.path == "/api/logout":
            continue  # it would end the token's use for the rest of the run; test_accounts covers it
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, token)
            except Unsatisfiable:
                continue  # no parameters and no body: nothing to make invalid
            except (Exception, BaseExceptionGroup) as failure:  # every operation's failures, not the first's
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): "
                                f"{str(failure)[:1500]}")
    assert not failures, "\n\n".join(failures)
