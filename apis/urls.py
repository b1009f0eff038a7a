from django.urls import path

from . import urls_subscriptions, views, views_gateways

app_name = "apis"

urlpatterns = [
    path("catalogue/", views.catalogue_list, name="catalogue"),
    path("catalogue/<slug:owner>/<slug:api>/", views.api_detail, name="api"),
    path("catalogue/<slug:owner>/<slug:api>/compare/", views.version_compare, name="compare"),
    path(
        "catalogue/<slug:owner>/<slug:api>/versions/<str:version>/",
        views.version_detail,
        name="version",
    ),
    path(
        "catalogue/<slug:owner>/<slug:api>/versions/<str:version>/docs/",
        views.version_docs,
        name="docs",
    ),
    path(
        "catalogue/<slug:owner>/<slug:api>/versions/<str:version>/spec.json",
        views.version_spec,
        name="spec",
    ),
    path("o/<slug:org>/apis/new/", views.api_new, name="api_new"),
    path("o/<slug:org>/apis/<slug:api>/edit/", views.api_edit, name="api_edit"),
    path("o/<slug:org>/apis/<slug:api>/versions/new/", views.version_new, name="version_new"),
    path(
        "o/<slug:org>/apis/<slug:api>/versions/<str:version>/transition/",
        views.version_transition,
        name="version_transition",
    ),
    path("o/<slug:org>/connections/", views_gateways.connection_list, name="connection_list"),
    path("o/<slug:org>/connections/new/", views_gateways.connection_new, name="connection_new"),
    path("o/<slug:org>/connections/<int:pk>/", views_gateways.connection_detail, name="connection"),
    path(
        "o/<slug:org>/connections/<int:pk>/edit/",
        views_gateways.connection_edit,
        name="connection_edit",
    ),
    path(
        "o/<slug:org>/connections/<int:pk>/delete/",
        views_gateways.connection_delete,
        name="connection_delete",
    ),
    path(
        "o/<slug:org>/connections/<int:pk>/sync/",
        views_gateways.connection_sync,
        name="connection_sync",
    ),
    path(
        "o/<slug:org>/connections/<int:pk>/runs/<int:run>/",
        views_gateways.run_detail,
        name="connection_run",
    ),
    path("o/<slug:org>/drift/", views_gateways.drift, name="drift"),
]

urlpatterns += urls_subscriptions.urlpatterns
