"""A document's fields as a reviewer sees them, and a person's corrections laid over Atlas's answer.

Every export takes its rows through ``with_corrections`` (the one hook), so each gives the final
value; the review queue (``atlas_core/review``) and the ledger list fields with ``review_fields``.

Field names are the long export's ``field`` names: a field object's name (``name``), an address
part as ``formatted_address.city``. Each name has a path into ``file_data`` to the value it
shows, so a correction lands exactly where Atlas's value was; extra keys of a field object
(``aadhaar_number_redact_url``) are not fields a person corrects. Atlas's answer is never
changed in place: ``apply_corrections`` returns a corrected copy for exports and the page.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .fields import field_ranks, part_rank
from .flatten import MAX_DEPTH, Cell, to_cell, to_confidence


@dataclass(frozen=True)
class FieldSpot:
    """One field of a document: its name, where its value sits, the value and its confidence."""

    name: str
    path: tuple[Any, ...]
    value: Cell
    confidence: Cell


def review_fields(file_data: Any, document_type: object = None) -> list[FieldSpot]:
    """The fields a reviewer sees, in the export's order (documented fields first)."""
    if not isinstance(file_data, Mapping):
        return []
    spots: list[tuple[tuple[Any, ...], FieldSpot]] = []
    for text, key in sorted({str(k): k for k in file_data}.items()):
        if text == "document_type":
            continue
        _walk(spots, text, file_data[key], (key,), (text,), None, 0)
    ranks = field_ranks([document_type or file_data.get("document_type")])
    spots.sort(key=lambda item: (ranks.get(item[0][0], len(ranks)), item[0]))
    return [spot for _, spot in spots]


def _walk(
    spots: list[tuple[tuple[Any, ...], FieldSpot]], name: str, value: Any, path: tuple[Any, ...],
    order: tuple[Any, ...], inherited: Cell, depth: int,
) -> None:
    if isinstance(value, Mapping) and depth < MAX_DEPTH:
        keys = {str(k): k for k in value}
        score = to_confidence(value[keys["confidence_score"]]) if "confidence_score" in keys else inherited
        if "value" in keys:
            spots.append((order, FieldSpot(name, (*path, keys["value"]), to_cell(value[keys["value"]]), score)))
            return
        # an object of parts (an address): each part is a field; the object's score is theirs
        for part in sorted((k for k in keys if k != "confidence_score"), key=lambda p: (part_rank(p), p)):
            _walk(spots, f"{name}.{part}", value[keys[part]], (*path, keys[part]),
                  (*order, part_rank(part), part), score, depth + 1)
        return
    spots.append((order, FieldSpot(name, path, to_cell(value), inherited)))


def value_text(value: Any) -> str:
    """A value as the text a correction is compared with: '' for nothing, 5 for 5.0, dates ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def apply_corrections(file_data: Any, corrections: Mapping[str, str]) -> Any:
    """A copy of ``file_data`` with each corrected field's value replaced (unknown names ignored)."""
    if not corrections or not isinstance(file_data, Mapping):
        return file_data
    paths = {spot.name: spot.path for spot in review_fields(file_data)}
    corrected = copy.deepcopy(file_data)
    for name, value in corrections.items():
        path = paths.get(name)
        if path is None:
            continue
        node: Any = corrected
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return corrected


def with_corrections(rows: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Document rows with a person's corrections laid over ``file_data`` (the export hook).

    A ledger row carries ``corrections`` ({field: corrected value}) when a person corrected it;
    the row given on has the final values in ``file_data``, ``atlas_values`` ({field: Atlas's
    value}) and ``corrected_fields`` (the corrected names, comma-separated). Other rows pass as
    they are, so an export of a ledger nobody reviewed pays one dict lookup per document.
    """
    for row in rows:
        corrections = row.get("corrections")
        if not corrections:
            yield row
            continue
        file_data = row.get("file_data")
        atlas = {spot.name: spot.value for spot in review_fields(file_data, row.get("document_type"))}
        applied = {name: value for name, value in corrections.items() if name in atlas}
        # "corrections" is left out of the row given on, so a second pass changes nothing.
        yield {
            **{key: value for key, value in row.items() if key != "corrections"},
            "file_data": apply_corrections(file_data, applied),
            "atlas_values": {name: atlas[name] for name in applied},
            "corrected_fields": ", ".join(name for name in atlas if name in applied),
        }
