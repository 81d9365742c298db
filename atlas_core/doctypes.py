"""The document types Atlas documents and their fields, in the contract's order.

From the "Supported documents" page (shared atlas-api.md section 4). More types exist (UDYAM_CERT,
SHOP_ACT_LICENSE, FSSAI, ...) with fields Atlas does not document: code must accept any type.
"""

from __future__ import annotations

DOCUMENTED_FIELDS: dict[str, tuple[str, ...]] = {
    "AADHAAR": ("name", "address", "formatted_address", "aadhaar_number", "date_of_birth"),
    "PAN": ("name_as_per_pan", "father_name", "dob", "pan_number", "document_quality_flag"),
    "DRIVING_LICENSE": ("dl_number", "name", "date_of_birth", "issue_date", "valid_till", "state"),
    "VOTER_ID": ("voter_id", "name", "date_of_birth", "gender"),
    "PASSPORT": (
        "passport_number",
        "name",
        "date_of_birth",
        "place_of_birth",
        "gender",
        "date_of_issue",
        "date_of_expiry",
        "place_of_issue",
    ),
    "GST_CERT": (
        "gst_number",
        "legal_name",
        "address",
        "formatted_address",
        "date_of_issue",
        "constitution_of_business",
    ),
}

DOCUMENT_TYPES: tuple[str, ...] = tuple(DOCUMENTED_FIELDS)
