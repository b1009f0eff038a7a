"""The dashboards' range picker: a preset or custom days, in the viewer's time zone."""

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.conf import settings

from .dashboards import DEFAULT_RANGE, RANGES, Window, window_for

CUSTOM = "custom"
# Rollups are kept 13 months: a longer range would only show zeros.
MAX_DAYS = 400


def default_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


class RangeForm(forms.Form):
    range = forms.ChoiceField(
        choices=[*RANGES.items(), (CUSTOM, "Custom")], required=False, label="Range"
    )
    tz = forms.CharField(required=False, max_length=64, label="Time zone")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "from" is a keyword in Python, so the field cannot be declared by name.
        self.fields["from"] = forms.DateField(required=False, label="From")
        self.fields["to"] = forms.DateField(required=False, label="To")

    def clean_tz(self) -> ZoneInfo:
        name = self.cleaned_data.get("tz", "").strip()
        if not name:
            return default_zone()
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as error:
            raise forms.ValidationError(
                f"“{name[:64]}” is not a time zone; use a name like Europe/London."
            ) from error

    def clean(self):
        data = super().clean()
        key = data.get("range") or DEFAULT_RANGE
        data["range"] = key
        if key != CUSTOM:
            return data
        first, last = data.get("from"), data.get("to")
        if first is None or last is None:
            raise forms.ValidationError("A custom range needs both its first and last day.")
        if last < first:
            raise forms.ValidationError("The last day comes before the first.")
        if (last - first).days + 1 > MAX_DAYS:
            raise forms.ValidationError(
                f"That is {(last - first).days + 1} days; the longest range is {MAX_DAYS} days."
            )
        return data

    def window(self, *, now: datetime.datetime) -> Window:
        """The window asked for; the default (the last 7 days in the portal's zone) when
        the form is not valid."""
        if not self.is_bound or not self.is_valid():
            tz = default_zone()
            if self.is_bound and "tz" not in self.errors:
                tz = self.cleaned_data.get("tz", tz)
            return window_for(DEFAULT_RANGE, now=now, tz=tz)
        data = self.cleaned_data
        return window_for(
            data["range"], now=now, tz=data["tz"], first=data.get("from"), last=data.get("to")
        )

    def query(self, window: Window) -> dict[str, str]:
        """The query string that asks for ``window`` again."""
        query = {"range": window.key, "tz": window.tz.key}
        if window.first is not None and window.last is not None:
            query["from"] = window.first.isoformat()
            query["to"] = window.last.isoformat()
        return query
