"""Domain errors: raised by services, mapped once to a response.

The REST API turns them into ``{"error": {"code", "message", "fields"}}`` with
their status; HTML views show the message on the form or as a message.
"""


class ApplicationError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(ApplicationError):
    status = 400
    code = "invalid"


class NotAllowed(ApplicationError):
    status = 403
    code = "permission_denied"


class NotFound(ApplicationError):
    status = 404
    code = "not_found"


class Conflict(ApplicationError):
    status = 409
    code = "conflict"
