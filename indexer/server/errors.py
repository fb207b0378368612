"""The API's errors: ours map to HTTP statuses, and every error answers JSON with a reason."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from indexer.errors import (
    ClusterError,
    ClusterUnavailableError,
    ConfigError,
    DependencyError,
    IndexerError,
    IndexingError,
    InputError,
)

__all__ = ["NotFoundError", "RequestError", "install_error_handlers"]

log = logging.getLogger(__name__)


class RequestError(IndexerError):
    """A request the API refuses; `status_code` is the HTTP status it answers with."""

    status_code = 400

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        if status_code is not None:
            self.status_code = status_code

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message,), {"status_code": self.status_code})


class NotFoundError(RequestError):
    """No such document, page or span."""

    status_code = 404


# Most specific first: the first class an error is an instance of decides its status.
_STATUSES: tuple[tuple[type[IndexerError], int], ...] = (
    (ClusterUnavailableError, 503),
    (ClusterError, 502),
    (IndexingError, 502),
    (ConfigError, 400),
    (InputError, 422),
    (DependencyError, 500),
)


def _status(exc: IndexerError) -> int:
    if isinstance(exc, RequestError):
        return exc.status_code
    return next((status for cls, status in _STATUSES if isinstance(exc, cls)), 500)


def _body(error: str, reason: str) -> dict[str, str]:
    return {"error": error, "reason": reason}


def install_error_handlers(app: FastAPI) -> None:
    """Every error is `{"error": <kind>, "reason": <what to do>}`, never an HTML page."""

    @app.exception_handler(IndexerError)
    async def _ours(request: Request, exc: IndexerError) -> JSONResponse:
        status = _status(exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc.message)
        return JSONResponse(_body(type(exc).__name__, exc.message), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        reason = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse(_body("HTTPError", reason), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        return JSONResponse(_body("ValidationError", problems), status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The one broad catch of the server: a bug answers 500 with its type, and is logged once.
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse(
            _body("InternalError", f"unexpected {type(exc).__name__}: {exc} (see the server log)"),
            status_code=500,
        )
