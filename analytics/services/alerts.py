"""Alert rules: who may write them, what they measure, and when they notify.

A rule watches one API (its provider's view: every consumer's calls) or one
application (its consumer's view: its calls to every API) and one metric:

``error_rate``
    Server errors (5xx) as a percentage of calls. 4xx are left out on purpose:
    they are mostly the caller's doing (bad keys, throttling, validation), and a
    provider should not be paged because a consumer sends bad requests. An
    application's throttling shows in ``quota_use`` instead.
``p95_latency``
    The 95th percentile of latency in milliseconds, from the summed histograms
    (log-spaced buckets: a few per cent of error).
``quota_use``
    Calls in the current quota period (UTC day, ISO week from Monday, or
    calendar month) as a percentage of the plan's quota, for each approved
    subscription with a quota: the application's subscriptions for an
    application rule, the API's subscriptions for an API rule; the highest one
    counts. The rule's window does not apply.

Resolution: a window shorter than an hour is read from the raw events of exactly
its last ``window_minutes`` (a range of the event table's time key: on PostgreSQL a
few pages of the current month's partition, found through its BRIN index), so a
15-minute rule sees 15 minutes of traffic and resolves 15 minutes after it ends.
Usage is rolled up by the hour, so a window of an hour or more is read in whole
rollup hours, from the start of the hour ``window_minutes`` before now up to now: a
120-minute window reads the current hour and the two before it, and stays firing up
to an hour longer than the traffic that fired it. Either way a rule reacts within a
minute of the import that brings the bad calls in.

Hysteresis: an ``ok`` rule fires when the value rises above the threshold; a
firing rule resolves only when it falls below ``threshold × clear_ratio``.
Values inside the band change nothing, so a value that wobbles around the
threshold notifies once. A window without calls gives no value and changes
nothing either: silence is not proof of health (the logs may have stopped).
Each change of state notifies once, inside the transaction that changes it,
with the rule's row locked, so two evaluations at once never notify twice.
"""

import datetime
import logging
import math
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.expressions import RawSQL
from django.utils import timezone

from apis.models import Api, Application, Subscription
from apis.policies import can_manage_api
from apis.services.events import emit_to
from apis.services.subscriptions import is_consumer
from tenants.actors import Actor
from tenants.errors import NotAllowed, ValidationFailed
from tenants.models import Membership, Organisation, User
from tenants.roles import OrgRole, TeamRole
from tenants.services.audit import audit_record
from tenants.services.notifications import notify

from ..histogram import BUCKETS, COLUMNS, bucket, percentile, sql_bucket
from ..models import AlertRule, RequestEvent, UsageRollup

logger = logging.getLogger(__name__)

Metric = AlertRule.Metric

# Inclusive bounds of a threshold per metric, with the unit users read. None starts at
# 0: a rule at 0 would fire on the first error and could never resolve below 0.
THRESHOLD_RANGES: dict[str, tuple[float, float, str]] = {
    Metric.ERROR_RATE: (0.1, 100.0, "%"),
    Metric.P95_LATENCY: (1.0, 600_000.0, "ms"),
    Metric.QUOTA_USE: (1.0, 1000.0, "%"),
}
MIN_WINDOW, MAX_WINDOW = 5, 7 * 24 * 60
# Windows shorter than the rollups' grain are read from the raw events.
ROLLUP_MINUTES = 60
FIELDS = (
    "name",
    "metric",
    "threshold",
    "window_minutes",
    "clear_ratio",
    "notify_email",
    "notify_webhook",
    "enabled",
)


# --- Permissions ----------------------------------------------------------------------


def _is_org_admin(user: User | None, organisation: Organisation) -> bool:
    if user is None or not user.is_authenticated:
        return False
    role = (
        Membership.objects.filter(organisation=organisation, user=user)
        .values_list("role", flat=True)
        .first()
    )
    return role is not None and OrgRole.at_least(role, OrgRole.ADMIN)


def can_manage_rule(
    *, actor: Actor, organisation: Organisation, api: Api | None, application: Application | None
) -> bool:
    """Organisation admins; the API's maintainers for an API rule; the application's
    team (developers and maintainers) for an application rule."""
    if actor.kind == "system" or actor.is_platform_staff:
        return True
    if _is_org_admin(actor.user, organisation):
        return True
    if api is not None:
        return can_manage_api(user=actor.user, api=api)
    if application is not None:
        return is_consumer(actor=actor, application=application)
    return False


def require_rule_manager(*, actor: Actor, rule: AlertRule) -> None:
    """Refuse anyone who may not change ``rule`` (see ``can_manage_rule``)."""
    if not can_manage_rule(
        actor=actor, organisation=rule.organisation, api=rule.api, application=rule.application
    ):
        what = "the API's maintainers" if rule.api_id else "the application's team"
        raise NotAllowed(f"Only organisation admins and {what} may change this alert rule.")


# --- Validation -----------------------------------------------------------------------


def alert_rule_validate(rule: AlertRule) -> None:
    """Refuse a rule that watches neither or both of an API and an application, one of
    another organisation, or a threshold, window or clear ratio out of range."""
    errors: dict[str, list[str]] = {}
    if (rule.api_id is None) == (rule.application_id is None):
        errors["non_field_errors"] = ["Give either an API or an application, not both."]
    if rule.api_id is not None and rule.api.organisation_id != rule.organisation_id:
        errors["api"] = ["Choose an API of this organisation."]
    if rule.application_id is not None and rule.application.organisation_id != (
        rule.organisation_id
    ):
        errors["application"] = ["Choose an application of this organisation."]
    if not rule.name.strip():
        errors["name"] = ["Give the rule a name."]
    if rule.metric not in THRESHOLD_RANGES:
        errors["metric"] = [f"Choose one of {', '.join(Metric.values)}."]
    else:
        low, high, unit = THRESHOLD_RANGES[rule.metric]
        if not isinstance(rule.threshold, int | float) or not low <= rule.threshold <= high:
            errors["threshold"] = [
                f"For {rule.get_metric_display().lower()} give {low:g} to {high:g} {unit}."
            ]
    if not MIN_WINDOW <= (rule.window_minutes or 0) <= MAX_WINDOW:
        errors["window_minutes"] = [f"Give {MIN_WINDOW} to {MAX_WINDOW} minutes."]
    if not 0 < (rule.clear_ratio or 0) <= 1:
        errors["clear_ratio"] = [
            "Give a ratio above 0 and at most 1: the rule resolves below threshold × ratio."
        ]
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(f"The alert rule is not valid: {first}", fields=errors)


def _state(rule: AlertRule) -> dict:
    state = {field: getattr(rule, field) for field in FIELDS}
    state["api"] = rule.api.slug if rule.api_id else None
    state["application"] = rule.application.name if rule.application_id else None
    return state


# --- Writes ---------------------------------------------------------------------------


@transaction.atomic
def alert_rule_create(
    *,
    organisation: Organisation,
    actor: Actor,
    name: str,
    metric: str,
    threshold: float,
    api: Api | None = None,
    application: Application | None = None,
    window_minutes: int = 15,
    clear_ratio: float = 0.8,
    notify_email: bool = True,
    notify_webhook: bool = True,
    enabled: bool = True,
) -> AlertRule:
    """Add a rule watching ``api`` or ``application`` (exactly one) of ``organisation``."""
    rule = AlertRule(
        organisation=organisation,
        name=name,
        api=api,
        application=application,
        metric=metric,
        threshold=threshold,
        window_minutes=window_minutes,
        clear_ratio=clear_ratio,
        notify_email=notify_email,
        notify_webhook=notify_webhook,
        enabled=enabled,
    )
    alert_rule_validate(rule)
    require_rule_manager(actor=actor, rule=rule)
    rule.save()
    audit_record(
        actor=actor,
        organisation=organisation,
        action="alert_rule.created",
        target=rule,
        after=_state(rule),
    )
    return rule


_UNSET = object()


@transaction.atomic
def alert_rule_update(
    *, rule: AlertRule, actor: Actor, api=_UNSET, application=_UNSET, **values
) -> AlertRule:
    """Change a rule. Moving it to another API or application needs the right to both.
    The state is left as it is: the next evaluation judges the new terms, and a
    disabled rule keeps its last state without being evaluated."""
    rule = (
        AlertRule.objects.select_for_update(of=("self",))
        .select_related("organisation", "api", "application")
        .get(pk=rule.pk)
    )
    require_rule_manager(actor=actor, rule=rule)
    before = _state(rule)
    if api is not _UNSET:
        rule.api = api
    if application is not _UNSET:
        rule.application = application
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown alert rule fields: {sorted(unknown)}")
    for key, value in values.items():
        setattr(rule, key, value)
    alert_rule_validate(rule)
    require_rule_manager(actor=actor, rule=rule)
    rule.save()
    audit_record(
        actor=actor,
        organisation=rule.organisation,
        action="alert_rule.updated",
        target=rule,
        before=before,
        after=_state(rule),
    )
    return rule


@transaction.atomic
def alert_rule_delete(*, rule: AlertRule, actor: Actor) -> None:
    require_rule_manager(actor=actor, rule=rule)
    audit_record(
        actor=actor,
        organisation=rule.organisation,
        action="alert_rule.deleted",
        target=rule,
        before=_state(rule),
    )
    rule.delete()


# --- Measuring ------------------------------------------------------------------------


def reads_raw_events(window_minutes: int) -> bool:
    """Whether a window is read from the raw events rather than the hourly rollups."""
    return window_minutes < ROLLUP_MINUTES


def window_start(*, window_minutes: int, now: datetime.datetime) -> datetime.datetime:
    """The first rollup hour a window of an hour or more reads: the hour
    ``window_minutes`` before the current hour's start."""
    hour = now.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)
    return hour - datetime.timedelta(hours=math.ceil(window_minutes / 60))


def quota_period_start(*, period: str, now: datetime.datetime) -> datetime.datetime:
    day = now.astimezone(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        return day - datetime.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def _rollups(rule: AlertRule):
    if rule.api_id is not None:
        # Usage of an API is counted in its provider's rollups, whoever called it.
        return UsageRollup.objects.filter(
            organisation_id=rule.api.organisation_id, api_id=rule.api_id
        )
    return UsageRollup.objects.filter(application_id=rule.application_id)


def _events(rule: AlertRule, now: datetime.datetime):
    """The rule's raw events of the last ``window_minutes`` up to ``now``."""
    start = now - datetime.timedelta(minutes=rule.window_minutes)
    events = RequestEvent.objects.filter(ts__gt=start, ts__lte=now)
    if rule.api_id is not None:
        return events.filter(organisation_id=rule.api.organisation_id, api_id=rule.api_id)
    return events.filter(application_id=rule.application_id)


def _latency_counts(events) -> list[int]:
    """The events' latency histogram, bucketed as the rollups bucket it: counted by the
    database on PostgreSQL; in Python elsewhere (SQLite has no LOG)."""
    counts = [0] * BUCKETS
    if connection.vendor == "postgresql":
        # The rollups' own bucket expression over a column name: no input in it.
        by_bucket = (
            events.annotate(b=RawSQL(sql_bucket("latency_ms"), ()))  # noqa: S611
            .values("b")
            .annotate(calls=Count("*"))
            .values_list("b", "calls")
        )
        for index, calls in by_bucket:
            counts[index] = calls
        return counts
    for latency in events.values_list("latency_ms", flat=True).iterator():
        counts[bucket(latency)] += 1
    return counts


def _measure_events(rule: AlertRule, now: datetime.datetime) -> float | None:
    events = _events(rule, now)
    if rule.metric == Metric.ERROR_RATE:
        sums = events.aggregate(calls=Count("*"), c5xx=Count("status", filter=Q(status__gte=500)))
        if not sums["calls"]:
            return None
        return 100.0 * sums["c5xx"] / sums["calls"]
    return percentile(_latency_counts(events), 0.95)


def _quota_use(rule: AlertRule, now: datetime.datetime) -> float | None:
    subscriptions = Subscription.objects.filter(
        state=Subscription.State.APPROVED, plan__quota_limit__gt=0
    ).exclude(plan__quota_period="")
    if rule.api_id is not None:
        subscriptions = subscriptions.filter(api_id=rule.api_id)
    else:
        subscriptions = subscriptions.filter(application_id=rule.application_id)
    highest = None
    for subscription in subscriptions.select_related("plan", "api"):
        plan = subscription.plan
        calls = (
            UsageRollup.objects.filter(
                organisation_id=subscription.api.organisation_id,
                api_id=subscription.api_id,
                application_id=subscription.application_id,
                hour__gte=quota_period_start(period=plan.quota_period, now=now),
                hour__lte=now,
            ).aggregate(calls=Sum("calls"))["calls"]
            or 0
        )
        use = 100.0 * calls / plan.quota_limit
        highest = use if highest is None else max(highest, use)
    return highest


def measure(rule: AlertRule, *, now: datetime.datetime) -> float | None:
    """The rule's metric now, or None when its window has no calls (or, for quota
    use, no approved subscription has a quota)."""
    if rule.metric == Metric.QUOTA_USE:
        return _quota_use(rule, now)
    if reads_raw_events(rule.window_minutes):
        return _measure_events(rule, now)
    rows = _rollups(rule).filter(
        hour__gte=window_start(window_minutes=rule.window_minutes, now=now), hour__lte=now
    )
    if rule.metric == Metric.ERROR_RATE:
        sums = rows.aggregate(calls=Sum("calls"), c5xx=Sum("c5xx"))
        if not sums["calls"]:
            return None
        return 100.0 * (sums["c5xx"] or 0) / sums["calls"]
    sums = rows.aggregate(**{column: Sum(column) for column in COLUMNS})
    return percentile([sums[column] or 0 for column in COLUMNS], 0.95)


@dataclass(frozen=True)
class Verdict:
    state: str
    changed: bool


def judge(*, state: str, value: float | None, threshold: float, clear_ratio: float) -> Verdict:
    """The next state: fire above the threshold, resolve below threshold × clear_ratio,
    otherwise (inside the band, or no value) stay."""
    if value is not None:
        if state == AlertRule.State.OK and value > threshold:
            return Verdict(AlertRule.State.FIRING, True)
        if state == AlertRule.State.FIRING and value < threshold * clear_ratio:
            return Verdict(AlertRule.State.OK, True)
    return Verdict(state, False)


# --- Evaluating -----------------------------------------------------------------------


def _recipients(rule: AlertRule):
    """The organisation's owners and admins, and the API team's maintainers or the
    application team's developers and maintainers."""
    admins = Q(
        memberships__organisation=rule.organisation,
        memberships__role__in=[OrgRole.OWNER, OrgRole.ADMIN],
    )
    if rule.api_id is not None:
        team = Q(
            team_memberships__team_id=rule.api.team_id,
            team_memberships__role=TeamRole.MAINTAINER,
        )
    else:
        team = Q(
            team_memberships__team_id=rule.application.team_id,
            team_memberships__role__in=[TeamRole.MAINTAINER, TeamRole.DEVELOPER],
        )
    return User.objects.filter(admins | team, is_active=True).distinct().order_by("pk")


def amount_text(rule: AlertRule, value: float) -> str:
    """A value of the rule's metric with its unit: "812.0 ms", "4.2%"."""
    unit = THRESHOLD_RANGES[rule.metric][2]
    return f"{value:.1f} {unit}" if unit == "ms" else f"{value:.1f}{unit}"


def _format(rule: AlertRule, value: float | None) -> str:
    return "no data" if value is None else amount_text(rule, value)


def _subject(rule: AlertRule) -> str:
    if rule.api_id is not None:
        return rule.api.name
    return rule.application.name


def _url(rule: AlertRule) -> str:
    if rule.api_id is not None:
        return rule.api.get_absolute_url()
    return rule.application.get_absolute_url()


def alert_payload(rule: AlertRule) -> dict:
    return {
        "rule": {"id": rule.pk, "name": rule.name, "metric": rule.metric},
        "api": (
            {"organisation": rule.api.organisation.slug, "slug": rule.api.slug}
            if rule.api_id
            else None
        ),
        "application": (
            {"id": rule.application_id, "name": rule.application.name}
            if rule.application_id
            else None
        ),
        "state": rule.state,
        "value": rule.last_value,
        "threshold": rule.threshold,
        "clear_below": rule.threshold * rule.clear_ratio,
        "window_minutes": rule.window_minutes,
    }


def _announce(rule: AlertRule) -> None:
    metric = rule.get_metric_display().lower()
    threshold = _format(rule, rule.threshold)
    if rule.state == AlertRule.State.FIRING:
        event = "alert.firing"
        title = (
            f"Alert: {rule.name} ({_subject(rule)}): {metric} is {_format(rule, rule.last_value)}"
        )
        body = f"{metric.capitalize()} rose above {threshold}."
    else:
        event = "alert.resolved"
        title = f"Resolved: {rule.name} ({_subject(rule)}): {metric} is back to " + _format(
            rule, rule.last_value
        )
        body = (
            f"{metric.capitalize()} fell below "
            f"{_format(rule, rule.threshold * rule.clear_ratio)} (the threshold is {threshold})."
        )
    if rule.metric != Metric.QUOTA_USE:
        if reads_raw_events(rule.window_minutes):
            body += f" Measured over the calls of the last {rule.window_minutes} minutes."
        else:
            body += (
                f" Measured over the rollup hours covering the last {rule.window_minutes} minutes."
            )
    notify(
        users=_recipients(rule),
        organisation=rule.organisation,
        kind=event,
        title=title,
        body=body,
        url=_url(rule),
        email=rule.notify_email,
    )
    if rule.notify_webhook:
        emit_to(organisations=[rule.organisation], event=event, data=alert_payload(rule))


def alert_rule_evaluate(*, rule_id: int, now: datetime.datetime | None = None) -> Verdict | None:
    """Measure one rule and apply the verdict; None when the rule is gone, disabled or
    being evaluated by someone else right now."""
    now = now or timezone.now()
    with transaction.atomic():
        rule = (
            AlertRule.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("organisation", "api__organisation", "application")
            .filter(pk=rule_id, enabled=True)
            .first()
        )
        if rule is None:
            return None
        value = measure(rule, now=now)
        verdict = judge(
            state=rule.state, value=value, threshold=rule.threshold, clear_ratio=rule.clear_ratio
        )
        rule.last_value = value
        rule.last_evaluated_at = now
        update = ["last_value", "last_evaluated_at"]
        if verdict.changed:
            rule.state = verdict.state
            rule.last_changed_at = now
            update += ["state", "last_changed_at"]
        rule.save(update_fields=update)
        if verdict.changed:
            _announce(rule)
            logger.info("alert rule %s is now %s (value %s)", rule.pk, rule.state, value)
    return verdict


def alert_rules_evaluate(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Evaluate every enabled rule, each in its own transaction: a failing rule costs
    only itself. Returns how many were evaluated, fired and resolved."""
    now = now or timezone.now()
    counts = {"evaluated": 0, "fired": 0, "resolved": 0, "failed": 0}
    for rule_id in AlertRule.objects.filter(enabled=True).values_list("pk", flat=True):
        try:
            verdict = alert_rule_evaluate(rule_id=rule_id, now=now)
        except Exception:
            logger.exception("alert rule %s could not be evaluated", rule_id)
            counts["failed"] += 1
            continue
        if verdict is None:
            continue
        counts["evaluated"] += 1
        if verdict.changed:
            counts["fired" if verdict.state == AlertRule.State.FIRING else "resolved"] += 1
    return counts
