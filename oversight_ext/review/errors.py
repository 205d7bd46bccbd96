"""Refusals of the review service, each with the HTTP status the REST adapter answers."""

from __future__ import annotations

__all__ = ["BadRequest", "Conflict", "Forbidden", "NotFound", "ServiceError", "TooLarge"]


class ServiceError(ValueError):
    """A request the service refuses; ``status`` is the HTTP status the REST layer answers."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class BadRequest(ServiceError):
    status = 400


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class TooLarge(ServiceError):
    status = 413
