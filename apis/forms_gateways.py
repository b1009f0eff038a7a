"""The gateway connection form: common settings, then the settings of its kind.

The secret field never renders a value: a stored secret shows only as "a
secret is set"; typing a new one replaces it, leaving it empty keeps it.
"""

from django import forms

from .models import Api, GatewayConnection
from .services.connections import CONFIG_FIELDS, MAX_INTERVAL, MIN_INTERVAL, NEEDS_SECRET

CONFIG_FORM_FIELDS = {
    "region": lambda required: forms.CharField(
        max_length=32, required=required, label="AWS region", help_text="For example eu-west-1."
    ),
    "endpoint_url": lambda required: forms.URLField(
        max_length=300,
        required=required,
        assume_scheme="https",
        label="Endpoint URL",
        help_text="Only for a private endpoint or an emulator; leave empty for AWS itself.",
    ),
    "role_arn": lambda required: forms.CharField(
        max_length=300,
        required=required,
        label="Role to assume",
        help_text="An IAM role ARN in the account to read; empty uses the workers' own "
        "credentials.",
    ),
    "external_id": lambda required: forms.CharField(
        max_length=200,
        required=required,
        label="External id",
        help_text="The external id the role's trust policy asks for, if any.",
    ),
    "base_url": lambda required: forms.URLField(
        max_length=300,
        required=required,
        assume_scheme="https",
        label="Base URL",
        help_text="Where the gateway's admin API answers, e.g. https://llm.example.com.",
    ),
    "url": lambda required: forms.URLField(
        max_length=500,
        required=required,
        assume_scheme="https",
        label="Document URL",
        help_text="Where the OpenAPI document (JSON or YAML) is served.",
    ),
    "api_name": lambda required: forms.CharField(
        max_length=120,
        required=required,
        label="API name",
        help_text="Defaults to the document's info.title.",
    ),
}

# Form field names of config keys that would clash with the connection's own fields.
FORM_NAMES = {"name": "api_name"}

SECRET_SET_HELP = "A secret is set; type a new one to replace it."


class ConnectionForm(forms.Form):
    name = forms.CharField(max_length=100)
    team = forms.ModelChoiceField(
        queryset=None,
        empty_label=None,
        help_text="The team that owns the APIs this connection brings in.",
    )
    visibility = forms.ChoiceField(
        choices=Api.Visibility.choices,
        initial=Api.Visibility.ORGANISATION,
        help_text="Visibility of the APIs this connection creates.",
    )
    publish_on_sync = forms.BooleanField(
        required=False, label="Publish new versions as they are found (otherwise drafts)"
    )
    interval_minutes = forms.IntegerField(
        min_value=MIN_INTERVAL,
        max_value=MAX_INTERVAL,
        initial=60,
        label="Sync every (minutes)",
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Sync on the schedule")

    def __init__(self, *args, kind: str, teams, connection: GatewayConnection | None = None, **kw):
        super().__init__(*args, **kw)
        self.kind = kind
        self.fields["team"].queryset = teams
        self.config_names = list(CONFIG_FIELDS[kind])
        for name, required in CONFIG_FIELDS[kind].items():
            field_name = FORM_NAMES.get(name, name)
            self.fields[field_name] = CONFIG_FORM_FIELDS[field_name](required)
        if kind in NEEDS_SECRET:
            has_secret = connection is not None and connection.has_secret
            self.fields["secret"] = forms.CharField(
                max_length=500,
                required=not has_secret,
                label="Admin key or token",
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                help_text=SECRET_SET_HELP
                if has_secret
                else "Stored sealed; it is never shown again.",
            )
        config = [FORM_NAMES.get(name, name) for name in self.config_names]
        self.order_fields(["name", "team", *config, "secret"])

    def config(self) -> dict:
        return {
            name: self.cleaned_data.get(FORM_NAMES.get(name, name)) or ""
            for name in self.config_names
        }

    def secret(self) -> str:
        return self.cleaned_data.get("secret", "")

    def values(self) -> dict:
        """What connection_create and connection_update take from the form."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "team": data["team"],
            "config": self.config(),
            "secret": self.secret(),
            "visibility": data["visibility"],
            "publish_on_sync": data["publish_on_sync"],
            "interval_minutes": data["interval_minutes"],
            "enabled": data["enabled"],
        }


def connection_initial(connection: GatewayConnection) -> dict:
    initial = {
        "name": connection.name,
        "team": connection.team,
        "visibility": connection.visibility,
        "publish_on_sync": connection.publish_on_sync,
        "interval_minutes": connection.interval_minutes,
        "enabled": connection.enabled,
    }
    for name, value in (connection.config or {}).items():
        initial[FORM_NAMES.get(name, name)] = value
    return initial
