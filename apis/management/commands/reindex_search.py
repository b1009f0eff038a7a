from django.core.management.base import BaseCommand

from apis.models import Api
from apis.search import search_refresh_many


class Command(BaseCommand):
    help = (
        "Rebuild the catalogue's search documents (after an upgrade changes how text is indexed)."
    )

    def handle(self, *args, **options):
        ids = list(Api.objects.order_by("pk").values_list("pk", flat=True))
        search_refresh_many(ids)
        self.stdout.write(f"Reindexed {len(ids)} APIs.")
