"""Results out: flattening file_data, exports, reconciliation and the failed-documents file.

Pure functions over document-row dicts from the ledger: no HTTP and no SQL here.
"""

from ..neutralise import neutralise_text
from .export import FORMATS, LAYOUTS, MIME_TYPES, documents_frame, export_documents, write_documents
from .flatten import FIXED_COLUMNS, LONG_COLUMNS, field_triples, flatten_file_data, long_rows
from .reconciliation import (
    ReconciliationIssue,
    ReconciliationReport,
    failed_documents_file,
    reconcile,
)
from .reconciliation_report import UploadReconciliation, reconcile_upload

__all__ = [
    "FIXED_COLUMNS",
    "FORMATS",
    "LAYOUTS",
    "LONG_COLUMNS",
    "MIME_TYPES",
    "ReconciliationIssue",
    "ReconciliationReport",
    "UploadReconciliation",
    "documents_frame",
    "export_documents",
    "failed_documents_file",
    "field_triples",
    "flatten_file_data",
    "long_rows",
    "neutralise_text",
    "reconcile",
    "reconcile_upload",
    "write_documents",
]
