"""Errors the engine raises for bad input: each names where the problem is and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class InputError(Exception):
    """Bad input in a file the user gave us, located by file, row (data) or line (YAML), field."""

    message: str
    file: str | None = None
    row: int | None = None
    field: str | None = None
    hint: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                self.file,
                f"line {self.line}" if self.line is not None else None,
                f"row {self.row}" if self.row is not None else None,
                f"field '{self.field}'" if self.field else None,
            )
            if part
        )
        text = f"{where}: {self.message}" if where else self.message
        return f"{text}\n  fix: {self.hint}" if self.hint else text


class LoadRefused(InputError):
    """A load that was read and checked but not written; `report` says what was found."""

    def __init__(self, message: str, report, hint: str | None = None, field: str | None = None):
        super().__init__(message, field=field, hint=hint)
        self.report = report
