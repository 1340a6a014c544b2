"""The data-quality report every load produces: what was read, kept, rejected and why."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Enough examples to find the problem in the extract without copying the extract into the report.
MAX_EXAMPLES = 5


@dataclass
class Rejection:
    """One input row that was not loaded, with where it came from and why."""

    table: str
    reason: str
    file: str | None = None
    row: int | None = None
    field: str | None = None


@dataclass
class CodeFinding:
    """A code that is unknown, invalid or in the wrong place, how often, and where."""

    field: str
    code: str
    count: int
    problem: str
    examples: list[str] = field(default_factory=list)


@dataclass
class QualityReport:
    """Counts, rejections, code findings and completeness for one load of one source.

    ``rows_read`` and ``rows_loaded`` are per canonical table. ``completeness`` holds, per
    field, the share of patients with a usable value (race/ethnicity counts "Unknown" as
    missing and "Asked but declined" as known, since the question was asked).
    """

    source: str
    kind: str
    files: list[str] = field(default_factory=list)
    file_records: dict[str, int] = field(default_factory=dict)
    file_digests: dict[str, str] = field(default_factory=dict)
    resource_types: dict[str, int] = field(default_factory=dict)
    rows_read: dict[str, int] = field(default_factory=dict)
    rows_loaded: dict[str, int] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    findings: list[CodeFinding] = field(default_factory=list)
    unmapped_orgs: dict[str, int] = field(default_factory=dict)
    completeness: dict[str, float] = field(default_factory=dict)

    def add_file(self, path, digest: str, records: int | None = None) -> None:
        """Record one file read: its name, the SHA-256 of its bytes and how many records it held."""
        self.files.append(str(path))
        self.file_digests[str(path)] = digest
        if records is not None:
            self.file_records[str(path)] = records

    def reject(self, table: str, reason: str, file=None, row=None, field=None) -> None:
        """Record one rejected row."""
        self.rejections.append(Rejection(table, reason, file, row, field))

    def rejected(self) -> dict[str, int]:
        """Rejected rows per table."""
        counts: dict[str, int] = {}
        for rej in self.rejections:
            counts[rej.table] = counts.get(rej.table, 0) + 1
        return counts

    def to_dict(self) -> dict:
        """A plain dict, ready for JSON."""
        out = asdict(self)
        out["rows_rejected"] = self.rejected()
        return out

    def to_json(self) -> str:
        """The report as a JSON string."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str)

    def for_store(self) -> dict:
        """The report with every file named only by its position, for the measure store.

        Exporters name files after the patient (Synthea writes ``First_Last_<id>.json``), so the
        copy kept in the store says "file 3" with the file's SHA-256 and record count instead.
        The operator's console and ``--report`` file keep the names.
        """
        position = {Path(name).name: f"file {i}" for i, name in enumerate(self.files, start=1)}
        out = self.to_dict()
        out["files"] = [
            {
                "file": position[Path(name).name],
                "sha256": self.file_digests.get(name),
                "records": self.file_records.get(name),
            }
            for name in self.files
        ]
        del out["file_records"], out["file_digests"]
        for rej in out["rejections"]:
            if rej["file"] is not None:
                rej["file"] = position.get(Path(rej["file"]).name, "file ?")
        for finding in out["findings"]:
            finding["examples"] = [_where_by_position(ex, position) for ex in finding["examples"]]
        return out

    def to_text(self) -> str:
        """The report as a few lines a person reads after `equilean ingest`."""
        rejected = self.rejected()
        lines = [f"source {self.source} ({self.kind}): {len(self.files)} file(s)"]
        for table in sorted(set(self.rows_read) | set(self.rows_loaded)):
            lines.append(
                f"  {table}: read {self.rows_read.get(table, 0)}, "
                f"loaded {self.rows_loaded.get(table, 0)}, rejected {rejected.get(table, 0)}"
            )
        for name, share in sorted(self.completeness.items()):
            lines.append(f"  completeness of {name}: {share:.1%}")
        for finding in self.findings:
            where = "; ".join(finding.examples[:3])
            lines.append(
                f"  {finding.problem}: {finding.field} = {finding.code!r} in {finding.count} "
                f"row(s), e.g. {where}"
            )
        if self.unmapped_orgs:
            names = ", ".join(f"{k} ({v})" for k, v in sorted(self.unmapped_orgs.items()))
            lines.append(f"  unmapped organisations, kept under their raw name: {names}")
        for rej in self.rejections[:20]:
            at = ", ".join(
                p
                for p in (
                    rej.file,
                    f"row {rej.row}" if rej.row is not None else None,
                    rej.field,
                )
                if p
            )
            lines.append(f"  rejected {rej.table} ({at}): {rej.reason}")
        if len(self.rejections) > 20:
            lines.append(f"  ... and {len(self.rejections) - 20} more rejections (see the JSON)")
        return "\n".join(lines)


def _where_by_position(example: str, position: dict[str, str]) -> str:
    """'First_Last_id.json entry 3' -> 'file 2 entry 3' (see `canonical._where`)."""
    match = re.fullmatch(r"(.*) (entry|line|row) (\d+)", example)
    if not match:
        return "file ?"
    return f"{position.get(match.group(1), 'file ?')} {match.group(2)} {match.group(3)}"
