"""The `equilean` command: help everywhere, the demo build, and the manage pass-through."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from equilean.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
# A small synthetic extract keeps these end-to-end runs to seconds.
SMALL = ["--encounters", "8000"]


def run(args, home, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EQUILEAN_", "PYTEST", "DJANGO_", "DATABASE_URL"))
    }
    return subprocess.run(
        [sys.executable, "-m", "equilean.cli", *args],
        env={**clean, "EQUILEAN_HOME": str(home), **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


@pytest.mark.parametrize("command", sorted(build_parser()._subparsers._group_actions[0].choices))
def test_every_subcommand_has_help(command, tmp_path):
    if command == "manage":
        result = run(["manage", "help"], tmp_path, EQUILEAN_ENV="development")
        assert "Available subcommands" in result.stdout
    else:
        result = run([command, "--help"], tmp_path)
        assert result.returncode == 0
        assert "usage: equilean" in result.stdout


def test_demo_builds_prints_the_logins_reruns_safely_and_rebuilds_fresh(tmp_path):
    # One test, three builds: each demo build takes a while even on a small extract.
    home = tmp_path / "home"
    result = run(
        ["demo", "--no-serve", "--quiet", *SMALL], home, EQUILEAN_DEMO_PASSWORD="a-test-password"
    )
    assert result.returncode == 0, result.stderr
    assert "password: a-test-password" in result.stdout
    for username in ("frontline", "unitleader", "deptleader", "executive", "analyst", "admin"):
        assert f"  {username} " in result.stdout
    assert (home / "equilean.sqlite3").exists()
    assert (home / "extract" / "manifest.json").exists()
    marker = home / "leftover.txt"
    marker.write_text("x")
    assert run(["demo", "--no-serve", "--quiet", *SMALL], home).returncode == 0
    assert marker.exists()
    assert run(["demo", "--no-serve", "--quiet", "--fresh", *SMALL], home).returncode == 0
    assert not marker.exists()


def test_an_unknown_command_is_refused_with_status_2(tmp_path):
    result = run(["frobnicate"], tmp_path)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
