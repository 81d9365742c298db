"""Common meanings: one export column for a field that means the same on every document type.

Each type names its fields its own way (Aadhaar's ``name``, PAN's ``name_as_per_pan``). Where
the meaning is the same (the holder's name, date of birth, the document's own number, the
address) the wide exports give one column, named for the meaning, so an analyst filters one
column whatever the mix of types; fields with no common meaning keep their own columns. The
Excel download adds one sheet per type with every field under Atlas's own name.

This table is the only place that decides it (types and field names from the contract,
shared/atlas-api.md section 4). A field is renamed only when its document has no field of the
meaning's own name already, so nothing is ever overwritten; an unknown type keeps its names.
"""

from __future__ import annotations

from collections.abc import Mapping

# meaning -> {document type: that type's field}
MEANINGS: dict[str, dict[str, str]] = {
    "name": {
        "AADHAAR": "name",
        "PAN": "name_as_per_pan",
        "DRIVING_LICENSE": "name",
        "VOTER_ID": "name",
        "PASSPORT": "name",
        "GST_CERT": "legal_name",  # the registered holder's name, as a person's name on the others
    },
    "date_of_birth": {
        "AADHAAR": "date_of_birth",
        "PAN": "dob",
        "DRIVING_LICENSE": "date_of_birth",
        "VOTER_ID": "date_of_birth",
        "PASSPORT": "date_of_birth",
    },
    "id_number": {
        "AADHAAR": "aadhaar_number",
        "PAN": "pan_number",
        "DRIVING_LICENSE": "dl_number",
        "VOTER_ID": "voter_id",
        "PASSPORT": "passport_number",
        "GST_CERT": "gst_number",
    },
    "address": {"AADHAAR": "address", "GST_CERT": "address"},
}
# The meanings' columns come first among the fields, in this order.
MEANING_ORDER: tuple[str, ...] = tuple(MEANINGS)

# document type -> {its field: meaning}, for the fields whose name differs from the meaning's
RENAMES: dict[str, dict[str, str]] = {}
for _meaning, _fields in MEANINGS.items():
    for _type, _field in _fields.items():
        if _field != _meaning:
            RENAMES.setdefault(_type, {})[_field] = _meaning


def type_key(document_type: object) -> str | None:
    """The table's key for a document type as Atlas sent it (any case, blanks around), or None."""
    if document_type is None:
        return None
    key = str(document_type).strip().upper()
    return key if key in RENAMES else None


def renames_for(document_type: object) -> Mapping[str, str]:
    """{field: meaning} for one document type's fields named unlike their meaning."""
    key = type_key(document_type)
    return RENAMES[key] if key is not None else {}


def meaning_of(document_type: object, field: str) -> str | None:
    """The common meaning of one type's field, or None when it has none."""
    key = str(document_type).strip().upper() if document_type is not None else ""
    for meaning, fields in MEANINGS.items():
        if fields.get(key) == field:
            return meaning
    return None
