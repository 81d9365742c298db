"""Flattening a document's ``file_data`` into cells: the wide and long layouts, field triples.

Wide layout, for each field ``f`` of ``file_data`` other than ``document_type``:

- ``f`` holds the value and ``f_confidence`` the confidence score (empty when Atlas sent none);
- extra keys of a field object become ``f_<key>`` (``aadhaar_number_redact_url``);
- an object without a ``value`` key is split into its parts, ``f.<part>``
  (``formatted_address.city``), deeper ones as ``a.b.c``; its ``confidence_score``, if any,
  goes to ``f_confidence``;
- a field named like one of the six fixed columns (``status``, ``error``, ...) is written
  ``field_<name>``; any other clash gets a numbered suffix (``name_confidence_2``);
- lists, objects past a depth of 6, booleans and non-finite numbers become stable text (compact
  JSON with sorted keys); numbers stay numbers; a confidence sent as text ("0.93") becomes a number.

Keys are walked in sorted order, so the same ``file_data`` always gives the same columns whatever
order Atlas sent its keys in. Column order: documented fields of the document's type in the
contract's order, each followed by its confidence, extra keys and parts; then the rest by name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from .fields import field_ranks, part_rank
from .meanings import MEANING_ORDER, renames_for

FIXED_COLUMNS: tuple[str, ...] = (
    "document_id",
    "batch_id",
    "file_url",
    "status",
    "document_type",
    "error",
    "corrected_fields",  # the fields a person corrected (corrections.with_corrections)
)
LONG_COLUMNS: tuple[str, ...] = (
    "document_id",
    "batch_id",
    "status",
    "document_type",
    "error",
    "field",
    "atlas_value",  # Atlas's value; "value" is the final one (a person's correction, if any)
    "value",
    "confidence",
)
CONFIDENCE_SUFFIX = "_confidence"
MAX_DEPTH = 6  # deeper objects become JSON text in one cell rather than dozens of columns

Cell = str | int | float | None
SortKey = tuple[Any, ...]
# A field may not take the name of a column every download has (results.layout): it would
# read as that column.
_FIXED = frozenset(
    (*FIXED_COLUMNS, "row", "upload_id", "needs_review", "lowest_confidence", "corrected_fields")
)
# How a cell's value is read from file_data: the path of keys to it, and which conversion.
Source = tuple[tuple[Any, ...], int]
_NONE, _CELL, _CONFIDENCE = 0, 1, 2
_NO_SOURCE: Source = ((), _NONE)


def stable_text(value: Any) -> str:
    """Compact JSON with sorted keys for lists, objects and odd values; never raises."""
    try:
        return json.dumps(
            value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
        )
    except (TypeError, ValueError, RecursionError):
        return str(value)[:10_000]


def to_cell(value: Any) -> Cell:
    """One JSON value as a cell: None, a finite number, or text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else stable_text(value)
    return stable_text(value)


def to_confidence(value: Any) -> Cell:
    """A confidence score as a cell, turning numeric text such as "0.93" into a number."""
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return to_cell(value)


def parse_file_data(value: Any) -> Any:
    """``file_data`` as stored: a dict, JSON text of one (decoded), or anything else as it is."""
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


class _Walker:
    """Collects wide cells (with their sort keys) and long entries in one pass over file_data."""

    def __init__(self) -> None:
        self.cells: dict[str, tuple[Cell, SortKey]] = {}
        # where each cell's value came from (path of keys, and how it was read), for ShapeCache
        self.sources: dict[str, Source] = {}
        self._entries: list[tuple[SortKey, str, Cell, Cell]] = []

    def entries(self, ranks: Mapping[str, int]) -> list[tuple[str, Cell, Cell]]:
        ordered = sorted(
            self._entries, key=lambda entry: (ranks.get(entry[0][0], len(ranks)), entry[0])
        )
        return [entry[1:] for entry in ordered]

    def put(self, column: str, value: Cell, key: SortKey, source: Source = _NO_SOURCE) -> str:
        if column in _FIXED:
            column = "field_" + column
        base, n = column, 1
        while column in self.cells:
            n += 1
            column = f"{base}_{n}"
        self.cells[column] = (value, key if n == 1 else key + (n,))
        self.sources[column] = source
        return column

    def walk_top(self, file_data: Any) -> None:
        if not isinstance(file_data, Mapping):
            if file_data is not None:  # an unexpected shape is shown, not dropped
                cell = to_cell(file_data)
                self.put("file_data", cell, ("file_data", 0), ((), _CELL))
                self._entries.append((("file_data", 0), "file_data", cell, None))
            return
        for name in sorted({str(k): k for k in file_data}.items()):
            text, original = name
            if text == "document_type":
                continue
            base = text if text and text not in _FIXED else "field_" + text
            self.walk(base, text, file_data[original], (text,), 0, top=True, path=(original,))

    def walk(
        self,
        column: str,
        name: str,
        value: Any,
        key: SortKey,
        depth: int,
        top: bool,
        path: tuple[Any, ...] = (),
    ) -> None:
        if isinstance(value, Mapping) and depth < MAX_DEPTH:
            keys = {str(k): k for k in value}
            if "value" in keys:
                self._field_object(column, name, value, keys, key, path)
                return
            parts = sorted(
                (k for k in keys if k != "confidence_score"), key=lambda p: (part_rank(p), p)
            )
            confidence = (
                to_confidence(value[keys["confidence_score"]])
                if "confidence_score" in keys
                else None
            )
            source = (
                (path + (keys["confidence_score"],), _CONFIDENCE)
                if "confidence_score" in keys
                else _NO_SOURCE
            )
            if "confidence_score" in keys or (top and not parts):
                self.put(column + CONFIDENCE_SUFFIX, confidence, key + (1,), source)
            if not parts:
                self.put(column, None, key + (0,))
                self._entries.append((key + (0,), name, None, confidence))
            for part in parts:
                self.walk(
                    f"{column}.{part}",
                    f"{name}.{part}",
                    value[keys[part]],
                    key + (3, part_rank(part), part),
                    depth + 1,
                    top=False,
                    path=path + (keys[part],),
                )
            return
        cell = to_cell(value)
        column = self.put(column, cell, key + (0,), (path, _CELL))
        if top:
            self.put(column + CONFIDENCE_SUFFIX, None, key + (1,))
        self._entries.append((key + (0,), name, cell, None))

    def _field_object(
        self,
        column: str,
        name: str,
        value: Mapping,
        keys: dict[str, Any],
        key: SortKey,
        path: tuple[Any, ...] = (),
    ) -> None:
        cell = to_cell(value[keys["value"]])
        confidence = (
            to_confidence(value[keys["confidence_score"]]) if "confidence_score" in keys else None
        )
        column = self.put(column, cell, key + (0,), (path + (keys["value"],), _CELL))
        source = (
            (path + (keys["confidence_score"],), _CONFIDENCE)
            if "confidence_score" in keys
            else _NO_SOURCE
        )
        self.put(column + CONFIDENCE_SUFFIX, confidence, key + (1,), source)
        self._entries.append((key + (0,), name, cell, confidence))
        for extra in sorted(k for k in keys if k not in ("value", "confidence_score")):
            extra_cell = to_cell(value[keys[extra]])
            self.put(f"{column}_{extra}", extra_cell, key + (2, extra), (path + (keys[extra],), _CELL))
            self._entries.append((key + (2, extra), f"{name}_{extra}", extra_cell, None))


def _walk(file_data: Any) -> _Walker:
    walker = _Walker()
    walker.walk_top(parse_file_data(file_data))
    return walker


def flatten_with_keys(file_data: Any) -> dict[str, tuple[Cell, SortKey]]:
    """The wide cells of one ``file_data`` with each column's sort key (for the export header)."""
    return _walk(file_data).cells


def column_order(
    keys: Mapping[str, SortKey], document_types: Iterable[object] = (), *, meanings: bool = False
) -> list[str]:
    """Field columns in stable order: documented fields of the types present, then the rest.

    With ``meanings``, the common meanings' columns (``meanings.MEANING_ORDER``) come first.
    """
    ranks = field_ranks(document_types)
    if meanings:
        first = {name: rank for rank, name in enumerate(MEANING_ORDER)}
        ranks = first | {name: len(first) + r for name, r in ranks.items() if name not in first}
    after = max(ranks.values(), default=-1) + 1  # unranked fields: after every ranked one
    return sorted(
        keys, key=lambda column: (ranks.get(keys[column][0], after), keys[column], column)
    )


def flatten_file_data(file_data: Any) -> dict[str, Cell]:
    """The wide-layout field columns of one document (see the module docstring for the rules)."""
    file_data = parse_file_data(file_data)
    cells = _walk(file_data).cells
    order = column_order({c: v[1] for c, v in cells.items()}, [_own_type(file_data)])
    return {column: cells[column][0] for column in order}


def field_entries(file_data: Any, document_type: object = None) -> list[tuple[str, Cell, Cell]]:
    """(field, value, confidence) for each field, part and extra key, in stable order."""
    file_data = parse_file_data(file_data)
    return _walk(file_data).entries(field_ranks([document_type or _own_type(file_data)]))


def _own_type(file_data: Any) -> object:
    return file_data.get("document_type") if isinstance(file_data, Mapping) else None


def field_triples(file_data: Any) -> list[tuple[str, str | None, float | None]]:
    """(field, value as text, numeric confidence), unique by field: for the ledger's table."""
    triples: dict[str, tuple[str, str | None, float | None]] = {}
    for name, value, confidence in field_entries(file_data):
        if name in triples:
            continue
        text = None if value is None else str(value)
        number = float(confidence) if isinstance(confidence, int | float) else None
        triples[name] = (name, text, number)
    return list(triples.values())


def document_type_of(row: Mapping[str, Any], file_data: Any = None) -> Cell:
    """The row's document type, falling back to the one inside its file_data."""
    doc_type = row.get("document_type")
    if doc_type is None and isinstance(file_data, Mapping):
        doc_type = file_data.get("document_type")
    return to_cell(doc_type)


def fixed_cells(row: Mapping[str, Any], file_data: Any = None) -> dict[str, Cell]:
    """The six fixed columns of one document row (``status`` is the row's state)."""
    return {
        "document_id": to_cell(row.get("document_id")),
        "batch_id": to_cell(row.get("batch_id")),
        "file_url": to_cell(row.get("file_url")),
        "status": to_cell(row.get("state", row.get("status"))),
        "document_type": document_type_of(row, file_data),
        "error": to_cell(row.get("error")),
        "corrected_fields": to_cell(row.get("corrected_fields")),
    }


def fixed_line(row: Mapping[str, Any], file_data: Any = None) -> list[Cell]:
    """``fixed_cells`` as a list in ``FIXED_COLUMNS`` order, made without a call per cell."""
    try:  # a ledger row has every key: one call takes the six
        line = list(_LEDGER_FIXED(row))
    except KeyError:
        line = [row.get("document_id"), row.get("batch_id"), row.get("file_url"),
                row.get("state", row.get("status")), row.get("document_type"), row.get("error")]
    if line[4] is None and isinstance(file_data, Mapping):
        line[4] = file_data.get("document_type")
    line.append(row.get("corrected_fields"))
    # nearly every value is text or None, which to_cell gives back as it is
    return [v if v is None or type(v) is str else to_cell(v) for v in line]


_LEDGER_FIXED = itemgetter("document_id", "batch_id", "file_url", "state", "document_type", "error")


def long_rows(doc_row: Mapping[str, Any]) -> list[dict[str, Cell]]:
    """One row per field, part and extra key of a document; one row with no field if it has none."""
    file_data = parse_file_data(doc_row.get("file_data"))
    fixed = fixed_cells(doc_row, file_data)
    base = {column: fixed[column] for column in LONG_COLUMNS if column in fixed}
    entries: Sequence[tuple[str | None, Cell, Cell]] = (
        field_entries(file_data, fixed["document_type"]) or [(None, None, None)]
    )
    atlas = doc_row.get("atlas_values") or {}
    return [
        {**base, "field": name, "atlas_value": atlas.get(name, value) if name in atlas else value,
         "value": value, "confidence": confidence}
        for name, value, confidence in entries
    ]


def iter_long_rows(rows: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, Cell]]:
    """Long-layout rows for many documents, lazily."""
    for row in rows:
        yield from long_rows(row)


class _Uncacheable(Exception):
    """A file_data whose shape does not decide its columns alone (not plain JSON)."""


_LEAVES = frozenset({str, int, float, bool, list, type(None)})


def _scan(value: dict, depth: int, nodes: list[Any]) -> Any:
    # The keys at every level and which values are objects decide the walker's columns, and
    # nothing else does; objects past MAX_DEPTH are cells, so the shape stops there as well.
    # The value types are part of the shape too (cheaper to take than to sift). Every value
    # met is appended to ``nodes`` on the way, so the same pass that finds the shape also
    # gathers the values: a shape's plan reads its cells from ``nodes`` by position.
    # Keys are taken as they are: a shape is only cached once ShapeCache has checked that every
    # key is text (_text_keys), and a tuple of text keys never equals one holding another type.
    if depth > MAX_DEPTH:
        return True
    keys = tuple(value)
    children = value.values()
    kinds = tuple(map(type, children))
    nodes += children
    if _LEAVES.issuperset(kinds):
        return keys, kinds
    parts: list[Any] = []
    for child in children:
        if type(child) is not dict:
            # a plain leaf (document_type's text, say) without _leaf's costly Mapping check
            parts.append(None if type(child) in _LEAVES else _leaf(child))
            continue
        # most objects hold leaves only (a field's value and confidence): taken here, as the
        # call below would take them, without the call
        grandchildren = child.values()
        inner = tuple(map(type, grandchildren))
        if depth < MAX_DEPTH and _LEAVES.issuperset(inner):
            nodes += grandchildren
            parts.append((tuple(child), inner))
        else:
            parts.append(_scan(child, depth + 1, nodes))
    return keys, kinds, tuple(parts)


def _text_keys(value: dict, depth: int) -> bool:
    # 1, 1.0 and True are one dict key but three column names: such a shape is never cached
    if depth > MAX_DEPTH:
        return True
    if any(type(key) is not str for key in value):
        return False
    return all(_text_keys(child, depth + 1) for child in value.values() if type(child) is dict)


def _scan_paths(value: dict, depth: int, path: tuple[Any, ...], paths: list[tuple[Any, ...]]) -> None:
    # the path of keys to each value _scan appends, in the same order (run once per shape)
    if depth > MAX_DEPTH:
        return
    paths += [path + (key,) for key in value]
    for key, child in value.items():
        if type(child) is dict:
            _scan_paths(child, depth + 1, path + (key,), paths)


def _leaf(child: Any) -> Any:
    if isinstance(child, Mapping):  # another Mapping type: let the walker decide
        raise _Uncacheable
    return None


def _top_shape(file_data: Any, nodes: list[Any]) -> Any:
    if type(file_data) is dict:
        return _scan(file_data, 0, nodes)
    if isinstance(file_data, Mapping):
        raise _Uncacheable
    # no fields at all, or one "file_data" cell holding whatever came instead of an object
    return "none" if file_data is None else "scalar"


# Value types a cell takes as they are (to_cell gives them back unchanged); a confidence
# takes the same but text, which may be a number written as text.
_CELL_AS_IS = frozenset({str, int, type(None)})
_CONFIDENCE_AS_IS = frozenset({int, type(None)})
# (getter of a shape's cells from its nodes, [(position, conversion)] for cells that need one)
Plan = tuple[Callable[[list[Any]], Sequence[Cell]], tuple[tuple[int, Callable[[Any], Cell]], ...]]


def _plan(file_data: Any, nodes: list[Any], sources: Iterable[Source]) -> Plan:
    """How to read one shape's cells from the nodes ``_scan`` gathers (made once per shape)."""
    paths: list[tuple[Any, ...]] = [()]  # nodes[0] is file_data itself
    if type(file_data) is dict:
        _scan_paths(file_data, 0, (), paths)
    position = {path: i for i, path in enumerate(paths)}
    blank = len(paths)  # a None is appended after the nodes, for cells with no source
    indexes: list[int] = []
    fixes: list[tuple[int, Callable[[Any], Cell]]] = []
    for n, (path, how) in enumerate(sources):
        if how == _NONE:
            indexes.append(blank)
            continue
        index = position[path]
        indexes.append(index)
        # the value types are part of the shape, so which cells need a conversion is known
        # here; the root of a "scalar" shape (index 0) may be of any type
        kind = type(nodes[index])
        if how == _CELL and (index == 0 or kind not in _CELL_AS_IS):
            fixes.append((n, to_cell))
        elif how == _CONFIDENCE and (index == 0 or kind not in _CONFIDENCE_AS_IS):
            fixes.append((n, to_confidence))
    if len(indexes) > 1:
        getter: Callable[[list[Any]], Sequence[Cell]] = itemgetter(*indexes)
    elif indexes:
        only = indexes[0]
        getter = lambda nodes: (nodes[only],)  # noqa: E731
    else:
        getter = lambda nodes: ()  # noqa: E731
    return getter, tuple(fixes)


class ShapeCache:
    """Wide cells of many documents, walking ``file_data`` once per shape instead of per document.

    Documents of one type share a shape (the same keys, the same objects), and the walker's
    columns depend on the shape only, so for each new shape the walker runs once and records
    where each column's value comes from; later documents of that shape are read by those paths.
    ``keys`` collects every column's sort key, as ``flatten_with_keys`` gives them.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self.keys: dict[str, SortKey] = {}
        self.columns: list[tuple[str, ...]] = []  # per shape id, common meanings renamed
        self.own_columns: list[tuple[str, ...]] = []  # per shape id, Atlas's own names
        self.types: list[Any] = []  # per shape id: the document type it was seen with
        self.own_keys: dict[Any, dict[str, SortKey]] = {}  # per document type, own names
        self._plans: list[Plan] = []
        self._ids: dict[Any, int] = {}
        self._limit = limit  # past it, new shapes are walked every time (and not remembered)

    def flatten(
        self, file_data: Any, document_type: Any = None
    ) -> tuple[int | None, Sequence[Cell] | dict[str, Cell]]:
        """(shape id, that shape's cells in ``columns[id]`` order), or (None, column -> cell).

        Fields with a common meaning for ``document_type`` (``meanings.py``) take the meaning's
        column; ``own_columns[id]`` names the same cells as Atlas did.
        """
        nodes = [file_data]
        try:
            # a dict (nearly every document) is scanned here, without _top_shape's call
            shape = _scan(file_data, 0, nodes) if type(file_data) is dict else _top_shape(file_data, nodes)
        except (_Uncacheable, RecursionError):
            shape = _Uncacheable
        if shape is not _Uncacheable:
            shape = (document_type, shape)  # the type decides the renames and the type sheet
        shape_id = self._ids.get(shape) if shape is not _Uncacheable else None
        if shape_id is not None:
            getter, fixes = self._plans[shape_id]
            nodes.append(None)
            cells = getter(nodes)
            if not fixes:
                return shape_id, cells
            fixed = list(cells)
            for n, convert in fixes:
                value = fixed[n]
                if type(value) is not float or value - value != 0.0:  # not a finite float
                    fixed[n] = convert(value)
            return shape_id, fixed
        if shape is not _Uncacheable and type(file_data) is dict and not _text_keys(file_data, 0):
            shape = _Uncacheable
        walker = _walk(file_data)
        renamed = _renamed(walker.cells, renames_for(document_type))
        _merge(self.keys, renamed.values())
        _merge(self.own_keys.setdefault(document_type, {}), walker.cells.items())
        if shape is _Uncacheable or len(self._plans) >= self._limit:
            self.odd_own = dict(zip(renamed, walker.cells, strict=True))
            return None, {column: value for column, (value, _) in renamed.values()}
        self._ids[shape] = shape_id = len(self._plans)
        self.columns.append(tuple(column for column, _ in renamed.values()))
        self.own_columns.append(tuple(walker.cells))
        self.types.append(document_type)
        self._plans.append(_plan(file_data, nodes, (walker.sources[c] for c in walker.cells)))
        return shape_id, [value for value, _ in walker.cells.values()]

    odd_own: dict[str, str] = {}  # the last odd document's columns: renamed name -> own name


def _renamed(
    cells: Mapping[str, tuple[Cell, SortKey]], renames: Mapping[str, str]
) -> dict[str, tuple[str, tuple[Cell, SortKey]]]:
    """own column -> (column under its common meaning, (cell, sort key)); a rename that would
    meet a column the document already has is not made."""
    if not renames:
        return {column: (column, item) for column, item in cells.items()}
    tops = {key[0] for _, key in cells.values()}
    out: dict[str, tuple[str, tuple[Cell, SortKey]]] = {}
    taken = set(cells)
    for column, (value, key) in cells.items():
        top = key[0]
        meaning = renames.get(top)
        if meaning is not None and meaning not in tops and column.startswith(top):
            new = meaning + column[len(top):]
            if new not in taken:
                taken.add(new)
                out[column] = (new, (value, (meaning, *key[1:])))
                continue
        out[column] = (column, (value, key))
    return out


def _merge(keys: dict[str, SortKey], cells: Iterable[tuple[str, tuple[Cell, SortKey]]]) -> None:
    for column, (_, key) in cells:
        if column not in keys or key < keys[column]:
            keys[column] = key
