from django.urls import path

from . import views_applications, views_plans, views_webhooks
from . import views_subscriptions as views

urlpatterns = [
    # The approval inbox
    path("o/<slug:org>/inbox/", views.inbox, name="inbox"),
    path("o/<slug:org>/inbox/<int:pk>/decide/", views.inbox_decide, name="inbox_decide"),
    path("o/<slug:org>/inbox/<int:pk>/plan/", views.inbox_plan_decide, name="inbox_plan_decide"),
    # Subscriptions, from either side
    path("o/<slug:org>/subscriptions/", views.subscription_list, name="subscription_list"),
    path("o/<slug:org>/subscriptions/new/", views.subscription_new, name="subscription_new"),
    path("o/<slug:org>/subscriptions/<int:pk>/", views.subscription_detail, name="subscription"),
    path(
        "o/<slug:org>/subscriptions/<int:pk>/act/",
        views.subscription_action,
        name="subscription_action",
    ),
    path(
        "o/<slug:org>/subscriptions/<int:pk>/plan/",
        views.subscription_plan,
        name="subscription_plan",
    ),
    path(
        "o/<slug:org>/subscriptions/<int:pk>/operations/<int:operation>/retry/",
        views.operation_retry,
        name="operation_retry",
    ),
    # Applications and their keys
    path(
        "o/<slug:org>/applications/",
        views_applications.application_list,
        name="application_list",
    ),
    path(
        "o/<slug:org>/applications/<int:pk>/",
        views_applications.application_detail,
        name="application",
    ),
    path(
        "o/<slug:org>/applications/<int:pk>/edit/",
        views_applications.application_edit,
        name="application_edit",
    ),
    path(
        "o/<slug:org>/applications/<int:pk>/delete/",
        views_applications.application_delete,
        name="application_delete",
    ),
    path(
        "o/<slug:org>/subscriptions/<int:pk>/keys/new/",
        views_applications.key_issue,
        name="key_issue",
    ),
    path("o/<slug:org>/keys/<int:pk>/reveal/", views_applications.key_reveal, name="key_reveal"),
    path("o/<slug:org>/keys/<int:pk>/rotate/", views_applications.key_rotate, name="key_rotate"),
    path("o/<slug:org>/keys/<int:pk>/revoke/", views_applications.key_revoke, name="key_revoke"),
    # Webhooks
    path("o/<slug:org>/webhooks/", views_webhooks.webhook_list, name="webhook_list"),
    path("o/<slug:org>/webhooks/<int:pk>/", views_webhooks.webhook_detail, name="webhook"),
    path("o/<slug:org>/webhooks/<int:pk>/edit/", views_webhooks.webhook_edit, name="webhook_edit"),
    path(
        "o/<slug:org>/webhooks/<int:webhook>/deliveries/<int:pk>/redeliver/",
        views_webhooks.delivery_redeliver,
        name="webhook_redeliver",
    ),
    path(
        "o/<slug:org>/webhooks/<int:pk>/delete/",
        views_webhooks.webhook_delete,
        name="webhook_delete",
    ),
    # Plans of an API
    path("o/<slug:org>/apis/<slug:api>/plans/", views_plans.plan_list, name="plan_list"),
    path("o/<slug:org>/apis/<slug:api>/plans/new/", views_plans.plan_new, name="plan_new"),
    path(
        "o/<slug:org>/apis/<slug:api>/plans/<int:pk>/edit/",
        views_plans.plan_edit,
        name="plan_edit",
    ),
    path(
        "o/<slug:org>/apis/<slug:api>/plans/<int:pk>/close/",
        views_plans.plan_close,
        name="plan_close",
    ),
]
