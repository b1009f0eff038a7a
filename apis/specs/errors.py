from tenants.errors import ApplicationError


class SpecError(ApplicationError):
    """The document cannot be taken: unreadable, unsafe or not a valid OpenAPI document."""

    status = 400
    code = "invalid_spec"

    def __init__(self, message: str, *, problems: list[dict] | None = None):
        fields = {"spec": [message]}
        if problems:
            fields["spec"] += [f"{p['pointer'] or '/'}: {p['message']}" for p in problems]
        super().__init__(message, fields=fields)
        self.problems = problems or []


class SpecTooLarge(SpecError):
    status = 413
    code = "spec_too_large"


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"
