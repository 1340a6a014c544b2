"""`python -m bench`: time compute variants and FHIR ingest, write JSON and docs/performance.md."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
RESULTS = HERE / "results"
DOC = HERE.parent / "docs" / "performance.md"
EQUILEAN = Path(sys.executable).with_name("equilean")
SIZES = (1_000_000, 10_000_000)
VARIANTS = ("anchor", "equilean", "pandas", "numpy")
# Spark is timed at 1M only, for reference: locally it is expected to be the slowest.
SPARK_SIZES = (1_000_000,)
RUNS = 3
# One round at 10M takes about 12 minutes here (pandas alone about 7), so 3 would not fit.
BIG_RUNS = 1
BIG = 10_000_000
CHECK_SIZE = 1_000_000
TABLES = ("patients", "encounters", "census_days", "appointments")


def prepare(size: int) -> Path:
    """Synthetic extract -> equilean ingest -> canonical Parquet, cached under bench/.data."""
    folder = DATA / f"canonical-{size}"
    if all((folder / f"{t}.parquet").exists() for t in TABLES):
        return folder
    extract, db = DATA / f"enc-{size}", DATA / f"store-{size}.duckdb"
    if not (extract / "manifest.json").exists():
        subprocess.run(
            [EQUILEAN, "synth", "--out", extract, "--encounters", str(size),
             "--end", "2026-10-31", "--quiet"], check=True,
        )  # fmt: skip
    env = {**os.environ, "EQUILEAN_STORE": f"duckdb://{db}"}
    subprocess.run(
        [EQUILEAN, "ingest", extract, "--kind", "equilean", "--quiet"], check=True, env=env
    )
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db), read_only=True)
    for table in TABLES:
        con.execute(f"COPY (SELECT * FROM {table}) TO '{folder / table}.parquet' (FORMAT parquet)")
    return folder


def child(variant: str, folder: Path) -> None:
    """Run one variant and print its row count and wall time as JSON."""
    from bench import fhir, frames, variants

    run = {
        "anchor": variants.anchor,
        "equilean": variants.equilean,
        "spark": variants.spark,
        "pandas": frames.pandas_groupby,
        "numpy": frames.numpy_floor,
        "fhir-equilean": fhir.equilean_ingest,
        "fhir-json": fhir.minimal_loop,
    }[variant]
    start = time.perf_counter()
    rows = run(folder)
    seconds = time.perf_counter() - start
    print(json.dumps({"rows": rows if isinstance(rows, int) else len(rows), "seconds": seconds}))


def measure(variant: str, folder: Path) -> dict:
    """One run in a fresh interpreter: wall time and the child's peak resident memory."""
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench", "--child", variant, str(folder)],
            stdout=subprocess.PIPE, stderr=errors, cwd=HERE.parent,
        )  # fmt: skip
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if status != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"{variant} failed on {folder}:\n{tail}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return {**result, "peak_mb": usage.ru_maxrss / 1024}


def _alternate(label, variants, folder: Path, runs: int) -> dict:
    """Runs of each variant, alternating them: drift in the machine's speed hits all alike."""
    timings = {v: [] for v in variants}
    for _ in range(runs):
        for variant in variants:
            timings[variant].append(measure(variant, folder))
            print(label, variant, timings[variant][-1], flush=True)
    return {
        v: {
            "seconds": statistics.median(r["seconds"] for r in runs_),
            "peak_mb": max(r["peak_mb"] for r in runs_),
            "rows": runs_[0]["rows"],
            "runs": runs_,
        }
        for v, runs_ in timings.items()
    }


def _memory() -> str:
    with open("/proc/meminfo") as info:
        kb = int(info.readline().split()[1])
    return f"{kb / 1024**2:.0f} GB RAM"


def run(sizes, variants, runs: int, big_runs: int, spark: bool, ingest: bool) -> dict:
    # Versions from the package metadata: importing the libraries here would grow this process,
    # and Linux counts the parent's resident size at fork in each child's ru_maxrss.
    machine = (
        f"{os.cpu_count()} cores ({platform.machine()}), {_memory()}, "
        f"Python {platform.python_version()}, DuckDB {version('duckdb')}, "
        f"Ibis {version('ibis-framework')}"
    )
    results = {"date": dt.date.today().isoformat(), "machine": machine, "runs": {}, "sizes": {}}
    for size in sizes:
        folder = prepare(size)
        n = big_runs if size >= BIG else runs
        results["runs"][str(size)] = n
        results["sizes"][str(size)] = _alternate(size, variants, folder, n)
        if spark and size in SPARK_SIZES:
            results["sizes"][str(size)].update(_alternate(size, ["spark"], folder, 1))
    if ingest:
        from bench import fhir

        folder = fhir.prepare(DATA, EQUILEAN)
        results["fhir"] = _alternate("fhir", ["fhir-equilean", "fhir-json"], folder, runs)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "FOLDER"), help=argparse.SUPPRESS)
    parser.add_argument("--check", metavar="FOLDER", help=argparse.SUPPRESS)
    parser.add_argument("--render", metavar="JSON", help="rewrite the doc from saved results")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--runs", type=int, default=RUNS, help="runs per variant below 10M")
    parser.add_argument("--big-runs", type=int, default=BIG_RUNS, help="runs per variant at 10M")
    parser.add_argument("--quick", action="store_true", help="the 1M tier only")
    parser.add_argument("--no-spark", action="store_true", help="skip the Spark reference run")
    parser.add_argument("--no-ingest", action="store_true", help="skip the FHIR ingest runs")
    parser.add_argument("--no-check", action="store_true", help="skip the correctness check")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    sizes = [CHECK_SIZE] if args.quick else [int(s) for s in args.sizes.split(",")]
    if args.render:
        from bench import report

        raw = Path(args.render).resolve()
        DOC.write_text(report.document(json.loads(raw.read_text()), raw.relative_to(HERE.parent)))
        return
    if args.check:
        from bench import check

        check.run(Path(args.check))
        return
    if not args.no_check:
        # In a child, for the same reason as the versions in `run`; it exits non-zero on failure.
        subprocess.run(
            [sys.executable, "-m", "bench", "--check", str(prepare(CHECK_SIZE))],
            check=True, cwd=HERE.parent,
        )  # fmt: skip
    results = run(
        sizes,
        args.variants.split(","),
        args.runs,
        args.big_runs,
        not args.no_spark,
        not args.no_ingest,
    )
    RESULTS.mkdir(exist_ok=True)
    tier = "quick" if args.quick else "full"
    out = RESULTS / f"compute-{results['date']}-{tier}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    from bench import report

    print(report.tables(results))
    if not args.quick:
        DOC.write_text(report.document(results, out.relative_to(HERE.parent)))
    print(f"raw results: {out}" + ("" if args.quick else f"; tables written to {DOC}"))


main()
