"""An upload's balance on a page: the one sentence (atlas_core.ledger.format_balance), and a
warning when a row is missing or a document is in no row, which should never happen.

The Batches page reruns every few seconds while work is unfinished: each upload's balance is
kept until its counts change (or a minute passes), so only the uploads in progress are recounted.
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S
from atlas_core.ledger.balance import UploadBalance, balance_warning
from atlas_core.ledger.rows import UploadRow

BALANCE_TTL = 60  # seconds a balance is reused while the upload's counts stay the same


def _signature(upload: UploadRow) -> tuple[int, ...]:
    """What changes whenever the upload's balance can: its row counts and document counts."""
    keys = ("rows_total", "rows_valid", "rows_skipped", "rows_held", "documents", "requests",
            *S.DOCUMENT_STATES)
    return tuple(int(upload.get(k) or 0) for k in keys)  # type: ignore[call-overload]


@st.cache_data(ttl=BALANCE_TTL, show_spinner=False, max_entries=2_000)
def _balance(
    _ledger: Ledger, db_path: str, target: str | None, upload_id: int, signature: tuple[int, ...]
) -> UploadBalance:
    """One upload's balance (db_path, target and signature key the cache)."""
    return _ledger.upload_balance(upload_id)


def balances(
    ledger: Ledger, uploads: Iterable[UploadRow], *, db_path: str, target: str | None
) -> dict[int, UploadBalance]:
    """The balance of each upload shown, recounted only for those whose counts changed."""
    return {
        int(u["id"]): _balance(ledger, db_path, target, int(u["id"]), _signature(u)) for u in uploads
    }


def show(balance: UploadBalance, *, key: str) -> None:
    """'**Did every row come back?** 500 rows: 470 extracted, ...', with a warning if not whole."""
    with st.container(key=key):
        st.markdown(f"**Did every row come back?** {balance.sentence()}")
        warning = balance_warning(balance)
        if warning:
            st.warning(warning, icon=":material/report:")
