"""The one settings module, driven by environment variables.

Every variable is listed, with its default, in the README's "Settings" table. Defaults are the
safe ones: DEBUG off, two-factor on, HTTPS only. The local demo (``make run``) and the test
suite (``make test``) turn off what they must, explicitly.
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    normalised = value.strip().lower()
    if normalised in {"1", "true", "yes", "on"}:
        return True
    if normalised in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off.")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number.") from None


# --- Core -----------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off the application refuses to start without "
            "one: set SECRET_KEY to a long random value (for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(64))'`)."
        )
    # Only ever reached with DEBUG on, on a developer's own machine.
    SECRET_KEY = "django-insecure-local-development-only-never-deployed"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Two-factor sign-in for every account. Only the local demo turns it off, and then every page
# says so in a banner.
REQUIRE_MFA = env_bool("REQUIRE_MFA", True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Full-text search of the directory on PostgreSQL (SearchVector, SearchRank); psycopg is a
    # dependency anyway, so this imports fine on SQLite too.
    "django.contrib.postgres",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "django_filters",
    "simple_history",
    "phonenumber_field",
    "import_export",
    "django_tasks_db",
    "accounts",
    "directory",
    "clients",
    "referrals",
    "scale",
]

# The exports and pages built once per catalogue version (core.http_cache) are kept as files
# here, shared by every worker of the server; they hold the catalogue only, never client data.
SHARED_READS_DIR = os.environ.get("SHARED_READS_CACHE_DIR") or os.path.join(
    tempfile.gettempdir(), "selfhelp-shared-reads"
)

MIDDLEWARE = [
    # First: every middleware below may parse the Cookie header (core/middleware.py).
    "core.middleware.CookieHeaderGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside everything below, so that their redirects are not cached either.
    "core.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before the CSRF check's process_view parses the body (a multipart body goes to disk).
    "core.middleware.RequestBodyLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SessionLimitsMiddleware",
    "accounts.middleware.PermissionCacheMiddleware",
    "accounts.middleware.RequireTwoFactorMiddleware",
    # Deny by default: every view needs a signed-in user unless marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # A NUL character in the address, query or form answers 400 here, before any view can pass
    # it to PostgreSQL (which refuses it with a 500); below the header middleware so that the
    # 400 page carries every security header.
    "core.middleware.RejectNulCharactersMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.site",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and a writer work at once; IMMEDIATE avoids "database is locked" when
    # two requests upgrade a read transaction to a write at the same moment.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not env_bool(
    "PG_JIT", False
):
    # PostgreSQL's JIT compiles any query whose estimated cost passes jit_above_cost; the
    # pages' queries are short, and at county size some crossed it and spent more time
    # compiling than running (69 ms to compile a 12 ms search: docs/SCALING.md). Off for the
    # application's connections; PG_JIT=1 turns it back on.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = (options.get("options", "") + " -c jit=off").strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background work --------------------------------------------------------------------------

# Django's tasks framework, with the database backend of django-tasks-db: work too long for a
# request (a CSV import of more than CSV_IMPORT_INLINE_ROWS rows) is queued in a table of this
# database and run by `manage.py db_worker` (started by `make run`; in production
# deploy/systemd/selfhelp-worker.service). The tests run tasks at once (ImmediateBackend).
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND") or "django_tasks_db.DatabaseBackend",
    }
}
# A CSV import of at most this many rows is written by the confirming request itself (a few
# seconds at most); a longer one by the worker, with a progress page.
CSV_IMPORT_INLINE_ROWS = env_int("CSV_IMPORT_INLINE_ROWS", 300)

# --- People and sign-in -----------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.StaffBackend"]
# Read with each request's user, in its one query: the catalogue's version, under which the
# directory's vocabularies are kept in memory (directory/selectors/vocabulary.py).
VERSIONS_READ_WITH_USER = {"catalogue_version": "directory.CatalogueVersion"}
LOGIN_URL = "accounts:sign-in"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:sign-in"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sessions live in the database (stateless application servers), in our own table that knows
# its user so that disabling an account can end that person's sessions at once.
SESSION_ENGINE = "accounts.sessions"
# Flash messages live in the session (server-side), never in a cookie the browser keeps.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_IDLE_TIMEOUT = timedelta(minutes=15)
SESSION_ABSOLUTE_LIMIT = timedelta(hours=12)
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_LIMIT.total_seconds())
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "selfhelp_session"

# Lockout: five failed sign-ins lock a username for 5 minutes, doubling with each lockout in a
# row up to an hour (accounts/rules/lockout.py), counted exactly under concurrency
# (accounts/services/lockout.py). By username, not address: a clinic's staff share one public
# address. Per-address rate limits are nginx's (deploy/nginx/).

OTP_TOTP_ISSUER = os.environ.get("OTP_ISSUER", "LA County DMH Self-Help Referral")
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

# --- Security headers -------------------------------------------------------------------------

# HTTPS everywhere unless a developer's machine or the test suite says otherwise.
HTTPS_ONLY = env_bool("HTTPS_ONLY", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365 if HTTPS_ONLY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = HTTPS_ONLY
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    # Only behind a proxy that sets this header itself and strips it from clients.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The client's address for the access log: the connection's (REMOTE_ADDR), or, behind nginx
# (deploy/nginx/, which sets X-Real-IP itself and overwrites a client's), that header.
TRUST_X_REAL_IP = env_bool("TRUST_X_REAL_IP", False)
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page (hx-headers), not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# A strict Content-Security-Policy: no inline script or style anywhere; the few script tags
# carry the per-request nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],  # Bootstrap draws form controls with data: SVGs
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# --- Internationalisation -----------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/Los_Angeles"  # shown to people; stored in UTC (USE_TZ)
USE_I18N = True
# The client's sheet (VIII.C–G) is printed in English or Spanish by the client's preferred
# language; staff pages stay in English. Translations live in locale/ at the project root.
LANGUAGES = [("en", "English"), ("es", "Spanish")]
LOCALE_PATHS = [BASE_DIR / "locale"]

# The public directory (/groups/, VII.A). Search engines are told not to index it (a robots
# meta tag and X-Robots-Tag) unless PUBLIC_DIRECTORY_NOINDEX=0. The waiting-room poster's QR
# codes open SITE_URL (below) when set, else the host the poster was printed from.
PUBLIC_DIRECTORY_NOINDEX = env_bool("PUBLIC_DIRECTORY_NOINDEX", True)
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Hashed names for long caching in production; plain names for the demo and the test suite,
# which run without collectstatic.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", not DEBUG)
# Without collectstatic (demo, tests) whitenoise serves straight from the source folders.
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Request bodies -------------------------------------------------------------------------------

# Judged on the declared length before anything reads the body (core.middleware): an import
# file is at most 2 MB (directory.rules.uploads), its multipart form a little more.
REQUEST_BODY_LIMIT = 3 * 1024 * 1024
ANONYMOUS_BODY_LIMIT = 64 * 1024
# Django's own limit on a form's fields held in memory (not files): the same bound.
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_LIMIT

# --- Forms --------------------------------------------------------------------------------------

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- The directory ------------------------------------------------------------------------------

PHONENUMBER_DEFAULT_REGION = "US"
PHONENUMBER_DB_FORMAT = "E164"

# --- Keeping the list current (VII.D) ----------------------------------------------------------

# A listing stays "current" for this many months after a successful verification.
LISTING_CURRENT_MONTHS = env_int("LISTING_CURRENT_MONTHS", 12)
# The groups' e-mailed verification links expire after this many days (and work once).
VERIFICATION_LINK_DAYS = env_int("VERIFICATION_LINK_DAYS", 14)
# Change requests from outside: at most this many an hour from one network address.
CHANGE_REQUESTS_PER_HOUR = env_int("CHANGE_REQUESTS_PER_HOUR", 5)

# --- Email --------------------------------------------------------------------------------------

# Django 6.1's MAILERS (the EMAIL_* settings are deprecated). The environment variables keep
# their familiar EMAIL_* names.
MAILERS = {
    "default": {
        "BACKEND": os.environ.get(
            "EMAIL_BACKEND",
            "django.core.mail.backends.console.EmailBackend"
            if DEBUG
            else "django.core.mail.backends.smtp.EmailBackend",
        ),
        "OPTIONS": {},
    }
}
if MAILERS["default"]["BACKEND"].endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "use_ssl": env_bool("EMAIL_USE_SSL", False),
        "timeout": env_int("EMAIL_TIMEOUT", 10),
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "selfhelp-referral@localhost")
# The address of the site, for links in emails (the daily follow-up reminders).
SITE_URL = os.environ.get("SITE_URL", "").rstrip("/")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Logging ------------------------------------------------------------------------------------

# Plain logs to standard error. Views never log client data; the access log holds who did what.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
