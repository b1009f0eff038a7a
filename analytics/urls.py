from django.urls import path

from . import views, views_alerts

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
]
