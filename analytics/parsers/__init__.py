"""Log parsers, one per format, each a function from a line of bytes to a record.

    record = PARSERS["apigw_rest_json"](line, LineContext(timestamp_ms=...))

Every parser returns a RequestRecord or an InvocationRecord, or raises ParseError
(NotARecord, a subclass, for lines that are fine but hold no record). The
``custom_json`` entry is the odd one: it builds a parser from a mapping
(``PARSERS["custom_json"](mapping)``); ``parser_for`` hides the difference.
"""

from collections.abc import Callable, Iterable, Iterator
from operator import attrgetter

from . import apigw, clf, kong, lambda_report, litellm
from .base import InvocationRecord, LineContext, NotARecord, ParseError, Record, RequestRecord
from .custom_json import MappingError, custom_json_parser

Parser = Callable[[bytes, LineContext], Record]

PARSERS: dict[str, Callable] = {
    "apigw_rest_json": apigw.parse_rest,
    "apigw_http_json": apigw.parse_http,
    "lambda_report": lambda_report.parse,
    "clf": clf.parse_clf,
    "combined": clf.parse_combined,
    "kong_json": kong.parse,
    "litellm": litellm.parse,
    "custom_json": custom_json_parser,
}


def parser_for(format: str, config: dict | None = None) -> Parser:
    """The parser for a log source's format; custom_json reads config["mapping"]."""
    if format == "custom_json":
        return custom_json_parser((config or {}).get("mapping") or {})
    try:
        return PARSERS[format]
    except KeyError:
        raise ValueError(f"Unknown log format {format!r}.") from None


_REQUEST_VALUES = attrgetter(*RequestRecord.__slots__)


def parse_many(
    parser: Parser, lines: Iterable[tuple[bytes, LineContext]]
) -> Iterator[tuple | InvocationRecord | ParseError]:
    """Parse (line, context) pairs: one item a line, in order. A request record comes
    as its values (a tuple in RequestRecord's field order), an invocation record as
    itself, a line the parser refuses as the ParseError it raised.

    A parser may read many lines faster than one at a time, as ``parser.many(lines)``
    with the same result; the API Gateway parsers do."""
    many = getattr(parser, "many", None)
    return many(lines) if many is not None else _one_by_one(parser, lines)


def _one_by_one(
    parser: Parser, lines: Iterable[tuple[bytes, LineContext]]
) -> Iterator[tuple | InvocationRecord | ParseError]:
    for line, context in lines:
        try:
            record = parser(line, context)
        except ParseError as exc:
            yield exc
            continue
        yield _REQUEST_VALUES(record) if type(record) is RequestRecord else record


def parse_lines(
    lines: Iterable[bytes], parser: Parser, context: LineContext | None = None
) -> tuple[list[Record], list[tuple[int, ParseError]]]:
    """Parse every line with one context: (records, [(line index, error), ...]).
    Skipped lines are among the errors as NotARecord instances."""
    context = context or LineContext()
    records, errors = [], []
    for index, line in enumerate(lines):
        try:
            records.append(parser(line, context))
        except ParseError as exc:
            errors.append((index, exc))
    return records, errors


__all__ = [
    "PARSERS",
    "InvocationRecord",
    "LineContext",
    "MappingError",
    "NotARecord",
    "ParseError",
    "Parser",
    "Record",
    "RequestRecord",
    "custom_json_parser",
    "parse_lines",
    "parse_many",
    "parser_for",
]
