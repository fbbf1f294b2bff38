"""Deny by default: every API route declares the roles it allows.

A route says who may call it with ``dependencies=[allow(Role.OFFICER, ...)]`` (or takes the
principal as a parameter: ``principal: Principal = allow(...)``); health probes say ``public()``.
``create_app`` refuses to build an app that has a route with neither, so a forgotten
declaration fails at start-up instead of opening a route to everyone.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute

from bioexit.errors import AuthenticationError, PermissionDeniedError
from bioexit.service.auth import Principal, Role
from bioexit.service.credentials import Authenticator

SESSION_COOKIE = "bioexit_session"


class RoleGuard:
    """A FastAPI dependency that authenticates the caller and checks its roles."""

    def __init__(self, roles: frozenset[Role] | None) -> None:
        self.roles = roles  # None: public

    async def __call__(self, request: Request) -> Principal | None:
        if self.roles is None:
            return None
        token = _bearer(request) or request.cookies.get(SESSION_COOKIE)
        if not token:
            raise AuthenticationError(
                "credentials required", expected="Authorization: Bearer <token>", got="none"
            )
        authenticator: Authenticator = request.app.state.authenticator
        principal = authenticator.principal(token)
        if not principal.has_any(self.roles):
            allowed = sorted(r.value for r in self.roles)
            raise PermissionDeniedError(
                "role not allowed here",
                expected=f"one of {allowed}",
                got=sorted(r.value for r in principal.roles),
            )
        request.state.principal = principal
        return principal


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def allow(*roles: Role) -> Any:
    if not roles:
        raise ValueError("allow() needs at least one role; use public() for open routes")
    return Depends(RoleGuard(frozenset(roles)))


def public() -> Any:
    return Depends(RoleGuard(None))


def declared_roles(route: APIRoute) -> frozenset[Role] | str | None:
    """The roles a route allows, None for public, or "undeclared"."""
    guards = [dep.call for dep in route.dependant.dependencies if isinstance(dep.call, RoleGuard)]
    if len(guards) != 1:
        return "undeclared"
    return guards[0].roles


def undeclared_routes(app: FastAPI) -> list[str]:
    return [
        f"{sorted(route.methods or ())} {route.path}"
        for route in app.routes
        if isinstance(route, APIRoute) and declared_roles(route) == "undeclared"
    ]


def require_port(principal: Principal, port: str) -> None:
    """Object-level check: an officer of one port cannot read another port's records."""
    if not principal.may_access_port(port):
        raise PermissionDeniedError(
            "port not granted", expected=f"access to port {port}", got=sorted(principal.ports)
        )
