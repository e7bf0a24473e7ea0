"""Schemathesis over the OpenAPI document (issue 12): no 5xx, every response as the
document says, every 422 naming its field.

Bounded and repeatable: a fixed number of examples per operation, a fixed seed, a
derandomised run, no example database, and a time cap per operation, as an admin (the
caller who reaches the most code). The cases come from the document itself, so a route
added to it is fuzzed without touching this file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from incidents.audit import system_actor
from incidents.clock import FrozenClock
from incidents.org import Person
from incidents.tokens import create_token
from tests.api.conftest import services_of
from tests.conftest import load_demo_org, make_app

EXAMPLES = int(os.environ.get("FENGHUO_FUZZ_EXAMPLES", "12"))
SEED = 20261201
# Per operation; the whole run is bounded by EXAMPLES x operations (50 today).
CAP_SECONDS = float(os.environ.get("FENGHUO_FUZZ_SECONDS_PER_OPERATION", "30"))
# The export answers the organisation file as YAML text; Schemathesis reads YAML into a
# mapping and would hold that against the documented string.
TEXT_RESPONSES = {"GET /org/export"}


@pytest.fixture
def fuzzed(sqlite_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[tuple[Flask, str]]:
    app = make_app(sqlite_url, tmp_path / "instance", clock)
    services = services_of(app)
    load_demo_org(services.sessions)
    with services.sessions() as s, s.begin():
        admin = s.scalars(select(Person.login).where(Person.is_admin.is_(True))).first()
        assert admin is not None
        token, _row = create_token(
            s, login=admin, name="fuzz", actor=system_actor("cli"), now=clock.now()
        )
    yield app, token
    services.engine.dispose()


def _names_its_field(_ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code == 422:
        error = response.json().get("error") or {}
        assert error.get("field"), f"a 422 without its field: {error}"
    return None


def _fuzz(operation: Any, token: str) -> list[str]:
    """Run one operation's cases; the failures found, one line each."""
    found: list[str] = []
    started = time.monotonic()
    # A 5xx, or a response the document does not describe. (Not Schemathesis's
    # "schema-valid request rejected": a 422 for a rule no schema can state, such as an
    # occurrence after the detection, is right.)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        _names_its_field,
    ]
    if operation.label not in TEXT_RESPONSES:
        checks.append(response_schema_conformance)

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy())
    def run(case: Any) -> None:
        if time.monotonic() - started > CAP_SECONDS:
            return  # this operation had its share of the time
        try:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=checks)
        except BaseException as exc:  # a failure group from the checks: keep it, go on
            found.append(f"{operation.label}: {str(exc)[:600]}")

    run()
    return found


def test_no_operation_fails_or_leaves_its_document(fuzzed: tuple[Flask, str]) -> None:
    app, token = fuzzed
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40  # the whole document, not a part of it
    failures = [line for operation in operations for line in _fuzz(operation, token)]
    assert not failures, "\n\n".join(failures[:10])
