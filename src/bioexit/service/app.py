"""The service: ``create_app`` builds the FastAPI app from validated settings.

Everything the app needs (credential store, clock) is passed in, so tests build real apps
over real parts and nothing is created at import time.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from bioexit.errors import ConfigError
from bioexit.service.access import SESSION_COOKIE, allow, declared_roles, public, undeclared_routes
from bioexit.service.api import add_api_routes
from bioexit.service.api_records import add_records_routes
from bioexit.service.auth import Principal, Role
from bioexit.service.credentials import Authenticator, CredentialStore
from bioexit.service.limits import BodySizeLimit, RateLimiter, retry_after
from bioexit.service.metrics import ServiceMetrics
from bioexit.service.problems import document_problems, install_problem_handlers, problem
from bioexit.service.runtime import Runtime
from bioexit.service.sql_credentials import SqlCredentialStore
from bioexit.settings import Settings

API_VERSION = "v1"
ANY_ROLE = tuple(Role)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoginRequest(_Body):
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024, repr=False)


class SessionResponse(_Body):
    token: str
    expires_in: float


class WhoAmI(_Body):
    subject: str
    kind: str
    roles: list[str]
    ports: list[str]
    all_ports: bool


class Health(_Body):
    status: str


def create_app(
    settings: Settings,
    runtime: Runtime,
    *,
    credentials: CredentialStore | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The app over ``runtime`` (records store, lane pipeline, workers, live events).

    ``credentials`` defaults to the records database's users, keys and sessions.
    """
    config = settings.service
    app = FastAPI(
        title="bioexit",
        version="1",
        description="Biometric exit: lane submissions, review, departures, audit.",
        docs_url=f"/{API_VERSION}/docs",
        openapi_url=f"/{API_VERSION}/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.authenticator = Authenticator(
        credentials or SqlCredentialStore(runtime.store.engine),
        clock,
        session_seconds=config.session_hours * 3600,
    )
    limiter = RateLimiter(config.rate_per_second, config.rate_burst, clock)
    metrics = app.state.metrics = ServiceMetrics.create()
    install_problem_handlers(app)

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = route.path if isinstance(route, APIRoute) else "unmatched"  # bounded label set
        metrics.requests.labels(request.method, template, str(response.status_code)).inc()
        metrics.latency.labels(request.method, template).observe(time.perf_counter() - started)
        return response

    @app.middleware("http")
    async def rate_limit(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        caller = request.headers.get("authorization") or request.cookies.get(SESSION_COOKIE)
        key = hashlib.sha256(caller.encode()).hexdigest() if caller else f"ip:{_client(request)}"
        wait = limiter.acquire(key)
        if wait > 0:
            response = problem(429, "Too many requests", "slow down and retry", request.url.path)
            response.headers["Retry-After"] = retry_after(wait)
            return response
        return await call_next(request)

    app.add_middleware(BodySizeLimit, max_bytes=config.max_upload_bytes)
    _add_routes(app)
    add_api_routes(app)
    add_records_routes(app)
    # The UI is static files; every datum it shows comes from the role-checked API.
    app.mount("/ui", StaticFiles(directory=Path(__file__).parent / "ui", html=True), name="ui")
    missing = undeclared_routes(app)
    if missing:
        raise ConfigError(
            "routes without declared roles", expected="allow(...) or public() on every route", got=missing
        )
    _document_contract(app)
    return app


def _document_contract(app: FastAPI) -> None:
    """The OpenAPI document declares every route's problem responses and its roles, in one place."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()  # FastAPI caches it until the routes change; the additions are idempotent
        protected: set[tuple[str, str]] = set()
        roles: dict[tuple[str, str], list[str]] = {}
        for route in app.routes:
            if isinstance(route, APIRoute) and route.include_in_schema:
                declared = declared_roles(route)
                for method in route.methods or ():
                    if isinstance(declared, frozenset):
                        protected.add((method, route.path_format))
                        roles[method, route.path_format] = sorted(r.value for r in declared)
        document_problems(document, protected)
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                operation["x-roles"] = roles.get((method.upper(), path), ["public"])
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _add_routes(app: FastAPI) -> None:
    v1 = f"/{API_VERSION}"

    @app.get("/", dependencies=[public()], include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/ui/")

    @app.get(f"{v1}/health", dependencies=[public()], tags=["operations"])
    async def health() -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @app.get(
        f"{v1}/ready",
        dependencies=[public()],
        tags=["operations"],
        response_model=Health,
        responses={503: {"description": "not ready: the problem says why; retry after Retry-After"}},
    )
    async def ready(request: Request) -> Any:
        """Readiness: the records database answers at the schema this code needs, and the work
        queue has room."""
        reason = await asyncio.to_thread(request.app.state.runtime.not_ready)
        if reason is not None:
            response = problem(503, "Not ready", reason, request.url.path)
            response.headers["Retry-After"] = "1"
            return response
        return Health(status="ready")

    @app.get(
        f"{v1}/metrics",
        dependencies=[allow(Role.ADMIN, Role.SUPERVISOR)],
        response_class=PlainTextResponse,
        tags=["operations"],
    )
    async def metrics(request: Request) -> PlainTextResponse:
        """Prometheus metrics (text exposition format)."""
        body = request.app.state.metrics.exposition()
        return PlainTextResponse(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.post(
        f"{v1}/sessions",
        dependencies=[public()],
        status_code=201,
        tags=["auth"],
        responses={401: {"description": "wrong username or password"}},
    )
    async def login(body: LoginRequest, request: Request, response: Response) -> SessionResponse:
        """Log a person in; the token also comes back as an HttpOnly cookie for the web UI."""
        authenticator: Authenticator = request.app.state.authenticator
        token = authenticator.login(body.username, body.password)
        seconds = authenticator.session_seconds
        response.set_cookie(
            SESSION_COOKIE, token, max_age=int(seconds), httponly=True, samesite="strict", secure=False
        )
        return SessionResponse(token=token, expires_in=seconds)

    @app.delete(f"{v1}/sessions/current", status_code=204, tags=["auth"])
    async def logout(
        request: Request, response: Response, principal: Annotated[Principal, allow(*ANY_ROLE)]
    ) -> None:
        """End the caller's session."""
        authenticator: Authenticator = request.app.state.authenticator
        header = request.headers.get("authorization", "").partition(" ")[2].strip()
        token = header or request.cookies.get(SESSION_COOKIE, "")
        authenticator.logout(token)
        response.delete_cookie(SESSION_COOKIE)

    @app.get(f"{v1}/me", tags=["auth"])
    async def whoami(principal: Annotated[Principal, allow(*ANY_ROLE)]) -> WhoAmI:
        """Who the caller is, with roles and ports."""
        return WhoAmI(
            subject=principal.subject,
            kind=principal.kind,
            roles=sorted(r.value for r in principal.roles),
            ports=sorted(principal.ports),
            all_ports=principal.all_ports,
        )


def route_table(app: FastAPI) -> list[dict[str, Any]]:
    """Every API route with the roles it allows (for docs and the authorisation walk)."""
    rows = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            roles = declared_roles(route)
            allowed = (
                "public"
                if roles is None
                else roles
                if isinstance(roles, str)
                else sorted(r.value for r in roles)
            )
            rows.append({"path": route.path, "methods": sorted(route.methods or ()), "roles": allowed})
    return rows


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the app, built over a throwaway records store (no IO is kept)."""
    import tempfile

    from bioexit.records.store import RecordsStore
    from bioexit.service.workers import BoundedWorkers
    from bioexit.settings import load_settings

    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(records={"data_dir": folder})
        with RecordsStore.open(settings.records) as store:
            runtime = Runtime(settings, store, _no_pipeline, BoundedWorkers(1, 0))
            try:
                return create_app(settings, runtime).openapi()
            finally:
                runtime.workers.shutdown()


def _no_pipeline(_settings: Settings) -> Any:
    raise RuntimeError("the OpenAPI document needs no lane pipeline")
