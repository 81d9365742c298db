"""The Atlas Bulk API client: tokens, multiupload, paged extracts, retries that never double-send.

    bulk_api.py   AtlasClient: the three endpoints and how their answers become results or errors
    transport.py  the HTTP session: timeouts, the retry loop, what a failure means, counters
    retrying.py   backoff with jitter, Retry-After, and telling "never sent" from "maybe sent"
    tokens.py     the in-memory token cache (renewed early, minted by one thread at a time)
    extracts.py   parsing extracts pages and walking them so the walk always ends
    receipts.py   the multiupload body and the check that every document came back
"""

from .bulk_api import AtlasClient, ClientStats, ExtractsPage, Receipt, RetryPolicy, UploadItem

__all__ = ["AtlasClient", "ClientStats", "ExtractsPage", "Receipt", "RetryPolicy", "UploadItem"]
