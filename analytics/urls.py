from django.urls import path

from . import views, views_alerts, views_sources

app_name = "analytics"

urlpatterns = [
    path("o/<slug:org>/usage/", views.usage_overview, name="overview"),
    path("o/<slug:org>/usage/apis/<slug:api>/", views.usage_api, name="api"),
    path("o/<slug:org>/usage/applications/<int:pk>/", views.usage_application, name="application"),
    path("o/<slug:org>/usage/ai/", views.usage_ai, name="ai"),
    path("o/<slug:org>/usage/lambda/", views.usage_lambda, name="lambda"),
    path("o/<slug:org>/usage/alerts/", views_alerts.alert_list, name="alert_list"),
    path("o/<slug:org>/usage/alerts/new/", views_alerts.alert_new, name="alert_new"),
    path("o/<slug:org>/usage/alerts/<int:pk>/edit/", views_alerts.alert_edit, name="alert_edit"),
    path(
        "o/<slug:org>/usage/alerts/<int:pk>/delete/",
        views_alerts.alert_delete,
        name="alert_delete",
    ),
    path("o/<slug:org>/usage/sources/", views_sources.source_list, name="source_list"),
    path("o/<slug:org>/usage/sources/new/", views_sources.source_new, name="source_new"),
    path("o/<slug:org>/usage/sources/<int:pk>/", views_sources.source_detail, name="source"),
    path(
        "o/<slug:org>/usage/sources/<int:pk>/edit/", views_sources.source_edit, name="source_edit"
    ),
    path(
        "o/<slug:org>/usage/sources/<int:pk>/enabled/",
        views_sources.source_enabled,
        name="source_enabled",
    ),
    path(
        "o/<slug:org>/usage/sources/<int:pk>/delete/",
        views_sources.source_delete,
        name="source_delete",
    ),
    path(
        "o/<slug:org>/usage/sources/<int:pk>/import/",
        views_sources.source_import,
        name="source_import",
    ),
    path(
        "o/<slug:org>/usage/sources/<int:pk>/upload/",
        views_sources.source_upload,
        name="source_upload",
    ),
    path(
        "o/<slug:org>/usage/sources/<int:pk>/rotate-token/",
        views_sources.source_rotate_token,
        name="source_rotate_token",
    ),
]
