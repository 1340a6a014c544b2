"""Django settings for equilean, all read from environment variables (see .env.example)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from equilean.web.env import (
    envbool,
    envint,
    envlist,
    envsecret,
    envstr,
    local_secret,
    oidc_settings,
)

BASE_DIR = Path(__file__).resolve().parent

# EQUILEAN_ENV selects the defaults: production (the safe default), demo or development.
# pytest sets PYTEST_VERSION for the duration of a run, which selects test defaults.
ENVIRONMENT = envstr("EQUILEAN_ENV", "production")
if ENVIRONMENT not in {"production", "demo", "development"}:
    raise ImproperlyConfigured(f"EQUILEAN_ENV={ENVIRONMENT!r}: use production, demo or development")
TESTING = "PYTEST_VERSION" in os.environ
RELAXED = TESTING or ENVIRONMENT in {"demo", "development"}

HOME = Path(envstr("EQUILEAN_HOME", "var")).resolve()

DEBUG = envbool("EQUILEAN_DEBUG", False)
SECRET_KEY = envsecret("EQUILEAN_SECRET_KEY", required=not RELAXED)
if not SECRET_KEY:
    # Only demo, development and tests get here (production requires a key). Tests write no file.
    SECRET_KEY = "insecure-tests-only" if TESTING else local_secret(HOME / "secret_key")
ALLOWED_HOSTS = envlist("EQUILEAN_ALLOWED_HOSTS", "127.0.0.1,localhost" if RELAXED else "")
CSRF_TRUSTED_ORIGINS = envlist("EQUILEAN_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "mozilla_django_oidc",
    "equilean.web",
    "equilean.org",
    "equilean.metrics",
    "equilean.studies",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Axes must come last so it sees every failed login.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "equilean.web.urls"
WSGI_APPLICATION = "equilean.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # First, so web/templates wins over the apps' own: the API docs page gets its CSP
        # nonces there, and the password pages are equilean's rather than the admin's.
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "equilean.web.context.shell",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL") or f"sqlite:///{HOME / 'equilean.sqlite3'}",
        conn_max_age=envint("EQUILEAN_DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets pages read while refresh writes. IMMEDIATE makes a writer queue for the lock
    # (up to the timeout) rather than fail at once when a read turns into a write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        transaction_mode="IMMEDIATE",
        timeout=envint("EQUILEAN_DB_TIMEOUT_SECONDS", 20),
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 is deliberately slow; tests that check hashing ask for it explicitly.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

OIDC = oidc_settings(dict(os.environ))
OIDC_ENABLED = bool(OIDC)
globals().update(OIDC)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    *(["equilean.org.sso.SingleSignOnBackend"] if OIDC_ENABLED else []),
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: a username after repeated failures from any addresses, and an address
# after failures across usernames (password spraying). An address's limit is higher because
# a ward's shared workstations or a proxy may send many people's sign-ins from one address.
AXES_FAILURE_LIMIT = envint("EQUILEAN_LOGIN_FAILURE_LIMIT", 5)
LOGIN_ADDRESS_FAILURE_LIMIT = envint("EQUILEAN_LOGIN_ADDRESS_FAILURE_LIMIT", 20)
AXES_COOLOFF_TIME = timedelta(minutes=envint("EQUILEAN_LOGIN_COOLOFF_MINUTES", 15))
# LoginThrottle reads the failures of these two in this order.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "equilean.web.throttle.LoginThrottle"
AXES_CLIENT_IP_CALLABLE = "equilean.web.throttle.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("EQUILEAN_TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = HOME / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Cookies and transport: strict unless running locally over plain http.
SECURE_COOKIES = envbool("EQUILEAN_SECURE_COOKIES", not RELAXED)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = envint("EQUILEAN_SESSION_HOURS", 12) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_SSL_REDIRECT = envbool("EQUILEAN_SSL_REDIRECT", not RELAXED)
SECURE_HSTS_SECONDS = envint("EQUILEAN_HSTS_SECONDS", 0 if RELAXED else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = envbool("EQUILEAN_HSTS_PRELOAD", SECURE_HSTS_SECONDS > 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Everything from this site, nothing inline: a per-response nonce is added to the header only
# for a page that asks for one (the API docs page, whose library template has inline code).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Behind a TLS proxy, `equilean serve` takes the scheme and the client's address from the
# X-Forwarded-Proto and X-Forwarded-For headers of that proxy only (see wsgi.server_options).
BEHIND_PROXY = envbool("EQUILEAN_BEHIND_PROXY", False)
TRUSTED_PROXY = envstr("EQUILEAN_TRUSTED_PROXY", "127.0.0.1")
TRUSTED_PROXY_COUNT = envint("EQUILEAN_TRUSTED_PROXY_COUNT", 1)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an unauthenticated call gets 401 with a WWW-Authenticate header.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": envstr("EQUILEAN_API_RATE", "2000/hour")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "equilean API",
    "DESCRIPTION": "Equity-focused Lean daily management: the health-system tree, people, "
    "measures and signals. Every endpoint applies the caller's scope.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # A study's unit of analysis and a segment's kind are one choice set.
    "ENUM_NAME_OVERRIDES": {"StudyUnitEnum": "equilean.studies.models.Unit"},
}

# Tier names, unit (tier 1) first; a site may call them e.g. "Unit,Service line,Hospital,System".
TIER_NAMES = envlist("EQUILEAN_TIER_NAMES", "Unit,Department,Hospital,System")
if len(TIER_NAMES) != 4:
    raise ImproperlyConfigured("EQUILEAN_TIER_NAMES needs exactly four comma-separated names")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("EQUILEAN_LOG_LEVEL", "INFO")},
}
