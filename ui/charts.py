"""The dashboard's charts, built from the small aggregates the ledger returns (never raw rows)."""

from __future__ import annotations

import time

import altair as alt
import pandas as pd

from atlas_core.ledger.rows import FieldConfidence, FinishedBucket, TypeStateCount

STATE_COLOURS = {"extracted": "#2e7d32", "failed": "#c62828"}


def finished_frame(
    rows: list[FinishedBucket], *, since: float, bucket_seconds: float, now: float | None = None
) -> pd.DataFrame:
    """Finished documents per bucket from ``since`` to now, with empty buckets as zeros."""
    now = time.time() if now is None else now
    start = int(since // bucket_seconds) * bucket_seconds
    buckets = pd.Series(range(int(start), int(now) + 1, int(bucket_seconds)), dtype="int64")
    counts = pd.DataFrame(rows, columns=["bucket", "extracted", "failed"]).astype("int64")
    frame = pd.DataFrame({"bucket": buckets}).merge(counts, on="bucket", how="left").fillna(0)
    frame["time"] = pd.to_datetime(frame["bucket"], unit="s", utc=True)
    return frame.melt(
        id_vars="time",
        value_vars=["extracted", "failed"],
        var_name="result",
        value_name="documents",
    )


def finished_chart(frame: pd.DataFrame) -> alt.Chart:
    """Stacked bars of documents extracted and failed per time bucket: a stall shows as a gap."""
    return (
        alt.Chart(frame, height=180)
        .mark_bar()
        .encode(
            x=alt.X("time:T", title=None, axis=alt.Axis(format="%H:%M")),
            y=alt.Y(
                "sum(documents):Q",
                title="Documents finished",
                axis=alt.Axis(tickMinStep=1, format="d"),
            ),
            color=alt.Color(
                "result:N",
                title=None,
                scale=alt.Scale(domain=list(STATE_COLOURS), range=list(STATE_COLOURS.values())),
            ),
            tooltip=[alt.Tooltip("time:T", format="%H:%M"), "result:N", "documents:Q"],
        )
    )


def type_state_chart(rows: list[TypeStateCount]) -> alt.Chart:
    """Documents per document type, coloured by state."""
    frame = pd.DataFrame(rows, columns=["document_type", "state", "documents"]).fillna(
        {"document_type": "(unknown)"}
    )
    return (
        alt.Chart(frame, height=220)
        .mark_bar()
        .encode(
            y=alt.Y("document_type:N", title=None, sort="-x"),
            x=alt.X(
                "sum(documents):Q", title="Documents", axis=alt.Axis(tickMinStep=1, format="d")
            ),
            color=alt.Color("state:N", title="State"),
            tooltip=["document_type:N", "state:N", "documents:Q"],
        )
    )


def confidence_chart(
    summary: list[FieldConfidence], threshold: float
) -> alt.LayerChart | alt.FacetChart:
    """Per field, how many values fall in each confidence band, with the review threshold marked."""
    records = []
    for item in summary:
        bins = len(item["histogram"])
        for i, n in enumerate(item["histogram"]):
            records.append(
                {"field": item["field"], "from": i / bins, "to": (i + 1) / bins, "values": n}
            )
    frame = pd.DataFrame(records, columns=["field", "from", "to", "values"])
    bars = (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X("from:Q", title="Confidence", scale=alt.Scale(domain=[0, 1])),
            x2="to:Q",
            y=alt.Y("field:N", title=None),
            color=alt.Color("values:Q", title="Values", scale=alt.Scale(scheme="blues")),
            tooltip=[
                "field:N",
                alt.Tooltip("from:Q", format=".1f"),
                alt.Tooltip("to:Q", format=".1f"),
                "values:Q",
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"threshold": [threshold]}))
        .mark_rule(color="#c62828", strokeDash=[4, 3])
        .encode(x="threshold:Q")
    )
    return alt.layer(bars, rule).properties(height=max(120, 22 * len(summary)))
