"""CSV / Parquet reader driven by a mapping YAML that names exactly which columns are kept.

A mapping file looks like this (see docs/ingest.md for the full format)::

    name: synthea-csv
    lookups:
      payer_name: {file: payers.csv, key: Id, value: NAME}
    tables:
      patients:
        file: patients.csv
        columns:
          patient_id: Id
          sex: {column: GENDER, values: {M: male, F: female}}
      encounters:
        file: [encounters.parquet, encounters.csv]
        columns:
          payer: {column: PAYER, lookup: payer_name}

Only the columns a mapping names are read from the files (data minimisation): a column the
mapping does not mention, such as SSN or a street address, is never loaded into memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from equilean.engine.errors import InputError, decode_utf8
from equilean.engine.sources.fhir import Extract
from equilean.engine.sources.quality import QualityReport

TABLES = ("patients", "encounters", "census_days", "appointments")
PRESETS = {"synthea-csv": "synthea-csv.yaml", "equilean": "equilean-parquet.yaml"}
# Nullable pandas dtypes, so a boolean column with gaps stays boolean rather than object.
_PANDAS_TYPES = {
    pa.bool_(): pd.BooleanDtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.int32(): pd.Int64Dtype(),
    pa.float64(): pd.Float64Dtype(),
}


@dataclass(frozen=True)
class ColumnRule:
    """Where one canonical column comes from: a source column, value map, lookup or constant."""

    target: str
    column: str | None = None
    values: dict[str, str] | None = None
    lookup: str | None = None
    constant: str | None = None


@dataclass(frozen=True)
class Lookup:
    """A key -> value table in another file (e.g. payer id -> payer name)."""

    file: str
    key: str
    value: str


@dataclass(frozen=True)
class TableRule:
    """One canonical table: the candidate files and the rule for each kept column."""

    name: str
    files: tuple[str, ...]
    columns: tuple[ColumnRule, ...]
    required: bool = True


@dataclass(frozen=True)
class Mapping:
    """A whole mapping file."""

    name: str
    tables: dict[str, TableRule]
    lookups: dict[str, Lookup] = field(default_factory=dict)
    path: str | None = None


def preset_path(name: str) -> Path:
    """The bundled mapping file for a preset name (``synthea-csv`` or ``equilean``)."""
    return Path(str(resources.files("equilean.engine") / "data" / "mappings" / PRESETS[name]))


def _fail(path, message, field=None, hint="see docs/ingest.md for the mapping format"):
    raise InputError(message, file=str(path), field=field, hint=hint)


def _column_rule(path, table: str, target: str, spec) -> ColumnRule:
    where = f"tables.{table}.columns.{target}"
    if isinstance(spec, str):
        return ColumnRule(target, column=spec)
    if not isinstance(spec, dict):
        _fail(path, "a column rule is a source column name or a mapping", where)
    unknown = set(spec) - {"column", "values", "lookup", "value"}
    if unknown:
        _fail(path, f"unknown key(s) {sorted(unknown)}", where)
    if ("column" in spec) == ("value" in spec):
        _fail(path, "give exactly one of 'column' or 'value'", where)
    values = spec.get("values")
    if values is not None and not isinstance(values, dict):
        _fail(path, "'values' maps source values to canonical ones", where)
    return ColumnRule(
        target,
        column=spec.get("column"),
        values={str(k): str(v) for k, v in values.items()} if values else None,
        lookup=spec.get("lookup"),
        constant=None if spec.get("value") is None else str(spec["value"]),
    )


def load_mapping(path_or_preset: str | Path) -> Mapping:
    """Read and check a mapping file, or a bundled preset by name.

    Parameters
    ----------
    path_or_preset
        ``"synthea-csv"``, ``"equilean"``, or the path of a mapping YAML file.

    Returns
    -------
    Mapping
        The checked mapping; a malformed file raises `InputError` naming the bad key.
    """
    key = str(path_or_preset)
    path = preset_path(key) if key in PRESETS else Path(key)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(str(exc), file=str(path), hint="give a readable mapping YAML") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("tables"), dict):
        _fail(path, "a mapping needs a 'tables' section", "tables")
    lookups = {}
    for name, spec in (raw.get("lookups") or {}).items():
        if not isinstance(spec, dict) or set(spec) != {"file", "key", "value"}:
            _fail(path, "a lookup has exactly file, key and value", f"lookups.{name}")
        lookups[name] = Lookup(str(spec["file"]), str(spec["key"]), str(spec["value"]))
    tables = {}
    for name, spec in raw["tables"].items():
        if name not in TABLES:
            _fail(path, f"unknown table {name!r}; use one of {', '.join(TABLES)}", "tables")
        if not isinstance(spec, dict) or "file" not in spec or "columns" not in spec:
            _fail(path, "a table needs 'file' and 'columns'", f"tables.{name}")
        files = spec["file"] if isinstance(spec["file"], list) else [spec["file"]]
        rules = tuple(_column_rule(path, name, t, s) for t, s in spec["columns"].items())
        for rule in rules:
            if rule.lookup and rule.lookup not in lookups:
                _fail(path, f"lookup {rule.lookup!r} is not defined", f"tables.{name}.columns")
        tables[name] = TableRule(
            name, tuple(map(str, files)), rules, bool(spec.get("required", True))
        )
    return Mapping(str(raw.get("name") or path.stem), tables, lookups, str(path))


def _digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_csv(path: Path, columns: list[str]) -> tuple[pd.DataFrame, list[tuple[int, int, int]]]:
    """Only `columns` of a CSV file, as text, and the rows with too few or too many fields.

    A short row is usually a truncated export: it is left out here and rejected by the caller
    with its row number, rather than loaded with its last fields silently empty.
    """
    ragged: list[tuple[int, int, int]] = []

    def skip(row) -> str:
        ragged.append((row.number, row.expected_columns, row.actual_columns))
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            # One thread, so that rows arrive in order and keep their numbers.
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip),
            convert_options=pacsv.ConvertOptions(
                include_columns=columns,
                column_types=dict.fromkeys(columns, pa.string()),
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except KeyError as exc:
        raise InputError(
            f"column not in the file ({exc.args[0]})",
            file=str(path),
            field=next((c for c in columns if f"'{c}'" in str(exc)), None),
            hint="fix the mapping's column names or export these columns",
        ) from exc
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc):
            decode_utf8(path, path.read_bytes(), by_line=True)
        raise InputError(
            f"cannot read the file: {exc}",
            file=str(path),
            hint="check the delimiter and quoting",
        ) from exc
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    # Row numbers as a person sees them: line 1 is the header; skipped rows keep their numbers.
    numbers = pd.RangeIndex(2, 2 + len(frame) + len(ragged))
    frame.index = numbers.difference(pd.Index([n for n, _, _ in ragged])) - 2
    return frame, ragged


def _read_file(path: Path, columns: list[str]) -> tuple[pd.DataFrame, list[tuple[int, int, int]]]:
    """Only `columns` of a CSV or Parquet file, and (CSV) the rows with the wrong field count."""
    try:
        if path.suffix != ".parquet":
            return _read_csv(path, columns)
        have = pq.read_schema(path).names
        missing = [c for c in columns if c not in have]
        if missing:
            raise InputError(
                f"column(s) {', '.join(missing)} not in the file",
                file=str(path),
                field=missing[0],
                hint="fix the mapping's column names or export these columns",
            )
        table = pq.read_table(path, columns=columns)
        return table.to_pandas(types_mapper=_PANDAS_TYPES.get), []
    except (OSError, pa.ArrowException) as exc:
        raise InputError(
            f"cannot read the file: {exc}",
            file=str(path),
            hint="give a readable CSV or Parquet file",
        ) from exc


def _find(root: Path, candidates: tuple[str, ...]) -> Path | None:
    return next((root / c for c in candidates if (root / c).exists()), None)


def read(
    path: str | Path,
    mapping: Mapping,
    source: str,
    progress: Callable[[int, int], None] | None = None,
) -> Extract:
    """Read an extract directory through a mapping into raw canonical frames.

    Parameters
    ----------
    path
        The directory holding the extract's files (file names come from the mapping).
    mapping
        From `load_mapping`.
    source
        The load key that the report is written for.
    progress
        Called as ``progress(tables_done, tables_total)``.

    Returns
    -------
    Extract
        One frame per mapped table, the report, and no organisation references (lookups
        have already turned ids into names).
    """
    root = Path(path)
    if not root.is_dir():
        raise InputError(
            "not a directory",
            file=str(root),
            hint="give the directory that holds the extract's files",
        )
    report = QualityReport(source=source, kind=mapping.name)
    lookups: dict[str, pd.Series] = {}
    for name, lookup in mapping.lookups.items():
        file = root / lookup.file
        if not file.exists():
            raise InputError(
                "lookup file not found",
                file=str(file),
                hint=f"the mapping's lookup {name!r} needs this file",
            )
        frame, _ = _read_file(file, [lookup.key, lookup.value])
        lookups[name] = frame.drop_duplicates(lookup.key).set_index(lookup.key)[lookup.value]
        report.add_file(file, _digest(file), len(frame))
    frames = {}
    for done, rule in enumerate(mapping.tables.values(), start=1):
        file = _find(root, rule.files)
        if file is None:
            if rule.required:
                raise InputError(
                    f"no file for table {rule.name}",
                    file=str(root / rule.files[0]),
                    hint=f"the mapping expects one of: {', '.join(rule.files)}",
                )
            continue
        wanted = sorted({c.column for c in rule.columns if c.column})
        raw, ragged = _read_file(file, wanted)
        report.add_file(file, _digest(file), len(raw) + len(ragged))
        for number, expected, actual in ragged:
            report.reject(
                rule.name,
                f"has {actual} of {expected} fields (truncated or misquoted row)",
                file=file.name,
                row=number,
            )
        frame = pd.DataFrame(index=raw.index)
        for col in rule.columns:
            if col.constant is not None:
                frame[col.target] = col.constant
                continue
            values = raw[col.column]
            if col.values:
                values = values.map(
                    lambda v, m=col.values: m.get(v, v) if isinstance(v, str) else v
                )
            if col.lookup:
                values = values.map(lookups[col.lookup]).astype("string").fillna(values)
            frame[col.target] = values
        frame["_file"] = file.name
        # Row numbers as a person sees them: CSV line 1 is the header.
        frame["_row"] = raw.index + (1 if file.suffix == ".parquet" else 2)
        frames[rule.name] = frame
        if progress:
            progress(done, len(mapping.tables))
    return Extract(frames=frames, report=report)
