"""manage.py import_spec PATH --org ORG --team TEAM [--api SLUG] [--version V]
[--visibility V] [--publish]"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from apis.models import Api, ApiVersion
from apis.services.catalogue import api_import
from apis.services.lifecycle import version_transition
from apis.specs.errors import megabytes
from tenants import selectors as tenant_selectors
from tenants.actors import Actor
from tenants.errors import ApplicationError
from tenants.models import Organisation


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class Command(BaseCommand):
    help = (
        "Import an OpenAPI document (2.0, 3.0 or 3.1; JSON or YAML) as a new version of an "
        "API, creating the API if it is new. The import is audited as the system."
    )

    def add_base_argument(self, parser, *args, **kwargs):
        # --version is this command's version label, not Django's version.
        if "--version" not in args:
            super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("path", help="The spec file.")
        parser.add_argument("--org", required=True, help="Slug of the organisation.")
        parser.add_argument("--team", required=True, help="Slug of the owning team.")
        parser.add_argument(
            "--api", default="", help="Slug of the API (default: made from the spec's title)."
        )
        parser.add_argument(
            "--version", default="", help="Version label (default: the spec's info.version)."
        )
        parser.add_argument(
            "--visibility",
            default=Api.Visibility.ORGANISATION,
            choices=Api.Visibility.values,
            help="Visibility of a new API (default: organisation).",
        )
        parser.add_argument(
            "--publish", action="store_true", help="Publish the version instead of a draft."
        )

    def handle(self, *args, **options):
        raw = self._read(options["path"])
        organisation = Organisation.objects.filter(slug=options["org"], is_active=True).first()
        if organisation is None:
            raise CommandError(f"There is no active organisation {options['org']!r}.")
        try:
            team = tenant_selectors.team_get(organisation=organisation, slug=options["team"])
        except Http404:
            raise CommandError(
                f"Organisation {organisation.slug} has no team {options['team']!r}."
            ) from None
        actor = Actor.system()
        started = timezone.now()
        try:
            with transaction.atomic():
                version = api_import(
                    organisation=organisation,
                    team=team,
                    raw=raw,
                    slug=options["api"],
                    version=options["version"],
                    visibility=options["visibility"],
                    actor=actor,
                )
                api = version.api
                if api.team_id != team.pk:
                    raise CommandError(
                        f"The API {api.slug} belongs to team {api.team.slug}, not {team.slug}; "
                        "nothing was imported."
                    )
                if options["publish"]:
                    version_transition(
                        version=version, to_state=ApiVersion.State.PUBLISHED, actor=actor
                    )
                    version.refresh_from_db()
        except ApplicationError as error:
            raise CommandError(self._describe(error)) from None
        if api.created_at >= started:
            self.stdout.write(
                f"Created the API {api.slug} in {organisation.slug} "
                f"(team {team.slug}, visibility {api.visibility})."
            )
        self.stdout.write(self.style.SUCCESS(self._summary(version)))

    def _read(self, path: str) -> bytes:
        limit = settings.SPEC_MAX_BYTES
        try:
            size = os.path.getsize(path)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        # Refuse by size before reading, like uploads.
        if size > limit:
            raise CommandError(
                f"This spec is {megabytes(size)}; the limit is {megabytes(limit)} (SPEC_MAX_BYTES)."
            )
        try:
            with open(path, "rb") as spec_file:
                raw = spec_file.read(limit + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        if len(raw) > limit:
            raise CommandError(f"This spec is over the limit of {megabytes(limit)}.")
        return raw

    @staticmethod
    def _describe(error: ApplicationError) -> str:
        details = [m for messages in error.fields.values() for m in messages if m != error.message]
        return "\n".join([error.message, *(f"  {d}" for d in details)])

    @staticmethod
    def _summary(version: ApiVersion) -> str:
        operations = version.operations.count()
        text = (
            f"Imported {version.api.name} {version.version} "
            f"({_plural(operations, 'operation')}) as {version.state}"
        )
        compared_to = version.changes.get("compared_to")
        if compared_to:
            breaking = len(version.changes.get("breaking", []))
            text += f"; {_plural(breaking, 'breaking change')} against {compared_to}"
        return text
