"""Readers that turn extracts (FHIR, Synthea CSV, CSV/Parquet with a mapping) into store loads.

>>> from equilean.engine import sources, store
>>> report = sources.ingest("extract/", kind="synthea-csv", con=store.connect())  # doctest: +SKIP
>>> print(report.to_text())  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import ibis
import pandas as pd
import yaml

from equilean.engine import organisation as org
from equilean.engine import store
from equilean.engine.errors import InputError, LoadRefused
from equilean.engine.sources import canonical, fhir, tabular
from equilean.engine.sources.quality import CodeFinding, QualityReport, Rejection

__all__ = ["CodeFinding", "QualityReport", "Rejection", "ingest", "read_extract"]

KINDS = ("fhir", "synthea-csv", "equilean")
# Above this share of rejected rows a load is refused: the extract itself is probably broken.
DEFAULT_MAX_REJECTED = 0.01


def _org_map(org_map: dict[str, str] | str | Path | None) -> dict[str, str]:
    if org_map is None or isinstance(org_map, dict):
        return dict(org_map or {})
    path = Path(org_map)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(str(exc), file=str(path), hint="give a readable YAML file") from exc
    if not isinstance(raw, dict):
        raise InputError(
            "expected 'name or reference: org code' lines",
            file=str(path),
            hint="e.g.  SOUTHCOAST HOSPITAL GROUP, INC: RIV",
        )
    return {str(k): str(v) for k, v in raw.items()}


def _patient_payer(pat: pd.DataFrame, enc: pd.DataFrame) -> pd.DataFrame:
    """Give patients without a payer the payer of their latest encounter (Synthea CSV)."""
    if "payer" not in enc or ("payer" in pat and pat["payer"].notna().any()):
        return pat
    latest = (
        enc.dropna(subset=["payer"])
        .sort_values(["patient_id", "start_time"], kind="stable")
        .drop_duplicates("patient_id", keep="last")
        .set_index("patient_id")["payer"]
    )
    return pat.assign(payer=pat["patient_id"].map(latest))


def read_extract(
    path: str | Path,
    kind: str = "fhir",
    source: str | None = None,
    org_map: dict[str, str] | str | Path | None = None,
    organisation: org.Organisation | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, pd.DataFrame], QualityReport]:
    """Read and check an extract without touching a store.

    Parameters
    ----------
    path
        A FHIR file or directory, or a directory of CSV / Parquet files.
    kind
        ``"fhir"``, ``"synthea-csv"``, ``"equilean"`` or the path of a mapping YAML.
    source
        The load key; defaults to the extract's file or directory name.
    org_map
        Organisation / location references or names -> org codes (a dict or a YAML file).
        Values that are already codes in `organisation` need no entry.
    organisation
        The health-system tree (the demo one by default), to recognise unit and hospital codes.
    progress
        Called as ``progress(done, total)`` while files are read.

    Returns
    -------
    tables, report
        The canonical tables the extract has, as DataFrames (without ``source``), and the
        quality report.
        A malformed file raises `InputError`.
    """
    path = Path(path)
    source = source or path.stem
    if kind == "fhir":
        extract = fhir.read(path, source, progress)
    else:
        extract = tabular.read(path, tabular.load_mapping(kind), source, progress)
    report = extract.report
    frames = extract.frames
    empty = pd.DataFrame(columns=["_file", "_row"])
    pat_raw = frames.get("patients", empty.assign(patient_id=None))
    enc_raw = frames.get("encounters", empty.assign(encounter_id=None, patient_id=None))
    for name, frame in frames.items():
        # Rows the reader already rejected (a truncated CSV row) were read too.
        report.rows_read[name] = len(frame) + report.rejected().get(name, 0)
    if "start_time" in enc_raw:
        pat_raw = _patient_payer(pat_raw, enc_raw)
    tables = {"patients": canonical.patients(report, pat_raw)}
    ids = tables["patients"]["patient_id"]
    if "encounters" in frames:
        tables["encounters"] = canonical.encounters(
            report, enc_raw, ids, extract.org_refs, _org_map(org_map), organisation or org.load()
        )
    if "census_days" in frames:
        encounter_ids = tables.get("encounters", pd.DataFrame(columns=["encounter_id"]))
        tables["census_days"] = canonical.census_days(
            report, frames["census_days"], encounter_ids["encounter_id"]
        )
    if "appointments" in frames:
        tables["appointments"] = canonical.appointments(report, frames["appointments"], ids)
    canonical.completeness(report, tables["patients"])
    report.rows_loaded = {name: len(frame) for name, frame in tables.items()}
    return tables, report


def _check_rejections(report: QualityReport, max_rejected: float | int) -> None:
    """Refuse a load with no usable rows, or with more rejected rows than allowed."""
    read = sum(report.rows_read.values())
    rejected = len(report.rejections)
    if not sum(report.rows_loaded.values()):
        found = ", ".join(f"{k} ({v:,})" for k, v in sorted(report.resource_types.items()))
        raise LoadRefused(
            f"no usable rows: {read:,} read, {rejected:,} rejected, nothing to load"
            + (f"; the files hold only {found}" if found and not read else "")
            + ". The store was not changed",
            report,
            hint="check the path and --kind (FHIR needs Patient and Encounter resources)",
        )
    limit = max_rejected if isinstance(max_rejected, int) else round(max_rejected * read, 6)
    if rejected > limit:
        allowed = (
            f"{max_rejected:,} rows" if isinstance(max_rejected, int) else f"{max_rejected:.1%}"
        )
        raise LoadRefused(
            f"{rejected:,} of {read:,} rows were rejected ({rejected / read:.1%}), more than "
            f"the {allowed} allowed. The store was not changed",
            report,
            hint="fix the rows listed in the report (each with its file, row and field), "
            "or allow more with --max-rejected (e.g. --max-rejected 5%)",
            field="max_rejected",
        )


def ingest(
    path: str | Path,
    kind: str = "fhir",
    con: ibis.BaseBackend | None = None,
    source: str | None = None,
    org_map: dict[str, str] | str | Path | None = None,
    organisation: org.Organisation | None = None,
    progress: Callable[[int, int], None] | None = None,
    allow_shrink: bool = False,
    max_rejected: float | int = DEFAULT_MAX_REJECTED,
) -> QualityReport:
    """Read an extract and load it into the measure store, replacing the source's old rows.

    Parameters
    ----------
    path, kind, org_map, organisation, progress
        As for `read_extract`.
    con
        The store (`equilean.engine.store.connect()` by default).
    source
        The load key: a directory's name by default. A single file needs one, since an
        exporter's file names may carry a patient's name (Synthea's ``First_Last_<id>.json``).
    allow_shrink
        Allow a reload to cut the source's patients or encounters by more than 20%.
    max_rejected
        The most rejected rows allowed: a share of the rows read (a float, default 1%) or a
        number of rows (an int).

    Returns
    -------
    QualityReport
        What was read, loaded and rejected; also stored in the store's ``loads`` table, with
        files named only by position.

    Raises
    ------
    InputError
        A malformed file, a single file without `source`, or a reload that would shrink the
        source (`store.load`); `LoadRefused` (with the report) for a load with no usable rows
        or too many rejected ones. In every case nothing is written.
    """
    if source is None and Path(path).is_file():
        raise InputError(
            "a single file needs a source name",
            file=str(path),
            field="source",
            hint="give --source NAME (a file's name may carry a patient's name, and the "
            "source name is kept with every row)",
        )
    tables, report = read_extract(path, kind, source, org_map, organisation, progress)
    _check_rejections(report, max_rejected)
    store.load(
        con or store.connect(),
        tables,
        report.source,
        report,
        max_shrink=None if allow_shrink else store.DEFAULT_MAX_SHRINK,
    )
    return report
