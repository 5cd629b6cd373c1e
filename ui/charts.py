"""Line charts for the training views: Altair with one text alternative, no per-mark descriptions.

Streamlit's st.line_chart gives every mark an English description (field names, "line mark container") and leaves
some mark groups without a name, which screen readers and axe-core flag. These charts carry the reader's alt text
instead, and their numbers are in a table beside them (views/train.py) or a sentence (the sidebar)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from ui.i18n import _


def lines(df: pd.DataFrame, x_title: str, y_title: str, height: int, alt_text: str, where=st) -> None:
    """One line per column of `df` against its index (missing values leave gaps)."""
    x = df.index.name or "x"
    long = df.reset_index(names=x).melt(id_vars=x, var_name="series", value_name="value").dropna()
    chart = (
        alt.Chart(long)
        .mark_line(aria=False)
        .encode(
            x=alt.X(f"{x}:Q", title=x_title or None),
            y=alt.Y("value:Q", title=y_title or None, scale=alt.Scale(zero=False)),
            color=alt.Color(
                "series:N", title=None, legend=alt.Legend(orient="bottom") if len(df.columns) > 1 else None
            ),
        )
        .properties(height=height)
        .configure(aria=False)
    )
    where.altair_chart(chart, width="stretch", alt=alt_text)


def numbers(df: pd.DataFrame, what: str, hide_index: bool = True) -> None:
    """A chart's numbers as a table in an expander: the same facts for a screen reader or a keyboard user."""
    with st.expander(_("The numbers behind {chart}").format(chart=what)):
        st.dataframe(df, hide_index=hide_index, width="stretch")
