"""Tables shown on the equity pages, and the same tables as CSV or XLSX downloads.

A `Table` wraps a frame that is already masked for the viewer, so the page and its export
show the same cells: a suppressed cell is blank in both, beside a "suppressed" column.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

import pandas as pd
from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Column:
    """One column: the frame's key, its heading, and how to show it.

    `kind` is "text", "count" (a number of people or events: the suppression crawl reads
    these), "number", "percent" (a 0-1 share shown as a percentage) or "flag".
    """

    key: str
    label: str
    kind: str = "number"
    digits: int = 1


@dataclass
class Table:
    """A named table of a page: its caption, columns and masked rows."""

    name: str
    caption: str
    columns: list[Column]
    frame: pd.DataFrame
    links: list[str | None] = field(default_factory=list)

    def rows(self) -> list[list[dict]]:
        """Cells for the template: text, CSS class and the machine-readable value."""
        out = []
        suppressed = (
            self.frame["suppressed"].astype(bool).tolist()
            if "suppressed" in self.frame
            else [False] * len(self.frame)
        )
        for index, record in enumerate(self.frame.to_dict("records")):
            cells = []
            for column in self.columns:
                value = _plain(record.get(column.key))
                cells.append(
                    {
                        "text": _text(value, column, suppressed[index]),
                        "kind": column.kind,
                        "value": "" if value is None else value,
                        "link": self.links[index] if self.links and column.key == "group" else None,
                    }
                )
            out.append({"cells": cells, "suppressed": suppressed[index]})
        return out

    def export_rows(self) -> tuple[list[str], list[list]]:
        """The table as downloaded: headings and cells as on the page, blanks where suppressed."""
        columns = list(self.columns)
        if "suppressed" in self.frame and "suppressed" not in {c.key for c in columns}:
            columns.append(Column("suppressed", "suppressed", "flag"))
        rows = [
            [_exported(record.get(c.key), c) for c in columns]
            for record in self.frame.to_dict("records")
        ]
        return [c.label for c in columns], rows


def _plain(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _text(value, column: Column, suppressed: bool) -> str:
    if value is None:
        return "suppressed" if suppressed and column.kind != "text" else ""
    if column.kind == "flag":
        return "yes" if value else "no"
    if column.kind == "count":
        return f"{value:,.0f}"
    if column.kind == "percent":
        return f"{value * 100:.{column.digits}f}%"
    if column.kind == "number" and isinstance(value, int | float):
        return f"{value:,.{column.digits}f}"
    return str(value)


def filename(table: Table, *parts: str, extension: str) -> str:
    """e.g. equilean_MUH-4W_falls_rate_stratified_2026-11-30.csv"""
    stem = "_".join(["equilean", *[p for p in parts if p], table.name])
    return f"{stem}_{timezone.localdate().isoformat()}.{extension}"


def export(table: Table, fmt: str, *parts: str) -> HttpResponse:
    """`table` as a CSV or XLSX download named for `parts` (node, measure) and today."""
    header, rows = table.export_rows()
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(rows)
        body: bytes | str = buffer.getvalue()
    else:
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = table.name[:31]
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        body = buffer.getvalue()
    response = HttpResponse(body, content_type=FORMATS[fmt])
    name = filename(table, *parts, extension=fmt)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _exported(value, column: Column):
    """A cell as written to a file: whole counts, numbers to the page's digits, yes or no."""
    value = _plain(value)
    if value is None:
        return None
    if column.kind == "flag":
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if not isinstance(value, int | float) or isinstance(value, bool):
        return value
    if column.kind == "count":
        return round(value)
    if column.kind == "percent":
        # A 0-1 share shown as a percentage: keep the digits the percentage shows.
        return round(value, column.digits + 2)
    if column.kind == "number":
        return round(value, column.digits)
    return value
