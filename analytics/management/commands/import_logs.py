"""manage.py import_logs PATH [PATH ...] --org ORG --format FORMAT [--source NAME]
[--api OWNER/SLUG] [--mapping JSON|@FILE] [--function NAME]"""

import json
import time
from pathlib import Path

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
        parser.add_argument(
            "--mapping",
            default="",
            metavar="JSON|@FILE",
            help=(
                "For --format custom_json: the mapping of record fields to paths in the "
                'lines, as a JSON object (\'{"ts_ms": "time", "status": "res.code"}\') or '
                "@ and the name of a file holding one. Sets the source's mapping."
            ),
        )
        parser.add_argument(
            "--function",
            default="",
            metavar="NAME",
            help=(
                "For --format lambda_report: the Lambda function the REPORT lines are of, "
                "which a file does not say (CloudWatch tells it by the log group). Sets "
                "the source's function."
            ),
        )

    def handle(self, *args, **options):
        organisation = Organisation.objects.filter(slug=options["org"], is_active=True).first()
        if organisation is None:
            raise CommandError(f"There is no active organisation {options['org']!r}.")
        api = self._api(organisation, options["api"])
        settings = {}
        mapping = self._mapping(options["mapping"], options["format"])
        if mapping is not None:
            settings["mapping"] = mapping
        if options["function"]:
            if options["format"] != LogSource.Format.LAMBDA_REPORT:
                raise CommandError("--function is for --format lambda_report only.")
            settings["function"] = options["function"]
        source = self._source(organisation, options["source"], options["format"], api, settings)
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

    def _mapping(self, text: str, format: str) -> dict | None:
        if not text:
            return None
        if format != LogSource.Format.CUSTOM_JSON:
            raise CommandError("--mapping is for --format custom_json only.")
        where = "--mapping"
        if text.startswith("@"):
            where = text[1:]
            try:
                text = Path(where).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = getattr(exc, "strerror", None) or exc
                raise CommandError(f"Cannot read the mapping file {where}: {reason}.") from exc
        try:
            mapping = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(
                f"{where} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from exc
        if not isinstance(mapping, dict):
            raise CommandError(
                f"{where} must be a JSON object of record fields to paths, "
                'like {"ts_ms": "time", "status": "res.code"}.'
            )
        return mapping

    def _source(
        self,
        organisation: Organisation,
        name: str,
        format: str,
        api: Api | None,
        settings: dict,
    ) -> LogSource:
        """The upload source ``name``, made with ``settings`` (its config) if new, or
        changed to them (and to ``api``) if they differ."""
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
                    config=settings,
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
            changes = {}
            if api is not None and source.api_id != api.pk:
                changes["api"] = api
            changed = [key for key, value in settings.items() if source.config.get(key) != value]
            if changed:
                changes["config"] = {**source.config, **settings}
            if changes:  # one change, checked whole before anything is saved
                source = source_update(source=source, actor=actor, **changes)
                for key in changed:
                    self.stdout.write(f"Changed the {key} of the source {name!r}.")
        except ApplicationError as exc:
            if "mapping" in exc.fields and "mapping" not in settings:
                raise CommandError(f"{exc.message} Give it with --mapping JSON|@FILE.") from exc
            raise CommandError(exc.message) from exc
        return source
