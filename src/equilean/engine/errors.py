"""Errors the engine raises for bad input: each names where the problem is and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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


def decode_utf8(path: Path, raw: bytes, by_line: bool) -> str:
    """A file's text; bytes that are not UTF-8 are bad input named by byte offset (and line)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text: byte {exc.start:,} ({raw[exc.start : exc.start + 1]!r}) "
            "cannot be decoded",
            file=str(path),
            row=raw.count(b"\n", 0, exc.start) + 1 if by_line else None,
            hint="save or export the file as UTF-8, or convert it (e.g. iconv -f latin1 -t utf-8)",
        ) from None
