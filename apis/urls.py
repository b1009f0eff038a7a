from django.urls import path

from . import views

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
]
