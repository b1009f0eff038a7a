"""Number formats of the usage pages, and the "who still calls" panel of a deprecated
version's page."""

from urllib.parse import quote

from django import template
from django.utils import timezone

from analytics import selectors
from analytics.views import who_still_calls_days, who_still_calls_since

register = template.Library()
DASH = "–"


@register.filter
def num(value) -> str:
    """A count with thin spaces between thousands."""
    if value is None or value == "":
        return DASH
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}".replace(",", "\u202f")
    return f"{int(value):,}".replace(",", "\u202f")


@register.filter
def pct(value, digits: int = 1) -> str:
    if value is None:
        return DASH
    return f"{value:.{int(digits)}f} %"


@register.filter
def ms(value) -> str:
    if value is None:
        return DASH
    return f"{value:.1f} ms" if value < 10 else f"{value:,.0f} ms".replace(",", "\u202f")


@register.filter
def money(value) -> str:
    if value is None:
        return DASH
    return f"${value:,.2f}".replace(",", "\u202f")


@register.filter
def cell(value) -> str:
    """A chart value in its table: counts whole, measures to one decimal."""
    if value is None:
        return DASH
    if isinstance(value, float):
        return f"{value:,.1f}".replace(",", "\u202f")
    return num(value)


@register.filter
def query_string(query: dict) -> str:
    """The range's query string (``RangeForm.query``), for links that keep the range:
    each value encoded as the ``urlencode`` filter does."""
    return "&".join(f"{key}={quote(str(value))}" for key, value in query.items())


@register.inclusion_tag("analytics/_who_still_calls.html", takes_context=True)
def who_still_calls(context, version):
    """The applications that called a deprecated version lately; shown to the API's
    owners only, and only for a deprecated version."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if version is None or user is None or not user.is_authenticated:
        return {"callers": None}
    callers = selectors.version_caller_list(
        user=user, version=version, since=who_still_calls_since(timezone.now())
    )
    return {"callers": callers, "days": who_still_calls_days(), "version": version}
