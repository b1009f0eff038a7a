"""Forms of the subscription pages: plans, subscribing, decisions, applications, webhooks."""

from decimal import Decimal

from django import forms

from .models import Plan, Webhook

REASON_MAX = 2000


def _reason_field(*, required: bool = False, label: str = "Reason", help_text: str = ""):
    return forms.CharField(
        required=required,
        max_length=REASON_MAX,
        label=label,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PlanForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    rate_limit = forms.FloatField(
        required=False,
        min_value=0.001,
        label="Rate limit (requests per second)",
        help_text="Empty for no limit.",
    )
    burst_limit = forms.IntegerField(
        required=False, min_value=1, max_value=1_000_000, label="Burst limit (requests)"
    )
    quota_limit = forms.IntegerField(
        required=False, min_value=1, max_value=2_000_000_000, label="Quota (requests)"
    )
    quota_period = forms.ChoiceField(
        required=False, choices=[("", "—"), *Plan.Period.choices], label="Quota period"
    )
    approval = forms.ChoiceField(
        choices=Plan.Approval.choices,
        initial=Plan.Approval.MANUAL,
        help_text="Automatic plans approve every request at once.",
    )
    key_grace_hours = forms.IntegerField(
        min_value=0,
        max_value=24 * 90,
        initial=24,
        label="Grace period of a rotated key (hours)",
    )
    budget = forms.DecimalField(
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        label="Budget (USD)",
        help_text="For LiteLLM models: what a key may spend per quota period, or in its "
        "lifetime without one. Empty for no budget.",
    )
    gateway_plan_id = forms.CharField(
        required=False,
        max_length=128,
        label="Gateway usage plan id",
        help_text="Only for an API from a gateway connection: the usage plan keys join.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("quota_limit") and not cleaned.get("quota_period"):
            self.add_error("quota_period", "Say per day, week or month.")
        return cleaned


def plan_initial(plan: Plan) -> dict:
    return {name: getattr(plan, name) for name in PlanForm.base_fields}


class ApplicationForm(forms.Form):
    team = forms.ModelChoiceField(
        queryset=None, empty_label=None, help_text="The team that owns the application."
    )
    name = forms.CharField(max_length=100)
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams


class ApplicationEditForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    owners = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Members of the organisation who answer for the application.",
    )

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owners"].queryset = members
        self.fields["owners"].label_from_instance = _member_label


def _member_label(user) -> str:
    name = user.get_full_name()
    return f"{name} ({user.email})" if name else user.email


class SubscribeForm(forms.Form):
    """An application (or the name of a new one), a plan and a reason."""

    application = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="A new application…"
    )
    new_application = forms.CharField(
        required=False,
        max_length=100,
        label="New application's name",
        help_text="Only when you chose a new application.",
    )
    team = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label=None,
        label="Team of the new application",
    )
    plan = forms.ModelChoiceField(queryset=None, empty_label=None, widget=forms.RadioSelect)
    reason = _reason_field(
        required=True,
        label="Why do you need it?",
        help_text="The API's maintainers read this when they decide.",
    )

    def __init__(self, *args, applications, teams, plans, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["application"].queryset = applications
        self.fields["team"].queryset = teams
        self.fields["plan"].queryset = plans
        self.fields["plan"].label_from_instance = plan_label
        if not applications.exists():
            self.fields["application"].widget = forms.HiddenInput()
        # With one team there is nothing to choose.
        self.only_team = teams.first() if teams.count() == 1 else None
        if self.only_team is not None:
            self.fields["team"].widget = forms.HiddenInput()
            self.fields["team"].initial = self.only_team

    def clean(self):
        cleaned = super().clean()
        application = cleaned.get("application")
        if cleaned.get("team") is None and self.only_team is not None:
            cleaned["team"] = self.only_team
        name = (cleaned.get("new_application") or "").strip()
        if application is not None and name:
            self.add_error("new_application", "Choose an application or name a new one, not both.")
        elif application is None and not name:
            self.add_error("new_application", "Name the new application, or choose one.")
        elif application is None and cleaned.get("team") is None:
            self.add_error("team", "Choose the team of the new application.")
        cleaned["new_application"] = name
        return cleaned


def plan_label(plan: Plan) -> str:
    limits = []
    if plan.rate_limit:
        limits.append(f"{plan.rate_limit:g} req/s")
    if plan.burst_limit:
        limits.append(f"burst {plan.burst_limit}")
    if plan.quota_limit:
        limits.append(f"{plan.quota_limit} {plan.get_quota_period_display()}")
    approval = "approved at once" if plan.approval == Plan.Approval.AUTOMATIC else "needs approval"
    details = ", ".join([*limits, approval]) if limits else approval
    return f"{plan.name} ({details})"


class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = _reason_field(help_text="Needed to reject.")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "reject" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "Say why you reject it.")
        return cleaned


class ActionForm(forms.Form):
    action = forms.ChoiceField(choices=[])
    reason = _reason_field()

    def __init__(self, *args, actions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [(a, a) for a in actions]


class PlanChangeForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=None, empty_label=None, label="New plan")
    reason = _reason_field(help_text="Why the other plan: the maintainers read this.")

    def __init__(self, *args, plans, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans
        self.fields["plan"].label_from_instance = plan_label


EVENT_CHOICES = [
    ("subscription.*", "Every subscription event (subscription.*)"),
    ("subscription.requested", "subscription.requested"),
    ("subscription.approved", "subscription.approved"),
    ("subscription.rejected", "subscription.rejected"),
    ("subscription.cancelled", "subscription.cancelled"),
    ("subscription.suspended", "subscription.suspended"),
    ("subscription.revoked", "subscription.revoked"),
    ("credential.*", "Every key event (credential.*)"),
    ("credential.issued", "credential.issued"),
    ("credential.rotated", "credential.rotated"),
    ("credential.revoked", "credential.revoked"),
    ("lifecycle.*", "Every lifecycle event (lifecycle.*)"),
    ("lifecycle.published", "lifecycle.published"),
    ("lifecycle.deprecated", "lifecycle.deprecated"),
    ("lifecycle.retired", "lifecycle.retired"),
]


class WebhookForm(forms.Form):
    url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        label="Payload URL",
        help_text="Portico POSTs signed JSON here.",
    )
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple, label="Events"
    )

    def __init__(self, *args, webhook: Webhook | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if webhook is not None:
            # Events chosen through the REST API may be ones the boxes do not list.
            known = {value for value, _ in EVENT_CHOICES}
            extra = [(e, e) for e in webhook.events if e not in known]
            self.fields["events"].choices = [*EVENT_CHOICES, *extra]
            self.fields["is_active"] = forms.BooleanField(
                required=False, label="Active: deliver events to this URL"
            )
