"""Catalogue search: a weighted tsvector with ranking on PostgreSQL, a plain
case-insensitive match elsewhere (the SQLite demo).

What is searched: the API's name and tags (weight A), its summary (B), the
paths, operation ids and summaries of its current version (C). Paths are split
into words, so ``/payments/{id}/refunds`` is found by "refunds".
"""

import re

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import F, Q, QuerySet

from .models import Api, Operation

CONFIG = "english"
_WORD = re.compile(r"[A-Za-z0-9]+")


def words(text: str) -> str:
    return " ".join(_WORD.findall(text or ""))


def _documents(api: Api) -> tuple[str, str, str]:
    names = " ".join([api.name, api.slug.replace("-", " "), *(t.name for t in api.tags.all())])
    operations = ""
    if api.current_version_id:
        rows = Operation.objects.filter(api_version_id=api.current_version_id).values_list(
            "path", "operation_id", "summary", "tags"
        )
        operations = " ".join(
            f"{path} {operation_id} {summary} {' '.join(tags)}"
            for path, operation_id, summary, tags in rows
        )
    return words(names), words(api.summary), words(operations)


def search_refresh(api: Api) -> None:
    """Recompute what search sees of ``api``; call after its text or versions change."""
    names, summary, operations = _documents(api)
    text = f"{names} {summary} {operations}"
    Api.objects.filter(pk=api.pk).update(search_text=text)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE apis_api SET search_vector ="
                " setweight(to_tsvector(%s::regconfig, %s), 'A')"
                " || setweight(to_tsvector(%s::regconfig, %s), 'B')"
                " || setweight(to_tsvector(%s::regconfig, %s), 'C')"
                " WHERE id = %s",
                [CONFIG, names, CONFIG, summary, CONFIG, operations, api.pk],
            )


def _tsquery(text: str) -> str | None:
    """Every word must match; the last one as a prefix, for search as you type."""
    tokens = [t.lower() for t in _WORD.findall(text)][:12]
    if not tokens:
        return None
    return " & ".join([*tokens[:-1], f"{tokens[-1]}:*"])


def search(queryset: QuerySet[Api], text: str) -> QuerySet[Api]:
    """``queryset`` narrowed to what matches ``text``, best first."""
    if connection.vendor == "postgresql":
        raw = _tsquery(text)
        if raw is None:
            return queryset
        query = SearchQuery(raw, config=CONFIG, search_type="raw")
        return (
            queryset.filter(search_vector=query)
            .annotate(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank", "name")
        )
    condition = Q()
    for token in _WORD.findall(text)[:12]:
        condition &= Q(search_text__icontains=token)
    return queryset.filter(condition)
