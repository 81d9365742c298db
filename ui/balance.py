"""An upload's balance on a page: the one sentence (atlas_core.ledger.format_balance), and a
warning when a row is missing or a document is in no row, which should never happen."""

from __future__ import annotations

import streamlit as st

from atlas_core.ledger.balance import UploadBalance, balance_warning

BALANCE_COLUMN = "Balance"


def show(balance: UploadBalance, *, key: str) -> None:
    """'**Did every row come back?** 500 rows: 470 extracted, ...', with a warning if not whole."""
    with st.container(key=key):
        st.markdown(f"**Did every row come back?** {balance.sentence()}")
        warning = balance_warning(balance)
        if warning:
            st.warning(warning, icon=":material/report:")
