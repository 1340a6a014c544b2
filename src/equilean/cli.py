"""The `equilean` command: demo, serve, manage, and the analytics subcommands."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

DEFAULT_DEMO_PASSWORD = "demo-password"
EXIT_BAD_INPUT = 2
DEMO_ENCOUNTERS = 600_000


class BadInput(Exception):
    """Input the user can fix; printed without a traceback, exit status 2."""


def _django(environment: str | None = None) -> None:
    """Configure Django once; `environment` sets EQUILEAN_ENV unless the user already did."""
    if environment:
        os.environ.setdefault("EQUILEAN_ENV", environment)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "equilean.web.settings")
    import django

    django.setup()


def _manage(*args: str) -> None:
    from django.core.management import call_command

    call_command(*args)


def cmd_manage(args: argparse.Namespace) -> int:
    _django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["equilean manage", *args.rest])
    return 0


def _serve(host: str, port: int, threads: int) -> None:
    from waitress import serve

    from equilean.web.wsgi import application, server_options

    serve(application, host=host, port=port, threads=threads, ident="equilean", **server_options())


def cmd_serve(args: argparse.Namespace) -> int:
    _django()
    if not args.no_collectstatic:
        _manage("collectstatic", "--noinput", "--verbosity", "0")
    print(f"equilean serving on http://{args.host}:{args.port}", flush=True)
    _serve(args.host, args.port, args.threads)
    return 0


def _demo_extract(extract: Path, encounters: int) -> None:
    """The demo's synthetic extract, made once; it ends with last month, so refresh sees
    whole months."""
    from datetime import date, timedelta

    from equilean.engine import synth

    if (extract / "manifest.json").exists():
        return
    last_month_end = date.today().replace(day=1) - timedelta(days=1)
    # Two years at a mid-size system's volume: enough for 3-month equity comparisons to find
    # the embedded gaps after correcting for the many comparisons at each node.
    synth.generate(
        extract,
        seed=7,
        encounters=DEMO_ENCOUNTERS,
        years=2,
        end=last_month_end,
        progress=lambda done, total: None,
    )


def _demo_ingest(extract: Path) -> None:
    from equilean.engine import sources

    sources.ingest(extract, kind="equilean", source="demo-synthetic")


def cmd_demo(args: argparse.Namespace) -> int:
    home = Path(os.environ.setdefault("EQUILEAN_HOME", "var")).resolve()
    if args.fresh and home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    _django("demo")
    from tqdm import tqdm

    from equilean.engine import organisation
    from equilean.org.services import create_demo_people, load_tree

    password = os.environ.get("EQUILEAN_DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD)
    started = time.perf_counter()
    extract = home / "extract"
    steps = [
        ("Migrating the database", lambda: _manage("migrate", "--noinput", "--verbosity", "0")),
        ("Loading Meridian Health", lambda: load_tree(organisation.load())),
        ("Creating demo people", lambda: create_demo_people(password)),
        ("Generating synthetic patients", lambda: _demo_extract(extract, args.encounters)),
        ("Loading the measure store", lambda: _demo_ingest(extract)),
        ("Computing measures and signals", lambda: _manage("refresh", "--verbosity", "0")),
        (
            "Collecting static files",
            lambda: _manage("collectstatic", "--noinput", "--verbosity", "0"),
        ),
    ]
    with tqdm(steps, desc="equilean demo", unit="step", disable=args.quiet) as bar:
        for label, step in bar:
            bar.set_postfix_str(label)
            step()
    elapsed = time.perf_counter() - started
    from equilean.org.services import DEMO_PEOPLE

    url = f"http://{args.host}:{args.port}"
    print(f"\nequilean demo ready in {elapsed:.1f}s (data in {home})")
    print(f"Open {url} and sign in as one of (password: {password}):")
    for person in DEMO_PEOPLE:
        print(f"  {person.username:<11} {person.title} [{person.role}]")
    sys.stdout.flush()
    if args.no_serve:
        return 0
    print(f"\nServing on {url}  (Ctrl+C to stop)", flush=True)
    _serve(args.host, args.port, threads=8)
    return 0


def _bar(desc: str, disable: bool = False):
    """A progress callback `(done, total)` drawing a tqdm bar, and the bar to close."""
    from tqdm import tqdm

    bar = tqdm(desc=desc, total=0, unit="row", unit_scale=True, disable=disable, dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    return update, bar


def _engine_call(func, *args, **kwargs):
    """Run an engine step, turning its InputError into a clean message and status 2."""
    from equilean.engine.errors import InputError

    try:
        return func(*args, **kwargs)
    except InputError as exc:
        raise BadInput(str(exc)) from exc


def cmd_synth(args: argparse.Namespace) -> int:
    from equilean.engine import synth

    update, bar = _bar("synth", args.quiet)
    try:
        manifest = _engine_call(
            synth.generate,
            args.out,
            seed=args.seed,
            encounters=args.encounters,
            fmt=args.format,
            end=args.end,
            years=args.years,
            progress=update,
        )
    finally:
        bar.close()
    rows = ", ".join(f"{name} {count:,}" for name, count in manifest["rows"].items())
    print(f"wrote {args.out}: {rows}")
    print(
        f"ground truth: {Path(args.out) / 'manifest.json'} "
        f"({len(manifest['effects'])} embedded effects)"
    )
    print(f"next: equilean ingest {args.out} --kind {manifest['ingest_kind']}")
    return 0


def _write_report(report, path: str | None) -> None:
    print(report.to_text())
    if path:
        Path(path).write_text(report.to_json())
        print(f"data-quality report written to {path}")


def cmd_ingest(args: argparse.Namespace) -> int:
    from equilean.engine import sources, store
    from equilean.engine.errors import LoadRefused

    con = _engine_call(store.connect, args.store)
    update, bar = _bar("ingest", args.quiet)
    try:
        try:
            report = _engine_call(
                sources.ingest,
                args.path,
                kind=args.kind,
                con=con,
                source=args.source,
                org_map=args.org_map,
                progress=update,
                allow_shrink=args.allow_shrink,
                max_rejected=args.max_rejected,
            )
        finally:
            bar.close()
    except BadInput as exc:
        # A refused load still shows which rows were the trouble; the store is as it was.
        if isinstance(exc.__cause__, LoadRefused):
            _write_report(exc.__cause__.report, args.report)
        raise
    _write_report(report, args.report)
    return 0


def _rejected_limit(text: str) -> float | int:
    """'1%' (a share of the rows read) or '200' (a number of rows)."""
    try:
        if text.endswith("%"):
            share = float(text[:-1]) / 100
            if not 0 <= share <= 1:
                raise ValueError
            return share
        count = int(text)
        if count < 0:
            raise ValueError
        return count
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a share like 2% or a number of rows like 200"
        ) from None


def cmd_measures(args: argparse.Namespace) -> int:
    from equilean.engine import measures

    if args.action == "check":
        if not args.files:
            raise BadInput("measures check: give one or more YAML files or folders")
        problems = [error for path in args.files for error in measures.check(path)]
        for error in problems:
            print(error, file=sys.stderr)
        if problems:
            print(f"{len(problems)} problem(s) found", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"ok: {', '.join(args.files)}")
        return 0
    catalogue = measures.builtin_catalogue()
    if args.files:
        catalogue = _engine_call(measures.read_catalogue, args.files, catalogue)
    rows = sorted(catalogue.measures.values(), key=lambda m: (m.pillar, m.id))
    width = max(len(m.id) for m in rows)
    for m in rows:
        print(f"{m.id:<{width}}  {m.pillar:<11} {m.type:<10} better {m.better:<6} {m.name}")
    return 0


def cmd_compute(args: argparse.Namespace) -> int:
    from equilean.engine import compute, store

    con = _engine_call(store.connect, args.store)
    measures = args.measures.split(",") if args.measures else None
    dimensions = args.dimensions.split(",") if args.dimensions else None
    started = time.perf_counter()
    frame = _engine_call(
        compute.compute,
        con,
        measures,
        dimensions=dimensions,
        grains=tuple(args.grain),
    )
    out = Path(args.out)
    if out.suffix == ".csv":
        frame.to_csv(out, index=False)
    elif out.suffix == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        raise BadInput(f"{out}: use a .parquet or .csv file name for --out")
    print(f"{len(frame):,} aggregate rows in {time.perf_counter() - started:.1f}s -> {out}")
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    _django()
    options = ["refresh", "--window-months", str(args.window_months)]
    if args.store:
        options += ["--store", args.store]
    _manage(*options, "--verbosity", "0" if args.quiet else "1")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="equilean",
        description="Equity-focused Lean daily management for hospitals and health systems.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="build the demo health system and serve it",
        description="Create var/ (SQLite), migrate, load Meridian Health and one person per "
        "role, then serve on http://127.0.0.1:8000. Safe to re-run.",
    )
    demo.add_argument("--fresh", action="store_true", help="delete EQUILEAN_HOME and rebuild")
    demo.add_argument("--no-serve", action="store_true", help="build, print logins, and exit")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument(
        "--encounters",
        type=int,
        default=DEMO_ENCOUNTERS,
        help=f"size of the synthetic extract (default {DEMO_ENCOUNTERS:,})",
    )
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser(
        "serve",
        help="run the production web server",
        description="Serve the app with waitress on the configured database.",
    )
    serve.add_argument("--host", default=os.environ.get("EQUILEAN_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("EQUILEAN_PORT", "8000")))
    serve.add_argument("--threads", type=int, default=8)
    serve.add_argument(
        "--no-collectstatic",
        action="store_true",
        help="skip collecting static files (done at deploy time)",
    )
    serve.set_defaults(func=cmd_serve)

    synth = sub.add_parser(
        "synth",
        help="write a synthetic health system's extract",
        description="Generate patients, encounters, census days and appointments for the demo "
        "organisation, deterministic from a seed, with a ground-truth manifest.json.",
    )
    synth.add_argument("--out", required=True, help="output folder (created)")
    synth.add_argument("--seed", type=int, default=7)
    synth.add_argument(
        "--encounters",
        type=int,
        default=150_000,
        help="about how many encounters (default 150000; 10 million streams)",
    )
    synth.add_argument("--format", choices=["parquet", "csv", "fhir"], default="parquet")
    synth.add_argument(
        "--end",
        type=_date,
        default=None,
        help="last day of data, YYYY-MM-DD (default: end of last month)",
    )
    synth.add_argument("--years", type=int, default=3)
    synth.add_argument("--quiet", action="store_true", help="no progress bar")
    synth.set_defaults(func=cmd_synth)

    ingest = sub.add_parser(
        "ingest",
        help="load an extract into the measure store",
        description="Validate an extract, map its codes and load it into the measure store "
        "atomically, replacing the same source's earlier load. Prints a data-quality report.",
    )
    ingest.add_argument("path", help="a file or folder: FHIR bundles/NDJSON, CSV or Parquet")
    ingest.add_argument(
        "--kind",
        default="fhir",
        help="fhir, synthea-csv, equilean (synthetic output) or a mapping YAML",
    )
    ingest.add_argument("--source", help="the load's key (default: the path's name)")
    ingest.add_argument("--store", help="measure store URL (default: EQUILEAN_STORE)")
    ingest.add_argument("--org-map", help="YAML mapping organisation/location names to codes")
    ingest.add_argument("--report", help="also write the data-quality report as JSON here")
    ingest.add_argument(
        "--allow-shrink",
        action="store_true",
        help="allow a reload to cut the source's patients or encounters by more than 20%%",
    )
    ingest.add_argument(
        "--max-rejected",
        type=_rejected_limit,
        default=0.01,
        metavar="LIMIT",
        help="refuse the load above this many rejected rows: a share like 1%% (the default) "
        "or a number of rows like 200",
    )
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.set_defaults(func=cmd_ingest)

    measures = sub.add_parser(
        "measures",
        help="list or check measure definitions",
        description="`list` shows the measure library; `check FILE...` validates YAML "
        "definitions and reports each problem with file, line and field.",
    )
    measures.add_argument("action", choices=["list", "check"])
    measures.add_argument("files", nargs="*", help="YAML files or folders")
    measures.set_defaults(func=cmd_measures)

    compute = sub.add_parser(
        "compute",
        help="compute stratified aggregates into a file",
        description="Numerator and denominator of each measure by node, period, dimension "
        "and group, computed in the measure store's engine.",
    )
    compute.add_argument("--out", required=True, help="a .parquet or .csv file")
    compute.add_argument("--store", help="measure store URL (default: EQUILEAN_STORE)")
    compute.add_argument("--measures", help="comma-separated measure ids (default: all)")
    compute.add_argument(
        "--dimensions", help="comma-separated dimension ids (default: each measure's own)"
    )
    compute.add_argument(
        "--grain",
        action="append",
        choices=["day", "week", "month"],
        default=None,
        help="period length; repeat for several (default month)",
    )
    compute.set_defaults(func=cmd_compute)

    refresh = sub.add_parser(
        "refresh",
        help="recompute observations and signals (run nightly)",
        description="Compute every active measure from the store into the app's observations, "
        "then raise or update signals. Re-running changes nothing.",
    )
    refresh.add_argument("--store", help="measure store URL (default: EQUILEAN_STORE)")
    refresh.add_argument("--window-months", type=int, default=3)
    refresh.add_argument("--quiet", action="store_true", help="no progress bar")
    refresh.set_defaults(func=cmd_refresh)

    manage = sub.add_parser(
        "manage",
        help="run a Django management command",
        add_help=False,
        description="Pass-through to Django's manage.py, e.g. `equilean manage migrate`.",
    )
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def _date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-10-31") from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "grain", 0) is None:
        args.grain = ["month"]
    try:
        return args.func(args)
    except BadInput as exc:
        print(f"equilean {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
