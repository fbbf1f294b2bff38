"""Authentication, roles, deny-by-default, and the limits, on a real app over real ASGI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.service.conftest import make_runtime

from bioexit.errors import AuthenticationError, PermissionDeniedError
from bioexit.service.access import allow, require_port, undeclared_routes
from bioexit.service.app import create_app, route_table
from bioexit.service.auth import Principal, Role, issue_api_key, split_api_key
from bioexit.service.credentials import Authenticator, MemoryCredentialStore
from bioexit.service.runtime import Runtime

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


AppFactory = Callable[..., tuple[FastAPI, Authenticator]]


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[AppFactory]:
    """Apps over a real records store in tmp_path, with credentials in memory; one officer of P1."""
    runtimes: list[Runtime] = []

    def make(clock: Clock, **service: object) -> tuple[FastAPI, Authenticator]:
        runtime = make_runtime(tmp_path / f"app{len(runtimes)}", service=service)
        runtimes.append(runtime)
        app = create_app(runtime.settings, runtime, credentials=MemoryCredentialStore(), clock=clock)
        authenticator: Authenticator = app.state.authenticator
        authenticator.add_user("olivia", PASSWORD, frozenset({Role.OFFICER}), frozenset({"P1"}))
        return app, authenticator

    yield make
    for runtime in runtimes:
        runtime.close()


def test_every_route_declares_its_roles(make_app: AppFactory, clock: Clock) -> None:
    app, _ = make_app(clock)
    assert undeclared_routes(app) == []
    table = {row["path"]: row["roles"] for row in route_table(app)}
    assert table["/v1/health"] == "public"
    assert table["/v1/me"] == sorted(r.value for r in Role)


def test_a_route_without_roles_is_found() -> None:
    app = FastAPI()

    @app.get("/open")
    def open_route() -> None: ...

    @app.get("/closed", dependencies=[allow(Role.ADMIN)])
    def closed_route() -> None: ...

    assert undeclared_routes(app) == ["['GET'] /open"]


def test_login_then_me_with_bearer_and_cookie(make_app: AppFactory, clock: Clock) -> None:
    app, _ = make_app(clock)
    with TestClient(app) as client:
        response = client.post("/v1/sessions", json={"username": "olivia", "password": PASSWORD})
        assert response.status_code == 201
        token = response.json()["token"]
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["subject"] == "olivia" and me["roles"] == ["officer"] and me["ports"] == ["P1"]
        assert client.get("/v1/me").status_code == 200  # the HttpOnly cookie from the login
        assert client.delete("/v1/sessions/current").status_code == 204
        assert client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_wrong_password_and_unknown_user_look_the_same(make_app: AppFactory, clock: Clock) -> None:
    app, _ = make_app(clock)
    with TestClient(app) as client:
        wrong = client.post("/v1/sessions", json={"username": "olivia", "password": "not it at all"})
        unknown = client.post("/v1/sessions", json={"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert wrong.json()["type"] == "/problems/authentication"


def test_sessions_expire_on_the_clock(make_app: AppFactory, clock: Clock) -> None:
    _, authenticator = make_app(clock, session_hours=1)
    token = authenticator.login("olivia", PASSWORD)
    assert authenticator.principal(token).subject == "olivia"
    clock.now += 3601
    with pytest.raises(AuthenticationError, match="expired"):
        authenticator.principal(token)


def test_device_api_keys(make_app: AppFactory, clock: Clock) -> None:
    app, authenticator = make_app(clock)
    issued = authenticator.add_device("lane-7", frozenset({"P1"}))
    assert issued.token not in repr(issued)
    with TestClient(app) as client:
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {issued.token}"}).json()
        assert me == {
            "subject": "lane-7",
            "kind": "device",
            "roles": ["lane-device"],
            "ports": ["P1"],
            "all_ports": False,
        }
        forged = issued.token[:-4] + "AAAA"
        assert client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
        authenticator.revoke_device_key(issued.key_id)
        assert client.get("/v1/me", headers={"Authorization": f"Bearer {issued.token}"}).status_code == 401
    with pytest.raises(AuthenticationError, match="malformed"):
        split_api_key("bxk_short")
    assert split_api_key(issue_api_key().token)[0]


def test_roles_are_enforced(make_app: AppFactory, clock: Clock) -> None:
    app, authenticator = make_app(clock)

    @app.get("/v1/admin-only", dependencies=[allow(Role.ADMIN)])
    def admin_only() -> dict[str, str]:
        return {"ok": "yes"}

    authenticator.add_user("ada", PASSWORD, frozenset({Role.ADMIN}), all_ports=True)
    with TestClient(app) as client:
        officer = authenticator.login("olivia", PASSWORD)
        admin = authenticator.login("ada", PASSWORD)
        denied = client.get("/v1/admin-only", headers={"Authorization": f"Bearer {officer}"})
        assert denied.status_code == 403 and "admin" in denied.json()["detail"]
        assert client.get("/v1/admin-only", headers={"Authorization": f"Bearer {admin}"}).json() == {
            "ok": "yes"
        }
        assert client.get("/v1/admin-only").status_code == 401


def test_port_isolation() -> None:
    officer = Principal("olivia", "person", frozenset({Role.OFFICER}), frozenset({"P1"}))
    require_port(officer, "P1")
    with pytest.raises(PermissionDeniedError, match="P2"):
        require_port(officer, "P2")
    supervisor = Principal("sam", "person", frozenset({Role.SUPERVISOR}), all_ports=True)
    require_port(supervisor, "P2")


def test_body_size_limit(make_app: AppFactory, clock: Clock) -> None:
    app, _ = make_app(clock, max_upload_bytes=2048)
    with TestClient(app) as client:
        response = client.post(
            "/v1/sessions", content=b"x" * 4096, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"

        def chunks():  # no Content-Length: counted while streaming
            for _ in range(8):
                yield b"x" * 512

        assert client.post("/v1/sessions", content=chunks()).status_code == 413


def test_rate_limit_answers_429_with_retry_after(make_app: AppFactory, clock: Clock) -> None:
    app, _ = make_app(clock, rate_per_second=1.0, rate_burst=3)
    with TestClient(app) as client:
        codes = [client.get("/v1/health").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/v1/health")
        assert limited.headers["retry-after"] == "1"
        clock.now += 1.0
        assert client.get("/v1/health").status_code == 200


def test_errors_are_problem_json(make_app: AppFactory, clock: Clock) -> None:
    app, _ = make_app(clock)
    with TestClient(app) as client:
        missing = client.get("/v1/nowhere")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        invalid = client.post("/v1/sessions", json={"username": "olivia"})
        assert invalid.status_code == 422 and invalid.json()["errors"][0]["loc"][-1] == "password"
        extra = client.post("/v1/sessions", json={"username": "a", "password": "b", "role": "admin"})
        assert extra.status_code == 422


def test_metrics_need_a_supervisor_and_count_requests(make_app: AppFactory, clock: Clock) -> None:
    app, authenticator = make_app(clock)
    authenticator.add_user("sam", PASSWORD, frozenset({Role.SUPERVISOR}), all_ports=True)
    with TestClient(app) as client:
        client.get("/v1/health")
        officer = authenticator.login("olivia", PASSWORD)
        assert client.get("/v1/metrics", headers={"Authorization": f"Bearer {officer}"}).status_code == 403
        supervisor = authenticator.login("sam", PASSWORD)
        text = client.get("/v1/metrics", headers={"Authorization": f"Bearer {supervisor}"}).text
    assert 'bioexit_http_requests_total{method="GET",route="/v1/health",status="200"} 1.0' in text


def test_walk_every_route_denies_anonymous_and_wrong_roles(make_app: AppFactory, clock: Clock) -> None:
    """Deny by default, tested: each non-public route answers 401 without credentials, and 403
    to a caller holding every role but the ones it allows."""
    import re

    from fastapi.routing import APIRoute

    from bioexit.service.access import declared_roles

    app, authenticator = make_app(clock, rate_burst=10_000)
    tokens = {}
    for role in Role:
        if role is not Role.LANE_DEVICE:
            authenticator.add_user(f"u-{role.value}", PASSWORD, frozenset({role}), all_ports=True)
            tokens[role] = authenticator.login(f"u-{role.value}", PASSWORD)
    tokens[Role.LANE_DEVICE] = authenticator.add_device("lane", frozenset({"P1"})).token
    walked = 0
    with TestClient(app) as client:
        for route in app.routes:
            if not isinstance(route, APIRoute):
                continue
            roles = declared_roles(route)
            assert roles != "undeclared", route.path
            if roles is None:
                continue
            assert isinstance(roles, frozenset)
            path = re.sub(r"\{[^}]+\}", "x", route.path)
            for method in route.methods or ():
                anonymous = client.request(method, path)
                assert anonymous.status_code == 401, (method, route.path, anonymous.text)
                for role in set(Role) - roles:
                    denied = client.request(method, path, headers={"Authorization": f"Bearer {tokens[role]}"})
                    assert denied.status_code == 403, (method, route.path, role, denied.text)
                walked += 1
    assert walked >= 10


def test_every_error_class_maps_to_a_deliberate_status() -> None:
    """A new error class must be given a status: only server-side faults may end as 500."""
    from bioexit import errors
    from bioexit.service.problems import status_for

    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    server_side = (errors.ModelError, errors.CryptoError)
    for cls in subclasses(errors.BioexitError)[1:]:
        status = status_for(cls("x"))
        assert (status == 500) == issubclass(cls, server_side), (cls.__name__, status)
