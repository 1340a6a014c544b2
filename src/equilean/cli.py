"""The `equilean` command: demo, serve, manage, and the analytics subcommands."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

DEFAULT_DEMO_PASSWORD = "demo-password"


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

    from equilean.web.wsgi import application

    serve(application, host=host, port=port, threads=threads, ident="equilean")


def cmd_serve(args: argparse.Namespace) -> int:
    _django()
    if not args.no_collectstatic:
        _manage("collectstatic", "--noinput", "--verbosity", "0")
    print(f"equilean serving on http://{args.host}:{args.port}", flush=True)
    _serve(args.host, args.port, args.threads)
    return 0


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
    steps = [
        ("Migrating the database", lambda: _manage("migrate", "--noinput", "--verbosity", "0")),
        ("Loading Meridian Health", lambda: load_tree(organisation.load())),
        ("Creating demo people", lambda: create_demo_people(password)),
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

    manage = sub.add_parser(
        "manage",
        help="run a Django management command",
        add_help=False,
        description="Pass-through to Django's manage.py, e.g. `equilean manage migrate`.",
    )
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
