"""The demo's secret key: random, made once, kept in EQUILEAN_HOME for the owner only."""

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def secret_key(home: Path) -> str:
    """SECRET_KEY as a fresh demo process sees it, with `home` as EQUILEAN_HOME."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EQUILEAN_", "PYTEST", "DATABASE_URL", "DJANGO_"))
    }
    env = {
        **clean,
        "EQUILEAN_ENV": "demo",
        "EQUILEAN_HOME": str(home),
        "DJANGO_SETTINGS_MODULE": "equilean.web.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SECRET_KEY)"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


def test_the_demo_makes_a_random_key_once_and_keeps_it(tmp_path):
    home = tmp_path / "var"
    first = secret_key(home)
    kept = home / "secret_key"
    assert kept.read_text().strip() == first
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert len(first) >= 50
    assert str(home) not in first and "insecure" not in first
    assert secret_key(home) == first
