"""How much of its quota each of a consumer's subscriptions has used, and how much of its
monthly AI budget each team has spent."""

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet, Sum

from .windows import DAY, as_utc, local_midnight

PERIODS = ("day", "week", "month")
QUOTA_WARN_AT = 80


def period_start(period: str, now: datetime.datetime) -> datetime.datetime:
    """Where the current quota period began: gateways count quotas in UTC, weeks from
    Monday."""
    today = now.astimezone(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return today
    if period == "week":
        return today - today.weekday() * DAY
    return today.replace(day=1)


def level_of(percent: float | None, warn_at: float) -> str:
    if percent is None:
        return "ok"
    if percent >= 100:
        return "danger"
    return "warning" if percent >= warn_at else "ok"


@dataclass
class QuotaUse:
    subscription: object
    limit: int | None
    period: str
    used: int
    since: datetime.datetime | None

    @property
    def percent(self) -> float | None:
        return 100.0 * self.used / self.limit if self.limit else None

    @property
    def level(self) -> str:
        return level_of(self.percent, QUOTA_WARN_AT)

    # The <meter>'s bands: green up to the warning, amber, red from the limit on.
    @property
    def meter_low(self) -> float:
        return (self.limit or 0) * QUOTA_WARN_AT / 100

    @property
    def meter_high(self) -> float:
        return max((self.limit or 0) - 0.5, 0)


def quota_use(
    rollups: QuerySet, subscriptions: Sequence, *, now: datetime.datetime
) -> list[QuotaUse]:
    """Calls of each subscription's API in its plan's current quota period: one query
    for all of them."""
    starts = {period: period_start(period, now) for period in PERIODS}
    api_ids = {subscription.api_id for subscription in subscriptions}
    used: dict[int, dict] = {}
    if api_ids:
        rows = (
            rollups.filter(api_id__in=api_ids, hour__gte=min(starts.values()))
            .values("api_id")
            .annotate(
                **{
                    period: Sum("calls", filter=Q(hour__gte=start))
                    for period, start in starts.items()
                }
            )
            .order_by()
        )
        used = {row["api_id"]: row for row in rows}
    uses = []
    for subscription in subscriptions:
        plan = subscription.plan
        period = plan.quota_period if plan.quota_period in PERIODS else ""
        counted = used.get(subscription.api_id, {})
        uses.append(
            QuotaUse(
                subscription=subscription,
                limit=plan.quota_limit if period else None,
                period=period or "month",
                used=counted.get(period or "month") or 0,
                since=starts[period or "month"],
            )
        )
    return uses


@dataclass
class BudgetUse:
    budget: object
    spent: float

    @property
    def limit(self) -> float:
        return float(self.budget.monthly_limit)

    @property
    def percent(self) -> float | None:
        return 100.0 * self.spent / self.limit if self.limit > 0 else None

    @property
    def meter_low(self) -> float:
        return self.limit * self.budget.warn_at_percent / 100

    @property
    def meter_high(self) -> float:
        return self.limit * 0.9999

    @property
    def level(self) -> str:
        if self.limit <= 0:
            return "danger" if self.spent > 0 else "ok"
        return level_of(self.percent, self.budget.warn_at_percent)


def month_start(now: datetime.datetime, tz: ZoneInfo) -> datetime.datetime:
    local = now.astimezone(tz)
    return as_utc(local_midnight(local.date().replace(day=1), tz))


def budget_use(budgets: Iterable, spent_by_team: dict[int, float]) -> list[BudgetUse]:
    return [BudgetUse(budget=b, spent=spent_by_team.get(b.team_id, 0.0)) for b in budgets]
