"""The domain error tree; `api/errors.py` renders it as OpenAI's error envelope once."""

from __future__ import annotations


class MaiaError(Exception):
    """Base of every error a client may see, carrying what the envelope needs."""

    status_code = 500
    type = "server_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


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
