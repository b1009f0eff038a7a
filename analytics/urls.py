from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("o/<slug:org>/usage/", views.usage_overview, name="overview"),
    path("o/<slug:org>/usage/apis/<slug:api>/", views.usage_api, name="api"),
    path("o/<slug:org>/usage/applications/<int:pk>/", views.usage_application, name="application"),
    path("o/<slug:org>/usage/ai/", views.usage_ai, name="ai"),
    path("o/<slug:org>/usage/lambda/", views.usage_lambda, name="lambda"),
]
