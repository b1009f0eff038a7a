"""REST API of organisation webhooks and their delivery logs: owners and admins only.
The signing secret is in the answer to create and nowhere after (responses say
``has_secret``); a failed delivery can be sent again. The serializers are in
apis.serializers_subscriptions.
"""

import django_filters
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from tenants.permissions import IsOrgAdmin, TokenScopePermission

from . import selectors_subscriptions as selectors
from .api_subscriptions import Scoped, once
from .models import Webhook, WebhookDelivery
from .serializers_subscriptions import (
    WebhookCreatedSerializer,
    WebhookCreateSerializer,
    WebhookDeliverySerializer,
    WebhookSerializer,
    WebhookUpdateSerializer,
)
from .services import webhooks

# --- Webhooks -----------------------------------------------------------------------


class DeliveryFilter(django_filters.FilterSet):
    class Meta:
        model = WebhookDelivery
        fields = ["state", "event"]


@extend_schema(tags=["webhooks"])
@extend_schema_view(
    list=extend_schema(summary="Webhooks of the organisation"),
    retrieve=extend_schema(summary="One webhook"),
    create=extend_schema(
        summary="Add a webhook; the answer carries its signing secret, once",
        request=WebhookCreateSerializer,
        responses={201: WebhookCreatedSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a webhook's URL, events or switch it on or off",
        request=WebhookUpdateSerializer,
        responses={200: WebhookSerializer},
    ),
    destroy=extend_schema(summary="Delete a webhook and its delivery log"),
)
class WebhookViewSet(
    Scoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Signed POSTs of subscription, key and lifecycle events. Owners and admins only.
    The secret is in the answer to create and nowhere after: responses say
    ``has_secret``."""

    serializer_class = WebhookSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgAdmin]
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Webhook.objects.none()
        return selectors.webhook_list(organisation=self.organisation).select_related("created_by")

    def get_object(self) -> Webhook:
        return selectors.webhook_get(organisation=self.organisation, pk=self.kwargs["pk"])

    def create(self, request, org):
        serializer = WebhookCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook, secret = webhooks.webhook_create(
            organisation=self.organisation,
            url=serializer.validated_data["url"],
            events=serializer.validated_data["events"],
            actor=self.actor(),
        )
        return once({**WebhookSerializer(webhook).data, "secret": secret}, 201)

    def partial_update(self, request, org, pk):
        webhook = self.get_object()
        serializer = WebhookUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook = webhooks.webhook_update(
            webhook=webhook, actor=self.actor(), **serializer.validated_data
        )
        return Response(WebhookSerializer(webhook).data)

    def perform_destroy(self, instance):
        webhooks.webhook_delete(webhook=instance, actor=self.actor())


@extend_schema(tags=["webhooks"])
@extend_schema_view(
    list=extend_schema(summary="Deliveries of a webhook, newest first"),
    retrieve=extend_schema(summary="One delivery, with its payload"),
)
class WebhookDeliveryViewSet(
    Scoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = WebhookDeliverySerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgAdmin]
    filterset_class = DeliveryFilter
    lookup_value_regex = r"\d+"

    def webhook(self) -> Webhook:
        return selectors.webhook_get(organisation=self.organisation, pk=self.kwargs["webhook"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        return selectors.delivery_list(webhook=self.webhook())

    def get_object(self) -> WebhookDelivery:
        delivery = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if delivery is None:
            raise Http404("Not found.")
        return delivery

    @extend_schema(
        summary="Send a failed delivery again: same id and payload, a fresh set of attempts",
        request=None,
        responses={202: WebhookDeliverySerializer},
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request, org, webhook, pk):
        delivery = webhooks.delivery_redeliver(delivery=self.get_object(), actor=self.actor())
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


__all__ = ["WebhookDeliveryViewSet", "WebhookViewSet"]
