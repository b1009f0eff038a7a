"""Operations (method × path) of an OpenAPI 2.0/3.x document."""

from dataclasses import dataclass, field

from .refs import deref

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class OperationInfo:
    method: str
    path: str
    operation_id: str = ""
    summary: str = ""
    tags: list[str] = field(default_factory=list)
    deprecated: bool = False


def extract_operations(document: dict) -> list[OperationInfo]:
    operations = []
    paths = document.get("paths") or {}
    if not isinstance(paths, dict):
        return []
    for path, item in paths.items():
        item = deref(document, item)
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            summary = operation.get("summary") or operation.get("description") or ""
            tags = operation.get("tags") or []
            operations.append(
                OperationInfo(
                    method=method,
                    path=str(path),
                    operation_id=str(operation.get("operationId") or "")[:200],
                    summary=" ".join(str(summary).split())[:500],
                    tags=[str(t) for t in tags if isinstance(t, str | int)][:20],
                    deprecated=operation.get("deprecated") is True,
                )
            )
    return operations
