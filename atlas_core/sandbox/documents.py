"""Deterministic fake extraction results: a pure function of (document_id, file_url).

The document type comes from hints in the URL (``aadhaar``, ``pan``, ``dl``...) or, without a
hint, from the hash. Values look like Indian KYC documents; confidence is high for ids and lower,
sometimes below 0.8, for free text, as the "Confidence scores" page describes.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import random
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..doctypes import DOCUMENT_TYPES, DOCUMENTED_FIELDS

FIELDS = DOCUMENTED_FIELDS
# URL hints, checked in order on the URL's path; short ones must stand alone ("pan", not "company").
_HINTS = (
    ("AADHAAR", re.compile(r"aadhaa?r")),
    ("PASSPORT", re.compile(r"passport")),
    ("PAN", re.compile(r"(?<![a-z])pan(?![a-z])")),
    ("DRIVING_LICENSE", re.compile(r"(?<![a-z])dl(?![a-z])|driving|licen")),
    ("VOTER_ID", re.compile(r"voter")),
    ("GST_CERT", re.compile(r"gst")),
)
FAILING_HINTS = {
    "unreadable": "UNRECOGNISED",
    "corrupt": "UNRECOGNISED",
    "404": "INVALID_DOC",
    "broken": "INVALID_DOC",
    "timeout": "TIMEOUT",  # issue 12: a temporary failure, where a retry may help
}
FAILURE_MESSAGES = {
    "UNRECOGNISED": "The document image could not be read or its type was not recognised.",
    "INVALID_DOC": "The file could not be downloaded from file_url or is not a valid document.",
    "TIMEOUT": "Processing timed out on our side; please try again later.",
}


def temporary(result: Outcome, document_id: str, file_url: str, share: float) -> Outcome:
    """The outcome, with a failure turned temporary (TIMEOUT) for ``share`` of failed documents."""
    if result.status != "failed" or share <= 0 or unit("temporary", document_id, file_url) >= share:
        return result
    return Outcome("failed", None, {}, "TIMEOUT", FAILURE_MESSAGES["TIMEOUT"])

_FIRST = (
    "Rahul",
    "Priya",
    "Amit",
    "Sunita",
    "Vikram",
    "Anjali",
    "Suresh",
    "Kavita",
    "Arjun",
    "Meera",
)
_LAST = ("Sharma", "Verma", "Patel", "Iyer", "Reddy", "Singh", "Nair", "Gupta", "Das", "Kulkarni")
_DEVANAGARI = ("राहुल शर्मा", "प्रिया वर्मा", "अमित पटेल", "सुनीता सिंह", "विक्रम गुप्ता", "अंजलि दास")
_PLACES = (
    ("Maharashtra", "Mumbai", "400001"),
    ("Karnataka", "Bengaluru", "560001"),
    ("Tamil Nadu", "Chennai", "600001"),
    ("Delhi", "New Delhi", "110001"),
    ("West Bengal", "Kolkata", "700001"),
    ("Gujarat", "Ahmedabad", "380001"),
    ("Uttar Pradesh", "Lucknow", "226001"),
    ("Kerala", "Kochi", "682001"),
)
_STATE_CODES = {
    "Maharashtra": "MH",
    "Karnataka": "KA",
    "Tamil Nadu": "TN",
    "Delhi": "DL",
    "West Bengal": "WB",
    "Gujarat": "GJ",
    "Uttar Pradesh": "UP",
    "Kerala": "KL",
}
_STREETS = (
    "MG Road",
    "Station Road",
    "Gandhi Nagar",
    "Nehru Street",
    "Lake View Colony",
    "Shivaji Chowk",
)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CONSTITUTIONS = (
    "Proprietorship",
    "Partnership",
    "Private Limited Company",
    "Public Limited Company",
)
_HOSTILE_KINDS = (
    "formula",
    "script",
    "huge",
    "number",
    "null",
    "list",
    "unknown_type",
    "no_confidence",
)


@dataclass(frozen=True)
class Outcome:
    """What Atlas makes of one document once it finished: extracted (maybe hostile) or failed."""

    status: str  # "extracted" | "failed"
    document_type: str | None
    file_data: dict[str, Any] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None
    hostile: bool = False


def unit(*parts: str) -> float:
    """A deterministic number in [0, 1) from the given strings."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def detect_type(file_url: str, document_id: str) -> str:
    """The document type hinted by the URL, else one chosen by hash."""
    try:
        target = urlsplit(file_url).path.lower() or file_url.lower()
    except ValueError:
        target = file_url.lower()
    for doc_type, pattern in _HINTS:
        if pattern.search(target):
            return doc_type
    return DOCUMENT_TYPES[int(unit("type", document_id, file_url) * len(DOCUMENT_TYPES))]


def outcome_for(
    document_id: str, file_url: str, fail_rate: float = 0.0, hostile_rate: float = 0.0
) -> Outcome:
    """The finished result for one document (a fresh copy the caller may change)."""
    return copy.deepcopy(cached_outcome(document_id, file_url, fail_rate, hostile_rate))


@functools.lru_cache(maxsize=100_000)
def cached_outcome(
    document_id: str, file_url: str, fail_rate: float, hostile_rate: float
) -> Outcome:
    """The finished result, shared between callers: read or serialise it, never change it."""
    lowered = file_url.lower()
    code = next((c for hint, c in FAILING_HINTS.items() if hint in lowered), None)
    if code is None and unit("fail", document_id, file_url) < fail_rate:
        code = "UNRECOGNISED" if unit("code", document_id, file_url) < 0.5 else "INVALID_DOC"
    if code is not None:
        return Outcome("failed", None, {}, code, FAILURE_MESSAGES[code])
    doc_type = detect_type(file_url, document_id)
    rng = random.Random(f"{document_id}\x1f{file_url}")
    file_data = _fields(doc_type, rng)
    if unit("hostile", document_id, file_url) < hostile_rate:
        kind = _HOSTILE_KINDS[
            int(unit("hostile-kind", document_id, file_url) * len(_HOSTILE_KINDS))
        ]
        spoiled = _make_hostile(file_data, kind, rng)
        return Outcome("extracted", spoiled["document_type"], spoiled, hostile=True)
    return Outcome("extracted", doc_type, file_data)


def _score(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


def _id_field(value: str, rng: random.Random) -> dict[str, Any]:
    return {"value": value, "confidence_score": _score(rng, 0.95, 0.99)}


def _text_field(value: str, rng: random.Random, low: float = 0.6) -> dict[str, Any]:
    return {"value": value, "confidence_score": _score(rng, low, 0.97)}


def _date(rng: random.Random, start_year: int, end_year: int) -> str:
    return f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(start_year, end_year)}"


def _name(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return rng.choice(_DEVANAGARI)
    return (
        f"{rng.choice(_FIRST)} {rng.choice(_LAST)}".upper()
        if rng.random() < 0.5
        else (f"{rng.choice(_FIRST)} {rng.choice(_LAST)}")
    )


def _letters(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(_LETTERS) for _ in range(count))


def _digits(rng: random.Random, count: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(count))


def _address(rng: random.Random) -> tuple[str, dict[str, str]]:
    state, city, postcode = rng.choice(_PLACES)
    line_1 = f"{rng.randint(1, 999)}, {rng.choice(_STREETS)}"
    line_2 = f"Near {rng.choice(('Post Office', 'Bus Stand', 'Temple', 'Market'))}, Ward {rng.randint(1, 40)}"
    parts = {
        "state": state,
        "postcode": postcode,
        "address_line_1": line_1,
        "address_line_2": line_2,
        "city": city,
    }
    return f"{line_1}, {line_2}, {city}, {state} - {postcode}", parts


def _fields(doc_type: str, rng: random.Random) -> dict[str, Any]:
    data: dict[str, Any] = {"document_type": doc_type}
    gender = rng.choice(("MALE", "FEMALE"))
    state, city, _ = rng.choice(_PLACES)
    if doc_type == "AADHAAR":
        address, parts = _address(rng)
        data["name"] = _text_field(_name(rng), rng, 0.7)
        data["address"] = _text_field(address, rng, 0.55)
        data["formatted_address"] = parts
        data["aadhaar_number"] = {
            "value": f"**** **** {_digits(rng, 4)}",
            "confidence_score": _score(rng, 0.95, 0.99),
            "redact_url": f"https://sandbox.atlas.invalid/redacted/{_letters(rng, 12).lower()}.jpg",
        }
        data["date_of_birth"] = _text_field(_date(rng, 1950, 2005), rng, 0.85)
    elif doc_type == "PAN":
        data["name_as_per_pan"] = _text_field(_name(rng), rng, 0.7)
        data["father_name"] = _text_field(_name(rng), rng, 0.65)
        data["dob"] = _text_field(_date(rng, 1950, 2005), rng, 0.85)
        data["pan_number"] = _id_field(
            f"{_letters(rng, 5)}{_digits(rng, 4)}{_letters(rng, 1)}", rng
        )
        data["document_quality_flag"] = _text_field(
            rng.choice(("original", "original", "xerox_copy", "photo_of_photo")), rng, 0.8
        )
    elif doc_type == "DRIVING_LICENSE":
        code = _STATE_CODES[state]
        data["dl_number"] = _id_field(
            f"{code}{rng.randint(1, 50):02d} {rng.randint(1990, 2024)}{_digits(rng, 7)}", rng
        )
        data["name"] = _text_field(_name(rng), rng, 0.7)
        data["date_of_birth"] = _text_field(_date(rng, 1950, 2005), rng, 0.85)
        data["issue_date"] = _text_field(_date(rng, 2005, 2020), rng, 0.85)
        data["valid_till"] = _text_field(_date(rng, 2025, 2045), rng, 0.85)
        data["state"] = _text_field(state, rng, 0.75)
    elif doc_type == "VOTER_ID":
        data["voter_id"] = _id_field(f"{_letters(rng, 3)}{_digits(rng, 7)}", rng)
        data["name"] = _text_field(_name(rng), rng, 0.7)
        data["date_of_birth"] = _text_field(_date(rng, 1950, 2005), rng, 0.8)
        data["gender"] = _text_field(gender, rng, 0.85)
    elif doc_type == "PASSPORT":
        data["passport_number"] = _id_field(f"{_letters(rng, 1)}{_digits(rng, 7)}", rng)
        data["name"] = _text_field(_name(rng), rng, 0.7)
        data["date_of_birth"] = _text_field(_date(rng, 1950, 2005), rng, 0.85)
        data["place_of_birth"] = _text_field(f"{city}, {state}".upper(), rng, 0.65)
        data["gender"] = _text_field(gender[0], rng, 0.85)
        data["date_of_issue"] = _text_field(_date(rng, 2015, 2024), rng, 0.85)
        data["date_of_expiry"] = _text_field(_date(rng, 2025, 2034), rng, 0.85)
        data["place_of_issue"] = _text_field(rng.choice(_PLACES)[1].upper(), rng, 0.7)
    else:  # GST_CERT
        address, parts = _address(rng)
        pan = f"{_letters(rng, 5)}{_digits(rng, 4)}{_letters(rng, 1)}"
        data["gst_number"] = _id_field(f"{rng.randint(1, 37):02d}{pan}1Z{rng.randint(0, 9)}", rng)
        data["legal_name"] = _text_field(
            f"{rng.choice(_LAST).upper()} TRADERS PRIVATE LIMITED", rng, 0.7
        )
        data["address"] = _text_field(address, rng, 0.55)
        data["formatted_address"] = parts
        data["date_of_issue"] = _text_field(_date(rng, 2017, 2024), rng, 0.85)
        data["constitution_of_business"] = _text_field(rng.choice(_CONSTITUTIONS), rng, 0.75)
    return data


def _make_hostile(data: dict[str, Any], kind: str, rng: random.Random) -> dict[str, Any]:
    """Spoil one part of a result the way a careless or hostile upstream might."""
    field_names = [k for k, v in data.items() if isinstance(v, dict) and "value" in v]
    target = rng.choice(field_names)
    if kind == "formula":
        data[target]["value"] = "=cmd|' /C calc'!A0"
    elif kind == "script":
        data[target]["value"] = "<script>alert(1)</script>"
    elif kind == "huge":
        data[target]["value"] = "A" * 10_000
    elif kind == "number":
        data[target]["value"] = rng.randint(1, 10**9)
    elif kind == "null":
        data[target]["value"] = None
    elif kind == "list":
        data[target]["value"] = [data[target]["value"], "second reading"]
    elif kind == "no_confidence":
        del data[target]["confidence_score"]
    else:  # an undocumented type with fields nobody told us about
        data = {
            "document_type": "UDYAM_CERT",
            "udyam_number": {
                "value": f"UDYAM-MH-{rng.randint(10, 99)}-{_digits(rng, 7)}",
                "confidence_score": 0.97,
            },
            "enterprise_name": {
                "value": f"{rng.choice(_LAST)} Industries",
                "confidence_score": 0.81,
            },
            "major_activity": {"value": "MANUFACTURING", "confidence_score": 0.9},
            "nic_codes": ["10712", "10799"],
        }
    return data
