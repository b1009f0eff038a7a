"""``$ref`` rules: local references only, every one resolvable, no pure cycles.

Recursive schemas (a Node whose children are Nodes) are legitimate and stay;
what is refused is a reference that never reaches content (A → B → A), a
reference that leaves the document (``http:``, ``file:``, another file), and a
reference to nothing.
"""

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from .errors import SpecError

MAX_REPORTED = 5


def _walk_refs(document: Any) -> Iterator[tuple[str, str]]:
    """Every ``$ref`` as (pointer of the object holding it, its value)."""
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        node, pointer = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                yield pointer, ref
            for key, value in node.items():
                if isinstance(value, dict | list):
                    stack.append((value, f"{pointer}/{_escape(key)}"))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, dict | list):
                    stack.append((value, f"{pointer}/{index}"))


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return unquote(token).replace("~1", "/").replace("~0", "~")


def resolve_pointer(document: Any, ref: str) -> Any:
    """The value a local ``#/a/b`` reference names; KeyError if there is none."""
    if ref in ("#", "#/"):
        return document
    node = document
    for token in ref[2:].split("/"):
        token = _unescape(token)
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise KeyError(ref)
    return node


def check_refs(document: Any) -> None:
    problems: list[dict] = []
    for pointer, ref in _walk_refs(document):
        if not ref.startswith("#/") and ref != "#":
            problems.append(
                {"pointer": pointer, "message": f"'{ref}' is not a local reference (#/...)"}
            )
            continue
        try:
            resolve_pointer(document, ref)
        except KeyError:
            problems.append({"pointer": pointer, "message": f"'{ref}' points to nothing"})
            continue
        cycle = _pure_cycle(document, ref)
        if cycle:
            problems.append(
                {"pointer": pointer, "message": "circular reference: " + " → ".join(cycle)}
            )
        if len(problems) >= MAX_REPORTED:
            break
    if problems:
        first = problems[0]["message"]
        if "not a local reference" in first:
            message = "The spec refers to other files or URLs; only #/... references are allowed."
        elif "circular" in first:
            message = "The spec has a reference that points back to itself without content."
        else:
            message = "The spec has references that point to nothing."
        raise SpecError(message, problems=problems)


def _pure_cycle(document: Any, ref: str) -> list[str] | None:
    """Follow a chain of objects that are nothing but a ``$ref``; a repeat is a cycle."""
    seen = [ref]
    target = resolve_pointer(document, ref)
    while isinstance(target, dict) and isinstance(target.get("$ref"), str):
        next_ref = target["$ref"]
        if next_ref in seen:
            return [*seen, next_ref]
        if not next_ref.startswith("#"):
            return None
        seen.append(next_ref)
        try:
            target = resolve_pointer(document, next_ref)
        except KeyError:
            return None
    return None


def deref(document: Any, node: Any, *, limit: int = 20) -> Any:
    """``node`` with its ``$ref`` chain followed (to at most ``limit`` hops)."""
    hops = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and hops < limit:
        try:
            node = resolve_pointer(document, node["$ref"])
        except KeyError:
            return {}
        hops += 1
    return node
