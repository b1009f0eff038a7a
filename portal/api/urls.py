"""The REST API at /api/v1/: one router per nesting level."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from analytics import api as analytics_api
from apis import api as apis_api
from apis import api_applications, api_gateways, api_subscriptions, api_webhooks
from tenants import api as tenants_api

root = SimpleRouter(trailing_slash=True)
root.register("organisations", tenants_api.OrganisationViewSet, basename="organisation")
root.register("tokens", tenants_api.AccessTokenViewSet, basename="token")
root.register(
    "invitations/accept", tenants_api.InvitationAcceptViewSet, basename="invitation-accept"
)
root.register("apis", apis_api.ApiViewSet, basename="api")
root.register("search", apis_api.SearchViewSet, basename="search")

in_organisation = SimpleRouter(trailing_slash=True)
in_organisation.register("teams", tenants_api.TeamViewSet, basename="team")
in_organisation.register("members", tenants_api.MembershipViewSet, basename="member")
in_organisation.register("invitations", tenants_api.InvitationViewSet, basename="invitation")
in_organisation.register("audit-events", tenants_api.AuditEventViewSet, basename="audit-event")
in_organisation.register("connections", api_gateways.ConnectionViewSet, basename="connection")
in_organisation.register("drift", api_gateways.DriftViewSet, basename="drift")
in_organisation.register(
    "applications", api_applications.ApplicationViewSet, basename="application"
)
in_organisation.register(
    "subscriptions", api_subscriptions.SubscriptionViewSet, basename="subscription"
)
in_organisation.register("operations", api_subscriptions.OperationViewSet, basename="operation")
in_organisation.register("webhooks", api_webhooks.WebhookViewSet, basename="webhook")
in_organisation.register("log-sources", analytics_api.LogSourceViewSet, basename="log-source")
in_organisation.register("alert-rules", analytics_api.AlertRuleViewSet, basename="alert-rule")
in_organisation.register("usage", analytics_api.UsageViewSet, basename="usage")

in_connection = SimpleRouter(trailing_slash=True)
in_connection.register("runs", api_gateways.SyncRunViewSet, basename="connection-run")

in_subscription = SimpleRouter(trailing_slash=True)
in_subscription.register(
    "credentials", api_subscriptions.CredentialViewSet, basename="subscription-credential"
)

in_webhook = SimpleRouter(trailing_slash=True)
in_webhook.register("deliveries", api_webhooks.WebhookDeliveryViewSet, basename="webhook-delivery")

in_log_source = SimpleRouter(trailing_slash=True)
in_log_source.register("uploads", analytics_api.LogUploadViewSet, basename="log-source-upload")
in_log_source.register("runs", analytics_api.ImportRunViewSet, basename="log-source-run")

in_team = SimpleRouter(trailing_slash=True)
in_team.register("members", tenants_api.TeamMembershipViewSet, basename="team-member")

# An API is addressed by its owner (organisation) and slug: two URL arguments, which a
# router's single lookup cannot express, so its own routes are spelt out.
in_api = SimpleRouter(trailing_slash=True)
in_api.register("versions", apis_api.ApiVersionViewSet, basename="api-version")
in_api.register("plans", api_applications.PlanViewSet, basename="api-plan")
api_detail = apis_api.ApiDetailViewSet.as_view({"get": "retrieve", "patch": "partial_update"})
api_compare = apis_api.ApiDetailViewSet.as_view({"get": "compare"})

urlpatterns = [
    path("me/", tenants_api.MeView.as_view(), name="me"),
    path("", include(root.urls)),
    path("organisations/<slug:org>/", include(in_organisation.urls)),
    path("organisations/<slug:org>/teams/<slug:team>/", include(in_team.urls)),
    path(
        "organisations/<slug:org>/connections/<int:connection>/",
        include(in_connection.urls),
    ),
    path(
        "organisations/<slug:org>/subscriptions/<int:subscription>/",
        include(in_subscription.urls),
    ),
    path("organisations/<slug:org>/webhooks/<int:webhook>/", include(in_webhook.urls)),
    path("organisations/<slug:org>/log-sources/<int:source>/", include(in_log_source.urls)),
    path("apis/<slug:owner>/<slug:api>/", api_detail, name="api-detail"),
    path("apis/<slug:owner>/<slug:api>/compare/", api_compare, name="api-compare"),
    path("apis/<slug:owner>/<slug:api>/", include(in_api.urls)),
]
