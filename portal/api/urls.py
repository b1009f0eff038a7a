"""The REST API at /api/v1/: one router per nesting level."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from tenants import api as tenants_api

root = SimpleRouter(trailing_slash=True)
root.register("me", tenants_api.MeViewSet, basename="me")
root.register("organisations", tenants_api.OrganisationViewSet, basename="organisation")
root.register("tokens", tenants_api.AccessTokenViewSet, basename="token")
root.register(
    "invitations/accept", tenants_api.InvitationAcceptViewSet, basename="invitation-accept"
)

in_organisation = SimpleRouter(trailing_slash=True)
in_organisation.register("teams", tenants_api.TeamViewSet, basename="team")
in_organisation.register("members", tenants_api.MembershipViewSet, basename="member")
in_organisation.register("invitations", tenants_api.InvitationViewSet, basename="invitation")
in_organisation.register("audit-events", tenants_api.AuditEventViewSet, basename="audit-event")

in_team = SimpleRouter(trailing_slash=True)
in_team.register("members", tenants_api.TeamMembershipViewSet, basename="team-member")

urlpatterns = [
    path("", include(root.urls)),
    path("organisations/<slug:org>/", include(in_organisation.urls)),
    path("organisations/<slug:org>/teams/<slug:team>/", include(in_team.urls)),
]
