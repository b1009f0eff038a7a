"""The log source form (name, format and the settings of the source's kind) and the
upload form.

Which settings a kind takes and which it needs come from the service's table
(analytics.services.sources.CONFIG_FIELDS); what they may hold, and every other rule,
the service checks when the form's values reach it.
"""

from django import forms

from .models import LogSource
from .services.sources import CONFIG_FIELDS, MAX_INTERVAL, MIN_INTERVAL

CONFIG_FORM_FIELDS = {
    "log_group": lambda required: forms.CharField(
        max_length=512,
        required=required,
        label="Log group",
        help_text="For example /aws/apigateway/ledger-prod.",
    ),
    "stream_prefix": lambda required: forms.CharField(
        max_length=512,
        required=required,
        label="Log stream prefix",
        help_text="Read only the streams whose names start with it; empty reads every stream.",
    ),
    "filter_pattern": lambda required: forms.CharField(
        max_length=1024,
        required=required,
        label="Filter pattern",
        help_text="A CloudWatch Logs filter pattern: only the events it matches are read.",
    ),
    "region": lambda required: forms.CharField(
        max_length=32,
        required=required,
        label="AWS region",
        help_text="For example eu-west-1; empty takes the connection's region.",
    ),
}


class MappingField(forms.JSONField):
    def prepare_value(self, value):
        return "" if value is None else super().prepare_value(value)  # not "null"


class LogSourceForm(forms.Form):
    name = forms.CharField(max_length=100)
    format = forms.ChoiceField(choices=LogSource.Format.choices, label="Log format")
    mapping = MappingField(
        required=False,
        label="Custom JSON mapping",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text="For the custom JSON format only: record fields to paths in your JSON "
        'lines, e.g. {"ts_ms": "time", "status": "response.status", "route": "request.path"}.',
    )
    api = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="API",
        empty_label="None: the log lines name their API",
        help_text="For logs that do not name their API (nginx, Kong, custom JSON): the "
        "organisation's API they are of.",
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Enabled")

    def __init__(self, *args, kind: str, apis, connections, source: LogSource | None = None, **kw):
        super().__init__(*args, **kw)
        self.kind = kind
        self.fields["api"].queryset = apis
        self.config_names = list(CONFIG_FIELDS[kind])
        for name, required in CONFIG_FIELDS[kind].items():
            self.fields[name] = CONFIG_FORM_FIELDS[name](required)
        order = ["name", "format", *self.config_names, "mapping"]
        if kind == LogSource.Kind.CLOUDWATCH:
            # The service keeps a source's connection when none is given: a chosen one
            # can be changed, not taken away.
            keeps = source is not None and source.connection_id is not None
            self.fields["connection"] = forms.ModelChoiceField(
                queryset=connections,
                required=False,
                label="AWS connection",
                empty_label=None if keeps else "None: the workers' own AWS credentials",
                help_text="The gateway connection whose region, endpoint and role to read "
                "the log group through.",
            )
            self.fields["interval_minutes"] = forms.IntegerField(
                min_value=MIN_INTERVAL,
                max_value=MAX_INTERVAL,
                initial=5,
                label="Import every (minutes)",
            )
            self.fields["enabled"].label = "Enabled: imported on the schedule"
            order += ["connection", "interval_minutes"]
        elif kind == LogSource.Kind.PUSH:
            self.fields["enabled"].label = "Enabled: the ingest URL takes batches"
        else:
            self.fields["enabled"].label = "Enabled"
        self.order_fields([*order, "api", "enabled"])

    def config(self) -> dict:
        data = self.cleaned_data
        config = {name: data.get(name) or "" for name in self.config_names}
        if data.get("mapping") is not None:
            config["mapping"] = data["mapping"]
        return config

    def values(self) -> dict:
        """What source_create and source_update take from the form."""
        data = self.cleaned_data
        values = {
            "name": data["name"],
            "format": data["format"],
            "config": self.config(),
            "api": data["api"],
            "enabled": data["enabled"],
        }
        if self.kind == LogSource.Kind.CLOUDWATCH:
            values["connection"] = data["connection"]
            values["interval_minutes"] = data["interval_minutes"]
        return values


def source_initial(source: LogSource) -> dict:
    initial = {
        "name": source.name,
        "format": source.format,
        "api": source.api,
        "connection": source.connection,
        "interval_minutes": source.interval_minutes,
        "enabled": source.enabled,
    }
    initial.update(source.config or {})
    return initial


class LogUploadForm(forms.Form):
    # Emptiness, size and what the file holds are the upload service's to judge.
    file = forms.FileField(
        allow_empty_file=True,
        label="Log file",
        help_text="Plain text lines or gzip (a CloudWatch export to S3 included), one record "
        "a line.",
    )
