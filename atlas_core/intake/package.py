"""Finding an xlsx package's workbook and sheets as calamine finds them, not by their usual names.

Some Windows exporters write zip entries as ``xl\\worksheets\\sheet1.xml``, and other programs put
the workbook or its sheets at paths of their own, named by the package's relationships
(``_rels/.rels`` names the workbook; the workbook's ``_rels`` name its sheets). calamine reads
all of these, so the intake recognises them too, and measures every part calamine may read as a
sheet.
"""

from __future__ import annotations

import posixpath
import re
import zipfile

from ..errors import IntakeError

_MAX_PART_BYTES = 16 * 1024 * 1024  # relationships and workbook parts are a few kilobytes
_RELATIONSHIP = re.compile(rb"<(?:[\w.-]+:)?Relationship\b([^<>]*)>")
_SHEET = re.compile(rb"<(?:[\w.-]+:)?sheet\b([^<>]*)>")
_OFFICE_DOCUMENT = b"/officeDocument"


def part_names(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Every member by its part name: forward slashes, no leading slash."""
    return {_part_name(info): info for info in archive.infolist()}


def _part_name(info: zipfile.ZipInfo) -> str:
    return info.filename.replace("\\", "/").lstrip("/")


def workbook_part(archive: zipfile.ZipFile, parts: dict[str, zipfile.ZipInfo]) -> str | None:
    """The workbook part's name: the package's officeDocument relationship, else the usual names."""
    for attributes in _relationships(archive, parts, "_rels/.rels"):
        if _attribute(attributes, b"Type").endswith(_OFFICE_DOCUMENT):
            for name in _resolve("", _attribute(attributes, b"Target")):
                if name in parts:
                    return name
    for name in ("xl/workbook.xml", "xl/workbook.bin"):
        if name in parts:
            return name
    return None


def sheet_parts(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Every XML part calamine may read as a worksheet: those in a worksheets folder, and every
    target the workbook's relationships give a sheet of the workbook (or the worksheet type)."""
    parts = part_names(archive)
    found = {
        name for name in parts if name.endswith(".xml") and "/worksheets/" in f"/{name}"
    }
    workbook = workbook_part(archive, parts)
    if workbook is not None and workbook.endswith(".xml"):
        sheet_ids = {_attribute(a, b"id") for a in _tags(archive, parts, workbook, _SHEET)}
        folder, base = posixpath.split(workbook)
        for rels in {f"{folder}/_rels/{base}.rels", f"{folder}/_rels/workbook.xml.rels"}:
            for attributes in _relationships(archive, parts, rels.lstrip("/")):
                kind = _attribute(attributes, b"Type")
                if _attribute(attributes, b"Id") in sheet_ids or kind.endswith(b"/worksheet"):
                    target = _attribute(attributes, b"Target")
                    found.update(n for n in _resolve(folder, target) if n in parts)
    # Every entry under those names: a zip may hold two entries of one name (or one with each
    # kind of slash), and which one a reader takes is its own affair.
    return [info for info in archive.infolist() if _part_name(info) in found]


def _resolve(folder: str, target: bytes) -> set[str]:
    """The part names a relationship target may mean: relative to its source's folder (the
    standard), from the package root, and under xl/ (as older calamine resolves them)."""
    text = target.decode("utf-8", errors="replace").replace("\\", "/")
    if text.startswith("/"):
        return {posixpath.normpath(text).lstrip("/")}
    names = {posixpath.normpath(posixpath.join(folder, text)), posixpath.normpath(text)}
    names.add(posixpath.normpath(posixpath.join("xl", text)))
    return {name.lstrip("/") for name in names if not name.startswith("..")}


def _relationships(
    archive: zipfile.ZipFile, parts: dict[str, zipfile.ZipInfo], name: str
) -> list[bytes]:
    return _tags(archive, parts, name, _RELATIONSHIP)


def _tags(
    archive: zipfile.ZipFile, parts: dict[str, zipfile.ZipInfo], name: str, tag: re.Pattern[bytes]
) -> list[bytes]:
    """The attribute text of each ``tag`` in a small part (none when the part is missing)."""
    info = parts.get(name)
    if info is None:
        return []
    if info.file_size > _MAX_PART_BYTES:
        raise _damaged()
    with archive.open(info) as member:
        data = member.read(_MAX_PART_BYTES + 1)
    if len(data) > _MAX_PART_BYTES:  # more than the directory said: not a real workbook
        raise _damaged()
    return tag.findall(data)


def _attribute(attributes: bytes, name: bytes) -> bytes:
    """One attribute's value (any namespace prefix), or b"" when absent."""
    found = re.search(rb"(?:^|[\s:])" + name + rb"\s*=\s*([\"'])(.*?)\1", attributes, re.S)
    return found.group(2) if found else b""


def _damaged() -> IntakeError:
    from .extent import damaged_workbook

    return damaged_workbook()
