"""Typed readers for settings that come from environment variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def envstr(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def envbool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: use one of 1/0, true/false, yes/no, on/off")


def envint(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a whole number") from None


def envlist(name: str, default: str = "") -> list[str]:
    raw = os.environ.get(name, default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def envsecret(name: str, required: bool = False) -> str | None:
    """A secret from NAME or from the file named by NAME_FILE (Docker/Kubernetes secrets)."""
    value = os.environ.get(name)
    file_name = os.environ.get(f"{name}_FILE")
    if not value and file_name:
        try:
            value = Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name}: cannot read it ({exc})") from None
    if required and not value:
        raise ImproperlyConfigured(
            f"{name} is not set. Set it (or {name}_FILE) to a long random value, e.g. "
            f"`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    return value


def local_secret(path: Path) -> str:
    """A random key kept in `path` (owner-only), made on first use and reused thereafter."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(secrets.token_urlsafe(50))
        try:
            # A link never replaces a key that another process made meanwhile.
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def oidc_settings(environ: dict[str, str]) -> dict[str, object]:
    """Django settings for OpenID Connect sign-on, built from the EQUILEAN_OIDC_* variables.

    `EQUILEAN_OIDC_PROVIDER` is `entra` (needs `EQUILEAN_OIDC_TENANT`), `okta` (needs
    `EQUILEAN_OIDC_DOMAIN`) or `custom` (give the four endpoint URLs). Returns {} when
    `EQUILEAN_OIDC_CLIENT_ID` is unset, which leaves sign-on off.
    """
    client_id = environ.get("EQUILEAN_OIDC_CLIENT_ID")
    if not client_id:
        return {}
    provider = environ.get("EQUILEAN_OIDC_PROVIDER", "custom").lower()
    if provider == "entra":
        tenant = environ.get("EQUILEAN_OIDC_TENANT")
        if not tenant:
            raise ImproperlyConfigured("EQUILEAN_OIDC_PROVIDER=entra needs EQUILEAN_OIDC_TENANT")
        base = f"https://login.microsoftonline.com/{tenant}"
        endpoints = {
            "authorization": f"{base}/oauth2/v2.0/authorize",
            "token": f"{base}/oauth2/v2.0/token",
            "user": "https://graph.microsoft.com/oidc/userinfo",
            "jwks": f"{base}/discovery/v2.0/keys",
        }
    elif provider == "okta":
        domain = environ.get("EQUILEAN_OIDC_DOMAIN")
        if not domain:
            raise ImproperlyConfigured("EQUILEAN_OIDC_PROVIDER=okta needs EQUILEAN_OIDC_DOMAIN")
        base = f"https://{domain}/oauth2/default/v1"
        endpoints = {
            "authorization": f"{base}/authorize",
            "token": f"{base}/token",
            "user": f"{base}/userinfo",
            "jwks": f"{base}/keys",
        }
    elif provider == "custom":
        endpoints = {}
        for key in ("authorization", "token", "user", "jwks"):
            name = f"EQUILEAN_OIDC_{key.upper()}_ENDPOINT"
            if not environ.get(name):
                raise ImproperlyConfigured(f"EQUILEAN_OIDC_PROVIDER=custom needs {name}")
            endpoints[key] = environ[name]
    else:
        raise ImproperlyConfigured(
            f"EQUILEAN_OIDC_PROVIDER={provider!r}: use entra, okta or custom"
        )
    secret = environ.get("EQUILEAN_OIDC_CLIENT_SECRET")
    secret_file = environ.get("EQUILEAN_OIDC_CLIENT_SECRET_FILE")
    if not secret and secret_file:
        secret = Path(secret_file).read_text().strip()
    if not secret:
        raise ImproperlyConfigured(
            "EQUILEAN_OIDC_CLIENT_ID is set but EQUILEAN_OIDC_CLIENT_SECRET is not"
        )
    return {
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": secret,
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_RP_SCOPES": "openid email profile",
        "OIDC_OP_AUTHORIZATION_ENDPOINT": endpoints["authorization"],
        "OIDC_OP_TOKEN_ENDPOINT": endpoints["token"],
        "OIDC_OP_USER_ENDPOINT": endpoints["user"],
        "OIDC_OP_JWKS_ENDPOINT": endpoints["jwks"],
        # Sign-on never creates accounts: an administrator grants roles first.
        "OIDC_CREATE_USER": environ.get("EQUILEAN_OIDC_CREATE_USERS", "0").lower() in TRUE,
    }
