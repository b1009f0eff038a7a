from django.urls import path

from . import views

app_name = "tenants"

urlpatterns = [
    path("organisations/new/", views.organisation_create, name="organisation_create"),
    path("o/<slug:org>/", views.organisation_detail, name="organisation"),
    path("o/<slug:org>/leave/", views.organisation_leave, name="organisation_leave"),
    path("o/<slug:org>/teams/", views.team_list, name="team_list"),
    path("o/<slug:org>/teams/<slug:team>/", views.team_detail, name="team"),
    path("o/<slug:org>/teams/<slug:team>/edit/", views.team_edit, name="team_edit"),
    path("o/<slug:org>/teams/<slug:team>/delete/", views.team_delete, name="team_delete"),
    path("o/<slug:org>/teams/<slug:team>/members/", views.team_member_add, name="team_member_add"),
    path(
        "o/<slug:org>/teams/<slug:team>/members/<int:pk>/role/",
        views.team_member_role,
        name="team_member_role",
    ),
    path(
        "o/<slug:org>/teams/<slug:team>/members/<int:pk>/remove/",
        views.team_member_remove,
        name="team_member_remove",
    ),
    path("o/<slug:org>/members/", views.member_list, name="member_list"),
    path("o/<slug:org>/members/<int:pk>/role/", views.member_role, name="member_role"),
    path("o/<slug:org>/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("o/<slug:org>/invitations/", views.invitation_list, name="invitation_list"),
    path(
        "o/<slug:org>/invitations/<int:pk>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("o/<slug:org>/audit/", views.audit_list, name="audit_list"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("tokens/", views.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]
