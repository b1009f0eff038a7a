"""One error body for every failure of the REST API:

``{"error": {"code": "...", "message": "...", "fields": {"name": ["..."]}}}``
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tenants.errors import ApplicationError


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail) -> dict[str, list[str]]:
    """DRF's nested error detail as ``{"field": ["message", ...]}``; nested keys joined by dots."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list):
            if all(not isinstance(v, dict | list) for v in value):
                out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
            else:
                for index, inner in enumerate(value):
                    walk(f"{prefix}.{index}" if prefix else str(index), inner)
        else:
            out.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", detail)
    return out


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        message = "The request is not valid: " + "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in list(fields.items())[:5]
        )
        response.data = error_body("invalid", message, fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        if not isinstance(code, str):
            code = "error"
        response.data = error_body(code, str(detail))
    return response


def json_error_response(status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)


HTTP_ERRORS = {
    400: ("bad_request", "The request could not be understood."),
    403: ("permission_denied", "You do not have permission to do this."),
    404: ("not_found", "Not found."),
    500: ("server_error", "Something went wrong on our side; the request id identifies it."),
}


def for_status(status_code: int) -> JsonResponse:
    code, message = HTTP_ERRORS[status_code]
    return json_error_response(status_code, code, message)


__all__ = ["error_body", "exception_handler", "for_status", "status"]
