"""Markdown tables from data frames, without an extra dependency."""

from __future__ import annotations

import pandas as pd


def cell(value: object, digits: int) -> str:
    """A table cell: floats rounded to `digits` decimals, the rest as text."""
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def markdown_table(frame: pd.DataFrame, digits: int = 2, index: bool = True) -> str:
    """A GitHub Markdown table of `frame` (index as the first column if asked)."""
    columns = ([frame.index.name or ""] if index else []) + [str(c) for c in frame]
    lines = [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    for key, row in frame.iterrows():
        cells = ([str(key)] if index else []) + [cell(v, digits) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
