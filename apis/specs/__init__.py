"""The one spec parser: bytes in, a validated, normalised OpenAPI document out.

    parsed = ingest(raw, limits=SpecLimits.from_settings())

Every refusal is a SpecError (an ApplicationError) with a message a person
can act on; nothing is stored by this package.
"""

from .errors import SpecError, SpecTooLarge
from .ingest import ParsedSpec, SpecLimits, ingest
from .operations import OperationInfo, extract_operations

__all__ = [
    "OperationInfo",
    "ParsedSpec",
    "SpecError",
    "SpecLimits",
    "SpecTooLarge",
    "extract_operations",
    "ingest",
]
