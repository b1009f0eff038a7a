from django import forms
from django.conf import settings

from tenants.models import Team

from .models import Api, ApiVersion
from .specs.errors import megabytes


class ApiForm(forms.Form):
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        empty_label=None,
        help_text="The team that owns and maintains the API.",
    )
    name = forms.CharField(max_length=120)
    slug = forms.SlugField(
        max_length=80, help_text="Used in addresses; unique in the organisation."
    )
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000
    )
    tags = forms.CharField(
        required=False, max_length=500, help_text="Comma-separated, e.g. payments, cards."
    )
    visibility = forms.ChoiceField(
        choices=Api.Visibility.choices, initial=Api.Visibility.ORGANISATION
    )
    kind = forms.ChoiceField(choices=Api.Kind.choices, initial=Api.Kind.REST)

    def __init__(self, *args, teams, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        if editing:
            del self.fields["slug"]
            del self.fields["kind"]

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]


class SpecSourceForm(forms.Form):
    """Exactly one of: a file, pasted text, a URL."""

    spec_file = forms.FileField(
        required=False, label="Upload a file", help_text="OpenAPI 2.0, 3.0 or 3.1; JSON or YAML."
    )
    spec_text = forms.CharField(
        required=False,
        label="…or paste it",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
    )
    spec_url = forms.URLField(
        required=False, label="…or fetch it from a URL", assume_scheme="https"
    )
    version = forms.CharField(
        required=False, max_length=64, help_text="Defaults to the spec's info.version."
    )
    base_url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Where try-it sends requests; defaults to the spec's first server.",
    )

    def clean(self):
        cleaned = super().clean()
        given = [name for name in ("spec_file", "spec_text", "spec_url") if cleaned.get(name)]
        if len(given) != 1:
            raise forms.ValidationError("Give the spec one way: a file, pasted text or a URL.")
        upload = cleaned.get("spec_file")
        if upload is not None and upload.size > settings.SPEC_MAX_BYTES:
            self.add_error(
                "spec_file",
                f"This spec is {megabytes(upload.size)}; the limit is "
                f"{megabytes(settings.SPEC_MAX_BYTES)}.",
            )
        return cleaned

    def source(self) -> tuple[str, object]:
        for name in ("spec_file", "spec_text", "spec_url"):
            if self.cleaned_data.get(name):
                return name, self.cleaned_data[name]
        raise ValueError("no source")


class TransitionForm(forms.Form):
    to_state = forms.ChoiceField(choices=ApiVersion.State.choices)
    reason = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    sunset_at = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Sunset date"
    )
