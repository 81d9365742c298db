"""The sandbox's memory: a JSON-lines journal of accepted uploads.

One line per accepted upload, written with one ``os.write`` on an ``O_APPEND`` descriptor, so two
processes sharing the file interleave whole lines. Readers remember how far they got and read
only what was added; a last line without its newline is someone's write in progress (or a crash)
and is left for later.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


class Journal:
    """Append-only JSON-lines file of upload records, shared safely between processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._offset = 0
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, record: dict[str, Any]) -> None:
        """Write one record as one line, durable against a torn line left by an earlier crash."""
        data = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            # A crash mid-line would glue this record onto the torn one; start a fresh line.
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        finally:
            os.close(fd)

    def read_new(self) -> list[dict[str, Any]]:
        """Records added since the last call (all of them the first time)."""
        with self._lock:
            try:
                if self.path.stat().st_size <= self._offset:
                    return []
                with self.path.open("rb") as handle:
                    handle.seek(self._offset)
                    chunk = handle.read()
            except FileNotFoundError:
                return []
            end = chunk.rfind(b"\n")
            if end < 0:
                return []
            self._offset += end + 1
            records = []
            for line in chunk[: end + 1].splitlines():
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    logger.warning("skipping a damaged line in the sandbox journal %s", self.path)
                    continue
                if isinstance(record, dict) and "batch_id" in record:
                    records.append(record)
            return records
