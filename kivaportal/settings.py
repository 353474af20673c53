"""Settings for the Kiva partner portal: one module, every value from the environment.

Every variable is documented in docs/configuration.md with its default. With no variables at
all the portal runs in development mode: SQLite, Celery tasks run in-process (no broker), and
the Kiva sandbox as every partner's connection. Production sets PORTAL_PRODUCTION=true plus
the values listed in the docs; `manage.py check --deploy` is then clean.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# PORTAL_PRODUCTION comes from the real environment only. A local .env file is read for
# convenience in development only, so a leftover file (DEBUG=true, say) never reaches
# production. Values already in the environment win over the file.
PRODUCTION = env.bool("PORTAL_PRODUCTION", default=False)
if not PRODUCTION and (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env", overwrite=False)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)

if PRODUCTION:
    # No default: a production deployment without its own key must not start.
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
else:
    SECRET_KEY = env.str(
        "SECRET_KEY", default="django-insecure-development-only-key-never-use-in-production"
    )
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "kivaportal.admin_site.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "axes",
    "kivaportal.common",
    "kivaportal.partners",
    "kivaportal.reference",
    "kivaportal.lending",
    "kivaportal.repayments",
    "kivaportal.journals",
    "kivaportal.workflow",
    "kivaportal.pipeline",
    "kivaportal.review",
    "kivaportal.notifications",
    "kivaportal.demo",
    "integrations.kiva",
    "integrations.mis",
    "drf_spectacular_sidecar",  # only its static Swagger UI files (the intake API's docs page)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records who made each change in the history tables.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # Counts failed logins and refuses locked-out ones before checking the password.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "kivaportal.urls"
WSGI_APPLICATION = "kivaportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: the portal's queries read a page, and PostgreSQL's cost estimate
    # of a capped count over 100,000 loans made it compile for 2 s to run 0.7 s
    # (docs/performance.md).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) are PostgreSQL's; SQLite (development, `make run`) builds the same
# index on its key columns and would print this notice at every command.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalisation: staff work in English, Spanish and French.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("es", _("Spanish")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Uploads are served by kivaportal.media (members of the record's partner only): "django"
# streams them; "x-accel-redirect" (nginx) or "x-sendfile" (Apache) hand the bytes to the web
# server after the check. MEDIA_ACCEL_PREFIX is nginx's `internal` location for MEDIA_ROOT.
MEDIA_SERVE = env.str("MEDIA_SERVE", default="django")
MEDIA_ACCEL_PREFIX = env.str("MEDIA_ACCEL_PREFIX", default="/protected-media/")
# Photos: scaled once at upload (kivaportal/common/photos.py); uploads over the limit refused.
PORTAL_PHOTO_PAGE_MAX_SIDE = env.int("PORTAL_PHOTO_PAGE_MAX_SIDE", default=720)
PORTAL_PHOTO_MAX_MB = env.float("PORTAL_PHOTO_MAX_MB", default=15.0)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}


# Security. Development keeps plain HTTP; production turns every protection on.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
X_FRAME_OPTIONS = "DENY"

# Login lockout (django-axes): after AXES_FAILURE_LIMIT failed logins for one username from one
# address, that pair is locked out for AXES_COOLOFF_HOURS.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client address of a login (kivaportal/partners/lockouts.py, `client_ip`). 0: REMOTE_ADDR.
# Behind reverse proxies that append to X-Forwarded-For, set it to how many there are: the
# address the outermost one saw is then used. Never more than there are: a client could then
# pick its own address (and someone else's lockout). docs/security.md, "Login lockout".
PORTAL_TRUSTED_PROXY_COUNT = env.int("PORTAL_TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "kivaportal.partners.lockouts.client_ip"

# Celery. Without a broker, tasks run in-process as they are called (development and demo).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Outcomes live in our own tables, never in a result backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=180)

# Secrets the portal stores (the Kiva client secret) are encrypted with this Fernet key (32
# url-safe base64 bytes: `python -c "from cryptography.fernet import Fernet;
# print(Fernet.generate_key().decode())"`). Several keys, comma-separated, allow rotation: the
# first encrypts, all decrypt. Production must set it: encrypting or decrypting a secret without
# it fails there; development derives one from SECRET_KEY.
PORTAL_ENCRYPTION_KEY = env.list("PORTAL_ENCRYPTION_KEY", default=[])

# Kiva. Hosts, audience and ids are per partner connection (database), never settings: Kiva has
# moved its hosts several times. These are the defaults the connection commands offer.
KIVA_CONNECT_TIMEOUT = env.float("KIVA_CONNECT_TIMEOUT", default=5.0)
KIVA_READ_TIMEOUT = env.float("KIVA_READ_TIMEOUT", default=30.0)
KIVA_GET_ATTEMPTS = env.int("KIVA_GET_ATTEMPTS", default=4)
KIVA_RETRY_AFTER_MAX = env.float("KIVA_RETRY_AFTER_MAX", default=60.0)
# Tests only, never read from the environment: loopback hosts where a stage or production
# connection may use plain http (the sandbox's test server playing both; docs/kiva.md).
KIVA_TEST_PLAIN_HTTP_HOSTS: tuple[str, ...] = ()
KIVA_TOKEN_RENEW_MARGIN = env.int("KIVA_TOKEN_RENEW_MARGIN", default=300)
KIVA_PHOTO_MAX_SIDE = env.int("KIVA_PHOTO_MAX_SIDE", default=1200)
KIVA_REFERENCE_SYNC_HOURS = env.float("KIVA_REFERENCE_SYNC_HOURS", default=24.0)
# Reconciliation with GET loans (docs/kiva.md, "What Kiva did with a loan").
KIVA_RECONCILE_HOURS = env.float("KIVA_RECONCILE_HOURS", default=6.0)
KIVA_PUBLISH_WAIT_DAYS = env.int("KIVA_PUBLISH_WAIT_DAYS", default=14)
KIVA_LOAN_URL = env.str("KIVA_LOAN_URL", default="https://www.kiva.org/lend/{kiva_id}")
KIVA_PRODUCTION_TOKEN_URL = env.str(
    "KIVA_PRODUCTION_TOKEN_URL", default="https://auth.k1.kiva.org/oauth/token"
)
KIVA_PRODUCTION_API_URL = env.str(
    "KIVA_PRODUCTION_API_URL", default="https://partner-api.k1.kiva.org"
)
KIVA_PRODUCTION_AUDIENCE = env.str(
    "KIVA_PRODUCTION_AUDIENCE", default="https://partner-api.k1.kiva.org"
)
KIVA_STAGE_TOKEN_URL = env.str(
    "KIVA_STAGE_TOKEN_URL", default="https://auth.staging.kiva.org/oauth/token"
)
KIVA_STAGE_API_URL = env.str("KIVA_STAGE_API_URL", default="https://partnerapi.staging.kiva.org")
# Sources disagree on the stage audience: no default, Kiva tells each partner.
KIVA_STAGE_AUDIENCE = env.str("KIVA_STAGE_AUDIENCE", default="")
# The only hosts a connection may send credentials and requests to (integrations/kiva/hosts.py):
# Kiva's, as its docs name them; also the hosts of the URLs above, and the sandbox's where it
# is enabled. A leading "." allows subdomains. Kiva moves hosts: add the new one here.
KIVA_ALLOWED_HOSTS = env.list(
    "KIVA_ALLOWED_HOSTS",
    default=[
        "auth.k1.kiva.org",
        "partner-api.k1.kiva.org",
        "partnerapi.production.kiva.org",
        "auth.staging.kiva.org",
        "partnerapi.staging.kiva.org",
        "auth-stage.kiva.org",
        "partner-api-stage.kiva.org",
        "auth-stage.dk1.kiva.org",
        "partner-api-stage.dk1.kiva.org",
    ],
)
# The local stand-in for Kiva (integrations/kiva/sandbox), mounted at /kiva-sandbox/. Never in
# production: its pages show what was "sent to Kiva" to anyone who can reach them.
KIVA_SANDBOX_ENABLED = env.bool("KIVA_SANDBOX_ENABLED", default=not PRODUCTION)
KIVA_SANDBOX_URL = env.str("KIVA_SANDBOX_URL", default="http://127.0.0.1:8000/kiva-sandbox/")
if KIVA_SANDBOX_ENABLED:  # its tables exist only where it runs
    INSTALLED_APPS.append("integrations.kiva.sandbox")

# The push pipeline (docs/pipeline.md). Its retry schedule and sweeper timings are one table
# in code (kivaportal/pipeline/timing.py); KIVA_PIPELINE_TIMING overrides entries of it (tests).
KIVA_QUEUE = env.str("KIVA_QUEUE", default="kiva")
KIVA_SWEEP_SECONDS = env.float("KIVA_SWEEP_SECONDS", default=30.0)
KIVA_SEND_SOFT_TIME_LIMIT = env.int("KIVA_SEND_SOFT_TIME_LIMIT", default=90)
KIVA_SEND_TIME_LIMIT = env.int("KIVA_SEND_TIME_LIMIT", default=120)
KIVA_PIPELINE_TIMING = env.json("KIVA_PIPELINE_TIMING", default={})

# Every Kiva task is named kiva.* and goes to the Kiva queue.
CELERY_TASK_ROUTES = {"kiva.*": {"queue": KIVA_QUEUE}}
CELERY_TASK_ANNOTATIONS = {
    "kiva.submission_send": {
        "soft_time_limit": KIVA_SEND_SOFT_TIME_LIMIT,
        "time_limit": KIVA_SEND_TIME_LIMIT,
    }
}
# Redis redelivers an unacknowledged message after this: above the longest countdown.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# When the broker is down, an approval must not hang: two quick tries, then the sweeper.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

CELERY_BEAT_SCHEDULE = {
    "kiva-reference-sync": {
        "task": "kiva.reference_sync_all",
        "schedule": timedelta(hours=KIVA_REFERENCE_SYNC_HOURS),
    },
    "intake-purge-files": {
        "task": "integrations.mis.tasks.purge_intake_files",
        "schedule": timedelta(days=1),
    },
    "kiva-reconcile": {
        "task": "kiva.reconcile_all",
        "schedule": timedelta(hours=KIVA_RECONCILE_HOURS),
    },
    "kiva-sweep-submissions": {
        "task": "kiva.submissions_sweep",
        "schedule": timedelta(seconds=KIVA_SWEEP_SECONDS),
    },
}

# Emails: notifications (docs/architecture.md, "Notifications"), a partner admin's invitations
# and password reset links (docs/security.md); development prints them.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Kiva partner portal <portal@localhost>")
# The portal's address as people reach it: the links in the emails.
PORTAL_URL = env.str("PORTAL_URL", default="http://127.0.0.1:8000")
NOTIFY_WAITING_HOURS = env.int("NOTIFY_WAITING_HOURS", default=24)
NOTIFY_LOOKBACK_HOURS = env.int("NOTIFY_LOOKBACK_HOURS", default=72)
NOTIFY_EVERY_MINUTES = env.int("NOTIFY_EVERY_MINUTES", default=5)
NOTIFY_DIGEST_HOUR = env.int("NOTIFY_DIGEST_HOUR", default=6)
CELERY_BEAT_SCHEDULE["review-notifications"] = {
    "task": "review.notifications_send",
    "schedule": timedelta(minutes=NOTIFY_EVERY_MINUTES),
}
CELERY_BEAT_SCHEDULE["review-notifications-digest"] = {
    "task": "review.notifications_digest",
    "schedule": crontab(hour=NOTIFY_DIGEST_HOUR, minute=0),
}

# Review (docs/architecture.md, "Review time"): PA2's time to enter one loan profile by hand,
# in minutes (low, high), the baseline of the dashboard's time saved.
REVIEW_PA2_MINUTES_PER_PROFILE = tuple(
    env.list("REVIEW_PA2_MINUTES_PER_PROFILE", cast=int, default=[10, 12])
)

# MIS intake (docs/configuration.md, docs/intake.md).
INTAKE_API_MAX_BODY_BYTES = env.int("INTAKE_API_MAX_BODY_BYTES", default=8 * 1024 * 1024)
INTAKE_API_MAX_ITEMS = env.int("INTAKE_API_MAX_ITEMS", default=1000)
INTAKE_MAX_FUTURE_DAYS = env.int("INTAKE_MAX_FUTURE_DAYS", default=31)
INTAKE_TOKEN_LIFETIME = env.int("INTAKE_TOKEN_LIFETIME", default=43199)  # Kiva's: about 12 h
INTAKE_UPLOAD_MAX_BYTES = env.int("INTAKE_UPLOAD_MAX_BYTES", default=200 * 1024 * 1024)
# Refused while the file streams, before any write: rows per file, and what an .xlsx unpacks to.
INTAKE_MAX_ROWS = env.int("INTAKE_MAX_ROWS", default=200_000)
INTAKE_XLSX_MAX_UNCOMPRESSED_BYTES = env.int(
    "INTAKE_XLSX_MAX_UNCOMPRESSED_BYTES", default=100 * 1024 * 1024
)
# Each part of a workbook read whole into memory (shared strings, styles...), and the cells of
# one row: counted as the workbook is read (docs/security.md, "File intake").
INTAKE_XLSX_MAX_PART_BYTES = env.int("INTAKE_XLSX_MAX_PART_BYTES", default=32 * 1024 * 1024)
INTAKE_XLSX_MAX_CELLS_PER_ROW = env.int("INTAKE_XLSX_MAX_CELLS_PER_ROW", default=1000)
# Uploaded MIS files (borrowers' personal data) are deleted this many days after their import
# finished (0 keeps them); the job's results stay. `manage.py intake_purge_files`, daily in beat.
INTAKE_FILE_RETENTION_DAYS = env.int("INTAKE_FILE_RETENTION_DAYS", default=90)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
SIMPLE_HISTORY_REVERT_DISABLED = True  # history is a record of what happened, not an undo
STATICFILES_DIRS = [BASE_DIR / "static"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
