"""REST API of subscriptions, their keys and the gateway outbox.

A subscription is seen from both of its organisations; each decision is taken from
its own side's URL: the provider's (the API's owner) approves, rejects, suspends,
resumes and revokes, the consumer's (the application's) cancels, unsubscribes and
asks for another plan. Keys belong to the consumer. The services decide who may do
what; these views check the side first, so that a refusal says who may act before it
says what the state allows. Applications and plans are in apis.api_applications,
webhooks in apis.api_webhooks, the serializers in apis.serializers_subscriptions.
"""

import django_filters
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from tenants.actors import Actor
from tenants.errors import NotAllowed
from tenants.permissions import IsOrgMember, TokenScopePermission
from tenants.scoping import OrganisationScopedMixin

from . import selectors as catalogue_selectors
from . import selectors_subscriptions as selectors
from .models import Credential, GatewayOperation, Subscription
from .serializers_subscriptions import (
    CONSUMER,
    PROVIDER,
    ChangePlanSerializer,
    CredentialRotatedSerializer,
    CredentialSecretSerializer,
    CredentialSerializer,
    GatewayOperationSerializer,
    ReasonSerializer,
    SubscriptionCreateSerializer,
    SubscriptionQuerySerializer,
    SubscriptionSerializer,
)
from .services import keys, provisioning, subscriptions
from .services.subscriptions import TRANSITIONS, is_consumer, is_provider

# Each action belongs to one side, whatever the state it starts from.
SIDE_OF = {action: move.side for (_state, action), move in TRANSITIONS.items()}


def once(data: dict, status_code: int) -> Response:
    """An answer carrying a secret: no cache along the way may keep it."""
    response = Response(data, status=status_code)
    response["Cache-Control"] = "no-store"
    return response


def field_error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


class Scoped(OrganisationScopedMixin):
    def actor(self) -> Actor:
        return Actor.from_request(self.request)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "organisation": self.organisation}


# --- Subscriptions ------------------------------------------------------------------


def _transition(name: str, summary: str):
    """A POST sub-resource that applies one move of the transition table."""

    def view(self, request, org, pk):
        return self.transition(request, name)

    view.__name__ = name
    view.__doc__ = summary
    return extend_schema(
        summary=summary, request=ReasonSerializer, responses={200: SubscriptionSerializer}
    )(action(detail=True, methods=["post"])(view))


@extend_schema(tags=["subscriptions"])
@extend_schema_view(
    list=extend_schema(
        summary="Subscriptions of the organisation, as consumer, provider or both",
        parameters=[SubscriptionQuerySerializer],
    ),
    retrieve=extend_schema(summary="One subscription, seen from either side"),
    create=extend_schema(
        summary="Ask for a plan of an API for one of your applications",
        description=(
            "A plan with automatic approval is approved at once and its key waits for one "
            "look (POST .../credentials/{id}/reveal/); a manual one waits for the API's "
            "maintainers."
        ),
        request=SubscriptionCreateSerializer,
        responses={201: SubscriptionSerializer},
    ),
)
class SubscriptionViewSet(
    Scoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Subscriptions of the organisation's applications (consumer side) and to its APIs
    (provider side). The decision fields are read-only: they change only through the
    decision sub-resources."""

    serializer_class = SubscriptionSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgMember]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Subscription.objects.none()
        query = SubscriptionQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        side = params.get("side")
        consumer = selectors.subscription_list_consumer(organisation=self.organisation)
        provider = selectors.subscription_list_provider(organisation=self.organisation)
        found = (
            consumer if side == CONSUMER else provider if side == PROVIDER else consumer | provider
        )
        if "state" in params:
            found = found.filter(state=params["state"])
        if "api_owner" in params:
            found = found.filter(api__organisation__slug=params["api_owner"])
        if "api" in params:
            found = found.filter(api__slug=params["api"])
        if "application" in params:
            found = found.filter(application_id=params["application"])
        return found

    def get_object(self) -> Subscription:
        return selectors.subscription_get(organisation=self.organisation, pk=self.kwargs["pk"])

    def _answer(self, subscription: Subscription, status_code=status.HTTP_200_OK) -> Response:
        subscription = selectors.subscription_get(
            organisation=self.organisation, pk=subscription.pk
        )
        return Response(
            SubscriptionSerializer(subscription, context=self.get_serializer_context()).data,
            status=status_code,
        )

    def create(self, request, org):
        serializer = SubscriptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            application = selectors.application_get(
                organisation=self.organisation, pk=data["application"]
            )
        except Http404:
            raise field_error("application", "This organisation has no such application.") from None
        try:
            api = catalogue_selectors.api_get_visible(
                user=request.user, owner=data["api_owner"], slug=data["api"]
            )
        except Http404:
            raise field_error("api", "No API you can see has this owner and slug.") from None
        plan = selectors.plan_list(api=api).filter(pk=data["plan"]).first()
        if plan is None:
            raise field_error("plan", "Choose an open plan of this API.")
        subscription = subscriptions.subscription_request(
            application=application,
            api=api,
            plan=plan,
            reason=data["reason"],
            actor=self.actor(),
        )
        return self._answer(subscription, status.HTTP_201_CREATED)

    def require_side(self, subscription: Subscription, side: str, verb: str) -> None:
        """Decisions are taken from their own side's URL, by the people of that side."""
        actor = self.actor()
        if side == PROVIDER:
            if subscription.provider_id != self.organisation.pk:
                raise NotAllowed(
                    f"Only {subscription.provider.name}, the API's owner, may {verb} this "
                    "subscription."
                )
            if not is_provider(actor=actor, api=subscription.api):
                raise NotAllowed(
                    "Only maintainers of the API's team and its organisation's admins may "
                    f"{verb} this subscription."
                )
        else:
            if subscription.organisation_id != self.organisation.pk:
                raise NotAllowed(f"Only the application's organisation may {verb} it.")
            if not is_consumer(actor=actor, application=subscription.application):
                raise NotAllowed(
                    "Only developers and maintainers of the application's team may "
                    f"{verb} this subscription."
                )

    def transition(self, request, name: str) -> Response:
        subscription = self.get_object()
        self.require_side(subscription, SIDE_OF[name], name)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = subscriptions.subscription_act(
            subscription=subscription,
            action=name,
            actor=self.actor(),
            reason=serializer.validated_data["reason"],
        )
        return self._answer(subscription)

    approve = _transition(
        "approve", "Approve a pending request; its first key waits for the consumer's one look"
    )
    reject = _transition("reject", "Reject a pending request; a reason is needed")
    cancel = _transition("cancel", "Withdraw a pending request (the consumer)")
    unsubscribe = _transition(
        "unsubscribe", "End an approved or suspended subscription (the consumer); its keys stop"
    )
    suspend = _transition(
        "suspend", "Suspend an approved subscription; its keys stop working; a reason is needed"
    )
    resume = _transition("resume", "Resume a suspended subscription; its keys work again")
    revoke = _transition(
        "revoke", "End an approved subscription and revoke its keys; a reason is needed"
    )

    @extend_schema(
        summary="Ask for another plan; the current one works until the change is decided",
        request=ChangePlanSerializer,
        responses={200: SubscriptionSerializer},
    )
    @action(detail=True, methods=["post"], url_path="change-plan")
    def change_plan(self, request, org, pk):
        subscription = self.get_object()
        self.require_side(subscription, CONSUMER, "change the plan of")
        serializer = ChangePlanSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        plan = selectors.plan_list(api=subscription.api).filter(pk=data["plan"]).first()
        if plan is None:
            raise field_error("plan", "Choose an open plan of this API.")
        subscription = subscriptions.subscription_change_plan_request(
            subscription=subscription, plan=plan, reason=data["reason"], actor=self.actor()
        )
        return self._answer(subscription)

    def _decide_plan_change(self, request, *, approve: bool) -> Response:
        subscription = self.get_object()
        verb = "decide the plan change of"
        self.require_side(subscription, PROVIDER, verb)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = subscriptions.subscription_change_plan_decide(
            subscription=subscription,
            approve=approve,
            actor=self.actor(),
            reason=serializer.validated_data["reason"],
        )
        return self._answer(subscription)

    @extend_schema(
        summary="Approve the plan change the consumer asked for",
        request=ReasonSerializer,
        responses={200: SubscriptionSerializer},
    )
    @action(detail=True, methods=["post"], url_path="approve-plan-change")
    def approve_plan_change(self, request, org, pk):
        return self._decide_plan_change(request, approve=True)

    @extend_schema(
        summary="Reject the plan change the consumer asked for; a reason is needed",
        request=ReasonSerializer,
        responses={200: SubscriptionSerializer},
    )
    @action(detail=True, methods=["post"], url_path="reject-plan-change")
    def reject_plan_change(self, request, org, pk):
        return self._decide_plan_change(request, approve=False)


# --- Keys ---------------------------------------------------------------------------


@extend_schema(tags=["subscriptions"])
@extend_schema_view(
    list=extend_schema(summary="Keys of a subscription: prefixes and dates, never values"),
    retrieve=extend_schema(summary="One key: its prefix and dates"),
    create=extend_schema(
        summary="Issue a key for an approved subscription that has none in force",
        description="The answer carries the key's value, once; nothing stores it readable.",
        request=None,
        responses={201: CredentialSecretSerializer},
    ),
)
class CredentialViewSet(
    Scoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Keys belong to the consumer: the subscription's provider does not see them here.
    Members read prefixes; developers and maintainers of the application's team issue,
    reveal, rotate and revoke. A value is in the answer to issue, reveal or rotate only."""

    serializer_class = CredentialSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgMember]
    lookup_value_regex = r"\d+"

    def subscription(self) -> Subscription:
        if not hasattr(self, "_subscription"):
            subscription = selectors.subscription_get(
                organisation=self.organisation, pk=self.kwargs["subscription"]
            )
            if subscription.organisation_id != self.organisation.pk:
                raise Http404("Not found.")
            self._subscription = subscription
        return self._subscription

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Credential.objects.none()
        return selectors.credential_list(subscription=self.subscription()).select_related(
            "created_by"
        )

    def get_object(self) -> Credential:
        credential = selectors.credential_get(organisation=self.organisation, pk=self.kwargs["pk"])
        if credential.subscription_id != self.subscription().pk:
            raise Http404("Not found.")
        return credential

    def _may_hold(self) -> Actor:
        actor = self.actor()
        keys.ensure_actor_may_hold_keys(actor=actor, subscription=self.subscription())
        return actor

    @staticmethod
    def _with_value(credential: Credential, plaintext: str) -> dict:
        credential.refresh_from_db()
        return {**CredentialSerializer(credential).data, "key": plaintext}

    def create(self, request, org, subscription):
        actor = self._may_hold()
        credential, plaintext = keys.credential_issue(subscription=self.subscription(), actor=actor)
        return once(self._with_value(credential, plaintext), status.HTTP_201_CREATED)

    @extend_schema(
        summary="The value of a key issued on approval, once; a second look is refused",
        request=None,
        responses={200: CredentialSecretSerializer},
    )
    @action(detail=True, methods=["post"])
    def reveal(self, request, org, subscription, pk):
        actor = self._may_hold()
        credential = self.get_object()
        plaintext = keys.credential_reveal(credential=credential, actor=actor)
        return once(self._with_value(credential, plaintext), status.HTTP_200_OK)

    @extend_schema(
        summary="Issue a new key; the old one works until its grace_until",
        description="The answer carries the new key's value, once, and the old key.",
        request=None,
        responses={201: CredentialRotatedSerializer},
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request, org, subscription, pk):
        actor = self._may_hold()
        old = self.get_object()
        new, plaintext = keys.credential_rotate(credential=old, actor=actor)
        old.refresh_from_db()
        body = {**self._with_value(new, plaintext), "replaced": CredentialSerializer(old).data}
        return once(body, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke a key now, here and on the gateway",
        request=None,
        responses={200: CredentialSerializer},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, org, subscription, pk):
        actor = self._may_hold()
        credential = keys.credential_revoke(credential=self.get_object(), actor=actor)
        credential.refresh_from_db()
        return Response(CredentialSerializer(credential).data)


# --- Gateway operations -------------------------------------------------------------


class OperationFilter(django_filters.FilterSet):
    class Meta:
        model = GatewayOperation
        fields = ["state", "action", "subscription"]


@extend_schema(tags=["subscriptions"])
@extend_schema_view(
    list=extend_schema(summary="Key changes carried to the organisation's gateways, newest first"),
    retrieve=extend_schema(summary="One gateway operation"),
)
class OperationViewSet(
    Scoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The outbox of the organisation's APIs: each key a decision creates, disables,
    enables or removes on a gateway. Members read it; the API's maintainers and the
    organisation's admins retry what failed."""

    serializer_class = GatewayOperationSerializer
    permission_classes = [IsAuthenticated, TokenScopePermission, IsOrgMember]
    filterset_class = OperationFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return GatewayOperation.objects.none()
        return selectors.operation_list(organisation=self.organisation).order_by(
            "-created_at", "-id"
        )

    def get_object(self) -> GatewayOperation:
        return selectors.operation_get(organisation=self.organisation, pk=self.kwargs["pk"])

    @extend_schema(
        summary="Queue a failed operation again",
        request=None,
        responses={202: GatewayOperationSerializer},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, org, pk):
        provisioning.operation_retry(operation=self.get_object(), actor=self.actor())
        operation = self.get_object()
        return Response(GatewayOperationSerializer(operation).data, status=status.HTTP_202_ACCEPTED)


__all__ = ["CredentialViewSet", "OperationViewSet", "SubscriptionViewSet"]
