"""The documented field order per document type, used to lay out export columns stably."""

from __future__ import annotations

from collections.abc import Iterable

from ..doctypes import DOCUMENTED_FIELDS


def field_ranks(document_types: Iterable[object]) -> dict[str, int]:
    """Rank of each documented field for the given types (types and fields in contract order).

    A PAN-only export starts with PAN's fields; an AADHAAR and PAN export has AADHAAR's, then
    PAN's. Fields no present type documents get no rank (they sort after, alphabetically).
    """
    present = {str(t).strip().upper() for t in document_types if t is not None}
    names = (
        name
        for doc_type, fields in DOCUMENTED_FIELDS.items()
        if doc_type in present
        for name in fields
    )
    return {name: rank for rank, name in enumerate(dict.fromkeys(names))}


# Address parts read best in postal order; the contract lists them without one.
ADDRESS_PARTS: tuple[str, ...] = ("address_line_1", "address_line_2", "city", "state", "postcode")
_PART_RANK = {name: rank for rank, name in enumerate(ADDRESS_PARTS)}


def part_rank(name: str) -> int:
    """Position of an address part in postal order; other parts sort after, alphabetically."""
    return _PART_RANK.get(name, len(_PART_RANK))
