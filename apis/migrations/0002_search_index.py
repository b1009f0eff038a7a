"""The GIN index behind catalogue search: PostgreSQL only (the demo's SQLite
searches search_text with a plain match instead)."""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS api_search_vector_gin ON apis_api USING gin (search_vector)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS api_search_vector_gin")


class Migration(migrations.Migration):
    dependencies = [("apis", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
