from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from analytics.views_push import ingest

from . import notifications, views

# The admin signs in through allauth: same rate limits, same MFA.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "Portico administration"
admin.site.site_title = "Portico admin"

handler400 = "portal.views.bad_request"
handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("ingest/<str:lookup>/", ingest, name="analytics_ingest"),
    path("notifications/", notifications.notification_index, name="notifications"),
    path("notifications/read/", notifications.notification_read, name="notifications_read_all"),
    path("notifications/<int:pk>/read/", notifications.notification_read, name="notification_read"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(("portal.api.urls", "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="api-schema", template_name="portal/redoc.html"),
        name="api-redoc",
    ),
    path("", include("tenants.urls")),
    path("", include("apis.urls")),
    path("", include("analytics.urls")),
]
