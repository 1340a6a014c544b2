"""Web benchmark: refresh time, and server-side render time of the equity pages vs a floor.

Run against a built demo (the app database and store under EQUILEAN_HOME):

    EQUILEAN_HOME=/tmp/demo600/var EQUILEAN_ENV=demo .venv/bin/python bench/web.py
    ... bench/web.py --refresh                 # also time `refresh` on that store
    ... bench/web.py --encounters 1000000      # synth + ingest + refresh 1M in a temp home

Render times go through Django's test client (no network), as p50 and p95 over --runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _setup(home: str | None = None) -> None:
    if home:
        os.environ["EQUILEAN_HOME"] = home
    os.environ.setdefault("EQUILEAN_ENV", "demo")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "equilean.web.settings")
    import django

    django.setup()


def _timed(client, url: str, runs: int) -> tuple[float, float]:
    client.get(url)  # warm caches (templates, the first query plans)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return statistics.median(samples), samples[max(0, round(0.95 * len(samples)) - 1)]


def render(node: str, measure: str, runs: int) -> dict[str, tuple[float, float]]:
    """p50/p95 seconds for the dashboard, the measure page and a minimal Django view."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client(SERVER_NAME="127.0.0.1")
    user = get_user_model().objects.filter(is_superuser=False, username="executive").first()
    client.force_login(user or get_user_model().objects.filter(is_superuser=True).first())
    return {
        "floor (/healthz)": _timed(client, "/healthz", runs),
        # The shell every page shares (session, auth, node switcher, base template).
        "floor (My day)": _timed(client, "/", runs),
        "equity dashboard": _timed(client, f"/nodes/{node}/equity/", runs),
        "measure page": _timed(client, f"/nodes/{node}/measures/{measure}/", runs),
    }


def time_refresh(store_url: str | None = None) -> float:
    from equilean.engine import store
    from equilean.metrics.refresh import refresh

    start = time.perf_counter()
    refresh(store.connect(store_url) if store_url else store.connect())
    return time.perf_counter() - start


def build(encounters: int) -> tuple[str, float]:
    """Synth + ingest `encounters` into a fresh home; returns the home and the refresh time."""
    home = tempfile.mkdtemp(prefix="equilean-bench-")
    _setup(home)
    from django.core.management import call_command

    from equilean.engine import organisation, sources, synth
    from equilean.org.services import create_demo_people, load_tree

    call_command("migrate", verbosity=0)
    load_tree(organisation.load())
    create_demo_people("bench-password")  # the render timings sign in as the executive
    extract = Path(home) / "extract"
    synth.generate(extract, encounters=encounters)
    sources.ingest(extract, kind="equilean", source="bench")
    return home, time_refresh()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node", default="MUH", help="a hospital node (default MUH)")
    parser.add_argument("--measure", default="readmission_30d")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--refresh", action="store_true", help="time refresh on EQUILEAN_HOME")
    parser.add_argument("--encounters", type=int, help="build and time a fresh home this big")
    args = parser.parse_args(argv)
    if args.encounters:
        home, seconds = build(args.encounters)
        print(f"refresh, {args.encounters:,} encounters: {seconds:.1f} s (home {home})")
    else:
        _setup()
        if args.refresh:
            print(f"refresh on EQUILEAN_HOME: {time_refresh():.1f} s")
    results = render(args.node, args.measure, args.runs)
    floor = results["floor (My day)"][0]
    for name, (p50, p95) in results.items():
        print(f"{name:18} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  {p50 / floor:5.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
