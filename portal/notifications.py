"""The notifications page: the signed-in user's in-portal inbox."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from tenants.selectors import notification_get, notification_list
from tenants.services.notifications import notifications_mark_read


@login_required
@require_GET
def notification_index(request: HttpRequest) -> HttpResponse:
    page = Paginator(notification_list(user=request.user), 30).get_page(request.GET.get("page"))
    return render(request, "portal/notifications.html", {"page": page})


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if pk is not None:
        notification_get(user=request.user, pk=pk)  # someone else's is 404, as a missing one
    notifications_mark_read(user=request.user, pk=pk)
    return redirect("notifications")
