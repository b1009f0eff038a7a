"""The per-API usage dashboard in a real browser: its charts are drawn from seeded
rollups, its tables hold the numbers, and the range picker changes them in place."""

import datetime
import os
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.analytics.usage_data import make_api, make_application, rollup

from .pages import sign_in

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("PORTICO_SCREENSHOTS", "")


def seed(cast):
    api = make_api(cast.org, cast.team, name="Ledger", slug="ledger")
    shop = make_application(cast.other_team, "Globex Shop")
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    # The last day: 6 hours of 10 calls; the weeks before: 20 days of 100 calls.
    for hours_ago in range(6):
        rollup(
            cast.org,
            now - datetime.timedelta(hours=hours_ago),
            api=api,
            version=api.current_version,
            app=shop,
            latencies=[20.0] * 9 + [400.0],
            c4xx=1,
        )
    for days_ago in range(3, 23):
        rollup(
            cast.org,
            now - datetime.timedelta(days=days_ago),
            api=api,
            version=api.current_version,
            app=shop,
            latencies=[80.0] * 90 + [2000.0] * 10,
            c5xx=10,
        )
    return api


def test_api_dashboard_draws_its_charts_and_the_range_picker_changes_them(cast, page):
    api = seed(cast)
    sign_in(page, cast.maintainer.email)
    page.goto(f"/o/{cast.org.slug}/usage/apis/{api.slug}/?range=24h")

    calls = page.get_by_test_id("summary-calls")
    expect(calls).to_have_text("60")
    chart = page.get_by_test_id("chart-calls")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(page.get_by_test_id("chart-latency").locator("canvas")).to_have_count(1)
    rows = page.get_by_test_id("table-calls").locator("tbody tr")
    expect(rows).to_have_count(24)
    busy = rows.filter(has=page.locator("td", has_text=re.compile(r"^10$")))
    expect(busy).to_have_count(6)
    expect(page.get_by_test_id("top-applications")).to_contain_text("Globex Shop")
    p95_last_day = page.get_by_test_id("summary-p95").inner_text()
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "usage-api-24h.png"), full_page=True)

    page.get_by_label("Range").select_option("30d")
    expect(calls).to_have_text("2\u202f060")
    expect(page).to_have_url(re.compile(r"range=30d"))
    expect(rows).to_have_count(30)
    expect(page.get_by_test_id("summary-5xx")).to_have_text("9.71 %")
    assert page.get_by_test_id("summary-p95").inner_text() != p95_last_day
    expect(page.get_by_test_id("chart-calls").locator("canvas")).to_have_count(1)
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "usage-api-30d.png"), full_page=True)


def test_the_browsers_time_zone_is_adopted(cast, browser, base_url):
    api = seed(cast)
    context = browser.new_context(base_url=base_url, timezone_id="Asia/Tokyo")
    try:
        page = context.new_page()
        sign_in(page, cast.maintainer.email)
        page.goto(f"/o/{cast.org.slug}/usage/apis/{api.slug}/?range=30d")
        expect(page).to_have_url(re.compile(r"tz=Asia%2FTokyo"))
        expect(page.get_by_test_id("usage-window")).to_contain_text("Asia/Tokyo")
        expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
        expect(page.get_by_test_id("summary-calls")).to_have_text("2\u202f060")
        expect(page.get_by_test_id("chart-calls").locator("canvas")).to_have_count(1)
    finally:
        context.close()
