"""AI budgets warn as this month's spend nears the limit; Lambda functions that use
little of their memory get a right-sizing hint."""

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from django.utils import timezone

from analytics.dashboards import BudgetUse, window_for
from analytics.functions import FunctionStats, function_stats
from analytics.models import FunctionInvocation, TeamBudget
from analytics.storage import insert_invocations
from tests.factories import TeamFactory

from .usage_data import make_api, make_application, rollup

NOW = datetime.datetime(2026, 6, 10, 14, 37, tzinfo=datetime.UTC)


def budget(limit, warn=80):
    return SimpleNamespace(monthly_limit=Decimal(limit), warn_at_percent=warn, team_id=1)


@pytest.mark.parametrize(
    ("spent", "warn", "level"),
    [
        (0.0, 80, "ok"),
        (79.99, 80, "ok"),
        (80.0, 80, "warning"),
        (99.99, 80, "warning"),
        (100.0, 80, "danger"),
        (250.0, 80, "danger"),
        (50.0, 50, "warning"),
        (49.0, 50, "ok"),
    ],
)
def test_budget_levels(spent, warn, level):
    use = BudgetUse(budget=budget("100.00", warn), spent=spent)
    assert use.level == level
    assert use.percent == pytest.approx(spent)


def test_a_zero_budget_is_exceeded_by_any_spend():
    assert BudgetUse(budget=budget("0"), spent=0.0).level == "ok"
    assert BudgetUse(budget=budget("0"), spent=0.01).level == "danger"


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_ai_page_warns_each_team_by_this_months_spend(cast, client_for):
    model = make_api(cast.other_org, cast.other_team, name="Globex GPT", slug="gpt", kind="ai")
    search = TeamFactory(organisation=cast.org, name="Search Squad", slug="search")
    checkout = make_application(cast.team, "Acme Checkout")
    finder = make_application(search, "Acme Finder")
    TeamBudget.objects.create(team=cast.team, organisation=cast.org, monthly_limit=Decimal("100"))
    TeamBudget.objects.create(
        team=search, organisation=cast.org, monthly_limit=Decimal("10"), warn_at_percent=50
    )
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    month = now.replace(day=1, hour=0)
    rollup(cast.other_org, now, api=model, app=checkout, tokens_in=1000, cost=85.0)
    # Last month's spend does not count against this month's budget.
    rollup(cast.other_org, month - datetime.timedelta(hours=1), api=model, app=checkout, cost=99.0)
    rollup(cast.other_org, now, api=model, app=finder, tokens_in=10, cost=4.0)
    response = client_for(cast.member).get("/o/acme/usage/ai/", {"range": "24h"})
    assert response.status_code == 200
    levels = {
        use.budget.team.name: (use.level, round(use.spent, 2))
        for use in response.context["budgets"]
    }
    assert levels == {"Payments Squad": ("warning", 85.0), "Search Squad": ("ok", 4.0)}
    assert b"past 80 % of the budget" in response.content
    rollup(cast.other_org, now - datetime.timedelta(hours=1), api=model, app=finder, cost=6.5)
    response = client_for(cast.member).get("/o/acme/usage/ai/", {"range": "24h"})
    levels = {use.budget.team.name: use.level for use in response.context["budgets"]}
    assert levels == {"Payments Squad": "warning", "Search Squad": "danger"}
    assert b"over budget" in response.content
    teams = dict(response.context["by_team"])
    assert teams["Search Squad"].cost == pytest.approx(10.5)
    models = [(api.name, point.tokens_in) for api, point in response.context["by_model"]]
    assert models == [("Globex GPT", 1010)]


def stats(memory, max_used, invocations=100):
    return FunctionStats(
        function="f",
        memory_mb=memory,
        invocations=invocations,
        max_memory_used=max_used,
        p99_memory_ratio=max_used / memory,
    )


def test_right_sizing_hint():
    assert stats(1024, 420).hint == "Uses at most 41 % of 1024 MB: try 512 MB."
    assert stats(1024, 420).suggested_memory == 512
    assert stats(1024, 600).hint == ""  # over half
    assert stats(128, 40).hint == ""  # nothing smaller to try
    assert stats(3008, 700).suggested_memory == 1024


def invocation(n, org, *, function="orders", memory=1024, used=300, init=None, at=None):
    return (
        at or NOW - datetime.timedelta(minutes=n),
        1,
        f"{function}-{n}",
        org.pk,
        function,
        "$LATEST",
        20.0 + n % 7,
        21.0,
        memory,
        used,
        init,
    )


@pytest.mark.django_db
def test_function_stats_from_invocations(cast):
    rows = [
        invocation(
            n, cast.org, used=300 if n < 99 else 420, init=150.0 + n if n % 10 == 0 else None
        )
        for n in range(200)
    ]
    rows += [invocation(n, cast.org, function="thumbs", memory=512, used=500) for n in range(20)]
    rows.append(invocation(999, cast.other_org, function="globex-only"))
    rows.append(invocation(998, cast.org, at=NOW - datetime.timedelta(days=3)))  # too old
    insert_invocations(rows)
    window = window_for("24h", now=NOW, tz=datetime.UTC)
    found = function_stats(FunctionInvocation.objects.filter(organisation_id=cast.org.pk), window)
    assert [(f.function, f.memory_mb, f.invocations) for f in found] == [
        ("orders", 1024, 200),
        ("thumbs", 512, 20),
    ]
    orders, thumbs = found
    assert orders.cold_starts == 20
    assert orders.cold_rate == 10.0
    # Init times 150, 160, ... 340: the 95th percentile of the twenty is the 19th.
    assert orders.p95_init == 330.0
    assert orders.max_memory_used == 420
    assert orders.hint == "Uses at most 41 % of 1024 MB: try 512 MB."
    assert thumbs.hint == ""
    assert thumbs.p95_init is None
