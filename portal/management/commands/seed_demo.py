from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.demo import DEMO_PASSWORD, seed


class Command(BaseCommand):
    help = "Create the demo organisations, teams and accounts (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=DEMO_PASSWORD,
            help=f"Password of every demo account (default: {DEMO_PASSWORD}).",
        )

    def handle(self, *args, password: str, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo accounts have a known password; not in production.")
        accounts = seed(password=password)
        rows = [("E-mail", "Organisation", "Org role", "Team roles", "Password")]
        rows += [(a.email, a.organisation, a.org_role, a.team_roles, a.password) for a in accounts]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for number, row in enumerate(rows):
            cells = (cell.ljust(w) for cell, w in zip(row, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())
            if number == 0:
                self.stdout.write("  ".join("-" * w for w in widths))
