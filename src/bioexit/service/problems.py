"""RFC 9457 problem details (``application/problem+json``) for every error the API returns.

Bioexit errors map to a status by their class; the problem ``type`` names the class, so
clients can branch on it without parsing ``detail``. Unexpected exceptions become a bare 500
that reveals nothing about the request's data.
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bioexit import errors

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("bioexit.service")

# Most specific class first wins (looked up along the exception's MRO).
STATUS: dict[type[errors.BioexitError], int] = {
    errors.AuthenticationError: 401,
    errors.PermissionDeniedError: 403,
    errors.AccessError: 403,
    errors.ImageTooLargeError: 413,
    errors.ImageError: 422,
    errors.DataError: 422,
    errors.DocumentError: 422,
    errors.NoFaceError: 422,
    errors.MatchingError: 422,
    errors.RecordNotFoundError: 404,
    errors.RecordConflictError: 409,
    errors.RecordsError: 422,
    errors.StayError: 422,
    errors.OverloadedError: 503,
    errors.AuditError: 503,  # the audit log could not take the entry: the search was refused
    errors.ConfigError: 400,
}


def status_for(exc: errors.BioexitError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def _slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name.removesuffix("Error") or name).lower()


def problem(
    status: int, title: str, detail: str | None, instance: str, kind: str = "about:blank", **extra: object
) -> JSONResponse:
    body: dict[str, object] = {"type": kind, "title": title, "status": status, "instance": instance}
    if detail:
        body["detail"] = detail
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    async def bioexit_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.BioexitError)
        status = status_for(exc)
        name = type(exc).__name__
        response = problem(status, name, str(exc), request.url.path, kind=f"/problems/{_slug(name)}")
        if isinstance(exc, errors.OverloadedError):
            response.headers["Retry-After"] = "1"
        return response

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        issues = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in exc.errors()
        ]
        return problem(
            422, "Request validation failed", None, request.url.path, "/problems/validation", errors=issues
        )

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        response = problem(exc.status_code, str(exc.detail), None, request.url.path)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem(500, "Internal error", None, request.url.path)

    app.add_exception_handler(errors.BioexitError, bioexit_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
