"""The event tables, which Django does not manage: on PostgreSQL partitioned by month
(partitions are made ahead by analytics.partitions), keyed with the time first; on
SQLite (the demo) plain tables with the same key."""

from django.db import migrations

COLUMNS = """
    ts timestamp with time zone NOT NULL,
    source_id bigint NOT NULL,
    event_id varchar(128) NOT NULL,
    organisation_id bigint NOT NULL,
    api_id bigint NOT NULL DEFAULT 0,
    api_version_id bigint NOT NULL DEFAULT 0,
    application_id bigint NOT NULL DEFAULT 0,
    credential_id bigint NOT NULL DEFAULT 0,
    method varchar(12) NOT NULL DEFAULT '',
    route varchar(500) NOT NULL DEFAULT '',
    status smallint NOT NULL DEFAULT 0,
    latency_ms double precision NULL,
    integration_ms double precision NULL,
    bytes bigint NULL,
    model varchar(200) NOT NULL DEFAULT '',
    tokens_in integer NULL,
    tokens_out integer NULL,
    cost double precision NULL,
    source_ip varchar(64) NOT NULL DEFAULT '',
    stage varchar(128) NOT NULL DEFAULT '',
    PRIMARY KEY (ts, source_id, event_id)
"""

INVOCATION_COLUMNS = """
    ts timestamp with time zone NOT NULL,
    source_id bigint NOT NULL,
    request_id varchar(64) NOT NULL,
    organisation_id bigint NOT NULL,
    function varchar(200) NOT NULL,
    version varchar(64) NOT NULL DEFAULT '',
    duration_ms double precision NOT NULL,
    billed_ms double precision NOT NULL,
    memory_mb integer NOT NULL,
    max_memory_mb integer NOT NULL,
    init_ms double precision NULL,
    PRIMARY KEY (ts, source_id, request_id)
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE TABLE analytics_requestevent ({COLUMNS}) PARTITION BY RANGE (ts)"
        )
        schema_editor.execute(
            "CREATE INDEX analytics_requestevent_ts_brin ON analytics_requestevent "
            "USING brin (ts)"
        )
        schema_editor.execute(
            f"CREATE TABLE analytics_functioninvocation ({INVOCATION_COLUMNS}) "
            "PARTITION BY RANGE (ts)"
        )
    else:
        schema_editor.execute(f"CREATE TABLE analytics_requestevent ({COLUMNS})")
        schema_editor.execute(f"CREATE TABLE analytics_functioninvocation ({INVOCATION_COLUMNS})")
    schema_editor.execute(
        "CREATE INDEX analytics_fn_org_ts ON analytics_functioninvocation "
        "(organisation_id, function, ts)"
    )


def drop(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS analytics_requestevent")
    schema_editor.execute("DROP TABLE IF EXISTS analytics_functioninvocation")


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
