"""Domain errors: raised by core operations, turned into 4xx answers by the views."""


class DomainError(Exception):
    """A refusal a person can understand.

    Attributes: ``code`` (machine string, e.g. ``"not_found"``), ``message`` (sentence
    for people), ``status`` (HTTP status the views answer with).
    """

    status = 400
    code = "invalid"

    def __init__(self, message: str, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class ValidationError(DomainError):
    """Input is missing, of the wrong type or out of range (400/422)."""

    status = 422
    code = "validation_error"


class NotFound(DomainError):
    """The object does not exist or is not the caller's (404, never 403, per object)."""

    status = 404
    code = "not_found"


class Forbidden(DomainError):
    """The caller's role does not allow this action (403)."""

    status = 403
    code = "forbidden"


class Conflict(DomainError):
    """The object is not in a state that allows this transition (409)."""

    status = 409
    code = "conflict"
