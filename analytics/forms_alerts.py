"""The alert rule form: what a rule watches, its metric and terms, and how it notifies.

The ranges a threshold may take per metric are the service's (analytics.services.alerts);
the form lists them and leaves the checking to it.
"""

from django import forms

from apis.models import Api, Application

from .models import AlertRule
from .services.alerts import MAX_WINDOW, MIN_WINDOW, THRESHOLD_RANGES


def _threshold_help() -> str:
    ranges = [
        f"{label.split(' (')[0].lower()} {low:g}–{high:g} {unit}"
        for (metric, label) in AlertRule.Metric.choices
        for low, high, unit in [THRESHOLD_RANGES[metric]]
    ]
    return "The rule fires above it: " + ", ".join(ranges) + "."


def target_value(*, api: Api | None = None, application: Application | None = None) -> str:
    """The form's value for a rule's target."""
    return f"api:{api.pk}" if api is not None else f"application:{application.pk}"


class AlertRuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    target = forms.ChoiceField(
        label="Watches",
        help_text="An API: every consumer's calls to it. An application: its calls to every API.",
    )
    metric = forms.ChoiceField(
        choices=AlertRule.Metric.choices,
        help_text="Error rate counts 5xx answers only. Quota used is the highest share of a "
        "plan's quota used this quota period; the window does not apply to it.",
    )
    threshold = forms.FloatField(help_text=_threshold_help())
    window_minutes = forms.IntegerField(
        min_value=MIN_WINDOW,
        max_value=MAX_WINDOW,
        initial=15,
        label="Window (minutes)",
        help_text="Under 60: exactly the last minutes of requests; 60 or more: whole rollup hours.",
    )
    clear_ratio = forms.FloatField(
        initial=0.8,
        label="Clear ratio",
        help_text="A firing rule resolves when the value falls below threshold × ratio "
        "(above 0, at most 1), so a value wobbling around the threshold notifies once.",
    )
    notify_email = forms.BooleanField(
        required=False, initial=True, label="E-mail the people concerned when it fires or resolves"
    )
    notify_webhook = forms.BooleanField(
        required=False,
        initial=True,
        label="Send alert.firing and alert.resolved to the organisation's webhooks",
    )
    enabled = forms.BooleanField(
        required=False, initial=True, label="Enabled: evaluated every minute"
    )

    def __init__(self, *args, apis, applications, **kwargs):
        super().__init__(*args, **kwargs)
        self.apis = {f"api:{api.pk}": api for api in apis}
        self.applications = {
            f"application:{application.pk}": application for application in applications
        }
        groups = []
        if self.apis:
            groups.append(("APIs", [(value, api.name) for value, api in self.apis.items()]))
        if self.applications:
            groups.append(
                (
                    "Applications",
                    [
                        (value, f"{application.name} ({application.team.name})")
                        for value, application in self.applications.items()
                    ],
                )
            )
        self.fields["target"].choices = [("", "Choose an API or an application"), *groups]

    @property
    def has_targets(self) -> bool:
        return bool(self.apis or self.applications)

    def clean(self):
        cleaned = super().clean()
        value = cleaned.get("target")
        cleaned["api"] = self.apis.get(value)
        cleaned["application"] = self.applications.get(value)
        return cleaned

    def rule_values(self) -> dict:
        """The cleaned data as the alert services take it."""
        data = self.cleaned_data
        names = [name for name in self.fields if name != "target"]
        return {
            "api": data["api"],
            "application": data["application"],
            **{name: data[name] for name in names},
        }
