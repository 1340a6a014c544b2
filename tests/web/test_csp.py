"""Content-Security-Policy: on every response, strict, and nothing inline left to allow."""

import re
from pathlib import Path

from django.urls import reverse

SRC = Path(__file__).resolve().parents[2] / "src" / "equilean"
INLINE_STYLE = re.compile(r"\sstyle\s*=|<style", re.I)
# A <script> element with a body: anything but an external file or JSON data.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def test_every_page_carries_a_strict_policy(client, unit_leader):
    client.force_login(unit_leader)
    for response in (client.get(reverse("home")), client.get("/no-such-page/")):
        directives = policy(response)
        assert directives["default-src"] == ["'self'"]
        assert "'unsafe-inline'" not in directives["script-src"]
        assert "'unsafe-eval'" not in directives["script-src"]
        assert "'unsafe-inline'" not in directives["style-src"]
        assert directives["frame-ancestors"] == ["'none'"]


def test_the_login_page_is_covered_too(client):
    assert policy(client.get(reverse("login")))["default-src"] == ["'self'"]


def test_no_template_has_inline_scripts_styles_or_handlers():
    found = [
        f"{path.relative_to(SRC)}: {pattern.pattern}"
        for path in SRC.rglob("templates/**/*.html")
        for pattern in (INLINE_STYLE, INLINE_SCRIPT, EVENT_HANDLER)
        if pattern.search(path.read_text(encoding="utf-8")) and "drf_spectacular" not in path.parts
    ]
    assert found == []


def test_the_api_docs_inline_script_and_style_carry_the_policy_nonce(client, unit_leader):
    client.force_login(unit_leader)
    response = client.get(reverse("swagger-ui"))
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    page = response.content.decode()
    assert re.search(rf'<script nonce="{re.escape(nonce)}">', page)
    assert re.search(rf'<style nonce="{re.escape(nonce)}">', page)
    assert page.count("<script") == page.count("<script nonce=") + page.count("<script src=")
