"""`python -m bench`: time compute variants at 1M and 10M encounters, write JSON and a table."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
RESULTS = HERE / "results"
DOC = HERE.parent / "docs" / "performance.md"
EQUILEAN = Path(sys.executable).with_name("equilean")
SIZES = (1_000_000, 10_000_000)
VARIANTS = ("anchor", "equilean")
RUNS = 3
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
    from bench import variants

    start = time.perf_counter()
    rows = getattr(variants, variant)(folder)
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - start}))


def measure(variant: str, folder: Path) -> dict:
    """One run in a fresh interpreter: wall time and the child's peak resident memory."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "--child", variant, str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=HERE.parent,
    )  # fmt: skip
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"{variant} failed on {folder}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return {**result, "peak_mb": usage.ru_maxrss / 1024}


def run(sizes, variants, runs: int) -> dict:
    machine = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    results = {"date": dt.date.today().isoformat(), "machine": machine, "sizes": {}}
    for size in sizes:
        folder = prepare(size)
        timings = {v: [] for v in variants}
        # Alternating the variants spreads any drift in the machine's speed over all of them.
        for _ in range(runs):
            for variant in variants:
                timings[variant].append(measure(variant, folder))
                print(size, variant, timings[variant][-1], flush=True)
        results["sizes"][str(size)] = {
            v: {
                "seconds": statistics.median(r["seconds"] for r in runs_),
                "peak_mb": max(r["peak_mb"] for r in runs_),
                "rows": runs_[0]["rows"],
                "runs": runs_,
            }
            for v, runs_ in timings.items()
        }
    return results


def table(results: dict) -> str:
    lines = ["| encounters | variant | median wall (s) | ratio to anchor | peak memory (MB) |",
             "|---|---|---|---|---|"]  # fmt: skip
    for size, by_variant in results["sizes"].items():
        anchor = by_variant.get("anchor", {}).get("seconds")
        for variant, r in by_variant.items():
            ratio = f"{r['seconds'] / anchor:.2f}" if anchor else "-"
            lines.append(
                f"| {int(size):,} | {variant} | {r['seconds']:.1f} | {ratio} | {r['peak_mb']:.0f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "FOLDER"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    results = run(sizes, args.variants.split(","), args.runs)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"compute-{results['date']}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(f"raw results: {out}; paste the table into {DOC}")


main()
