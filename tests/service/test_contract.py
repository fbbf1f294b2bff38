"""Schemathesis over every operation of the committed OpenAPI document, against the live app.

Each generated request (valid and invalid data) goes to the real app, in process over ASGI, with
real records (SQLite) and credentials in its database: once without credentials, and once as each
role the operation allows (its ``x-roles``). Every response must pass Schemathesis's checks: no
server error, a declared status, content type, headers and body schema, invalid data refused,
required headers, methods and auth honoured (all default checks but positive_data_acceptance).
Deterministic (derandomized) and bounded: ``CONTRACT_EXAMPLES`` examples per operation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from starlette.types import Receive, Scope, Send
from tests.service.conftest import make_runtime

from bioexit.errors import AuthenticationError
from bioexit.lanesim.writer import PORT
from bioexit.service.app import create_app
from bioexit.service.auth import Role
from bioexit.service.credentials import Authenticator

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
DOCUMENT = json.loads(COMMITTED.read_text(encoding="utf-8"))
PASSWORD = "correct horse battery"
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "25"))


class LiveApp:
    """The ASGI app Schemathesis calls: it forwards to the app the fixture builds, since the
    schema's operations are collected before any fixture runs."""

    def __init__(self) -> None:
        self.target: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.target is not None, "the live fixture builds the app"
        await self.target(scope, receive, send)


# Schema-valid is not data-valid for uploads: random bytes fit ``format: binary`` but are no JPEG,
# and a random encounter string is no encounter.json; 422 is then the right answer.
NOT_APPLICABLE = [positive_data_acceptance]
LIVE_APP = LiveApp()
schema = schemathesis.openapi.from_dict(DOCUMENT)  # the committed document, not the app's own
schema.app = LIVE_APP
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES,
    deterministic=True,
    with_security_parameters=False,  # credentials come from the fixture, one call per role
)


class Callers:
    """A live credential for every role: people log in, the lane device has an API key."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator
        self.tokens: dict[str, str] = {}
        for role in Role:
            if role is Role.LANE_DEVICE:
                self.tokens[role.value] = authenticator.add_device("contract-lane", frozenset({PORT})).token
            else:
                authenticator.add_user(role.value, PASSWORD, frozenset({role}), frozenset({PORT}))
                self.tokens[role.value] = authenticator.login(role.value, PASSWORD)

    def headers(self, role: str | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}

    def renew(self, role: str | None) -> None:
        """Log in again where the call ended the session (DELETE /v1/sessions/current)."""
        if role is None or role == Role.LANE_DEVICE.value:
            return
        try:
            self.authenticator.principal(self.tokens[role])
        except AuthenticationError:
            self.tokens[role] = self.authenticator.login(role, PASSWORD)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, Callers]]:
    # No rate limit in the way (429 is declared and tested elsewhere); streams end at once.
    service = {"rate_burst": 1_000_000, "rate_per_second": 1_000_000, "stream_seconds": 0.05}
    runtime = make_runtime(tmp_path_factory.mktemp("contract"), service=service)
    app = LIVE_APP.target = create_app(runtime.settings, runtime)
    yield app, Callers(app.state.authenticator)
    LIVE_APP.target = None
    runtime.close()


def callers_for(case: Any) -> list[str | None]:
    roles = DOCUMENT["paths"][case.operation.path][case.operation.method.lower()]["x-roles"]
    return [None] if roles == ["public"] else [None, *roles]


def test_the_committed_document_names_roles_on_every_operation() -> None:
    operations = [op for ops in DOCUMENT["paths"].values() for op in ops.values()]
    assert operations and all(op.get("x-roles") for op in operations)
    known = {r.value for r in Role} | {"public"}
    assert all(set(op["x-roles"]) <= known for op in operations)


def at_the_callers_port(case: Any) -> None:
    """Valid requests go to the port the callers belong to, so a route's work is reached and not
    only its port check (another port's 403 is tested in test_access and test_lane_api)."""
    positive = case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE
    if positive and "port" in (case.path_parameters or {}):
        case.path_parameters["port"] = PORT


@schema.parametrize()
def test_every_operation_keeps_its_contract(case: Any, live: tuple[FastAPI, Callers]) -> None:
    _app, callers = live
    at_the_callers_port(case)
    for role in callers_for(case):
        case.call_and_validate(headers=callers.headers(role), excluded_checks=NOT_APPLICABLE)
        callers.renew(role)


def test_the_check_fails_on_a_status_the_document_does_not_declare(live: tuple[FastAPI, Callers]) -> None:
    """The harness is not vacuous: with 404 struck from the document, a missing review fails it."""
    _app, callers = live
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    del document["paths"]["/v1/reviews/{review_id}"]["get"]["responses"]["404"]
    stripped = schemathesis.openapi.from_dict(document)
    stripped.app = LIVE_APP
    case = stripped["/v1/reviews/{review_id}"]["GET"].Case(path_parameters={"review_id": "no-such-review"})
    with pytest.raises(BaseExceptionGroup, match="1 distinct failure") as failed:
        case.call_and_validate(headers=callers.headers(Role.OFFICER.value))
    assert "Undocumented status code" in str(failed.value.exceptions[0])
