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
# camelCase and PascalCase split into words: listPayments -> list Payments.
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def words(text: str) -> str:
    return " ".join(_WORD.findall(text or ""))


def distinct_words(text: str) -> str:
    """Each word once: operations repeat their words, and a vector with one position
    per lexeme stays small enough to be stored inline and ranked quickly."""
    found = (part.lower() for word in _WORD.findall(text or "") for part in _CAMEL.findall(word))
    return " ".join(dict.fromkeys(w for w in found if not w.isdigit()))


def search_refresh(api: Api) -> None:
    """Recompute what search sees of ``api``; call after its text or versions change."""
    search_refresh_many([api.pk])


def search_refresh_many(api_ids: list[int], *, batch: int = 500) -> None:
    """Recompute the search documents of many APIs in few queries (sync, imports)."""
    for start in range(0, len(api_ids), batch):
        apis = list(
            Api.objects.filter(pk__in=api_ids[start : start + batch]).prefetch_related("tags")
        )
        operations: dict[int, list[str]] = {}
        for version_id, path, operation_id, summary, tags in Operation.objects.filter(
            api_version_id__in=[a.current_version_id for a in apis if a.current_version_id]
        ).values_list("api_version_id", "path", "operation_id", "summary", "tags"):
            operations.setdefault(version_id, []).append(
                f"{path} {operation_id} {summary} {' '.join(tags)}"
            )
        rows = []
        for api in apis:
            names = words(" ".join([api.name, api.slug, *(t.name for t in api.tags.all())]))
            summary = words(api.summary)
            ops = distinct_words(" ".join(operations.get(api.current_version_id, [])))
            rows.append((f"{names} {summary} {ops}", names, summary, ops, api.pk))
        _write(rows)


def _write(rows: list[tuple]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The text search configuration is CONFIG ("english").
            cursor.executemany(
                "UPDATE apis_api SET search_text = %s, search_vector ="
                " setweight(to_tsvector('english', %s), 'A')"
                " || setweight(to_tsvector('english', %s), 'B')"
                " || setweight(to_tsvector('english', %s), 'C')"
                " WHERE id = %s",
                rows,
            )
        else:
            cursor.executemany(
                "UPDATE apis_api SET search_text = %s WHERE id = %s",
                [(row[0], row[4]) for row in rows],
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
        # alias(), not annotate(): count() then skips ranking altogether.
        return (
            queryset.filter(search_vector=query)
            .alias(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank", "name")
        )
    condition = Q()
    for token in _WORD.findall(text)[:12]:
        condition &= Q(search_text__icontains=token)
    return queryset.filter(condition)
