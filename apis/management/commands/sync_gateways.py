"""manage.py sync_gateways [--org ORG] [--connection ID]"""

import logging

from django.core.management.base import BaseCommand, CommandError

from apis import selectors_gateways as selectors
from apis.models import GatewayConnection, SyncRun
from apis.services.sync import sync_connection
from tenants.models import Organisation

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Sync gateway connections now, in this process, one after another, and print what "
        "each run found. Without --connection, only connections whose schedule is on are "
        "synced. Runs are audited as the system; the exit status is 1 if any run failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", default="", help="Only this organisation's connections.")
        parser.add_argument(
            "--connection", type=int, default=None, help="Only this connection (its id)."
        )

    def handle(self, *args, **options):
        chosen = self._connections(options["org"], options["connection"])
        if not chosen:
            self.stdout.write("No connections to sync.")
            return
        failed = 0
        for connection in chosen:
            label = f"{connection.organisation.slug}/{connection.name} (#{connection.pk})"
            self.stdout.write(f"{label}: syncing…")
            try:
                run = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)
            except Exception:
                # The service records its own failures; this is anything it could not.
                logger.exception("sync of connection %s failed", connection.pk)
                self.stdout.write(self.style.ERROR(f"{label}: failed; see the logs."))
                failed += 1
                continue
            if run.status == SyncRun.Status.FAILED:
                failed += 1
            self._report(label, run)
        if failed:
            raise CommandError(f"{failed} of {len(chosen)} syncs failed.")

    def _connections(self, org: str, pk: int | None) -> list[GatewayConnection]:
        organisations = Organisation.objects.filter(is_active=True)
        if org:
            organisation = organisations.filter(slug=org).first()
            if organisation is None:
                raise CommandError(f"No active organisation '{org}'.")
            organisations = [organisation]
        found: list[GatewayConnection] = []
        for organisation in organisations:
            connections = selectors.connection_list(organisation=organisation)
            if pk is not None:
                connections = connections.filter(pk=pk)
            else:
                connections = connections.filter(enabled=True)
            found.extend(connections)
        if pk is not None and not found:
            raise CommandError(f"No connection #{pk}{f' in {org}' if org else ''}.")
        return found

    def _report(self, label: str, run: SyncRun) -> None:
        style = {
            SyncRun.Status.SUCCEEDED: self.style.SUCCESS,
            SyncRun.Status.FAILED: self.style.ERROR,
        }.get(run.status, self.style.WARNING)
        self.stdout.write(
            style(
                f"{label}: {run.status}; new {run.new}, changed {run.changed}, "
                f"unchanged {run.unchanged}, missing {run.missing}, calls {run.calls}, "
                f"errors {len(run.errors)}"
            )
        )
        for error in run.errors:
            self.stdout.write(f"  {error.get('where', '?')}: {error.get('message', '')}")
