"""The benchmarks' own PostgreSQL databases, created when missing."""

from urllib.parse import urlsplit

import psycopg


def create_if_missing(url: str) -> None:
    """Create the database ``url`` names, connecting to the server's ``postgres``
    database; an existing one is left as it is (the benchmarks reuse their data)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not exists.fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')
