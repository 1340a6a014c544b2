"""Settings: safe defaults, required secrets, the deploy check and the OIDC configuration."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from equilean.web.env import envbool, envsecret, oidc_settings

ROOT = Path(__file__).resolve().parents[2]


def run_manage(env, *args):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EQUILEAN_", "PYTEST", "DATABASE_URL", "DJANGO_"))
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage({}, "check")
    assert result.returncode != 0
    assert "EQUILEAN_SECRET_KEY is not set" in result.stderr


def test_the_deploy_check_is_clean_in_production(tmp_path):
    env = {
        "EQUILEAN_SECRET_KEY": "k" * 20 + "-Vq8s9dPz1xLmN0bR7tYw3eUaC5gHjK2",
        "EQUILEAN_ALLOWED_HOSTS": "equilean.hospital.example",
        "EQUILEAN_HOME": str(tmp_path),
    }
    result = run_manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_secret_can_come_from_a_file(tmp_path, monkeypatch):
    secret = tmp_path / "key"
    secret.write_text("from-a-file\n")
    monkeypatch.delenv("EXAMPLE_SECRET", raising=False)
    monkeypatch.setenv("EXAMPLE_SECRET_FILE", str(secret))
    assert envsecret("EXAMPLE_SECRET") == "from-a-file"


def test_a_bad_boolean_is_named(monkeypatch):
    monkeypatch.setenv("EXAMPLE_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="EXAMPLE_FLAG='maybe'"):
        envbool("EXAMPLE_FLAG")


def test_debug_is_off_unless_asked_for(settings):
    assert settings.DEBUG is False


def test_sign_on_is_off_without_a_client_id():
    assert oidc_settings({}) == {}


def test_entra_settings_point_at_the_tenant():
    config = oidc_settings(
        {
            "EQUILEAN_OIDC_CLIENT_ID": "abc",
            "EQUILEAN_OIDC_CLIENT_SECRET": "s3",
            "EQUILEAN_OIDC_PROVIDER": "entra",
            "EQUILEAN_OIDC_TENANT": "contoso.example",
        }
    )
    assert config["OIDC_OP_AUTHORIZATION_ENDPOINT"] == (
        "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/authorize"
    )
    assert config["OIDC_CREATE_USER"] is False


def test_okta_needs_a_domain():
    with pytest.raises(ImproperlyConfigured, match="EQUILEAN_OIDC_DOMAIN"):
        oidc_settings(
            {
                "EQUILEAN_OIDC_CLIENT_ID": "abc",
                "EQUILEAN_OIDC_CLIENT_SECRET": "s",
                "EQUILEAN_OIDC_PROVIDER": "okta",
            }
        )


def test_sign_on_redirects_to_the_identity_provider(client, settings, db):
    config = oidc_settings(
        {
            "EQUILEAN_OIDC_CLIENT_ID": "equilean-app",
            "EQUILEAN_OIDC_CLIENT_SECRET": "s3",
            "EQUILEAN_OIDC_PROVIDER": "okta",
            "EQUILEAN_OIDC_DOMAIN": "meridian.okta.example",
        }
    )
    for key, value in config.items():
        setattr(settings, key, value)
    settings.OIDC_ENABLED = True
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("https://meridian.okta.example/oauth2/default/v1/authorize?")
    assert "client_id=equilean-app" in location
    assert (
        "Sign in with your organisation account" in client.get("/accounts/login/").content.decode()
    )


def test_sign_on_matches_people_by_email(unit_leader):
    from equilean.org.sso import SingleSignOnBackend

    backend = SingleSignOnBackend.__new__(SingleSignOnBackend)
    backend.UserModel = type(unit_leader)
    assert list(backend.filter_users_by_claims({"email": "MARCUS@x.example"})) == [unit_leader]
    assert not backend.filter_users_by_claims({}).exists()
