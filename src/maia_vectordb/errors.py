"""The domain error tree and the one envelope every error leaves in.

`ErrorEnvelope` is both what `api/errors.py` renders (every error response, from a
route, the middleware or a crash, is built from it) and what the OpenAPI document
declares, so the documented shape and the sent shape cannot drift apart.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ErrorBody(BaseModel):
    """OpenAI's error object: the SDKs read `message`, `type`, `param` and `code`."""

    model_config = ConfigDict(frozen=True)

    message: str
    """What went wrong, for a person."""
    type: str
    """`invalid_request_error` for the caller's mistakes, `server_error` for ours."""
    param: str | None = None
    """The offending request field (`metadata.k`, `filters.filters[0].value`), if one."""
    code: str | None = None
    """A stable machine-readable reason (`invalid_value`, `database_unavailable`…)."""


class ErrorEnvelope(BaseModel):
    """The body of every error response: `{"error": {...}}`."""

    model_config = ConfigDict(frozen=True)

    error: ErrorBody


class MaiaError(Exception):
    """Base of every error a client may see, carrying what the envelope needs."""

    status_code = 500
    type = "server_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code

    def envelope(self) -> ErrorEnvelope:
        body = ErrorBody(message=self.message, type=self.type, param=self.param, code=self.code)
        return ErrorEnvelope(error=body)


class InvalidRequest(MaiaError):
    status_code = 400
    type = "invalid_request_error"


class NotFound(InvalidRequest):
    status_code = 404


class Conflict(InvalidRequest):
    status_code = 409


class PayloadTooLarge(InvalidRequest):
    status_code = 413


class RequestTimeout(InvalidRequest):
    """The client stopped sending its body (or took too long to send it all)."""

    status_code = 408


class Forbidden(InvalidRequest):
    status_code = 403


class Unauthenticated(MaiaError):
    status_code = 401
    type = "invalid_request_error"


class ServerError(MaiaError):
    status_code = 500
    type = "server_error"


class ServiceUnavailable(MaiaError):
    status_code = 503
    type = "server_error"
