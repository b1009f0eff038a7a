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


def _word_terms(word: str) -> list[str]:
    """A word, lower-cased, and its camelCase parts: createPayment -> createpayment,
    create, payment. Digits alone and one-letter parts say nothing and are dropped."""
    out = [] if word.isdigit() else [word.lower()]
    parts = _CAMEL.findall(word)
    if len(parts) > 1:
        out += [p.lower() for p in parts if len(p) > 1 and not p.isdigit()]
    return out


def terms(text: str) -> list[str]:
    """The searchable terms of ``text``, each once, in order: the one tokenizer used
    both to index and to query."""
    found = (t for word in _WORD.findall(text or "") for t in _word_terms(word))
    return list(dict.fromkeys(found))


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
            names = " ".join(
                terms(" ".join([api.name, api.slug, *(t.name for t in api.tags.all())]))
            )
            summary = " ".join(terms(api.summary))
            # Each term once: a vector with one position per lexeme stays small enough
            # to be stored inline and ranked quickly.
            ops = " ".join(terms(" ".join(operations.get(api.current_version_id, []))))
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
    words = _WORD.findall(text)[:8]
    if not words:
        return None
    parts = []
    for index, word in enumerate(words):
        last = index == len(words) - 1
        parts += [f"{t}:*" if last else t for t in _word_terms(word)]
    parts = list(dict.fromkeys(parts))
    return " & ".join(parts) if parts else None


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
