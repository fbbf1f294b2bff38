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
        if status == 503:  # overloaded, or the audit log refused: both pass, so say when to retry
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


# --- the contract: every error status a route can answer is declared, with its body ----------------

PROBLEM_SCHEMA: dict[str, object] = {
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "the problem kind, e.g. /problems/record-not-found"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the request path"},
        "errors": {
            "type": "array",
            "description": "validation problems only: where and what",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "msg": {"type": "string"},
                },
            },
        },
    },
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_RETRY_AFTER = {"description": "seconds to wait before retrying", "schema": {"type": "integer", "minimum": 1}}
_REASONS = {
    400: "The body could not be parsed (not JSON, not UTF-8)",
    401: "No valid credentials",
    403: "The caller's role or ports do not allow this",
    404: "No such record (or route)",
    409: "Conflicts with what is recorded",
    413: "Request body over the upload limit",
    422: "Request or data not valid",
    429: "Too many requests; retry after Retry-After seconds",
    503: "Overloaded or a dependency refused; retry after Retry-After seconds",
}
_HEADERS: dict[int, dict[str, object]] = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}, "required": True}},
    429: {"Retry-After": {**_RETRY_AFTER, "required": True}},
    503: {"Retry-After": {**_RETRY_AFTER, "required": True}},
}


def problem_response(status: int) -> dict[str, object]:
    """One documented problem response (used by ``document_problems`` and by routes' ``responses=``)."""
    response: dict[str, object] = {
        "description": _REASONS.get(status, "Problem"),
        "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def document_problems(document: dict[str, object], protected: set[tuple[str, str]]) -> None:
    """Declare, in place, the problem responses every operation can give, in one place.

    Every operation can be rate limited (429); ``protected`` operations (method, path) need
    credentials (401) and a role (403); operations with path parameters can miss (404), with any
    input be invalid (422), with a body be unparsable (400) or too large (413). Error statuses a
    route declares itself (409, 503...) get the problem body too. FastAPI's own 422 body is replaced: our
    validation errors are problem+json. Idempotent.
    """
    components = document.setdefault("components", {})
    assert isinstance(components, dict)
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 body, which we never send
        components["schemas"].pop(name, None)
    schemes = components.setdefault("securitySchemes", {})
    schemes["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "a session token (POST /v1/sessions) or a lane device's API key (bxk_...)",
    }
    schemes["session_cookie"] = {"type": "apiKey", "in": "cookie", "name": "bioexit_session"}
    paths = document.get("paths", {})
    assert isinstance(paths, dict)
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            parameters = operation.get("parameters", [])
            statuses = {429}
            if (method.upper(), path) in protected:
                statuses |= {401, 403}
                operation["security"] = [{"bearer": []}, {"session_cookie": []}]
            if any(p.get("in") == "path" for p in parameters):
                statuses.add(404)
            if parameters or "requestBody" in operation:
                statuses.add(422)
            if "requestBody" in operation:
                statuses |= {400, 413}
            statuses |= {int(code) for code in responses if code.isdigit() and int(code) >= 400}
            for status in sorted(statuses):
                declared = responses.get(str(status), {})
                responses[str(status)] = {**problem_response(status), **_description(declared)}


def _description(declared: dict[str, object]) -> dict[str, object]:
    # Keep a route's own wording for the status; the body and headers are the common ones.
    text = declared.get("description")
    return {"description": text} if text and text not in ("Validation Error", "Additional Response") else {}
