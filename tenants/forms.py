from datetime import timedelta

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator
from django.utils import timezone

from .models import AccessToken, Team
from .roles import OrgRole, TeamRole

SLUG_HELP = "Lower-case letters, digits and hyphens; used in addresses."


class OrganisationForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.SlugField(max_length=50, help_text=SLUG_HELP)

    def clean_slug(self):
        return self.cleaned_data["slug"].lower()


class OrganisationRenameForm(forms.Form):
    name = forms.CharField(max_length=100)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.SlugField(max_length=50, help_text=SLUG_HELP)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000
    )

    def clean_slug(self):
        return self.cleaned_data["slug"].lower()


class TeamEditForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000
    )


class TeamMemberForm(forms.Form):
    user = forms.ModelChoiceField(queryset=None, label="Member", empty_label="Choose a member")
    role = forms.ChoiceField(choices=TeamRole.choices, initial=TeamRole.DEVELOPER)

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = candidates


class TeamRoleForm(forms.Form):
    role = forms.ChoiceField(choices=TeamRole.choices)


class OrgRoleForm(forms.Form):
    role = forms.ChoiceField(choices=OrgRole.choices)


class InvitationForm(forms.Form):
    email = forms.EmailField(label="E-mail address")
    role = forms.ChoiceField(choices=OrgRole.choices, initial=OrgRole.MEMBER)
    team = forms.ModelChoiceField(queryset=None, required=False, empty_label="No team")
    team_role = forms.ChoiceField(
        choices=[("", "—"), *TeamRole.choices], required=False, label="Role in the team"
    )

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(organisation=organisation)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("team") and not cleaned.get("team_role"):
            self.add_error("team_role", "Choose the role in the team.")
        return cleaned


class AccessTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. 'CI deploys'.")
    scope = forms.ChoiceField(choices=AccessToken.Scope.choices, initial=AccessToken.Scope.READ)
    expires_in_days = forms.IntegerField(min_value=1, initial=90, label="Expires in (days)")
    organisation = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="All my organisations"
    )

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        longest = settings.ACCESS_TOKEN_MAX_DAYS
        self.fields["expires_in_days"].validators.append(MaxValueValidator(longest))
        self.fields["expires_in_days"].widget.attrs["max"] = longest

    def expires_at(self):
        return timezone.now() + timedelta(days=self.cleaned_data["expires_in_days"])


def add_application_error(form: forms.Form, error) -> None:
    """Show a service's ApplicationError on the form: on its fields, else at the top."""
    placed = False
    for name, messages in error.fields.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


def form_status(form) -> int:
    """400 when a submitted form is shown again with its errors, 200 otherwise."""
    return 400 if form is not None and form.is_bound and form.errors else 200
