"""The API's one error shape: ``{"error": "<one sentence>"}`` with a 4xx (or 500) status,
the exception handlers that give it, and the OpenAPI entries that document it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from gs.errors import UserInputError
from gs.serve.forms import UploadTooLarge
from gs.serve.job import JobNotFound
from gs.serve.queue import QueueFull

#: Seconds a client is asked to wait after a 429 (a short job's duration).
RETRY_AFTER_S = 10


class ErrorBody(BaseModel):
    """Every error answer: one sentence that says what was wrong and what is expected."""

    error: str


#: What each error status means, for the OpenAPI schema.
ERROR_MEANINGS = {
    400: "a bad request: a field, photo or mask the server cannot use (one sentence says which)",
    404: "no such job, example or file (finished jobs are kept for a while)",
    413: "the request body is over the server's upload limit",
    429: "this artifact's queue is full; try again when a job has finished",
    500: "the server failed on this request (a bug; the log has the traceback)",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """FastAPI ``responses=`` entries for ``codes`` (500 is always possible)."""
    return {code: {"model": ErrorBody, "description": ERROR_MEANINGS[code]}
            for code in sorted({*codes, 500})}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The error answer: ``{"error": message}`` with ``status``."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def handle_errors(app: FastAPI) -> None:
    """Answer every exception ``app``'s routes raise with :func:`error`: a user's mistake
    400 (413 an upload too large, 429 a full queue), an unknown job 404, a bug 500; and
    document validation errors as the 400 they are, not FastAPI's default 422."""

    @app.exception_handler(UserInputError)
    async def user_error(request: Request, exc: UserInputError) -> JSONResponse:
        if isinstance(exc, QueueFull):
            return error(429, str(exc), {"Retry-After": str(RETRY_AFTER_S)})
        return error(413 if isinstance(exc, UploadTooLarge) else 400, str(exc))

    @app.exception_handler(JobNotFound)
    async def no_job(request: Request, exc: JobNotFound) -> JSONResponse:
        return error(404, f"there is no job {exc.args[0]!r} (finished jobs are kept for a while)")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}")

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error(400, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        return error(500, f"the server failed on this request ({type(exc).__name__})")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                                 routes=app.routes)
            for operations in schema["paths"].values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            for unused in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
