"""The shell: home, health and readiness, error pages."""

import logging

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tenants.scoping import LAST_ORGANISATION_SESSION_KEY
from tenants.selectors import organisation_list_for_user

from .api.errors import for_status
from .celery import app as celery_app
from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "portal/landing.html")
    organisations = list(organisation_list_for_user(user=request.user))
    last = request.session.get(LAST_ORGANISATION_SESSION_KEY)
    for organisation in organisations:
        if organisation.slug == last:
            return redirect(organisation)
    if len(organisations) == 1:
        return redirect(organisations[0])
    return render(request, "portal/home.html", {"organisations": organisations})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers: for liveness probes."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """The database and the broker answer: for load balancers' readiness probes.

    The workers' last heartbeat is shown for people, not judged: a probe that
    failed on a quiet worker would take healthy web processes out of service.
    """
    checks, messages = {}, []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # any failure means not ready
        logger.exception("readiness: database unreachable")
        checks["database"] = "unreachable"
        messages.append("The database does not answer.")
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        checks["broker"] = "ok"
    except Exception:
        logger.exception("readiness: broker unreachable")
        checks["broker"] = "unreachable"
        messages.append("The Celery broker does not answer.")
    ready = not messages
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": checks,
        "worker": _last_heartbeat() if checks["database"] == "ok" else None,
    }
    if messages:
        body["message"] = " ".join(messages)
    return JsonResponse(body, status=200 if ready else 503)


def _last_heartbeat() -> dict | None:
    try:
        beat = WorkerHeartbeat.objects.order_by("-last_seen").first()
    except Exception:  # information only: never let it fail the probe
        logger.exception("readiness: could not read worker heartbeats")
        return None
    if beat is None:
        return {"last_heartbeat": None, "name": None, "age_seconds": None}
    return {
        "last_heartbeat": beat.last_seen.isoformat(),
        "name": beat.name,
        "age_seconds": round((timezone.now() - beat.last_seen).total_seconds()),
    }


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception=None):
    if _is_api(request):
        return for_status(404)
    return render(request, "404.html", status=404)


def permission_denied(request, exception=None):
    if _is_api(request):
        return for_status(403)
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


def bad_request(request, exception=None):
    if _is_api(request):
        return for_status(400)
    return render(request, "400.html", status=400)


def server_error(request):
    if _is_api(request):
        return for_status(500)
    return render(
        request, "500.html", {"request_id": getattr(request, "request_id", "")}, status=500
    )
