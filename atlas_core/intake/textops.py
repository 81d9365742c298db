"""Whole-column text operations on Arrow buffers (RE2 regexes in C++, no Python per row).

pandas' ``.str`` accessor falls back to Python's ``re`` row by row for some patterns and for
``extract``; calling pyarrow.compute directly keeps a million rows to a few passes in C++.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

Strings = pa.ChunkedArray
_BLOCK = 1 << 20  # bytes scanned at a time
_ROWS = 1 << 14  # rows gathered at a time


def arrow_strings(series: pd.Series) -> Strings:
    """The column's Arrow strings (zero-copy for pandas' Arrow-backed "str" dtype)."""
    array = series.array
    if hasattr(array, "__arrow_array__"):
        result = array.__arrow_array__()
    else:
        result = pa.array(series.to_numpy(dtype=object), type=pa.large_string())
    if isinstance(result, pa.Array):
        result = pa.chunked_array([result])
    return pc.fill_null(result, "")


def to_bool(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """An Arrow boolean result as a numpy mask (nulls count as False)."""
    # pyarrow-stubs type fill_value like values, and an array in gives an array out.
    filled = cast(pa.ChunkedArray | pa.Array, pc.fill_null(values, False))  # type: ignore[type-var]
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)


def matches(strings: Strings, pattern: str) -> np.ndarray:
    """Rows where the RE2 ``pattern`` matches somewhere (anchor it with ^ for a prefix test)."""
    return to_bool(pc.match_substring_regex(strings, pattern))


def contains(strings: Strings, text: str) -> np.ndarray:
    """Rows containing ``text`` literally."""
    return to_bool(pc.match_substring(strings, text))


def extract(strings: Strings, pattern: str) -> np.ndarray:
    """The first capture group (named ``g``) of ``pattern`` per row, None where it does not match."""
    found = pc.extract_regex(strings, pattern)
    group = pc.struct_field(found, "g")  # null where the row did not match
    return np.asarray(group.to_numpy(zero_copy_only=False), dtype=object)


def lengths(strings: Strings) -> np.ndarray:
    """The length of every value in characters."""
    return np.asarray(pc.utf8_length(strings).to_numpy(zero_copy_only=False))


def subset(strings: Strings, positions: np.ndarray) -> Strings:
    """The values at ``positions`` (ascending), taken chunk by chunk.

    ChunkedArray.take concatenates all chunks first, a full copy of the column per call.
    """
    bounds = np.cumsum([0] + [len(c) for c in strings.chunks])
    cuts = np.searchsorted(positions, bounds)
    parts = [
        chunk.take(pa.array(positions[cuts[i] : cuts[i + 1]] - bounds[i], type=pa.int64()))
        for i, chunk in enumerate(strings.chunks)
        if cuts[i] < cuts[i + 1]
    ]
    return pa.chunked_array(parts, type=strings.type)


def strip(strings: Strings) -> Strings:
    """Values without surrounding whitespace (for checks only; values reported are never stripped)."""
    return pc.utf8_trim_whitespace(strings)


def byte_lengths(strings: Strings) -> np.ndarray:
    """The length of every value in UTF-8 bytes (read from the offsets, no scan)."""
    return np.asarray(pc.binary_length(strings).to_numpy(zero_copy_only=False))


def find(strings: Strings, text: str) -> np.ndarray:
    """The byte offset of the first ``text`` in each value, -1 where absent."""
    return np.asarray(pc.find_substring(strings, text).to_numpy(zero_copy_only=False))


def _chunk_bytes(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, data) of one large_string chunk, as numpy views."""
    buffers = chunk.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[  # type: ignore[call-overload]  # pyarrow-stubs: Buffer is a buffer
        chunk.offset : chunk.offset + len(chunk) + 1
    ]
    data = (
        np.frombuffer(buffers[2], dtype=np.uint8)  # type: ignore[call-overload]  # as above
        if buffers[2] is not None
        else np.zeros(0, np.uint8)
    )
    return offsets, data


def rows_with_unusual_bytes(strings: Strings) -> np.ndarray:
    """Rows holding any byte outside printable ASCII (space, controls, or any non-ASCII character).

    One numpy pass over the raw UTF-8 buffer, a block at a time so temporaries stay in cache: a
    superset of the rows with spaces or control characters, which the exact checks then examine.
    """
    found = []
    base = 0
    scratch = np.empty(_BLOCK, dtype=np.uint8)
    for chunk in strings.chunks:
        offsets, data = _chunk_bytes(chunk)
        for start in range(int(offsets[0]), int(offsets[-1]), _BLOCK):
            body = data[start : min(start + _BLOCK, int(offsets[-1]))]
            shifted = np.subtract(body, np.uint8(0x21), out=scratch[: len(body)])
            # Printable ASCII is 0x21..0x7e: shifted down by 0x21 it is 0..0x5d, all else wraps above.
            unusual = np.flatnonzero(shifted > np.uint8(0x5D))
            if len(unusual):
                rows = np.searchsorted(offsets, unusual + start, "right") - 1
                found.append(np.unique(rows) + base)
        base += len(chunk)
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def gather(strings: Strings, rows: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """``width`` bytes of each given row (ascending) from byte ``starts`` on; 0 outside the value."""
    out = np.zeros((len(rows), width), dtype=np.uint8)
    bounds = np.cumsum([0] + [len(c) for c in strings.chunks])
    cuts = np.searchsorted(rows, bounds)
    steps = np.arange(width, dtype=np.int64)
    for i, chunk in enumerate(strings.chunks):
        offsets, data = _chunk_bytes(chunk)
        if cuts[i] == cuts[i + 1]:
            continue
        data = data[: offsets[-1]]
        if len(data) < width:  # too short for one window: pad it (a few bytes)
            data = np.concatenate([data, np.zeros(width - len(data), np.uint8)])
        # Windows are views of the column's own bytes (no copy of the column per call); only a
        # window that would start before the buffer or run past its end is shifted back inside,
        # and those few rows are then taken byte by byte.
        windows = np.lib.stride_tricks.sliding_window_view(data, width)
        for lo in range(cuts[i], cuts[i + 1], _ROWS):
            hi = min(lo + _ROWS, cuts[i + 1])
            local = rows[lo:hi] - bounds[i]
            first, end = offsets[local], offsets[local + 1]
            begin = np.clip(first + starts[lo:hi], first - width, end)
            inside = np.clip(begin, 0, len(data) - width)
            block = windows[inside]
            # Bytes outside the value are zeroed; usually every window lies within its value.
            partial = np.flatnonzero((begin < first) | (begin + width > end))
            if len(partial):
                lead, stop = (first - begin)[partial, None], (end - begin)[partial, None]
                block[partial] = np.where((steps < lead) | (steps >= stop), 0, block[partial])
            shifted = np.flatnonzero(inside != begin)
            if len(shifted):
                at = begin[shifted, None] + steps
                keep = (at >= first[shifted, None]) & (at < end[shifted, None])
                block[shifted] = np.where(keep, data[np.clip(at, 0, len(data) - 1)], 0)
            out[lo:hi] = block
    return out


def distinct_rows(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct rows of a 2-D uint8 block, the index of each row among them), by hashing.

    Pre-signed links made together share their signing time and lifetime, so parsing only the
    distinct byte windows is a handful of rows instead of one per link.
    """
    block = np.ascontiguousarray(block)
    count, width = block.shape
    keys = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), count, [None, pa.py_buffer(block)]  # type: ignore[arg-type]  # pyarrow-stubs: numpy arrays are buffers
    )
    encoded = cast(pa.DictionaryArray, pc.dictionary_encode(keys))  # an Array in, one Array out
    found = encoded.dictionary
    data = np.frombuffer(found.buffers()[1], dtype=np.uint8)  # type: ignore[call-overload]  # as above
    unique = data[found.offset * width : (found.offset + len(found)) * width].reshape(-1, width)
    return unique, np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)


def duplicated_rows(strings: Strings) -> np.ndarray:
    """Mask of rows whose value occurs more than once (every occurrence marked).

    One hashing pass: every chunk of the encoding indexes one shared dictionary, so counting
    the indices counts the values.
    """
    if len(strings) == 0:
        return np.zeros(0, dtype=bool)
    encoded = pc.dictionary_encode(strings)
    chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
    which = np.concatenate(
        [cast(pa.DictionaryArray, c).indices.to_numpy(zero_copy_only=False) for c in chunks]
    )
    return np.bincount(which)[which] > 1
