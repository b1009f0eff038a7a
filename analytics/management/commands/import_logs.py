"""manage.py import_logs PATH [PATH ...] --org ORG --format FORMAT [--source NAME]
[--api OWNER/SLUG]"""

import time

from django.core.management.base import BaseCommand, CommandError

from apis.models import Api
from tenants.actors import Actor
from tenants.errors import ApplicationError
from tenants.models import Organisation

from ...models import ImportRun, LogSource
from ...readers.files import pages_of
from ...services.imports import Page, import_source
from ...services.sources import source_create, source_update


def _file_pages(path: str):
    def pages(source):
        with open(path, "rb") as stream:
            for _, lines in pages_of(stream):
                # No cursor: a file read again stores nothing twice (events are keyed).
                yield Page(lines=lines)

    return pages


class Command(BaseCommand):
    help = (
        "Import log files (plain or gzip) into an upload source of an organisation, "
        "creating the source if it is new. Reading a file again stores nothing twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="Log files.")
        parser.add_argument("--org", required=True, help="Slug of the organisation.")
        parser.add_argument(
            "--format", required=True, choices=LogSource.Format.values, help="The log format."
        )
        parser.add_argument(
            "--source", default="Backfill", help="Name of the upload source (default: Backfill)."
        )
        parser.add_argument(
            "--api",
            default="",
            metavar="OWNER/SLUG",
            help="The API the logs are of, for formats that do not name it (nginx, Kong).",
        )

    def handle(self, *args, **options):
        organisation = Organisation.objects.filter(slug=options["org"], is_active=True).first()
        if organisation is None:
            raise CommandError(f"There is no active organisation {options['org']!r}.")
        api = self._api(organisation, options["api"])
        source = self._source(organisation, options["source"], options["format"], api)
        failed = 0
        for path in options["paths"]:
            started = time.monotonic()
            try:
                run = import_source(
                    source=source, pages=_file_pages(path), trigger="command", exclusive=False
                )
            except OSError as exc:
                self.stderr.write(f"{path}: cannot read it ({exc.strerror or exc}).")
                failed += 1
                continue
            elapsed = time.monotonic() - started
            rate = run.read / elapsed if elapsed > 0 else 0.0
            self.stdout.write(
                f"{path}: read {run.read:,}, imported {run.imported:,}, "
                f"duplicates {run.duplicates:,}, rejected {run.rejected:,}, "
                f"skipped {run.skipped:,} in {elapsed:.1f} s ({rate:,.0f} lines/s)"
            )
            for sample in run.samples[:3]:
                self.stdout.write(f"  rejected: {sample['error']}: {sample['line'][:120]}")
            if run.status != ImportRun.Status.SUCCEEDED:
                self.stderr.write(f"{path}: {run.error}")
                failed += 1
        if failed:
            raise CommandError(f"{failed} of {len(options['paths'])} files failed.")

    def _api(self, organisation: Organisation, text: str) -> Api | None:
        if not text:
            return None
        owner, _, slug = text.partition("/")
        if owner != organisation.slug or not slug:
            raise CommandError(
                f"--api must be an API of {organisation.slug}, as {organisation.slug}/SLUG."
            )
        api = Api.objects.filter(organisation=organisation, slug=slug).first()
        if api is None:
            raise CommandError(f"{organisation.slug} has no API {slug!r}.")
        return api

    def _source(
        self, organisation: Organisation, name: str, format: str, api: Api | None
    ) -> LogSource:
        actor = Actor.system()
        source = LogSource.objects.filter(organisation=organisation, name=name).first()
        try:
            if source is None:
                source, _ = source_create(
                    organisation=organisation,
                    name=name,
                    kind=LogSource.Kind.UPLOAD,
                    format=format,
                    api=api,
                    actor=actor,
                )
                self.stdout.write(f"Created the upload source {name!r}.")
                return source
            if source.kind != LogSource.Kind.UPLOAD:
                raise CommandError(f"The source {name!r} is a {source.kind} source, not uploads.")
            if source.format != format:
                raise CommandError(
                    f"The source {name!r} reads {source.format}; use it or name another source."
                )
            if api is not None and source.api_id != api.pk:
                source = source_update(source=source, api=api, actor=actor)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        return source
